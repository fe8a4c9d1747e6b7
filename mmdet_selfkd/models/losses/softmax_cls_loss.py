"""The RoI-classifier form of :class:`~.cls_loss.ClsLoss`: softmax logits, background included."""

from .cls_loss import ClsLoss
from .kd_terms import check_softmax_loss


class SoftmaxClsLoss(ClsLoss):
    """Base of the RoI-classifier losses: ``num_classes + 1`` softmax logits, reduced like mmdet's
    ``CrossEntropyLoss`` (per-row ``label_weights``, ``avg_factor``, ``reduction``, ``loss_weight``).

    Args:
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        check_softmax_loss(type(self).__name__, use_sigmoid, reduction)
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = False
