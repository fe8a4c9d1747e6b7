"""RetinaNet's head with PS-KD: mmdet's ``RetinaHead`` losses plus ``loss_pskd`` on the positive anchors.

The positives, their assigned GTs and boxes come from mmdet's ``SamplingResult`` (``AnchorHead.get_targets(...,
return_sampling_results=True)``); their logits are picked from ``cls_scores`` by indexing (no copy of every
anchor's logits; one host sync, mmdet's sampling aside). See :mod:`.pskd_dense_head` for what teaches what.
Cost: mmdet's ``get_targets`` (anchor assignment) runs a second time for the term, since mmdet's
``loss_by_feat`` keeps its sampling results to itself.
"""

from typing import List, Optional

import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from .pskd_dense_head import PSKDDenseHeadMixin, gather_logits, level_positions


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
        # positives, image-major and in anchor order (the order of each image's sorted pos_inds): one host sync
        img_inds, anchor_inds = torch.nonzero(torch.cat(labels_list, 1) < self.cls_out_channels, as_tuple=True)
        level, level_inds = level_positions(anchor_inds, [labels.size(1) for labels in labels_list])
        pos_logits = gather_logits(cls_scores, img_inds, level, level_inds, self.num_base_priors)
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
