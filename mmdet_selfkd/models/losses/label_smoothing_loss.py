"""Label smoothing for the classification branch of an RoI head."""

from mmdet.registry import MODELS
from torch import Tensor

from .kd_terms import check_epsilon, uniform_teacher
from .soft_targets import mix_soft_targets, soft_cross_entropy
from .softmax_cls_loss import SoftmaxClsLoss


@MODELS.register_module()
class LabelSmoothingLoss(SoftmaxClsLoss):
    """Label smoothing (Szegedy et al., CVPR 2016) over all ``K = num_classes + 1`` logits.

    .. math::
        \\mathcal{L} = -\\sum_c \\big[(1-\\varepsilon)\\,\\mathbb{1}[c=y] + \\varepsilon / K\\big]
            \\log \\mathrm{softmax}(z)_c

    i.e. PS-KD's target mix with a uniform teacher; background (label ``num_classes``) is smoothed like
    any other class. Reduction follows mmdet's ``CrossEntropyLoss``: per-row ``label_weights``,
    ``avg_factor``, ``reduction`` and ``loss_weight``.

    Args:
        epsilon (float): Smoothing share, in [0, 1). Default 0.1.
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(
        self, epsilon: float = 0.1, use_sigmoid: bool = False, reduction: str = 'mean', loss_weight: float = 1.0
    ) -> None:
        super().__init__(use_sigmoid, reduction, loss_weight)
        check_epsilon(type(self).__name__, epsilon)
        self.epsilon = epsilon

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """Soft cross-entropy (N,) against the smoothed target."""
        num_rows, num_logits = cls_score.shape
        uniform = uniform_teacher(num_rows, num_logits, cls_score.device)
        return soft_cross_entropy(cls_score, mix_soft_targets(label, num_logits, self.epsilon, uniform))
