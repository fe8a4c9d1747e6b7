from .pskd_roi_head import PSKDCascadeRoIHead, PSKDRoIHead, PSKDRoIHeadMixin

__all__ = ['PSKDRoIHead', 'PSKDCascadeRoIHead', 'PSKDRoIHeadMixin']
