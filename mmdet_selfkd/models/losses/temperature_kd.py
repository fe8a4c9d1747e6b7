"""What the temperature-KD losses (LsrKD, CS-KD, MrKD) share: their settings and the KD term of a row.

.. math::
    \\mathrm{KD}_i = T^2\\, \\mathrm{KL}\\big(q^T_i \\,\\|\\, \\mathrm{softmax}(z_i/T)\\big)

per RoI ``i`` over all ``K = num_classes + 1`` logits (background included). ``q^T`` is the teacher softened at
``T``, then the optional Teacher Correction applied (see :mod:`.kd_terms`); with several teachers per row
(MrKD's copies) ``q^T`` is the mean of their softened distributions.
"""

from typing import Optional

import torch
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


class TemperatureKD:
    """Settings and per-row KD term of a temperature-KD loss (a mixin of ``nn.Module`` losses).

    Args of :meth:`setup_kd`:
        temperature (float): ``T`` > 0.
        kd_weight (float): ``lambda`` >= 0, weight of the KD term.
        tc_share (float, optional): Teacher Correction share of the true class, in (1/K, 1]; None: off.
        num_classes (int, optional): Object classes (``bbox_head.num_classes``, background excluded). When
            given, ``tc_share`` is checked at build time and the logits' width at every forward;
            otherwise ``tc_share`` is checked against the logits at forward.
    """

    def setup_kd(
        self, temperature: float, kd_weight: float, tc_share: Optional[float], num_classes: Optional[int]
    ) -> None:
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

    def masked_kd(self, cls_score: Tensor, label: Tensor, teacher_probs: Tensor, has_teacher: Tensor) -> Tensor:
        """Per-row KD term (N,), 0 on rows without a teacher. Every row is computed and the untaught ones are
        masked out (their placeholder teachers are replaced by the uniform distribution first, so that no
        NaN reaches the gradient): no ``nonzero`` and no host sync."""
        placeholder = torch.full_like(teacher_probs, 1.0 / teacher_probs.size(-1))
        teacher_probs = torch.where(has_teacher[:, None], teacher_probs.float(), placeholder)
        kd = kd_term(cls_score, self.teacher_at_temperature(teacher_probs, label), self.temperature)
        return torch.where(has_teacher, kd, kd.new_zeros(()))

    def check_logits(self, cls_score: Tensor) -> None:
        owner = type(self).__name__
        if self.num_classes is not None and cls_score.size(1) != self.num_classes + 1:
            raise ValueError(
                f'{owner}(num_classes={self.num_classes}) got logits of width {cls_score.size(1)}: '
                'expected num_classes + 1 (background included); set num_classes to '
                'bbox_head.num_classes.'
            )
        check_tc_share(owner, self.tc_share, cls_score.size(1))
