"""What the one-stage PS-KD heads share: their ``distill_loss`` and the distillation step on positive samples.

In a one-stage detector the classification samples are anchors (RetinaNet) or points (FCOS), and which
of them are positive for a GT changes with every resize and flip. Like the ``gt`` strategy of the RoI
heads, a positive sample is taught by the mean sigmoid scores, one pass earlier, of the samples assigned
to the same GT (matched across passes by label and IoU in original-image coordinates). mmdet's
``loss_by_feat`` runs unchanged (its ``FocalLoss``, on GPU mmcv's fused op, over every sample); each head
then finds its positives, their assigned GTs and logits in mmdet's targets and calls
:meth:`PSKDDenseHeadMixin.distil_positives`, which adds ``loss_pskd``.
"""

from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor

from ...teachers import RoIBatch
from ..losses import PSKDFocalLoss
from ..selfkd_head import SelfKDHeadMixin, split_old_loss_cls

STOCK_LOSS_CLS = dict(type='FocalLoss', use_sigmoid=True)


class PSKDDenseHeadMixin(SelfKDHeadMixin):
    """PS-KD for a sigmoid dense head.

    Args:
        distill_loss (dict): ``dict(type='PSKDFocalLoss')``; its ``gamma`` and ``alpha`` default to ``loss_cls``'s.
        loss_cls (dict): mmdet's ``FocalLoss``.
    """

    def __init__(self, *args, distill_loss: Optional[dict] = None, loss_cls: Optional[dict] = None, **kwargs) -> None:
        owner = type(self).__name__
        head, old = split_old_loss_cls(dict(loss_cls=loss_cls), owner, STOCK_LOSS_CLS, 'model.bbox_head.distill_loss')
        distill_loss = distill_loss if distill_loss is not None else old
        super().__init__(*args, loss_cls=head['loss_cls'], **kwargs)
        focal = dict(gamma=getattr(self.loss_cls, 'gamma', None), alpha=getattr(self.loss_cls, 'alpha', None))
        if distill_loss is None or None in focal.values():
            raise ValueError(
                f"{owner} needs loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, "
                f"loss_weight=1.0) and distill_loss=dict(type='PSKDFocalLoss'), got loss_cls="
                f'{type(self.loss_cls).__name__} and distill_loss={distill_loss!r}.'
            )
        loss_type = MODELS.get(distill_loss.get('type'))
        if not (isinstance(loss_type, type) and issubclass(loss_type, PSKDFocalLoss)):
            raise ValueError(
                f"{owner}(distill_loss={distill_loss!r}): a sigmoid head takes dict(type='PSKDFocalLoss')."
            )
        self.distill_loss = MODELS.build(dict(focal, **distill_loss))
        for name, value in focal.items():
            if getattr(self.distill_loss, name) != value:
                raise ValueError(
                    f'{owner}: distill_loss.{name}={getattr(self.distill_loss, name)} differs from loss_cls.{name}'
                    f'={value}: the PS-KD term corrects the FocalLoss of the taught samples, so both must use the '
                    f'same {name}; remove it from distill_loss.'
                )

    @property
    def num_logits(self) -> int:
        """Scores per sample: one sigmoid score per object class."""
        return self.cls_out_channels

    def distil_positives(
        self,
        num_pos: Sequence[int],
        pos_logits: Tensor,
        pos_boxes: Tensor,
        pos_gt_boxes: Tensor,
        pos_gt_labels: Tensor,
        pos_gt_inds: Tensor,
        batch_img_metas: Sequence[dict],
        weight: Optional[Tensor],
        avg_factor,
    ) -> dict:
        """``loss_pskd`` of the batch's positive samples, image by image.

        Args:
            num_pos (list[int]): Positives per image.
            pos_logits (Tensor): (P, C) their logits (with gradient).
            pos_boxes (Tensor): (P, 4) their anchors (or points as zero-size boxes), input-image coordinates.
            pos_gt_boxes (Tensor): (P, 4) the GT box each is assigned to.
            pos_gt_labels (Tensor): (P,) its label.
            pos_gt_inds (Tensor): (P,) its index within its image.
            batch_img_metas (list[dict]): The batch's metainfo.
            weight (Tensor, optional): (P,) their label weights.
            avg_factor (float | Tensor): The normaliser of the head's ``loss_cls``.
        """
        probs = pos_logits.detach().float().sigmoid()
        batch = RoIBatch.from_positives(
            num_pos, pos_boxes, pos_gt_boxes, pos_gt_labels, pos_gt_inds, probs, batch_img_metas
        )
        return self.distil(batch, pos_logits, pos_gt_labels, weight, avg_factor)


def level_positions(inds: Tensor, level_sizes: Sequence[int]) -> Tuple[Tensor, Tensor]:
    """``(level, index within the level)`` of indices into the levels' concatenation (sizes ``level_sizes``),
    on the indices' device, without a host sync."""
    sizes = inds.new_tensor(list(level_sizes))
    ends = sizes.cumsum(0)
    level = torch.bucketize(inds, ends, right=True)
    return level, inds - (ends - sizes)[level]


def gather_logits(
    cls_scores: List[Tensor], img_inds: Tensor, level: Tensor, level_inds: Tensor, num_base_priors: int
) -> Tensor:
    """The (P, C) logits of P samples, each given by its image, level and index within the level in mmdet's
    flattening order (``(y * W + x) * A + a`` for ``A`` priors per location, as ``permute(0, 2, 3, 1)`` lays
    them out), picked from the levels' ``(N, A * C, H, W)`` maps by indexing (no copy of a level's logits, no
    host sync); gradients flow to the picked logits."""
    picked = None
    for index, cls_score in enumerate(cls_scores):
        num_imgs, _, height, width = cls_score.shape
        scores = cls_score.view(num_imgs, num_base_priors, -1, height, width)
        inds = level_inds.clamp(max=height * width * num_base_priors - 1)  # rows of other levels: discarded
        location, prior = inds // num_base_priors, inds % num_base_priors
        rows = scores[img_inds, prior, :, location // width, location % width]
        picked = rows.new_zeros(rows.shape) if picked is None else picked
        picked = torch.where((level == index)[:, None], rows, picked)
    return picked
