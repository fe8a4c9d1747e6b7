"""What the sigmoid (one-stage) classification losses share: settings checks and mmdet's focal-loss reduction."""
from typing import Optional

from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor, nn

from .soft_targets import soft_focal_loss


class SigmoidClsLoss(nn.Module):
    """Base of the dense-head losses: one sigmoid score per object class, :func:`soft_focal_loss` against
    per-class targets, reduced like mmdet's ``FocalLoss`` (per-row ``weight``, ``avg_factor``, ``reduction``,
    ``loss_weight``). A drop-in for ``FocalLoss`` in a config: same ``gamma``/``alpha``/``use_sigmoid``.

    Args:
        use_sigmoid (bool): Must be True.
        gamma (float): Focal modulating exponent, >= 0.
        alpha (float): Focal balance of positives and negatives, in [0, 1].
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: float = 0.25, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        owner = type(self).__name__
        if not use_sigmoid:
            raise ValueError(f'{owner}(use_sigmoid=False) is not supported: it is a focal loss for sigmoid '
                             'heads (RetinaNet); softmax RoI heads take the softmax losses (e.g. PSKDLoss).')
        if not gamma >= 0:
            raise ValueError(f'{owner}(gamma={gamma}): the focal exponent must be >= 0 (RetinaNet uses 2.0).')
        if not 0 <= alpha <= 1:
            raise ValueError(f'{owner}(alpha={alpha}): the focal balance must be in [0, 1] (RetinaNet uses '
                             '0.25).')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"{owner}(reduction={reduction!r}): expected 'none', 'mean' or 'sum'.")
        self.use_sigmoid = True
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def focal(self, cls_score: Tensor, targets: Tensor, weight: Optional[Tensor], avg_factor: Optional[float],
              reduction_override: Optional[str]) -> Tensor:
        """Soft focal loss of (N, C) logits against (N, C) targets, weighted per row and reduced."""
        loss = soft_focal_loss(cls_score, targets, self.alpha, self.gamma)
        if weight is not None:
            weight = weight.float().reshape(-1, 1)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction_override or self.reduction, avg_factor)
