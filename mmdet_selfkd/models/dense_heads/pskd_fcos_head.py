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

from .pskd_dense_head import PSKDDenseHeadMixin, gather_logits, level_positions


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
        # mmdet's targets are level-major; per image they are image-major: the teacher's order. One host sync.
        num_imgs = len(batch_img_metas)
        labels = torch.cat([level_labels.view(num_imgs, -1) for level_labels in labels_list], 1)
        img_inds, point_inds = torch.nonzero(labels < self.num_classes, as_tuple=True)
        level, level_inds = level_positions(point_inds, [level_points.size(0) for level_points in points])
        pos_points = torch.cat(points)[point_inds]
        distances = torch.cat([targets.view(num_imgs, -1, 4) for targets in bbox_targets_list], 1)[img_inds, point_inds]
        if self.norm_on_bbox:
            distances = distances * distances.new_tensor(self.strides)[level][:, None]
        pos_labels = labels[img_inds, point_inds]
        gt_rows = self._assigned_gt(
            self.bbox_coder.decode(pos_points, distances), pos_labels, img_inds, batch_gt_instances
        )
        gt_boxes = torch.cat([get_box_tensor(gts.bboxes) for gts in batch_gt_instances])
        gt_starts = gt_rows.new_tensor([0] + [len(gts) for gts in batch_gt_instances[:-1]]).cumsum(0)
        num_pos = torch.tensor(float(img_inds.numel()), device=img_inds.device)
        return dict(
            losses,
            **self.distil_positives(
                torch.bincount(img_inds, minlength=num_imgs).tolist(),
                gather_logits(cls_scores, img_inds, level, level_inds, 1),
                torch.cat([pos_points, pos_points], 1),  # a point as a zero-size box
                gt_boxes[gt_rows],
                pos_labels,
                gt_rows - gt_starts[img_inds],
                batch_img_metas,
                None,
                max(reduce_mean(num_pos), 1.0),  # FCOSHead's avg_factor of loss_cls
            ),
        )

    @staticmethod
    def _assigned_gt(
        gt_boxes: Tensor, labels: Tensor, img_inds: Tensor, batch_gt_instances: Sequence[InstanceData]
    ) -> Tensor:
        """Per positive point, the row (in the batch's concatenated GTs) of the GT of its image with its decoded
        box and its label; no host sync."""
        gt_img = torch.cat(
            [torch.full((len(gts),), img, device=labels.device) for img, gts in enumerate(batch_gt_instances)]
        )
        batch_boxes = torch.cat([get_box_tensor(gts.bboxes) for gts in batch_gt_instances])
        batch_labels = torch.cat([gts.labels for gts in batch_gt_instances])
        if batch_labels.numel() == 0:  # no GT in the batch, hence no positive
            return torch.zeros_like(labels)
        distance = (gt_boxes[:, None, :] - batch_boxes[None]).abs().sum(-1)
        other = (gt_img[None] != img_inds[:, None]) | (batch_labels[None] != labels[:, None])
        return distance.masked_fill(other, float('inf')).argmin(1)
