"""Base classes of the temperature-KD losses (LsrKD, CS-KD, MrKD): hard cross-entropy plus a KL term.

.. math::
    \\mathcal{L}_i = \\mathrm{CE}(z_i, y_i)
        + \\lambda\\, m_i\\, T^2\\, \\mathrm{KL}\\big(q^T_i \\,\\|\\, \\mathrm{softmax}(z_i/T)\\big)

per RoI ``i`` over all ``K = num_classes + 1`` logits (background included), with ``m_i = 1`` where the
row has a teacher. ``q^T`` is the subclass's teacher softened at ``T``, then the optional Teacher
Correction applied (see :mod:`.kd_terms`); with several teachers per row (MrKD's copies) ``q^T`` is the mean of
their softened distributions. Rows are then reduced like mmdet's ``CrossEntropyLoss``: per-row
``label_weights``, ``avg_factor``, ``reduction`` and ``loss_weight``.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .kd_terms import (
    check_kd_weight,
    check_num_classes,
    check_tc_share,
    check_temperature,
    correct_teacher,
    kd_term,
    soften,
)
from .softmax_cls_loss import SoftmaxClsLoss

Teacher = Tuple[Optional[Tensor], Optional[Tensor]]  # (probs (..., N, K), has_teacher (N,) bool); None: none/all


class TemperatureKDLoss(SoftmaxClsLoss):
    """Cross-entropy plus ``kd_weight * T^2 * KL(teacher_T || softmax(z/T))``; subclasses give the teacher.

    Args:
        temperature (float): ``T`` > 0.
        kd_weight (float): ``lambda`` >= 0, weight of the KD term.
        tc_share (float, optional): Teacher Correction share of the true class, in (1/K, 1]; None: off.
        num_classes (int, optional): Object classes (``bbox_head.num_classes``, background excluded). When
            given, ``tc_share`` is checked at build time and the logits' width at every forward;
            otherwise ``tc_share`` is checked against the logits at forward.
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the whole loss.
    """

    def __init__(
        self,
        temperature: float,
        kd_weight: float,
        tc_share: Optional[float] = None,
        num_classes: Optional[int] = None,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(use_sigmoid, reduction, loss_weight)
        owner = type(self).__name__
        check_temperature(owner, temperature)
        check_kd_weight(owner, kd_weight)
        check_num_classes(owner, num_classes)
        if num_classes is not None:
            check_tc_share(owner, tc_share, num_classes + 1)
        self.temperature = temperature
        self.kd_weight = kd_weight
        self.tc_share = tc_share
        self.num_classes = num_classes

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs,
    ) -> Tensor:
        """Hard cross-entropy plus the KD term on the rows that have a teacher.

        Args:
            cls_score (Tensor): Logits (N, num_classes + 1).
            label (Tensor): Hard labels (N,); ``num_classes`` is background.
            weight (Tensor, optional): Per-row weights (N,).
            avg_factor (float, optional): Normaliser of the mean.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss.
        """
        self._check_logits(cls_score)
        loss = F.cross_entropy(cls_score.float(), label.long(), reduction='none')
        teacher_probs, has_teacher = self.teacher(cls_score, label)
        if teacher_probs is not None and self.kd_weight > 0:
            loss = loss + self.kd_weight * self._masked_kd(cls_score, label, teacher_probs, has_teacher)
        return self.reduce(loss, weight, avg_factor, reduction_override)

    def teacher(self, cls_score: Tensor, label: Tensor) -> Teacher:
        """The teacher of this forward (probabilities, at temperature 1), and which rows have one."""
        raise NotImplementedError

    def teacher_at_temperature(self, teacher_probs: Tensor, label: Tensor) -> Tensor:
        """``q^T``: soften each teacher at ``T``, then correct it (if ``tc_share``), then average over teachers.

        Teacher Correction acts on the distribution the student's ``softmax(z/T)`` is distilled against,
        so the true class holds exactly ``tc_share`` of the target at every ``T`` (see :mod:`.kd_terms`).
        With M teachers per row (MrKD) each one is softened and corrected, then the M are averaged: the
        mean also puts exactly ``tc_share`` on the true class.

        Args:
            teacher_probs (Tensor): (N, K), or (M, N, K) for M teachers per row.
            label (Tensor): (N,) true classes.

        Returns:
            Tensor: (N, K) distributions.
        """
        softened = soften(teacher_probs, self.temperature)
        if self.tc_share is not None:
            softened = correct_teacher(softened, label, self.tc_share)
        return softened.mean(0) if softened.dim() == 3 else softened

    def _masked_kd(
        self, cls_score: Tensor, label: Tensor, teacher_probs: Tensor, has_teacher: Optional[Tensor]
    ) -> Tensor:
        """Per-row KD term, 0 on rows without a teacher (whose placeholder teachers are never read)."""
        if has_teacher is None:
            return kd_term(cls_score, self.teacher_at_temperature(teacher_probs, label), self.temperature)
        kd = cls_score.new_zeros(cls_score.size(0), dtype=torch.float)
        rows = torch.nonzero(has_teacher).flatten()
        teacher_T = self.teacher_at_temperature(teacher_probs[..., rows, :], label[rows])
        return kd.index_put((rows,), kd_term(cls_score[rows], teacher_T, self.temperature))

    def _check_logits(self, cls_score: Tensor) -> None:
        owner = type(self).__name__
        if self.num_classes is not None and cls_score.size(1) != self.num_classes + 1:
            raise ValueError(
                f'{owner}(num_classes={self.num_classes}) got logits of width {cls_score.size(1)}: '
                'expected num_classes + 1 (background included); set num_classes to '
                'bbox_head.num_classes.'
            )
        check_tc_share(owner, self.tc_share, cls_score.size(1))


class ProvidedTeacherKDLoss(TemperatureKDLoss):
    """A :class:`TemperatureKDLoss` whose teacher a provider computes per batch.

    The method's hook (``hook_name``) attaches a teacher provider (``teacher_provider``) to the loss;
    a :class:`~mmdet_selfkd.models.roi_heads.SelfKDRoIHead` asks it for each batch's teacher and hands
    it over with :meth:`set_teacher`; the next forward consumes it. Outside training the loss is the
    plain cross-entropy.
    """

    hook_name = ''

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.teacher_provider = None  # set by the hook; a plain attribute, so never in the state_dict
        self._pending: Teacher = (None, None)

    def set_teacher(self, teacher_probs: Tensor, has_teacher: Tensor) -> None:
        """Hand over the teacher for the next forward (consumed by it)."""
        self._pending = (teacher_probs, has_teacher)

    def teacher(self, cls_score: Tensor, label: Tensor) -> Teacher:
        if not self.training:
            return None, None
        owner = type(self).__name__
        if self.teacher_provider is None:
            raise RuntimeError(
                f"{owner} is used without {self.hook_name}: add dict(type='{self.hook_name}') "
                'to custom_hooks (it builds and attaches the teacher).'
            )
        teacher_probs, has_teacher = self._pending
        if teacher_probs is None:
            raise RuntimeError(
                f"{owner} got no teacher: set model.roi_head.type='SelfKDRoIHead' (or "
                "'SelfKDCascadeRoIHead'), which hands each batch's teacher to the loss."
            )
        self._pending = (None, None)
        if teacher_probs.shape[-2:] != cls_score.shape:
            raise ValueError(
                f'{owner}: teacher of shape {tuple(teacher_probs.shape)} does not match logits '
                f'{tuple(cls_score.shape)}.'
            )
        return teacher_probs, has_teacher
