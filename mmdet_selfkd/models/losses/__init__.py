from .cskd_loss import CSKDLoss
from .label_smoothing_focal_loss import LabelSmoothingFocalLoss
from .label_smoothing_loss import LabelSmoothingLoss
from .lsrkd_loss import LsrKDLoss
from .mrkd_loss import MrKDLoss
from .pskd_focal_loss import PSKDFocalLoss
from .pskd_loss import PSKDLoss
from .soft_targets import mix_sigmoid_targets, mix_soft_targets, soft_cross_entropy, soft_focal_loss
from .temperature_kd_loss import ProvidedTeacherKDLoss, TemperatureKDLoss

__all__ = [
    'CSKDLoss',
    'LabelSmoothingFocalLoss',
    'LabelSmoothingLoss',
    'LsrKDLoss',
    'MrKDLoss',
    'PSKDFocalLoss',
    'PSKDLoss',
    'ProvidedTeacherKDLoss',
    'TemperatureKDLoss',
    'mix_sigmoid_targets',
    'mix_soft_targets',
    'soft_cross_entropy',
    'soft_focal_loss',
]
