"""CS-KD: class-wise self-knowledge distillation between positive proposals of the same class."""

from typing import Optional

from mmdet.registry import MODELS
from torch import Tensor

from ...teachers import TeacherTargets
from .distill_loss import DistillLoss
from .kd_terms import check_softmax_loss
from .temperature_kd import TemperatureKD


@MODELS.register_module()
class CSKDLoss(TemperatureKD, DistillLoss):
    """Class-wise self-knowledge distillation (Yun et al., CVPR 2020) for an RoI head classifier.

    With ``reduction='mean'`` (mmdet's default), over the ``N`` sampled RoIs of a batch with per-row
    weights ``w_i`` (mmdet's ``label_weights``; 1 when not given) and the set ``P`` of rows that have a
    teacher and ``w_i > 0``:

    .. math::
        \\mathcal{L} = \\mathrm{loss\\_weight}\\cdot\\Big(
            \\frac{1}{A}\\sum_{i=1}^{N} w_i\\,\\mathrm{CE}(z_i, y_i)
            \\;+\\; \\lambda\\,\\frac{1}{\\max(|P|, 1)}\\sum_{i\\in P} w_i\\,T^2\\,
            \\mathrm{KL}\\big(\\mathrm{softmax}(z_{j(i)}/T)\\,\\|\\,\\mathrm{softmax}(z_i/T)\\big)\\Big)

    over all ``K = num_classes + 1`` logits. The head keeps mmdet's ``CrossEntropyLoss`` as ``loss_cls`` (the
    first sum, with the same ``loss_weight``) and adds the second, this loss's term, as ``loss_cskd`` (times
    ``α_t``, 1 unless the hook schedules it). The cross-entropy is reduced as by mmdet's
    ``CrossEntropyLoss``: ``A`` is ``avg_factor`` (the RoI head passes the number of sampled RoIs), else
    ``N``. The KD term is the **mean over the rows that have a partner**, like the reference
    (alinlab/cs-kd ``train.py``: ``KDLoss`` is ``KLDivLoss(reduction='sum') * T**2 / input.size(0)``,
    line 104, over the drawn half of the batch, every one of which has a partner; then
    ``loss += args.lamda * cls_loss``, lines 138-139). So ``kd_weight`` (λ) is the reference's ``lamda``:
    the weight of the mean KD term next to the mean cross-entropy; it does not shrink with the share of
    positives among the sampled RoIs. Per positive row, the KD term weighs ``λ · A / |P|`` times its own
    cross-entropy (``A / |P|`` is about 4 with mmdet's 25 % positive sampling and every positive paired;
    in the reference it is ``λ``).

    ``j(i)`` is a positive proposal of the same class as the positive proposal ``i`` from another image:
    one of the batch when there is one (drawn at random; :class:`~mmdet_selfkd.datasets.ClassPairBatchSampler`
    puts a same-class partner image in every batch), else, with the class memory on, the last prediction of
    that class from an earlier batch and another image; its prediction is detached. Negatives (background)
    and positives without a partner are not in ``P``: they get the cross-entropy only. The pairing is done
    by :class:`~mmdet_selfkd.teachers.ClassPairTeacher`, which :class:`~mmdet_selfkd.engine.hooks.CSKDHook`
    builds and a ``SelfKDRoIHead`` asks once per batch.

    Other reductions of this term:

    * ``'sum'``: ``loss_weight * λ sum_{i in P} w_i T^2 KL_i`` (no normaliser).
    * ``'none'``: per row ``loss_weight * w_i * λ m_i T^2 KL_i``, ``m_i = 1`` for rows in ``P`` and 0 otherwise:
      **not** divided by ``|P|``, so the mean of these rows is not the ``'mean'`` term.

    Args:
        temperature (float): ``T`` > 0. Default 4 (the paper's).
        kd_weight (float): ``λ`` >= 0, weight of the KD term averaged over the rows with a partner (see
            above). Default 1 (the paper's and the reference's ``--lamda``).
        use_sigmoid (bool): Must be False.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the term (that of the head's ``loss_cls``, as in the formula).
    """

    log_name = 'loss_cskd'
    hook_name = 'CSKDHook'

    def __init__(
        self,
        temperature: float = 4.0,
        kd_weight: float = 1.0,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        check_softmax_loss(type(self).__name__, use_sigmoid, reduction)
        super().__init__(reduction, loss_weight)
        self.setup_kd(temperature, kd_weight, None, None)

    def term(self, cls_score: Tensor, label: Tensor, teacher: TeacherTargets, alpha_t: float) -> Tensor:
        """``α_t · λ · m · T² KL`` per row, the partner's softmax as the teacher."""
        return alpha_t * self.kd_weight * self.masked_kd(cls_score, label, teacher.probs, teacher.has_teacher)

    def reduce(
        self, loss: Tensor, teacher: TeacherTargets, weight: Optional[Tensor], avg_factor, reduction: str
    ) -> Tensor:
        """The mean over the rows with a partner (of weight > 0), the sum, or the rows (see the class docstring);
        ``avg_factor`` normalises the head's cross-entropy, not this term."""
        taught = teacher.has_teacher
        if weight is not None:
            weight = weight.float()
            loss = loss * weight
            taught = taught & (weight > 0)
        if reduction == 'mean':
            loss = loss.sum() / taught.sum().clamp(min=1)
        elif reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
