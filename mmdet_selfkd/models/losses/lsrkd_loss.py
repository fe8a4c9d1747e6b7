"""LsrKD: label smoothing recast as KD from a uniform teacher at a temperature."""

from typing import Optional

import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .kd_terms import kd_term, uniform_teacher
from .softmax_cls_loss import SoftmaxClsLoss
from .temperature_kd import TemperatureKD


@MODELS.register_module()
class LsrKDLoss(TemperatureKD, SoftmaxClsLoss):
    """LsrKD (Wang et al., arXiv 2009.05226), optionally with Teacher Correction (LsrKD-TC).

    .. math::
        \\mathcal{L} = \\mathrm{CE}(z, y) + \\lambda\\, T^2\\,
            \\mathrm{KL}\\big(u^T \\,\\|\\, \\mathrm{softmax}(z/T)\\big)

    over all ``K = num_classes + 1`` logits (background included). Without TC the teacher is uniform,
    ``u^T_c = 1/K``, at every temperature. With TC (``tc_share = s``) the teacher at temperature ``T`` is
    ``u^T_y = s`` and ``u^T_c = (1-s)/(K-1)`` for the other classes (for a negative RoI ``y`` is
    background): ``s`` is the true class's share of the target the softened output is distilled against,
    whatever ``T`` (the uniform teacher is softened, which leaves it uniform, then corrected; see
    :mod:`.kd_terms` for the source and the assumption this rests on).

    Loss form and defaults: the paper's equations could not be read here (:mod:`.kd_terms`), so the form and
    defaults are this package's, not checked against the paper. The form is ``CE + λ·KD``; a convex mix
    ``(1-α)·CE + α·KD`` is the same loss with ``kd_weight = α/(1-α)`` and ``loss_weight = 1-α``. At ``T = 1``
    without TC, ``kd_weight = ε/(1-ε)`` and ``loss_weight = 1-ε`` give label smoothing with ``ε`` exactly
    (minus the constant ``ε·ln K``), so the default ``λ = 0.1`` is label smoothing of ``ε ≈ 0.09`` at
    ``T = 1``; ``T = 4`` is the usual KD temperature. ``tc_share`` has no default (TC off).
    Reduction follows mmdet's ``CrossEntropyLoss`` (per-row ``label_weights``, ``avg_factor``, ``reduction``,
    ``loss_weight``). It needs no teacher and no hook: it replaces the head's ``loss_cls``.

    Args:
        temperature (float): ``T`` > 0. Default 4.
        kd_weight (float): ``lambda`` >= 0. Default 0.1.
        tc_share (float, optional): TC share of the true class, in (1/K, 1]; None (default): no TC.
        num_classes (int, optional): ``bbox_head.num_classes``, to check ``tc_share`` at build time.
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the whole loss.
    """

    def __init__(
        self,
        temperature: float = 4.0,
        kd_weight: float = 0.1,
        tc_share: Optional[float] = None,
        num_classes: Optional[int] = None,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(use_sigmoid, reduction, loss_weight)
        self.setup_kd(temperature, kd_weight, tc_share, num_classes)

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """Hard cross-entropy plus ``λ`` times the KD term from the uniform teacher, per row (N,).

        Args:
            cls_score (Tensor): Logits (N, num_classes + 1).
            label (Tensor): Hard labels (N,); ``num_classes`` is background.
        """
        self.check_logits(cls_score)
        loss = F.cross_entropy(cls_score.float(), label.long(), reduction='none')
        if self.kd_weight > 0:
            uniform = uniform_teacher(cls_score.size(0), cls_score.size(1), cls_score.device)
            teacher_T = self.teacher_at_temperature(uniform, label)
            loss = loss + self.kd_weight * kd_term(cls_score, teacher_T, self.temperature)
        return loss
