"""What every classification loss of the package shares: softmax-only checks and mmdet's reduction."""

from typing import Optional

from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor, nn

from .kd_terms import check_softmax_loss


class SoftmaxClsLoss(nn.Module):
    """Base of the RoI-classifier losses: ``num_classes + 1`` softmax logits, reduced like mmdet's
    ``CrossEntropyLoss`` (per-row ``label_weights``, ``avg_factor``, ``reduction``, ``loss_weight``).

    Args:
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        check_softmax_loss(type(self).__name__, use_sigmoid, reduction)
        self.use_sigmoid = False
        self.reduction = reduction
        self.loss_weight = loss_weight

    def reduce(
        self, loss: Tensor, weight: Optional[Tensor], avg_factor: Optional[float], reduction_override: Optional[str]
    ) -> Tensor:
        """Weight, reduce and scale per-row losses (N,)."""
        if weight is not None:
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction_override or self.reduction, avg_factor)
