"""RetinaNet's head handing each batch's PS-KD teachers to its focal loss.

mmdet's ``AnchorHead`` computes which GT each anchor is assigned to but does not pass it on; this head
adds it to the targets through mmdet's "user-added return values" of ``_get_targets_single`` and hands
the loss its teacher rows level by level (see :mod:`.pskd_dense_head` for what teaches what).
"""

from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.models.utils import images_to_levels, unmap
from mmdet.registry import MODELS
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from .pskd_dense_head import PSKDDenseHeadMixin


class PSKDAnchorHeadMixin(PSKDDenseHeadMixin):
    """PS-KD for mmdet ``AnchorHead`` subclasses that use ``AnchorHead.loss_by_feat``."""

    def _get_targets_single(
        self,
        flat_anchors: Tensor,
        valid_flags: Tensor,
        gt_instances: InstanceData,
        img_meta: dict,
        gt_instances_ignore: Optional[InstanceData] = None,
        unmap_outputs: bool = True,
    ) -> tuple:
        """mmdet's targets of one image plus, per anchor, the index of its assigned GT (-1: not positive)."""
        targets = super()._get_targets_single(
            flat_anchors, valid_flags, gt_instances, img_meta, gt_instances_ignore, unmap_outputs
        )
        sampling_result = targets[6]
        inside_flags = anchor_inside_flags(
            flat_anchors, valid_flags, img_meta['img_shape'][:2], self.train_cfg['allowed_border']
        )  # as mmdet computed them
        assigned_gt = torch.full((int(inside_flags.sum()),), -1, dtype=torch.long, device=inside_flags.device)
        assigned_gt[sampling_result.pos_inds] = sampling_result.pos_assigned_gt_inds
        if unmap_outputs:
            assigned_gt = unmap(assigned_gt, flat_anchors.size(0), inside_flags, fill=-1)
        return targets + (assigned_gt,)

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[list] = None,
    ) -> dict:
        """``AnchorHead.loss_by_feat``, the loss of each level getting its teacher rows first."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, avg_factor, assigned_gt_list) = (
            self.get_targets(
                anchor_list,
                valid_flag_list,
                batch_gt_instances,
                batch_img_metas,
                batch_gt_instances_ignore=batch_gt_instances_ignore,
            )
        )
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchors = [cat_boxes(anchors) for anchors in anchor_list]
        all_anchor_list = images_to_levels(concat_anchors, num_level_anchors)
        level_teachers = self._distil(cls_scores, assigned_gt_list, concat_anchors, batch_gt_instances, batch_img_metas)
        losses_cls, losses_bbox = [], []
        for level, (teacher_rows, teacher_probs) in enumerate(level_teachers):
            self.loss_cls.set_teacher(teacher_rows, teacher_probs)
            loss_cls, loss_bbox = self.loss_by_feat_single(
                cls_scores[level],
                bbox_preds[level],
                all_anchor_list[level],
                labels_list[level],
                label_weights_list[level],
                bbox_targets_list[level],
                bbox_weights_list[level],
                avg_factor=avg_factor,
            )
            losses_cls.append(loss_cls)
            losses_bbox.append(loss_bbox)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)

    def _distil(
        self,
        cls_scores: Sequence[Tensor],
        assigned_gt_list: Sequence[Tensor],
        concat_anchors: Sequence[Tensor],
        batch_gt_instances: Sequence[InstanceData],
        batch_img_metas: Sequence[dict],
    ) -> List[Tuple[Tensor, Tensor]]:
        """Teach and record the batch's positive anchors; return each level's ``(rows, teacher_probs)``.

        Rows index the level's flattened logits ``cls_score.permute(0, 2, 3, 1).reshape(-1, C)``, the
        order ``AnchorHead.loss_by_feat_single`` feeds the loss.
        """
        num_imgs, num_classes = len(batch_img_metas), self.cls_out_channels
        assigned_gt = torch.cat(list(assigned_gt_list), 1)  # (num_imgs, num_anchors)
        img_inds, anchor_inds = torch.nonzero(assigned_gt >= 0, as_tuple=True)  # image-major
        # gather the positives' logits level by level (no copy of every anchor's logits)
        pos_logits = cls_scores[0].new_empty((img_inds.numel(), num_classes))
        level_positives, level_start = [], 0
        for cls_score, level_assigned in zip(cls_scores, assigned_gt_list):
            level_size = level_assigned.size(1)
            in_level = (anchor_inds >= level_start) & (anchor_inds < level_start + level_size)
            level_anchor_inds = anchor_inds[in_level] - level_start
            level_scores = cls_score.detach().permute(0, 2, 3, 1).reshape(num_imgs, level_size, num_classes)
            pos_logits[in_level] = level_scores[img_inds[in_level], level_anchor_inds]
            level_positives.append((in_level, img_inds[in_level] * level_size + level_anchor_inds))
            level_start += level_size
        pos_boxes = torch.cat(
            [get_box_tensor(anchors[anchor_inds[img_inds == img]]) for img, anchors in enumerate(concat_anchors)]
        )
        teacher_probs, has_teacher = self._teach_positives(
            pos_logits, img_inds, pos_boxes, assigned_gt[img_inds, anchor_inds], batch_gt_instances, batch_img_metas
        )
        return [
            (rows[has_teacher[in_level]], teacher_probs[in_level & has_teacher]) for in_level, rows in level_positives
        ]


@MODELS.register_module()
class PSKDRetinaHead(PSKDAnchorHeadMixin, RetinaHead):
    """``RetinaHead`` trained with PS-KD: set ``bbox_head.type='PSKDRetinaHead'``, ``loss_cls`` to
    ``PSKDFocalLoss`` and add ``PSKDHook``. Same parameters as ``RetinaHead``: its checkpoints are plain
    RetinaNet checkpoints."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_pskd_loss()
