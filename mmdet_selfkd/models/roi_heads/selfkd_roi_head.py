"""RoI heads that hand self-KD teachers to their classification loss (PS-KD, CS-KD, MrKD).

mmdet's RoI heads pass only logits and labels to ``loss_cls``; which image and which GT a proposal
belongs to (what a prediction memory is keyed by) is known only here. These heads are the stock
``StandardRoIHead``/``CascadeRoIHead`` plus, per stage: build the :class:`~mmdet_selfkd.memory.RoIBatch`
view of the sampled RoIs, ask the teacher for the batch (the PS-KD memory that ``PSKDHook`` attaches to
the head, or the provider that the CS-KD/MrKD hook attaches to the loss), hand it to the loss and, for
PS-KD, record the fresh predictions of the same forward pass. Each class is registered under its
generic name and its PS-KD name (``PSKDRoIHead``, ``PSKDCascadeRoIHead``).
"""

from typing import List, Optional, Tuple

from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from torch import Tensor, nn

from ...memory import RoIBatch
from ..losses import ProvidedTeacherKDLoss, PSKDLoss


class SelfKDRoIHeadMixin:
    """Teacher plumbing shared by the self-KD RoI heads (``pskd_memory`` is set by PSKDHook)."""

    pskd_memory = None
    _pskd_metainfo: Optional[List[dict]] = None
    _pskd_gt_instances: Optional[list] = None

    def _stage_losses(self) -> list:
        heads = self.bbox_head if isinstance(self.bbox_head, nn.ModuleList) else [self.bbox_head]
        return [head.loss_cls for head in heads]

    def pskd_losses(self) -> List[PSKDLoss]:
        """The PS-KD losses of every stage (empty if the config did not swap ``loss_cls``)."""
        return [loss for loss in self._stage_losses() if isinstance(loss, PSKDLoss)]

    def pskd_num_classes(self) -> int:
        """Probabilities per RoI stored in the memory: ``num_classes + 1`` (background included)."""
        heads = self.bbox_head if isinstance(self.bbox_head, nn.ModuleList) else [self.bbox_head]
        return heads[0].num_classes + 1

    def provided_teacher_losses(self) -> List[ProvidedTeacherKDLoss]:
        """The provider-taught losses (CS-KD, MrKD) of every stage."""
        return [loss for loss in self._stage_losses() if isinstance(loss, ProvidedTeacherKDLoss)]

    def loss(self, x: Tuple[Tensor], rpn_results_list: list, batch_data_samples: List[DetDataSample]) -> dict:
        """mmdet's loss, with the batch's metainfo and GTs kept for the teachers."""
        self._pskd_metainfo = [sample.metainfo for sample in batch_data_samples]
        self._pskd_gt_instances = [sample.gt_instances for sample in batch_data_samples]
        try:
            return super().loss(x, rpn_results_list, batch_data_samples)
        finally:
            self._pskd_metainfo = self._pskd_gt_instances = None

    def _distil(
        self, stage: int, bbox_head, cls_score: Tensor, rois: Tensor, sampling_results: List[SamplingResult]
    ) -> None:
        loss = bbox_head.loss_cls
        if isinstance(loss, PSKDLoss):
            if self.pskd_memory is None:
                raise RuntimeError(
                    f"{type(self).__name__} has no prediction memory: add dict(type='PSKDHook') to custom_hooks."
                )
            teacher = self.pskd_memory
        elif isinstance(loss, ProvidedTeacherKDLoss):
            if loss.teacher_provider is None:
                raise RuntimeError(
                    f"{type(loss).__name__} has no teacher provider: add dict(type='{loss.hook_name}') to custom_hooks."
                )
            teacher = loss.teacher_provider
        else:
            return
        batch = RoIBatch.from_sampling(stage, sampling_results, self._pskd_metainfo, self._pskd_gt_instances, rois)
        probs = cls_score.detach().float().softmax(1)
        if isinstance(loss, PSKDLoss):
            loss.set_teacher(*teacher.teach(batch))  # on the host: the loss moves it to the logits' device
            teacher.record(batch, probs)
        else:
            teacher_probs, has_teacher = teacher.teach(batch, probs)
            loss.set_teacher(
                teacher_probs.to(cls_score.device, non_blocking=True),
                has_teacher.to(cls_score.device, non_blocking=True),
            )


@MODELS.register_module(name=['SelfKDRoIHead', 'PSKDRoIHead'])
class SelfKDRoIHead(SelfKDRoIHeadMixin, StandardRoIHead):
    """``StandardRoIHead`` whose self-KD loss gets its teacher every batch."""

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        self._distil(0, self.bbox_head, bbox_results['cls_score'], rois, sampling_results)
        bbox_loss_and_target = self.bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'],
            bbox_pred=bbox_results['bbox_pred'],
            rois=rois,
            sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg,
        )
        bbox_results.update(loss_bbox=bbox_loss_and_target['loss_bbox'])
        return bbox_results


@MODELS.register_module(name=['SelfKDCascadeRoIHead', 'PSKDCascadeRoIHead'])
class SelfKDCascadeRoIHead(SelfKDRoIHeadMixin, CascadeRoIHead):
    """``CascadeRoIHead`` distilling every stage's classifier (one memory entry per stage)."""

    def bbox_loss(self, stage: int, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        bbox_head = self.bbox_head[stage]
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self._bbox_forward(stage, x, rois)
        bbox_results.update(rois=rois)
        self._distil(stage, bbox_head, bbox_results['cls_score'], rois, sampling_results)
        bbox_loss_and_target = bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'],
            bbox_pred=bbox_results['bbox_pred'],
            rois=rois,
            sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg[stage],
        )
        bbox_results.update(bbox_loss_and_target)
        return bbox_results
