"""The one-stage form of :class:`~.cls_loss.ClsLoss`: sigmoid scores per object class, a focal loss."""

from torch import Tensor

from .cls_loss import ClsLoss
from .soft_targets import soft_focal_loss


def check_focal_settings(owner: str, use_sigmoid: bool, gamma: float, alpha: float, reduction: str) -> None:
    """The settings a focal loss shares with mmdet's ``FocalLoss``; ValueError naming the one that is wrong."""
    if not use_sigmoid:
        raise ValueError(
            f'{owner}(use_sigmoid=False) is not supported: it is a focal loss for sigmoid '
            'heads (RetinaNet); softmax RoI heads take the softmax losses (e.g. PSKDLoss).'
        )
    if not gamma >= 0:
        raise ValueError(f'{owner}(gamma={gamma}): the focal exponent must be >= 0 (RetinaNet uses 2.0).')
    if not 0 <= alpha <= 1:
        raise ValueError(f'{owner}(alpha={alpha}): the focal balance must be in [0, 1] (RetinaNet uses 0.25).')
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"{owner}(reduction={reduction!r}): expected 'none', 'mean' or 'sum'.")


class SigmoidClsLoss(ClsLoss):
    """Base of the dense-head losses: one sigmoid score per object class, :func:`soft_focal_loss` against
    per-class targets, reduced like mmdet's ``FocalLoss`` (per-row ``weight``, ``avg_factor``, ``reduction``,
    ``loss_weight``). A drop-in for ``FocalLoss`` in a config: same ``gamma``/``alpha``/``use_sigmoid``.
    Subclasses say only how they build their targets (:meth:`build_targets`).

    Args:
        use_sigmoid (bool): Must be True.
        gamma (float): Focal modulating exponent, >= 0.
        alpha (float): Focal balance of positives and negatives, in [0, 1].
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
        check_focal_settings(type(self).__name__, use_sigmoid, gamma, alpha, reduction)
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = True
        self.gamma = gamma
        self.alpha = alpha

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """Soft focal loss (N, C) against the targets of :meth:`build_targets`."""
        return soft_focal_loss(cls_score, self.build_targets(cls_score, label), self.alpha, self.gamma)

    def build_targets(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """Per-class targets (N, C) in [0, 1] for the logits ``cls_score`` (N, C) and hard labels (N,)."""
        raise NotImplementedError
