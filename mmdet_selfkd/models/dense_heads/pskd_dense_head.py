"""What the one-stage PS-KD heads share: the loss check and the teach/record step on positive samples.

In a one-stage detector the classification samples are anchors (RetinaNet) or points (FCOS), and which
of them are positive for a GT changes with every resize and flip. Like the ``gt`` strategy of the RoI
heads, a positive sample is taught by the mean sigmoid scores, one pass earlier, of the samples assigned
to the same GT (matched across passes by label and IoU in original-image coordinates). Each head finds
its positives' assigned GTs in its own targets and calls :meth:`PSKDDenseHeadMixin._teach_positives`.
"""

from typing import List, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from ...memory import RoIBatch
from ..losses import PSKDFocalLoss
from ..losses.pskd_loss import teacher_stats


class PSKDDenseHeadMixin:
    """PS-KD plumbing of the dense heads (``pskd_memory`` is set by PSKDHook)."""

    pskd_memory = None

    def pskd_losses(self) -> List[PSKDFocalLoss]:
        """The PS-KD loss of the head (its ``loss_cls``)."""
        return [self.loss_cls] if isinstance(self.loss_cls, PSKDFocalLoss) else []

    def pskd_num_classes(self) -> int:
        """Scores per sample stored in the memory: one sigmoid score per object class."""
        return self.cls_out_channels

    def _check_pskd_loss(self) -> None:
        if not isinstance(self.loss_cls, PSKDFocalLoss):
            raise ValueError(
                f"{type(self).__name__} needs loss_cls=dict(type='PSKDFocalLoss', use_sigmoid=True, "
                f'gamma=2.0, alpha=0.25, loss_weight=1.0), got {type(self.loss_cls).__name__}.'
            )

    def _teach_positives(
        self,
        pos_logits: Tensor,
        pos_img_inds: Tensor,
        pos_boxes: Tensor,
        pos_gt_inds: Tensor,
        batch_gt_instances: Sequence[InstanceData],
        batch_img_metas: Sequence[dict],
    ) -> Tuple[Tensor, Tensor]:
        """Teach the batch's positive samples and record their scores (same forward pass).

        Args:
            pos_logits (Tensor): (P, C) logits of the positives, grouped by image in ascending image order.
            pos_img_inds (Tensor): (P,) their images (non-decreasing).
            pos_boxes (Tensor): (P, 4) their anchors (or points as zero-size boxes), input-image coordinates.
            pos_gt_inds (Tensor): (P,) index of the GT each is assigned to, within its image.
            batch_gt_instances (list[InstanceData]): The batch's GTs.
            batch_img_metas (list[dict]): The batch's metainfo.

        Returns:
            tuple[Tensor, Tensor]: ``(teacher_probs (P, C), has_teacher (P,) bool)`` on the logits' device.
        """
        if self.pskd_memory is None:
            raise RuntimeError(
                f"{type(self).__name__} has no prediction memory: add dict(type='PSKDHook') to custom_hooks."
            )
        per_image = torch.bincount(pos_img_inds, minlength=len(batch_img_metas)).tolist()
        batch = RoIBatch.from_positives(
            pos_boxes.split(per_image), pos_gt_inds.split(per_image), batch_img_metas, batch_gt_instances
        )
        teacher_probs, has_teacher = self.pskd_memory.teach(batch)
        self.pskd_memory.record(batch, pos_logits.detach().float().sigmoid())
        self.loss_cls.last_stats = teacher_stats(teacher_probs, has_teacher)
        device = pos_logits.device
        return teacher_probs.to(device), has_teacher.to(device)
