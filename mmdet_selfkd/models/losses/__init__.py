from .pskd_loss import PSKDLoss
from .soft_targets import mix_soft_targets, soft_cross_entropy

__all__ = ['PSKDLoss', 'mix_soft_targets', 'soft_cross_entropy']
