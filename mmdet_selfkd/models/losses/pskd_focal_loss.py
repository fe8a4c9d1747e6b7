"""PS-KD's distillation term for the sigmoid classification branch of a one-stage head (RetinaNet, FCOS)."""

import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from ...teachers import TeacherTargets
from .distill_loss import DistillLoss
from .sigmoid_cls_loss import check_focal_settings
from .soft_targets import soft_focal_loss


@MODELS.register_module()
class PSKDFocalLoss(DistillLoss):
    """Progressive self-knowledge distillation for sigmoid heads: the soft focal loss of the taught positives,
    less the focal loss their hard targets already got from the head's ``FocalLoss``.

    PS-KD trains a positive sample with a teacher on the per-class targets ``(1-α_t)·1[c=y] + α_t·p_c``, ``p``
    the mean sigmoid scores of the samples assigned to the same GT one pass earlier, with the soft focal loss
    ``ℓ`` (:func:`~.soft_targets.soft_focal_loss`: mmdet's ``FocalLoss`` for 0/1 targets, quality-focal
    modulation ``|y - σ(z)|^γ`` for soft ones). Every other sample keeps mmdet's hard target, so the head's
    stock ``FocalLoss`` (mmcv's fused op on GPU) stays its ``loss_cls`` over every sample and this term, logged
    as ``loss_pskd``, runs over the taught positives only:

    .. math::
        \\mathcal{L}_{pskd} = \\frac{w}{A}\\sum_{i\\,\\text{taught}}\\sum_c
            \\Big[\\ell\\big(z_{ic},\\ (1-\\alpha_t)\\mathbb{1}[c=y_i] + \\alpha_t p_{ic}\\big)
            - \\ell\\big(z_{ic},\\ \\mathbb{1}[c=y_i]\\big)\\Big]

    with ``A`` the head's ``avg_factor`` and ``w`` ``loss_weight``: ``loss_cls + loss_pskd`` is the soft focal
    loss over every sample. In the first pass (no teacher) the term is 0 and the run is stock RetinaNet.

    Set it as ``bbox_head.distill_loss`` of ``PSKDRetinaHead``/``PSKDFCOSHead`` (``gamma`` and ``alpha`` default
    to the head's ``FocalLoss``'s); ``PSKDHook`` builds its teacher and schedules ``α_t``.

    Args:
        use_sigmoid (bool): Must be True.
        gamma (float): Focal exponent; must equal the head's ``loss_cls.gamma``. Default 2.0.
        alpha (float): Focal balance of positives and negatives (mmdet's ``FocalLoss.alpha``, not PS-KD's
            ``α_t``); must equal the head's. Default 0.25.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the term (that of the head's ``loss_cls``, for the exact split).
    """

    log_name = 'loss_pskd'
    hook_name = 'PSKDHook'

    def __init__(
        self,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        check_focal_settings(type(self).__name__, use_sigmoid, gamma, alpha, reduction)
        super().__init__(reduction, loss_weight)
        self.gamma = gamma
        self.alpha = alpha

    def term(self, cls_score: Tensor, label: Tensor, teacher: TeacherTargets, alpha_t: float) -> Tensor:
        """Per positive (rows of ``cls_score`` (P, C), labels in [0, C)): the soft focal loss at
        ``(1-α_t)·1[c=y] + α_t·p_c`` less the hard one, summed over classes (0 without a teacher)."""
        teacher_probs, has_teacher = teacher
        hard = F.one_hot(label.long(), cls_score.size(1)).float()
        soft = hard + alpha_t * has_teacher[:, None].float() * (teacher_probs.detach().float() - hard)
        soft_loss = soft_focal_loss(cls_score, soft, self.alpha, self.gamma)
        return (soft_loss - soft_focal_loss(cls_score, hard, self.alpha, self.gamma)).sum(1)
