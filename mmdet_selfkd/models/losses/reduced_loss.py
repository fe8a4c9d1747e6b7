"""What every loss of the package shares with mmdet's: ``reduction`` and ``loss_weight``."""

from torch import nn


class ReducedLoss(nn.Module):
    """Base of the package's losses: mmdet's ``reduction`` ('none', 'mean' or 'sum') and ``loss_weight``.

    Args:
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"{type(self).__name__}(reduction={reduction!r}): expected 'none', 'mean' or 'sum'.")
        self.reduction = reduction
        self.loss_weight = loss_weight
