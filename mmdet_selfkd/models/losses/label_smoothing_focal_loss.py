"""Label smoothing for the sigmoid classification branch of a one-stage head."""

from mmdet.registry import MODELS
from torch import Tensor

from .kd_terms import check_epsilon
from .sigmoid_cls_loss import SigmoidClsLoss
from .soft_targets import smooth_sigmoid_targets


@MODELS.register_module()
class LabelSmoothingFocalLoss(SigmoidClsLoss):
    """Label smoothing for sigmoid heads: positives learn ``(1-ε)·onehot + ε/C`` over the ``C`` classes.

    .. math::
        \\mathcal{L} = \\sum_c \\ell\\big(z_c,\\ y_c\\big), \\qquad
        y_c = (1-\\varepsilon)\\,\\mathbb{1}[c=y] + \\varepsilon / C \\ \\text{(positives)}, \\quad
        y_c = 0 \\ \\text{(background)}

    with ``ℓ`` the soft focal loss (:func:`~mmdet_selfkd.models.losses.soft_targets.soft_focal_loss`), which
    is mmdet's ``FocalLoss`` at ``ε = 0``. Background anchors keep all-zero targets: smoothing them would
    lift the score of the ~10^5 background anchors of every image towards ``ε/C``, which a detector turns
    into false positives. Swap it for ``FocalLoss`` in any RetinaNet-style config; no hook is needed.

    Args:
        epsilon (float): Smoothing share, in [0, 1). Default 0.1.
        use_sigmoid (bool): Must be True.
        gamma (float): Focal exponent. Default 2.0.
        alpha (float): Focal balance. Default 0.25.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(
        self,
        epsilon: float = 0.1,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(use_sigmoid, gamma, alpha, reduction, loss_weight)
        check_epsilon(type(self).__name__, epsilon)
        self.epsilon = epsilon

    def build_targets(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """Positives: ``(1 - ε)·onehot + ε/C``; background rows: zeros."""
        return smooth_sigmoid_targets(label, cls_score.size(1), self.epsilon)
