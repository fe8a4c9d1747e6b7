"""MrKD: KD from earlier copies of the model on the current proposals."""

from typing import Optional

from mmdet.registry import MODELS
from torch import Tensor

from ...teachers import TeacherTargets
from .distill_loss import DistillLoss
from .kd_terms import check_softmax_loss
from .temperature_kd import TemperatureKD


@MODELS.register_module()
class MrKDLoss(TemperatureKD, DistillLoss):
    """Memory-replay knowledge distillation (Wang et al., arXiv 2009.05226), optionally with TC.

    .. math::
        \\mathcal{L}_i = \\mathrm{CE}(z_i, y_i) + \\lambda\\, m\\, T^2\\,
            \\mathrm{KL}\\Big(\\tfrac{1}{M}\\sum_{k=1}^{M} \\mathrm{TC}\\big(\\mathrm{softmax}(z^{(k)}_i/T)\\big)
            \\,\\Big\\|\\, \\mathrm{softmax}(z_i/T)\\Big)

    over all ``K = num_classes + 1`` logits and every sampled RoI (negatives included). The head keeps mmdet's
    ``CrossEntropyLoss`` as ``loss_cls`` (the ``CE`` part) and adds this loss's ``λ`` term as ``loss_mrkd``
    (times ``α_t``, 1 unless the hook schedules it), where
    ``z^{(k)}_i`` are the logits of the ``M`` stored copies of the model for the same RoI. TC
    (``tc_share = s``) acts on each copy's **softened** prediction: the true class gets exactly ``s`` and
    the other classes are rescaled to share ``1 - s`` in their softened proportions; the ``M`` corrected
    copies are then averaged, so the teacher also holds exactly ``s`` on the true class (source and
    assumptions: :mod:`.kd_terms`). The KL to the mean of the copies has the same gradient as the mean of
    the ``M`` KLs, so averaging the teachers or the losses trains the same.
    ``m = 0`` until the first copy is taken. The copies live in
    :class:`~mmdet_selfkd.teachers.CopyRingTeacher`, built by :class:`~mmdet_selfkd.engine.hooks.MrKDHook`
    (ring size and refresh interval are its settings).
    Defaults (``T = 4``, ``λ = 1``, no TC) are this package's, not checked against the paper, whose body
    could not be read here; a convex mix ``(1-α)·CE + α·KD`` is ``kd_weight = α/(1-α)``,
    ``loss_weight = 1-α``.
    Reduction: like mmdet's ``CrossEntropyLoss`` (per-row ``label_weights``, the head's ``avg_factor``), so
    ``loss_cls + loss_mrkd`` is ``CE + λ m KD`` reduced that way.

    Args:
        temperature (float): ``T`` > 0. Default 4.
        kd_weight (float): ``lambda`` >= 0. Default 1.
        tc_share (float, optional): TC share of the true class, in (1/K, 1]; None (default): no TC.
        num_classes (int, optional): ``bbox_head.num_classes``, to check ``tc_share`` at build time.
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the term ``loss_mrkd`` (the head's ``loss_cls`` keeps its own).
    """

    log_name = 'loss_mrkd'
    hook_name = 'MrKDHook'

    def __init__(
        self,
        temperature: float = 4.0,
        kd_weight: float = 1.0,
        tc_share: Optional[float] = None,
        num_classes: Optional[int] = None,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        check_softmax_loss(type(self).__name__, use_sigmoid, reduction)
        super().__init__(reduction, loss_weight)
        self.setup_kd(temperature, kd_weight, tc_share, num_classes)

    def term(self, cls_score: Tensor, label: Tensor, teacher: TeacherTargets, alpha_t: float) -> Tensor:
        """``α_t · λ · m · T² KL`` per row (reduced like mmdet's cross-entropy by :class:`DistillLoss`)."""
        self.check_logits(cls_score)
        return alpha_t * self.kd_weight * self.masked_kd(cls_score, label, teacher.probs, teacher.has_teacher)
