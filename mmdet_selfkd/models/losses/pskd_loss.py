"""PS-KD's distillation term for the classification branch of an RoI head."""

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from ...teachers import TeacherTargets
from .distill_loss import DistillLoss
from .kd_terms import check_softmax_loss
from .soft_targets import shape_teacher


@MODELS.register_module()
class PSKDLoss(DistillLoss):
    """Progressive self-knowledge distillation (Kim et al., ICCV 2021): the term that turns the head's
    cross-entropy into PS-KD's soft cross-entropy.

    PS-KD trains on ``-Σ_c [(1-α_t)·1[c=y] + α_t·p_c] log softmax(z)_c`` over all ``num_classes + 1`` logits
    (background included), ``p`` the model's own softmax for the same proposal one pass earlier. The soft
    cross-entropy is linear in its target, so it splits exactly into the head's ``CrossEntropyLoss`` and this
    term, logged as ``loss_pskd``:

    .. math::
        \\mathrm{CE}_{soft}\\big((1-\\alpha_t m)\\,\\mathbb{1}_y + \\alpha_t m\\,p\\big)
            = \\mathrm{CE}(z, y) + \\alpha_t\\, m\\,\\big(\\mathrm{CE}_{soft}(z, p) - \\mathrm{CE}(z, y)\\big)

    with ``m = 1`` on rows that have a teacher. Reduction follows mmdet's ``CrossEntropyLoss`` (per-row
    ``label_weights``, the head's ``avg_factor``, ``reduction``, ``loss_weight``), so with the same
    ``loss_weight`` the sum of both is the soft cross-entropy reduced the same way.

    Two options reshape ``p`` first (see :func:`~.soft_targets.shape_teacher`); both default to the
    paper's PS-KD. They are the package's own variants for detection, where a positive's teacher carries
    background mass that one-hot negatives never balance: ``teacher_temperature < 1`` sharpens the teacher,
    ``foreground_teacher=True`` removes a positive's teacher's background mass.

    Set it as ``model.roi_head.distill_loss`` of a ``SelfKDRoIHead``; ``PSKDHook`` builds its teacher and
    schedules ``α_t``.

    Args:
        teacher_temperature (float): ``tau`` > 0 applied to the teacher, ``p^(1/tau)`` renormalised. Default
            1 (the paper's).
        foreground_teacher (bool): Positives are taught their teacher's distribution over object classes
            only. Default False (the paper's).
        use_sigmoid (bool): Must be False: sigmoid one-stage heads take :class:`PSKDFocalLoss`.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the term (that of the head's ``loss_cls``, for the exact split).
    """

    log_name = 'loss_pskd'
    hook_name = 'PSKDHook'

    def __init__(
        self,
        teacher_temperature: float = 1.0,
        foreground_teacher: bool = False,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        check_softmax_loss(type(self).__name__, use_sigmoid, reduction)
        super().__init__(reduction, loss_weight)
        if not teacher_temperature > 0:
            raise ValueError(
                f"PSKDLoss(teacher_temperature={teacher_temperature}): must be > 0 (1: the paper's "
                'teacher; below 1 sharpens it, above 1 flattens it).'
            )
        self.teacher_temperature = teacher_temperature
        self.foreground_teacher = foreground_teacher

    def term(self, cls_score: Tensor, label: Tensor, teacher: TeacherTargets, alpha_t: float) -> Tensor:
        """``α_t · m · (CE_soft(z, p) - CE(z, y))`` per row (reduced by :class:`DistillLoss`)."""
        teacher_probs, has_teacher = teacher
        if self.teacher_temperature != 1.0 or self.foreground_teacher:
            teacher_probs = shape_teacher(teacher_probs, label, self.teacher_temperature, self.foreground_teacher)
        log_probs = F.log_softmax(cls_score.float(), dim=1)
        soft_minus_hard = log_probs.gather(1, label.long()[:, None]).squeeze(1) - (teacher_probs * log_probs).sum(1)
        return torch.where(has_teacher, soft_minus_hard, soft_minus_hard.new_zeros(())) * alpha_t
