"""FCOS's head handing each batch's PS-KD teachers to its focal loss.

``FCOSHead.get_targets`` returns, per point, a label and the distances to the sides of the GT box the
point was assigned to; it does not return which GT that was. The box is recovered exactly from the point
and the distances (as mmdet itself does to regress it), and the GT is the one of the image with that box
and label. The loss is called once over all levels' points, so one teacher covers the batch (see
:mod:`.pskd_dense_head` for what teaches what).
"""

from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from .pskd_dense_head import PSKDDenseHeadMixin


@MODELS.register_module()
class PSKDFCOSHead(PSKDDenseHeadMixin, FCOSHead):
    """``FCOSHead`` trained with PS-KD: set ``bbox_head.type='PSKDFCOSHead'``, ``loss_cls`` to
    ``PSKDFocalLoss`` and add ``PSKDHook``. Same parameters as ``FCOSHead``: its checkpoints are plain FCOS
    checkpoints."""

    _pskd_batch: Optional[tuple] = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_pskd_loss()

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        centernesses: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[list] = None,
    ) -> dict:
        """``FCOSHead.loss_by_feat``; its ``get_targets`` call hands the loss the batch's teacher."""
        self._pskd_batch = (cls_scores, batch_gt_instances, batch_img_metas)
        try:
            return super().loss_by_feat(
                cls_scores, bbox_preds, centernesses, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore
            )
        finally:
            self._pskd_batch = None

    def get_targets(self, points: List[Tensor], batch_gt_instances: List[InstanceData]) -> Tuple[list, list]:
        """mmdet's targets; inside :meth:`loss_by_feat`, the loss also gets the teacher of the positives."""
        labels_list, bbox_targets_list = super().get_targets(points, batch_gt_instances)
        if self._pskd_batch is not None:
            self.loss_cls.set_teacher(*self._distil(points, labels_list, bbox_targets_list, *self._pskd_batch))
        return labels_list, bbox_targets_list

    def _distil(
        self,
        points: Sequence[Tensor],
        labels_list: Sequence[Tensor],
        bbox_targets_list: Sequence[Tensor],
        cls_scores: Sequence[Tensor],
        batch_gt_instances: Sequence[InstanceData],
        batch_img_metas: Sequence[dict],
    ) -> Tuple[Tensor, Tensor]:
        """Teach and record the positive points; return ``(rows, teacher_probs)`` of the taught ones.

        Rows index ``torch.cat(labels_list)``: levels, then images, then points, the order of the logits
        ``FCOSHead.loss_by_feat`` feeds the loss.
        """
        rows, img_inds, logits, boxes, gt_inds, level_start = [], [], [], [], [], 0
        for level, (level_points, labels, bbox_targets) in enumerate(zip(points, labels_list, bbox_targets_list)):
            pos = torch.nonzero(labels < self.num_classes).flatten()
            num_points = level_points.size(0)
            pos_points = level_points[pos % num_points]
            distances = bbox_targets[pos] * (self.strides[level] if self.norm_on_bbox else 1)
            gt_boxes = self.bbox_coder.decode(pos_points, distances)
            rows.append(pos + level_start)
            img_inds.append(pos // num_points)
            logits.append(cls_scores[level].permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)[pos])
            boxes.append(torch.cat([pos_points, pos_points], 1))  # a point as a zero-size box
            gt_inds.append(self._assigned_gt(gt_boxes, labels[pos], pos // num_points, batch_gt_instances))
            level_start += labels.numel()
        img_inds = torch.cat(img_inds)
        order = torch.sort(img_inds, stable=True).indices  # image-major, as the memory takes them
        rows = torch.cat(rows)[order]
        teacher_probs, has_teacher = self._teach_positives(
            torch.cat(logits)[order],
            img_inds[order],
            torch.cat(boxes)[order],
            torch.cat(gt_inds)[order],
            batch_gt_instances,
            batch_img_metas,
        )
        return rows[has_teacher], teacher_probs[has_teacher]

    @staticmethod
    def _assigned_gt(
        gt_boxes: Tensor, labels: Tensor, img_inds: Tensor, batch_gt_instances: Sequence[InstanceData]
    ) -> Tensor:
        """Per positive point, the index (in its image) of the GT with its decoded box and its label."""
        gt_inds = torch.empty_like(labels)
        for img, gts in enumerate(batch_gt_instances):
            mine = torch.nonzero(img_inds == img).flatten()
            if mine.numel() == 0:
                continue
            distance = (gt_boxes[mine, None, :] - get_box_tensor(gts.bboxes)[None]).abs().sum(-1)
            distance[labels[mine, None] != gts.labels[None]] = float('inf')
            gt_inds[mine] = distance.argmin(1)
        return gt_inds
