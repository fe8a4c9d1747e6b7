from .cskd_loss import CSKDLoss
from .distill_loss import DistillLoss
from .label_smoothing_focal_loss import LabelSmoothingFocalLoss
from .label_smoothing_loss import LabelSmoothingLoss
from .lsrkd_loss import LsrKDLoss
from .mrkd_loss import MrKDLoss
from .pskd_focal_loss import PSKDFocalLoss
from .pskd_loss import PSKDLoss
from .soft_targets import mix_soft_targets, smooth_sigmoid_targets, soft_cross_entropy, soft_focal_loss

__all__ = [
    'CSKDLoss',
    'DistillLoss',
    'LabelSmoothingFocalLoss',
    'LabelSmoothingLoss',
    'LsrKDLoss',
    'MrKDLoss',
    'PSKDFocalLoss',
    'PSKDLoss',
    'mix_soft_targets',
    'smooth_sigmoid_targets',
    'soft_cross_entropy',
    'soft_focal_loss',
]
