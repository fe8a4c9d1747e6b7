"""What the prediction memories see of one training batch of an RoI head: image keys, GT boxes and
sampled proposals, mapped back to original-image coordinates so that they can be compared across
passes whatever geometric augmentation the pipeline drew (see :mod:`.pipeline_check` for which
pipelines can be mapped back)."""

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmdet.structures.bbox import HorizontalBoxes, bbox_flip, get_box_tensor
from torch import Tensor


def image_key(metainfo: dict) -> str:
    """The identity of an image across passes: its file path.

    Unique under ``ConcatDataset`` (VOC2007 and VOC2012 live in different folders) and shared by the
    copies ``RepeatDataset`` makes, unlike ``sample_idx`` (local to a sub-dataset) or ``img_id``.
    """
    if 'img_path' not in metainfo:
        raise KeyError(
            "PS-KD needs 'img_path' in the data samples' metainfo: keep it in "
            'PackDetInputs(meta_keys=...) of the train pipeline.'
        )
    return str(metainfo['img_path'])


def to_original_coords(boxes: Tensor, metainfo: dict) -> Tensor:
    """Undo the train pipeline's geometric transforms: boxes in the input frame -> original image frame.

    With ``homography_matrix`` in the metainfo (mmdet 3.x composes it over ``Resize``, ``RandomFlip``,
    ``RandomCrop``, the geometric ``Rotate``/``Shear``/``Translate`` transforms, ...; ``PackDetInputs``
    passes it on when its ``meta_keys`` name it) the boxes' corners are projected with its inverse and
    enclosed in an axis-aligned box (exact for resizes, flips, crops and translations). Without it, the
    flip and the last ``scale_factor`` are undone: exact for a pipeline with one resize and flips only,
    which :func:`~.pipeline_check.check_train_pipeline` makes sure of at start.

    Args:
        boxes (Tensor): (N, 4) xyxy boxes in the frame the model saw.
        metainfo (dict): The sample's metainfo: ``homography_matrix``, or ``img_shape``, ``scale_factor``,
            ``flip`` and ``flip_direction`` as written by mmdet's ``Resize``/``RandomFlip``.

    Returns:
        Tensor: (N, 4) float boxes in original-image pixels.
    """
    boxes = boxes.detach().float().cpu()
    if metainfo.get('homography_matrix') is not None:
        inverse = np.linalg.inv(np.asarray(metainfo['homography_matrix'], dtype=np.float64))
        original = HorizontalBoxes(boxes)
        original.project_(inverse)
        return original.tensor
    if metainfo.get('flip', False):
        boxes = bbox_flip(boxes, metainfo['img_shape'], metainfo['flip_direction'])
    scale_w, scale_h = metainfo.get('scale_factor', (1.0, 1.0))
    return boxes / boxes.new_tensor([scale_w, scale_h, scale_w, scale_h])


@dataclass
class ImageRoIs:
    """The sampled RoIs of one image, positives first as in mmdet's ``SamplingResult``."""

    key: str
    gt_boxes: Tensor  # (G, 4) original coords
    gt_labels: Tensor  # (G,)
    pos_boxes: Tensor  # (P, 4) original coords
    pos_gt_inds: Tensor  # (P,) index into gt_boxes
    num_neg: int

    @property
    def num_rois(self) -> int:
        return self.pos_boxes.size(0) + self.num_neg


@dataclass
class RoIBatch:
    """One head stage's taught rows for a batch, in the row order of its logits.

    For an RoI head the rows are the sampled RoIs (positives first per image); for a dense head
    (RetinaNet) they are the positive anchors, image by image.
    """

    stage: int
    images: List[ImageRoIs]
    rois: Optional[Tensor] = None  # (N, 5) on the model's device, for teachers that re-score them

    @classmethod
    def from_sampling(
        cls,
        stage: int,
        sampling_results: Sequence,
        batch_metainfo: Sequence[dict],
        batch_gt_instances: Sequence,
        rois: Tensor,
    ) -> 'RoIBatch':
        """The sampled RoIs of an RoI-head stage (mmdet ``SamplingResult`` per image)."""
        images = [
            _image_rois(meta, gts, res.pos_priors, res.pos_assigned_gt_inds, int(res.neg_priors.size(0)))
            for res, meta, gts in zip(sampling_results, batch_metainfo, batch_gt_instances)
        ]
        return cls(stage=stage, images=images, rois=rois)

    @classmethod
    def from_positives(
        cls,
        batch_pos_boxes: Sequence[Tensor],
        batch_pos_gt_inds: Sequence[Tensor],
        batch_metainfo: Sequence[dict],
        batch_gt_instances: Sequence,
    ) -> 'RoIBatch':
        """The positive anchors of a dense head: per image, their boxes and assigned GT indices."""
        images = [
            _image_rois(meta, gts, boxes, gt_inds, 0)
            for boxes, gt_inds, meta, gts in zip(batch_pos_boxes, batch_pos_gt_inds, batch_metainfo, batch_gt_instances)
        ]
        return cls(stage=0, images=images)

    def split_rows(self, rows: Tensor) -> List[Tensor]:
        """Split a (N, ...) tensor in logits order into per-image chunks."""
        return list(torch.split(rows, [img.num_rois for img in self.images]))


def _image_rois(metainfo: dict, gt_instances, pos_boxes: Tensor, pos_gt_inds: Tensor, num_neg: int) -> ImageRoIs:
    """One image's rows, boxes mapped to original-image coordinates."""
    return ImageRoIs(
        key=image_key(metainfo),
        gt_boxes=to_original_coords(get_box_tensor(gt_instances.bboxes), metainfo),
        gt_labels=gt_instances.labels.detach().cpu(),
        pos_boxes=to_original_coords(get_box_tensor(pos_boxes), metainfo),
        pos_gt_inds=pos_gt_inds.detach().cpu(),
        num_neg=num_neg,
    )
