"""PS-KD soft cross-entropy for the classification branch of an RoI head."""

from typing import Dict, Optional

from mmdet.registry import MODELS
from torch import Tensor, nn

from .soft_targets import mix_soft_targets, shape_teacher, soft_cross_entropy
from .softmax_cls_loss import SoftmaxClsLoss


@MODELS.register_module()
class PSKDLoss(SoftmaxClsLoss):
    """Progressive self-knowledge distillation loss (Kim et al., ICCV 2021).

    .. math::
        \\mathcal{L} = -\\sum_c \\big[(1-\\alpha_t)\\,\\mathbb{1}[c=y] + \\alpha_t\\, p^{t-1}_c\\big]
            \\log \\mathrm{softmax}(z)_c

    over all ``num_classes + 1`` logits (background included), where ``p^{t-1}`` is the model's own
    softmax for the same proposal one pass earlier. Reduction follows mmdet's ``CrossEntropyLoss``:
    per-row ``label_weights``, ``avg_factor``, ``reduction`` and ``loss_weight``.

    Two options reshape ``p^{t-1}`` first (see :func:`~.soft_targets.shape_teacher`); both default to the
    paper's PS-KD. They are the package's own variants for detection, where a positive's teacher carries
    background mass that one-hot negatives never balance: ``teacher_temperature < 1`` sharpens the teacher,
    ``foreground_teacher=True`` removes a positive's teacher's background mass.

    The teacher comes from :class:`~mmdet_selfkd.models.roi_heads.SelfKDRoIHead` (registered as ``PSKDRoIHead``
    too; one :meth:`set_teacher` call per forward) and ``alpha_t`` (attribute ``alpha_t``) from
    :class:`~mmdet_selfkd.engine.hooks.PSKDHook`; neither is a parameter of the loss.

    Args:
        teacher_temperature (float): ``tau`` > 0 applied to the teacher, ``p^(1/tau)`` renormalised. Default
            1 (the paper's).
        foreground_teacher (bool): Positives are taught their teacher's distribution over object classes
            only. Default False (the paper's).
        use_sigmoid (bool): Must be False: sigmoid one-stage heads take :class:`PSKDFocalLoss`.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Weight of the loss.
    """

    def __init__(
        self,
        teacher_temperature: float = 1.0,
        foreground_teacher: bool = False,
        use_sigmoid: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(use_sigmoid, reduction, loss_weight)
        if not teacher_temperature > 0:
            raise ValueError(
                f"PSKDLoss(teacher_temperature={teacher_temperature}): must be > 0 (1: the paper's "
                'teacher; below 1 sharpens it, above 1 flattens it).'
            )
        self.teacher_temperature = teacher_temperature
        self.foreground_teacher = foreground_teacher
        self.alpha_t: Optional[float] = None  # set every iteration by PSKDHook
        self._teacher_probs: Optional[Tensor] = None
        self._has_teacher: Optional[Tensor] = None
        self.last_stats: Dict[str, float] = {}

    def set_teacher(self, teacher_probs: Tensor, has_teacher: Tensor) -> None:
        """Hand over the teacher of the next forward (consumed by it) and log its statistics.

        Args:
            teacher_probs (Tensor): (N, num_classes + 1) teacher distributions, in logits order.
            has_teacher (Tensor): Bool (N,): rows with a teacher. Pass both on the host, as the memory
                returns them: the statistics are then computed without a device sync.
        """
        self._teacher_probs, self._has_teacher = teacher_probs, has_teacher
        self.last_stats = teacher_stats(teacher_probs, has_teacher)

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs,
    ) -> Tensor:
        """Soft cross-entropy against the PS-KD target.

        Args:
            cls_score (Tensor): Logits (N, num_classes + 1).
            label (Tensor): Hard labels (N,).
            weight (Tensor, optional): Per-row weights (N,).
            avg_factor (float, optional): Normaliser of the mean.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss.
        """
        teacher_probs, has_teacher = self._consume_teacher(cls_score)
        if teacher_probs is not None and (self.teacher_temperature != 1.0 or self.foreground_teacher):
            teacher_probs = shape_teacher(teacher_probs, label, self.teacher_temperature, self.foreground_teacher)
        targets = mix_soft_targets(label, cls_score.size(1), self.alpha_t or 0.0, teacher_probs, has_teacher)
        return self.reduce(soft_cross_entropy(cls_score, targets), weight, avg_factor, reduction_override)

    def _consume_teacher(self, cls_score: Tensor):
        if not self.training:
            return None, None
        check_alpha_and_teacher(self, self._teacher_probs, "roi_head.type to 'PSKDRoIHead' (or 'PSKDCascadeRoIHead')")
        teacher_probs, has_teacher = self._teacher_probs, self._has_teacher
        self._teacher_probs = self._has_teacher = None
        if teacher_probs.shape != cls_score.shape:
            raise ValueError(
                f'PSKDLoss: teacher of shape {tuple(teacher_probs.shape)} does not match '
                f'logits {tuple(cls_score.shape)}: num_classes of the head and the memory differ.'
            )
        return (
            teacher_probs.to(cls_score.device, non_blocking=True),
            has_teacher.to(cls_score.device, non_blocking=True),
        )


def teacher_stats(teacher_probs: Tensor, has_teacher: Tensor) -> Dict[str, float]:
    """What PSKDHook logs of a batch's teacher: the share of rows taught (``coverage``) and the mean top
    probability of their teachers (``teacher_conf``)."""
    if not bool(has_teacher.any()):
        return dict(coverage=0.0, teacher_conf=0.0)
    return dict(
        coverage=has_teacher.float().mean().item(), teacher_conf=teacher_probs[has_teacher].max(1).values.mean().item()
    )


def check_alpha_and_teacher(loss: nn.Module, teacher: Optional[Tensor], head_setting: str) -> None:
    """A PS-KD loss in training needs ``alpha_t`` from PSKDHook and a teacher from its PS-KD head."""
    name = type(loss).__name__
    if loss.alpha_t is None:
        raise RuntimeError(
            f"{name} is used without PSKDHook: add dict(type='PSKDHook') to custom_hooks "
            '(it schedules alpha_t and owns the prediction memory).'
        )
    if teacher is None:
        raise RuntimeError(
            f"{name} got no teacher: set model.{head_setting}, which hands each batch's teacher to the loss."
        )
