"""What every loss that replaces a head's ``loss_cls`` shares: mmdet's call and mmdet's reduction."""

from typing import Optional

from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from .reduced_loss import ReducedLoss


class ClsLoss(ReducedLoss):
    """Base of the package's ``loss_cls`` replacements (label smoothing, LsrKD and their focal forms).

    Called as mmdet's heads call ``loss_cls`` (logits, hard labels, ``label_weights``, ``avg_factor``) and
    reduced like mmdet's ``CrossEntropyLoss`` / ``FocalLoss``: per-sample ``weight``, ``avg_factor``,
    ``reduction``, ``loss_weight``. Subclasses say only what each sample's loss is (:meth:`per_sample`) and
    check their settings.

    Args:
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.

    Called with the logits (N, K), the hard labels (N,) (the last class index + 1 is background), and as mmdet's
    heads pass them, per-sample ``weight`` (N,), ``avg_factor`` and ``reduction_override``.
    """

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs,
    ) -> Tensor:
        """The loss of :meth:`per_sample`, weighted and reduced as the class docstring says."""
        loss = self.per_sample(cls_score, label)
        if weight is not None:
            weight = weight.float()
            if loss.dim() == 2:  # per-class losses of a sigmoid head
                weight = weight.reshape(-1, 1)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction_override or self.reduction, avg_factor)

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """The loss of each sample (N,), or of each sample and class (N, C) for a sigmoid head."""
        raise NotImplementedError
