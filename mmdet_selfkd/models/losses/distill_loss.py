"""What every distillation term shares: the teacher as an argument, mmdet's reduction, the name it is logged under.

A self-KD head keeps mmdet's ``loss_cls`` (``CrossEntropyLoss``, ``FocalLoss``) and adds the distillation term
of its ``distill_loss`` under the term's own key (``loss_pskd``, ``loss_cskd``, ``loss_mrkd``), like mmdet's
``KnowledgeDistillationKLDivLoss.forward(pred, soft_label, ...)`` and mmrazor's ``KLDivergence.forward(preds_S,
preds_T)``: the teacher of the batch and the scheduled weight ``alpha_t`` come in the call, nothing is left on
the loss for a later call.
"""

from typing import Optional

from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from ...teachers import TeacherTargets
from .reduced_loss import ReducedLoss


class DistillLoss(ReducedLoss):
    """Base of the distillation terms.

    Subclasses implement :meth:`term` (per row) and, for another reduction than mmdet's, :meth:`reduce`.

    Args:
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the term.
    """

    #: the key the head logs the term under
    log_name = ''
    #: the hook that builds the teacher and schedules ``alpha_t``
    hook_name = ''

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        teacher: TeacherTargets,
        alpha_t: float = 1.0,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
    ) -> Tensor:
        """The distillation term of a batch: :meth:`term` per row, reduced by :meth:`reduce`.

        Args:
            cls_score (Tensor): Logits (N, K).
            label (Tensor): Hard labels (N,).
            teacher (TeacherTargets): The batch's teacher, rows in logits order, on the logits' device.
            alpha_t (float): The hook's scheduled teacher weight (1 for methods without a schedule).
            weight (Tensor, optional): Per-row weights (N,), mmdet's ``label_weights``.
            avg_factor (float | Tensor, optional): Normaliser of the mean, the one ``loss_cls`` gets.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The term (a scalar, or per row for ``'none'``).
        """
        self.check_teacher(teacher)
        if teacher.probs.shape[-2:] != cls_score.shape:
            raise ValueError(
                f'{type(self).__name__}: teacher of shape {tuple(teacher.probs.shape)} does not match logits '
                f'{tuple(cls_score.shape)}: num_logits of the head and of its teacher differ.'
            )
        loss = self.term(cls_score, label, teacher, alpha_t)
        return self.reduce(loss, teacher, weight, avg_factor, reduction_override or self.reduction)

    def term(self, cls_score: Tensor, label: Tensor, teacher: TeacherTargets, alpha_t: float) -> Tensor:
        """The term per row (N,) at teacher weight ``alpha_t``, 0 on rows without a teacher."""
        raise NotImplementedError

    def check_teacher(self, teacher) -> None:
        """RuntimeError naming the fix when the term is called as mmdet calls a ``loss_cls`` (without a teacher)."""
        if not isinstance(teacher, TeacherTargets):
            name = type(self).__name__
            raise RuntimeError(
                f"{name} got no teacher: it is a distillation term, not a loss_cls. Keep mmdet's loss_cls and set "
                f"the head's distill_loss=dict(type='{name}'), with model.roi_head.type='SelfKDRoIHead' (or "
                "'SelfKDCascadeRoIHead'; 'PSKDRetinaHead'/'PSKDFCOSHead' for PSKDFocalLoss), and add "
                f"dict(type='{self.hook_name}') to custom_hooks."
            )

    def reduce(
        self, loss: Tensor, teacher: TeacherTargets, weight: Optional[Tensor], avg_factor, reduction: str
    ) -> Tensor:
        """Weight, reduce (``reduction``: 'none', 'mean' or 'sum') and scale per-row terms (N,), as mmdet's
        ``CrossEntropyLoss`` does."""
        if weight is not None:
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
