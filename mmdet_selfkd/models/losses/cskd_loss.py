"""CS-KD: class-wise self-knowledge distillation between positive proposals of the same class."""
from mmdet.registry import MODELS

from .temperature_kd_loss import ProvidedTeacherKDLoss


@MODELS.register_module()
class CSKDLoss(ProvidedTeacherKDLoss):
    """Class-wise self-knowledge distillation (Yun et al., CVPR 2020) for an RoI head classifier.

    .. math::
        \\mathcal{L}_i = \\mathrm{CE}(z_i, y_i) + \\lambda\\, m_i\\, T^2\\,
            \\mathrm{KL}\\big(\\mathrm{softmax}(z_{j(i)}/T)\\,\\|\\,\\mathrm{softmax}(z_i/T)\\big)

    over all ``K = num_classes + 1`` logits. ``j(i)`` is a positive proposal of the same class as the
    positive proposal ``i`` from another image: one of the batch when there is one (drawn at random),
    else the last prediction of that class from an earlier batch and another image; its prediction
    is detached. ``m_i = 0`` for negatives (background) and for positives without a partner: they get
    the cross-entropy only. The pairing is done by
    :class:`~mmdet_selfkd.memory.class_pair_teacher.ClassPairTeacher`, which
    :class:`~mmdet_selfkd.engine.hooks.CSKDHook` attaches and a ``SelfKDRoIHead`` queries.
    Reduction: see :class:`~.temperature_kd_loss.TemperatureKDLoss` (the KD term is averaged over
    all sampled RoIs, like the cross-entropy).

    Args:
        temperature (float): ``T`` > 0. Default 4 (the paper's).
        kd_weight (float): ``lambda`` >= 0. Default 1 (the paper's).
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the whole loss.
    """
    hook_name = 'CSKDHook'

    def __init__(self,
                 temperature: float = 4.0,
                 kd_weight: float = 1.0,
                 use_sigmoid: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(temperature, kd_weight, use_sigmoid=use_sigmoid, reduction=reduction,
                         loss_weight=loss_weight)
