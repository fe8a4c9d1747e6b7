from .pskd_loss import PSKDLoss
from .soft_targets import mix_soft_targets, soft_cross_entropy

__all__ = ['PSKDLoss', 'mix_soft_targets', 'soft_cross_entropy']
from .label_smoothing_loss import LabelSmoothingLoss  # noqa: E402
from .lsrkd_loss import LsrKDLoss  # noqa: E402
from .cskd_loss import CSKDLoss  # noqa: E402
from .mrkd_loss import MrKDLoss  # noqa: E402
from .temperature_kd_loss import ProvidedTeacherKDLoss, TemperatureKDLoss  # noqa: E402

__all__ += ['LabelSmoothingLoss', 'LsrKDLoss', 'CSKDLoss', 'MrKDLoss', 'ProvidedTeacherKDLoss', 'TemperatureKDLoss']
