"""How a self-KD head hands its teacher's targets to its distillation loss: one step shared by the RoI heads
and the dense heads.

The head keeps mmdet's ``loss_cls`` and adds its ``distill_loss`` term under the term's own key (``loss_pskd``,
``loss_cskd``, ``loss_mrkd``). Per stage and batch it builds the :class:`~mmdet_selfkd.teachers.RoIBatch` of
its rows, calls the teacher the method's hook built (``head.teacher``) and passes the targets, with the
``alpha_t`` the hook published in mmengine's ``MessageHub`` (runtime info :data:`ALPHA_T`, as mmdet's BoxInst
reads ``iter``), to the loss in the same call.
"""

import copy
import warnings
from typing import Optional

from mmdet.registry import MODELS
from mmengine.logging import MessageHub
from torch import Tensor

from ..teachers import RoIBatch, Teacher, TeacherTargets
from .losses import DistillLoss

#: the MessageHub runtime-info key the self-KD hooks publish ``alpha_t`` under, once per iteration
ALPHA_T = 'selfkd_alpha_t'


def build_distill_loss(cfg: Optional[dict], owner: str) -> Optional[DistillLoss]:
    """The head's ``distill_loss`` (None: the head trains as mmdet's)."""
    if cfg is None:
        return None
    loss = MODELS.build(cfg)
    if not isinstance(loss, DistillLoss):
        raise ValueError(
            f'{owner}(distill_loss={type(loss).__name__}): a distillation term is expected (PSKDLoss, CSKDLoss, '
            'MrKDLoss, PSKDFocalLoss); a loss that replaces the cross-entropy (LabelSmoothingLoss, LsrKDLoss) '
            'goes to bbox_head.loss_cls.'
        )
    return loss


def split_old_loss_cls(bbox_head: dict, owner: str, stock_loss: dict, setting: str) -> tuple:
    """A head config of mmdet_selfkd 0.1 with a distillation loss as ``loss_cls``: ``(bbox_head, distill_loss)``
    in the current form (``loss_cls`` stock, with the same ``loss_weight``), with a deprecation warning;
    ``(bbox_head, None)`` for any other config. ``setting`` names where ``distill_loss`` goes now."""
    loss_cfg = bbox_head.get('loss_cls') if isinstance(bbox_head, dict) else None
    loss_type = loss_cfg.get('type') if loss_cfg else None
    loss_cls = MODELS.get(loss_type) if isinstance(loss_type, str) else loss_type
    if not (isinstance(loss_cls, type) and issubclass(loss_cls, DistillLoss)):
        return bbox_head, None
    distill = dict(copy.deepcopy(loss_cfg))
    stock = dict(stock_loss, loss_weight=distill.get('loss_weight', 1.0))
    for key in ('gamma', 'alpha'):  # focal settings are the stock FocalLoss's too
        if key in distill:
            stock[key] = distill[key]
    warnings.warn(
        f"{owner}: {loss_cls.__name__} as bbox_head.loss_cls is deprecated: keep mmdet's loss_cls and set "
        f"{setting}=dict(type='{loss_cls.__name__}', ...) instead.",
        DeprecationWarning,
    )
    return dict(bbox_head, loss_cls=stock), distill


class SelfKDHeadMixin:
    """The distillation step of a self-KD head (``teacher`` is set by the method's hook; ``distill_loss`` is a
    submodule, set in the head's ``__init__``)."""

    teacher: Optional[Teacher] = None

    def distil(self, batch: RoIBatch, cls_score: Tensor, labels: Tensor, weight: Optional[Tensor], avg_factor) -> dict:
        """``{distill_loss.log_name: term}`` for the batch's rows (logits ``cls_score``, labels ``labels``)."""
        loss = self.distill_loss
        alpha_t = MessageHub.get_current_instance().get_info(ALPHA_T)
        if self.teacher is None or alpha_t is None:
            raise RuntimeError(
                f'{type(self).__name__}(distill_loss={type(loss).__name__}) has no teacher: add '
                f"dict(type='{loss.hook_name}') to custom_hooks (it builds the teacher and schedules alpha_t)."
            )
        teacher = self.teacher(batch)
        device = cls_score.device
        teacher = TeacherTargets(
            teacher.probs.to(device, non_blocking=True), teacher.has_teacher.to(device, non_blocking=True)
        )
        term = loss(cls_score, labels, teacher, alpha_t, weight=weight, avg_factor=avg_factor)
        return {loss.log_name: term}
