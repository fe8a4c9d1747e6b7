"""RoI heads for every self-KD loss of the package: PS-KD's memories, plus teacher providers (CS-KD, MrKD).

They extend the PS-KD heads: a stage whose ``loss_cls`` is a
:class:`~mmdet_selfkd.models.losses.ProvidedTeacherKDLoss` asks the provider its hook attached to the
loss for the batch's teacher (:meth:`TeacherProvider.teach
<mmdet_selfkd.memory.teacher_provider.TeacherProvider.teach>`), with the same
:class:`~mmdet_selfkd.memory.RoIBatch` view of the sampled RoIs (image keys, positives, GTs) that the
PS-KD memories get; a ``PSKDLoss`` stage takes the PS-KD path unchanged.
"""
from typing import List

from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from torch import Tensor, nn

from ...memory import RoIBatch
from ..losses import ProvidedTeacherKDLoss
from .pskd_roi_head import PSKDCascadeRoIHead, PSKDRoIHead, PSKDRoIHeadMixin


class SelfKDRoIHeadMixin(PSKDRoIHeadMixin):
    """Hands each :class:`ProvidedTeacherKDLoss` the teacher of its provider; PS-KD as before."""

    def provided_teacher_losses(self) -> List[ProvidedTeacherKDLoss]:
        """The provider-taught losses of every stage."""
        heads = self.bbox_head if isinstance(self.bbox_head, nn.ModuleList) else [self.bbox_head]
        return [head.loss_cls for head in heads if isinstance(head.loss_cls, ProvidedTeacherKDLoss)]

    def _distil(self, stage: int, bbox_head, cls_score: Tensor, rois: Tensor,
                sampling_results: List[SamplingResult]) -> None:
        loss = bbox_head.loss_cls
        if not isinstance(loss, ProvidedTeacherKDLoss):
            super()._distil(stage, bbox_head, cls_score, rois, sampling_results)
            return
        if loss.teacher_provider is None:
            raise RuntimeError(f"{type(loss).__name__} has no teacher provider: add dict(type='{loss.hook_name}') "
                               'to custom_hooks.')
        batch = RoIBatch.from_sampling(stage, sampling_results, self._pskd_metainfo, self._pskd_gt_instances, rois)
        teacher_probs, has_teacher = loss.teacher_provider.teach(batch, cls_score.detach().float().softmax(1))
        loss.set_teacher(teacher_probs.to(cls_score.device), has_teacher.to(cls_score.device))


@MODELS.register_module()
class SelfKDRoIHead(SelfKDRoIHeadMixin, PSKDRoIHead):
    """``StandardRoIHead`` whose self-KD loss (PS-KD, CS-KD, MrKD) gets its teacher every batch."""


@MODELS.register_module()
class SelfKDCascadeRoIHead(SelfKDRoIHeadMixin, PSKDCascadeRoIHead):
    """``CascadeRoIHead`` whose self-KD losses get their teachers every batch, stage by stage."""
