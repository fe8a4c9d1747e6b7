from .selfkd_roi_head import SelfKDCascadeRoIHead, SelfKDRoIHead, SelfKDRoIHeadMixin

__all__ = ['SelfKDRoIHead', 'SelfKDCascadeRoIHead', 'SelfKDRoIHeadMixin']
