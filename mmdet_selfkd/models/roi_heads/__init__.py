from .selfkd_roi_head import (
    PSKDCascadeRoIHead,
    PSKDRoIHead,
    SelfKDCascadeRoIHead,
    SelfKDRoIHead,
    SelfKDRoIHeadMixin,
)

__all__ = ['PSKDCascadeRoIHead', 'PSKDRoIHead', 'SelfKDCascadeRoIHead', 'SelfKDRoIHead', 'SelfKDRoIHeadMixin']
