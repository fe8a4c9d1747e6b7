"""RoI heads that add a self-KD distillation term to mmdet's losses (PS-KD, CS-KD, MrKD).

mmdet's RoI heads pass only logits and labels to ``loss_cls``; which image and which GT a proposal belongs
to (what a teacher is keyed by) is known only here. These heads are the stock ``StandardRoIHead`` and
``CascadeRoIHead``, whose own ``bbox_loss`` runs unchanged (``loss_cls``, ``acc``, ``loss_bbox``); per stage
they then build the :class:`~mmdet_selfkd.teachers.RoIBatch` of the sampled RoIs from mmdet's
``SamplingResult`` and add ``distill_loss``'s term (:meth:`~mmdet_selfkd.models.selfkd_head.SelfKDHeadMixin.distil`)
under its own key.

Config::

    model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='PSKDLoss')))
"""

import warnings
from typing import List, Optional, Tuple

from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from torch import Tensor, nn

from ...teachers import RoIBatch
from ..selfkd_head import SelfKDHeadMixin, build_distill_loss, split_old_loss_cls

STOCK_LOSS_CLS = dict(type='CrossEntropyLoss', use_sigmoid=False)


class SelfKDRoIHeadMixin(SelfKDHeadMixin):
    """What the self-KD RoI heads add to mmdet's: ``distill_loss`` and its term per stage.

    Args:
        distill_loss (dict, optional): The distillation term (``PSKDLoss``, ``CSKDLoss``, ``MrKDLoss``); None:
            the head trains as mmdet's.
    """

    _batch_metainfo: Optional[List[dict]] = None

    def __init__(self, *args, distill_loss: Optional[dict] = None, bbox_head=None, **kwargs) -> None:
        owner = type(self).__name__
        heads = bbox_head if isinstance(bbox_head, (list, tuple)) else [bbox_head]
        converted = [split_old_loss_cls(head, owner, STOCK_LOSS_CLS, 'model.roi_head.distill_loss') for head in heads]
        old = [distill for _, distill in converted if distill is not None]
        if old and distill_loss is None:
            distill_loss = old[0]
        heads = [head for head, _ in converted]
        bbox_head = heads if isinstance(bbox_head, (list, tuple)) else heads[0]
        super().__init__(*args, bbox_head=bbox_head, **kwargs)
        self.distill_loss = build_distill_loss(distill_loss, owner)

    @property
    def num_logits(self) -> int:
        """Probabilities per RoI: ``num_classes + 1`` (background included), the same in every stage."""
        heads = self.bbox_head if isinstance(self.bbox_head, nn.ModuleList) else [self.bbox_head]
        return heads[0].num_classes + 1

    def loss(self, x: Tuple[Tensor], rpn_results_list: list, batch_data_samples: List[DetDataSample]) -> dict:
        """mmdet's loss; the batch's metainfo (image keys, transforms) is in reach of :meth:`stage_distil`
        for the duration of the call (mmdet's ``bbox_loss`` gets the sampling results only)."""
        self._batch_metainfo = [sample.metainfo for sample in batch_data_samples]
        try:
            return super().loss(x, rpn_results_list, batch_data_samples)
        finally:
            self._batch_metainfo = None

    def stage_distil(
        self,
        stage: int,
        cls_score: Tensor,
        rois: Tensor,
        labels: Tensor,
        label_weights: Tensor,
        sampling_results: List[SamplingResult],
    ) -> dict:
        """The distillation term of a stage, averaged like mmdet's ``loss_cls`` (over RoIs of weight > 0)."""
        probs = cls_score.detach().float().softmax(1)
        batch = RoIBatch.from_sampling(stage, sampling_results, self._batch_metainfo, rois, probs)
        avg_factor = label_weights.gt(0).sum().float().clamp(min=1)  # mmdet's, without a host sync
        return self.distil(batch, cls_score, labels, label_weights, avg_factor)


@MODELS.register_module()
class SelfKDRoIHead(SelfKDRoIHeadMixin, StandardRoIHead):
    """``StandardRoIHead`` plus a self-KD distillation term: ``distill_loss=dict(type='PSKDLoss')`` (or
    ``CSKDLoss``, ``MrKDLoss``) and the method's hook in ``custom_hooks``. Same parameters as
    ``StandardRoIHead``: its checkpoints are plain mmdet checkpoints."""

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        bbox_results = super().bbox_loss(x, sampling_results)
        if self.distill_loss is not None:
            rois = bbox2roi([res.priors for res in sampling_results])
            labels, label_weights, _, _ = self.bbox_head.get_targets(sampling_results, self.train_cfg)
            bbox_results['loss_bbox'].update(
                self.stage_distil(0, bbox_results['cls_score'], rois, labels, label_weights, sampling_results)
            )
        return bbox_results


@MODELS.register_module()
class SelfKDCascadeRoIHead(SelfKDRoIHeadMixin, CascadeRoIHead):
    """``CascadeRoIHead`` distilling every stage's classifier (one teacher entry per stage); each stage's term is
    weighted by ``stage_loss_weights`` like its ``loss_cls``."""

    def bbox_loss(self, stage: int, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        bbox_results = super().bbox_loss(stage, x, sampling_results)
        if self.distill_loss is not None:
            labels, label_weights, _, _ = bbox_results['bbox_targets']
            bbox_results['loss_bbox'].update(
                self.stage_distil(
                    stage, bbox_results['cls_score'], bbox_results['rois'], labels, label_weights, sampling_results
                )
            )
        return bbox_results


def _deprecated(name: str, new: type) -> type:
    """A subclass of ``new`` registered as ``name``, the earlier name of the same head, warning when built."""

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn(
            f"model.roi_head.type='{name}' is deprecated: use '{new.__name__}' (the same head, for every self-KD "
            'method).',
            DeprecationWarning,
        )
        new.__init__(self, *args, **kwargs)

    attrs = dict(__init__=__init__, __module__=__name__, __doc__=f'Deprecated name of :class:`{new.__name__}`.')
    cls = type(name, (new,), attrs)
    return MODELS.register_module(name=name, module=cls)


PSKDRoIHead = _deprecated('PSKDRoIHead', SelfKDRoIHead)
PSKDCascadeRoIHead = _deprecated('PSKDCascadeRoIHead', SelfKDCascadeRoIHead)
