"""CS-KD: class-wise self-knowledge distillation between positive proposals of the same class."""

from typing import Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .temperature_kd_loss import ProvidedTeacherKDLoss


@MODELS.register_module()
class CSKDLoss(ProvidedTeacherKDLoss):
    """Class-wise self-knowledge distillation (Yun et al., CVPR 2020) for an RoI head classifier.

    With ``reduction='mean'`` (mmdet's default), over the ``N`` sampled RoIs of a batch with per-row
    weights ``w_i`` (mmdet's ``label_weights``; 1 when not given) and the set ``P`` of rows that have a
    teacher and ``w_i > 0``:

    .. math::
        \\mathcal{L} = \\mathrm{loss\\_weight}\\cdot\\Big(
            \\frac{1}{A}\\sum_{i=1}^{N} w_i\\,\\mathrm{CE}(z_i, y_i)
            \\;+\\; \\lambda\\,\\frac{1}{\\max(|P|, 1)}\\sum_{i\\in P} w_i\\,T^2\\,
            \\mathrm{KL}\\big(\\mathrm{softmax}(z_{j(i)}/T)\\,\\|\\,\\mathrm{softmax}(z_i/T)\\big)\\Big)

    over all ``K = num_classes + 1`` logits. The cross-entropy is reduced as by mmdet's
    ``CrossEntropyLoss``: ``A`` is ``avg_factor`` (the RoI head passes the number of sampled RoIs), else
    ``N``. The KD term is the **mean over the rows that have a partner**, like the reference
    (alinlab/cs-kd ``train.py``: ``KDLoss`` is ``KLDivLoss(reduction='sum') * T**2 / input.size(0)``,
    line 104, over the drawn half of the batch, every one of which has a partner; then
    ``loss += args.lamda * cls_loss``, lines 138-139). So ``kd_weight`` (λ) is the reference's ``lamda``:
    the weight of the mean KD term next to the mean cross-entropy; it does not shrink with the share of
    positives among the sampled RoIs. Per positive row, the KD term weighs ``λ · A / |P|`` times its own
    cross-entropy (``A / |P|`` is about 4 with mmdet's 25 % positive sampling and every positive paired;
    in the reference it is ``λ``).

    ``j(i)`` is a positive proposal of the same class as the positive proposal ``i`` from another image:
    one of the batch when there is one (drawn at random; :class:`~mmdet_selfkd.datasets.ClassPairBatchSampler`
    puts a same-class partner image in every batch), else, with the class memory on, the last prediction of
    that class from an earlier batch and another image; its prediction is detached. Negatives (background)
    and positives without a partner are not in ``P``: they get the cross-entropy only. The pairing is done
    by :class:`~mmdet_selfkd.memory.class_pair_teacher.ClassPairTeacher`, which
    :class:`~mmdet_selfkd.engine.hooks.CSKDHook` attaches and a ``SelfKDRoIHead`` queries. Outside
    training, or before the hook hands a teacher over, the loss is the cross-entropy.

    Other reductions:

    * ``'sum'``: ``loss_weight * (sum_i w_i CE_i + λ sum_{i in P} w_i T^2 KL_i)`` (no normaliser; mmdet
      refuses ``avg_factor`` with it).
    * ``'none'``: per row ``loss_weight * w_i * (CE_i + λ m_i T^2 KL_i)``, ``m_i = 1`` for rows in ``P``
      and 0 otherwise: the KD part is **not** divided by ``|P|`` (nor the CE part by ``A``), so the mean of
      these rows is not the ``'mean'`` loss; to get it, divide the KD part by ``|P|`` and the CE part by ``A``.

    Args:
        temperature (float): ``T`` > 0. Default 4 (the paper's).
        kd_weight (float): ``λ`` >= 0, weight of the KD term averaged over the rows with a partner (see
            above). Default 1 (the paper's and the reference's ``--lamda``).
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the whole loss.
    """

    hook_name = 'CSKDHook'

    def __init__(
        self,
        temperature: float = 4.0,
        kd_weight: float = 1.0,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(temperature, kd_weight, use_sigmoid=use_sigmoid, reduction=reduction, loss_weight=loss_weight)

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs,
    ) -> Tensor:
        """Cross-entropy reduced like mmdet's, plus ``λ`` times the KD term averaged over the rows with a
        partner (see the class docstring for each reduction).

        Args:
            cls_score (Tensor): Logits (N, num_classes + 1).
            label (Tensor): Hard labels (N,); ``num_classes`` is background.
            weight (Tensor, optional): Per-row weights (N,).
            avg_factor (float, optional): Normaliser of the cross-entropy's mean.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss (a scalar, or (N,) for ``'none'``).
        """
        self._check_logits(cls_score)
        loss = self.reduce(
            F.cross_entropy(cls_score.float(), label.long(), reduction='none'), weight, avg_factor, reduction_override
        )
        teacher_probs, has_teacher = self.teacher(cls_score, label)  # consumes the pending teacher
        if teacher_probs is None or self.kd_weight == 0:
            return loss
        kd = self._masked_kd(cls_score, label, teacher_probs, has_teacher)  # (N,), 0 on rows without one
        taught = torch.ones_like(kd, dtype=torch.bool) if has_teacher is None else has_teacher.to(kd.device)
        if weight is not None:
            weight = weight.float()
            kd = kd * weight
            taught = taught & (weight > 0)
        reduction = reduction_override or self.reduction
        if reduction == 'mean':
            kd = kd.sum() / taught.sum().clamp(min=1)
        elif reduction == 'sum':
            kd = kd.sum()
        return loss + self.loss_weight * self.kd_weight * kd
