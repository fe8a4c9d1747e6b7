"""PS-KD for the sigmoid classification branch of a one-stage head (RetinaNet, FCOS)."""

from typing import Dict, Optional

from mmdet.registry import MODELS
from torch import Tensor

from .pskd_loss import check_alpha_and_teacher
from .sigmoid_cls_loss import SigmoidClsLoss
from .soft_targets import mix_sigmoid_targets


@MODELS.register_module()
class PSKDFocalLoss(SigmoidClsLoss):
    """Progressive self-knowledge distillation for sigmoid heads: a focal loss on per-class soft targets.

    .. math::
        \\mathcal{L} = \\sum_c \\ell\\big(z_c,\\ (1-\\alpha_t)\\,\\mathbb{1}[c=y] + \\alpha_t\\, p^{t-1}_c\\big)

    for positive anchors that have a teacher, where ``p^{t-1}`` is the mean sigmoid score of the anchors
    assigned to the same GT one pass earlier (the ``gt`` strategy of the two-stage heads), and ``ℓ`` is
    the soft focal loss (:func:`~mmdet_selfkd.models.losses.soft_targets.soft_focal_loss`: mmdet's
    ``FocalLoss`` for 0/1 targets, quality-focal modulation ``|y - σ(z)|^γ`` for soft ones). Background
    anchors and positives without a teacher (first pass) keep mmdet's hard targets, so the first pass is
    exactly RetinaNet's ``FocalLoss``. Reduction like mmdet's ``FocalLoss``.

    The teacher rows come from the PS-KD dense heads (:class:`~mmdet_selfkd.models.dense_heads.PSKDRetinaHead`:
    one :meth:`set_teacher` call per pyramid level; ``PSKDFCOSHead``: one per batch) and ``alpha_t`` from
    :class:`~mmdet_selfkd.engine.hooks.PSKDHook`.

    Args:
        use_sigmoid (bool): Must be True.
        gamma (float): Focal exponent. Default 2.0.
        alpha (float): Focal balance of positives and negatives (not PS-KD's ``alpha_t``). Default 0.25.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(
        self,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(use_sigmoid, gamma, alpha, reduction, loss_weight)
        self.alpha_t: Optional[float] = None  # set every iteration by PSKDHook
        self._teacher_rows: Optional[Tensor] = None
        self._teacher_probs: Optional[Tensor] = None
        self.last_stats: Dict[str, float] = {}  # written by the head, over all levels of a batch

    def set_teacher(self, teacher_rows: Tensor, teacher_probs: Tensor) -> None:
        """Hand over the teacher of the next forward (consumed by it).

        Args:
            teacher_rows (Tensor): Long (P,): the rows of the next ``cls_score`` that have a teacher.
            teacher_probs (Tensor): (P, C) their teachers' per-class sigmoid scores.
        """
        self._teacher_rows, self._teacher_probs = teacher_rows, teacher_probs

    def build_targets(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """The PS-KD targets: the taught rows of :meth:`set_teacher` mixed, the others hard (training);
        hard targets in eval mode."""
        teacher_rows = teacher_probs = None
        if self.training:
            check_alpha_and_teacher(self, self._teacher_probs, "bbox_head.type to 'PSKDRetinaHead' (or 'PSKDFCOSHead')")
            teacher_rows, teacher_probs = self._teacher_rows, self._teacher_probs
            self._teacher_rows = self._teacher_probs = None
            if teacher_probs.size(1) != cls_score.size(1):
                raise ValueError(
                    f'PSKDFocalLoss: teacher with {teacher_probs.size(1)} classes for logits with '
                    f'{cls_score.size(1)}: num_classes of the head and the memory differ.'
                )
        return mix_sigmoid_targets(label, cls_score.size(1), self.alpha_t or 0.0, teacher_probs, teacher_rows)
