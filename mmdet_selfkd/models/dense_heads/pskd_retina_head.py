"""RetinaNet's head with PS-KD: mmdet's ``RetinaHead`` losses plus ``loss_pskd`` on the positive anchors.

The positives, their assigned GTs and boxes come from mmdet's ``SamplingResult`` (``AnchorHead.get_targets(...,
return_sampling_results=True)``); their logits are gathered level by level from ``cls_scores`` (no copy of every
anchor's logits). See :mod:`.pskd_dense_head` for what teaches what. Cost: mmdet's ``get_targets`` (anchor
assignment) runs a second time for the term.
"""

from typing import List, Optional

import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from .pskd_dense_head import PSKDDenseHeadMixin


class PSKDAnchorHeadMixin(PSKDDenseHeadMixin):
    """PS-KD for mmdet ``AnchorHead`` subclasses that use ``AnchorHead.loss_by_feat``."""

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[list] = None,
    ) -> dict:
        """``AnchorHead.loss_by_feat`` plus ``loss_pskd``."""
        losses = super().loss_by_feat(
            cls_scores, bbox_preds, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore
        )
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        labels_list, label_weights_list, _, _, avg_factor, sampling_results = self.get_targets(
            anchor_list,
            valid_flag_list,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore,
            return_sampling_results=True,
        )
        # positives, image-major and in anchor order: the order of each image's sorted pos_inds
        num_imgs, num_classes = len(batch_img_metas), self.cls_out_channels
        img_inds, anchor_inds = torch.nonzero(torch.cat(labels_list, 1) < num_classes, as_tuple=True)
        pos_logits = cls_scores[0].new_zeros((img_inds.numel(), num_classes))
        level_start = 0
        for cls_score, level_labels in zip(cls_scores, labels_list):
            level_size = level_labels.size(1)
            in_level = (anchor_inds >= level_start) & (anchor_inds < level_start + level_size)
            level_scores = cls_score.permute(0, 2, 3, 1).reshape(num_imgs, level_size, num_classes)
            pos_logits = pos_logits.index_put(
                (torch.nonzero(in_level).flatten(),),
                level_scores[img_inds[in_level], anchor_inds[in_level] - level_start],
            )
            level_start += level_size
        orders = [res.pos_inds.argsort() for res in sampling_results]
        return dict(
            losses,
            **self.distil_positives(
                [res.pos_inds.numel() for res in sampling_results],
                pos_logits,
                torch.cat([get_box_tensor(res.pos_priors)[o] for res, o in zip(sampling_results, orders)]),
                torch.cat([get_box_tensor(res.pos_gt_bboxes)[o] for res, o in zip(sampling_results, orders)]),
                torch.cat([res.pos_gt_labels[o] for res, o in zip(sampling_results, orders)]),
                torch.cat([res.pos_assigned_gt_inds[o] for res, o in zip(sampling_results, orders)]),
                batch_img_metas,
                torch.cat(label_weights_list, 1)[img_inds, anchor_inds],
                avg_factor,
            ),
        )


@MODELS.register_module()
class PSKDRetinaHead(PSKDAnchorHeadMixin, RetinaHead):
    """``RetinaHead`` trained with PS-KD: set ``bbox_head.type='PSKDRetinaHead'``,
    ``distill_loss=dict(type='PSKDFocalLoss')`` and add ``PSKDHook``. Same parameters as ``RetinaHead``: its
    checkpoints are plain RetinaNet checkpoints."""
