"""FCOS's head with PS-KD: mmdet's ``FCOSHead`` losses plus ``loss_pskd`` on the positive points.

``FCOSHead.get_targets`` returns, per point, a label and the distances to the sides of the GT box the
point was assigned to; it does not return which GT that was. The box is recovered exactly from the point
and the distances (as mmdet itself does to regress it), and the GT is the one of the image with that box
and label. See :mod:`.pskd_dense_head` for what teaches what. Cost: mmdet's ``get_targets`` runs a second
time for the term.
"""

from typing import List, Optional, Sequence

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from .pskd_dense_head import PSKDDenseHeadMixin


@MODELS.register_module()
class PSKDFCOSHead(PSKDDenseHeadMixin, FCOSHead):
    """``FCOSHead`` trained with PS-KD: set ``bbox_head.type='PSKDFCOSHead'``,
    ``distill_loss=dict(type='PSKDFocalLoss')`` and add ``PSKDHook``. Same parameters as ``FCOSHead``: its
    checkpoints are plain FCOS checkpoints."""

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        centernesses: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[list] = None,
    ) -> dict:
        """``FCOSHead.loss_by_feat`` plus ``loss_pskd`` (normalised like its ``loss_cls``)."""
        losses = super().loss_by_feat(
            cls_scores, bbox_preds, centernesses, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore
        )
        points = self.prior_generator.grid_priors(
            [featmap.size()[-2:] for featmap in cls_scores], dtype=bbox_preds[0].dtype, device=bbox_preds[0].device
        )
        labels_list, bbox_targets_list = self.get_targets(points, batch_gt_instances)
        img_inds, logits, boxes, gt_inds, labels = [], [], [], [], []
        for level, (level_points, level_labels, bbox_targets) in enumerate(zip(points, labels_list, bbox_targets_list)):
            pos = torch.nonzero(level_labels < self.num_classes).flatten()
            num_points = level_points.size(0)
            pos_points = level_points[pos % num_points]
            distances = bbox_targets[pos] * (self.strides[level] if self.norm_on_bbox else 1)
            gt_boxes = self.bbox_coder.decode(pos_points, distances)
            img_inds.append(pos // num_points)
            logits.append(cls_scores[level].permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)[pos])
            boxes.append(torch.cat([pos_points, pos_points], 1))  # a point as a zero-size box
            gt_inds.append(self._assigned_gt(gt_boxes, level_labels[pos], pos // num_points, batch_gt_instances))
            labels.append(level_labels[pos])
        img_inds = torch.cat(img_inds)
        order = torch.sort(img_inds, stable=True).indices  # image-major, as the teacher takes them
        img_inds, gt_inds = img_inds[order], torch.cat(gt_inds)[order]
        gt_boxes = torch.cat([get_box_tensor(gts.bboxes) for gts in batch_gt_instances])
        gt_offsets = torch.tensor([0] + [len(gts) for gts in batch_gt_instances[:-1]], device=gt_boxes.device).cumsum(0)
        num_pos = torch.tensor(float(img_inds.numel()), device=img_inds.device)
        return dict(
            losses,
            **self.distil_positives(
                torch.bincount(img_inds, minlength=len(batch_img_metas)).tolist(),
                torch.cat(logits)[order],
                torch.cat(boxes)[order],
                gt_boxes[gt_offsets[img_inds] + gt_inds],
                torch.cat(labels)[order],
                gt_inds,
                batch_img_metas,
                None,
                max(reduce_mean(num_pos), 1.0),  # FCOSHead's avg_factor of loss_cls
            ),
        )

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
