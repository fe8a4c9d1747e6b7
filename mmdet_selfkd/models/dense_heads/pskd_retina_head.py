"""The one-stage PS-KD head: RetinaNet's head handing each batch's teachers to its focal loss.

In a one-stage detector the classification samples are anchors, and which anchors are positive for a GT
changes with every resize and flip. Like the ``gt`` strategy of the RoI heads, a positive anchor is
taught by the mean sigmoid scores, one pass earlier, of the anchors assigned to the same GT (matched
across passes by label and IoU in original-image coordinates). mmdet's ``AnchorHead`` computes that
assignment but does not pass it on, so this head adds it to the targets through mmdet's
"user-added return values" of ``_get_targets_single`` and hands the loss its teacher level by level.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.models.utils import images_to_levels, unmap
from mmdet.registry import MODELS
from mmdet.structures.bbox import cat_boxes
from mmengine.structures import InstanceData
from torch import Tensor

from ...memory import RoIBatch
from ..losses import PSKDFocalLoss
from ..losses.pskd_loss import teacher_stats


class PSKDAnchorHeadMixin:
    """PS-KD plumbing for mmdet ``AnchorHead`` subclasses that use ``AnchorHead.loss_by_feat``
    (``pskd_memory`` is set by PSKDHook)."""
    pskd_memory = None

    def pskd_losses(self) -> List[PSKDFocalLoss]:
        """The PS-KD loss of the head (its ``loss_cls``)."""
        return [self.loss_cls] if isinstance(self.loss_cls, PSKDFocalLoss) else []

    def pskd_num_classes(self) -> int:
        """Scores per anchor stored in the memory: one sigmoid score per object class."""
        return self.cls_out_channels

    def _check_pskd_loss(self) -> None:
        if not isinstance(self.loss_cls, PSKDFocalLoss):
            raise ValueError(f'{type(self).__name__} needs loss_cls=dict(type=\'PSKDFocalLoss\', use_sigmoid=True, '
                             f'gamma=2.0, alpha=0.25, loss_weight=1.0), got {type(self.loss_cls).__name__}.')

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor, gt_instances: InstanceData,
                            img_meta: dict, gt_instances_ignore: Optional[InstanceData] = None,
                            unmap_outputs: bool = True) -> tuple:
        """mmdet's targets of one image plus, per anchor, the index of its assigned GT (-1: not positive)."""
        targets = super()._get_targets_single(flat_anchors, valid_flags, gt_instances, img_meta,
                                              gt_instances_ignore, unmap_outputs)
        sampling_result = targets[6]
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           self.train_cfg['allowed_border'])  # as mmdet computed them
        assigned_gt = torch.full((int(inside_flags.sum()), ), -1, dtype=torch.long, device=inside_flags.device)
        assigned_gt[sampling_result.pos_inds] = sampling_result.pos_assigned_gt_inds
        if unmap_outputs:
            assigned_gt = unmap(assigned_gt, flat_anchors.size(0), inside_flags, fill=-1)
        return targets + (assigned_gt, )

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_gt_instances: List[InstanceData],
                     batch_img_metas: List[dict], batch_gt_instances_ignore: Optional[list] = None) -> dict:
        """``AnchorHead.loss_by_feat``, the loss of each level getting its teacher rows first."""
        if self.pskd_memory is None:
            raise RuntimeError(f"{type(self).__name__} has no prediction memory: add dict(type='PSKDHook') to "
                               'custom_hooks.')
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, avg_factor,
         assigned_gt_list) = self.get_targets(anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
                                              batch_gt_instances_ignore=batch_gt_instances_ignore)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchors = [cat_boxes(anchors) for anchors in anchor_list]
        all_anchor_list = images_to_levels(concat_anchors, num_level_anchors)
        level_teachers = self._distil(cls_scores, assigned_gt_list, concat_anchors, batch_gt_instances,
                                      batch_img_metas)
        losses_cls, losses_bbox = [], []
        for level, (teacher_rows, teacher_probs) in enumerate(level_teachers):
            self.loss_cls.set_teacher(teacher_rows, teacher_probs)
            loss_cls, loss_bbox = self.loss_by_feat_single(
                cls_scores[level], bbox_preds[level], all_anchor_list[level], labels_list[level],
                label_weights_list[level], bbox_targets_list[level], bbox_weights_list[level], avg_factor=avg_factor)
            losses_cls.append(loss_cls)
            losses_bbox.append(loss_bbox)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)

    def _distil(self, cls_scores: Sequence[Tensor], assigned_gt_list: Sequence[Tensor],
                concat_anchors: Sequence[Tensor], batch_gt_instances: Sequence[InstanceData],
                batch_img_metas: Sequence[dict]) -> List[Tuple[Tensor, Tensor]]:
        """Teach and record the batch's positive anchors; return each level's ``(rows, teacher_probs)``.

        Rows index the level's flattened logits ``cls_score.permute(0, 2, 3, 1).reshape(-1, C)``, the
        order ``AnchorHead.loss_by_feat_single`` feeds the loss.
        """
        num_imgs, num_classes = len(batch_img_metas), self.cls_out_channels
        scores = torch.cat([s.permute(0, 2, 3, 1).reshape(num_imgs, -1, num_classes) for s in cls_scores], 1)
        assigned_gt = torch.cat(list(assigned_gt_list), 1)  # (num_imgs, num_anchors)
        img_inds, anchor_inds = torch.nonzero(assigned_gt >= 0, as_tuple=True)  # image-major: the memory's order
        per_image = torch.bincount(img_inds, minlength=num_imgs).tolist()
        batch = RoIBatch.from_positives(
            [anchors[inds] for anchors, inds in zip(concat_anchors, anchor_inds.split(per_image))],
            assigned_gt[img_inds, anchor_inds].split(per_image), batch_img_metas, batch_gt_instances)
        teacher_probs, has_teacher = self.pskd_memory.teach(batch)
        self.pskd_memory.record(batch, scores[img_inds, anchor_inds].detach().float().sigmoid())
        self.loss_cls.last_stats = teacher_stats(teacher_probs, has_teacher)

        taught = has_teacher.to(img_inds.device)
        img_inds, anchor_inds = img_inds[taught], anchor_inds[taught]
        teacher_probs = teacher_probs.to(scores.device)[taught]
        level_teachers, level_start = [], 0
        for level_assigned in assigned_gt_list:
            level_size = level_assigned.size(1)
            in_level = (anchor_inds >= level_start) & (anchor_inds < level_start + level_size)
            rows = img_inds[in_level] * level_size + anchor_inds[in_level] - level_start
            level_teachers.append((rows, teacher_probs[in_level]))
            level_start += level_size
        return level_teachers


@MODELS.register_module()
class PSKDRetinaHead(PSKDAnchorHeadMixin, RetinaHead):
    """``RetinaHead`` trained with PS-KD: set ``bbox_head.type='PSKDRetinaHead'``, ``loss_cls`` to
    ``PSKDFocalLoss`` and add ``PSKDHook``. Same parameters as ``RetinaHead``: its checkpoints are plain
    RetinaNet checkpoints."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_pskd_loss()
