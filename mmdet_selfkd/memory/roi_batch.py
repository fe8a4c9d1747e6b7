"""What the prediction memories see of one training batch of an RoI head: image keys, GT boxes and
sampled proposals, mapped back to original-image coordinates so that they can be compared across
passes whatever resize and flip the pipeline drew."""
from dataclasses import dataclass
from typing import List, Sequence

import torch
from mmdet.structures.bbox import bbox_flip, get_box_tensor
from torch import Tensor


def image_key(metainfo: dict) -> str:
    """The identity of an image across passes: its file path.

    Unique under ``ConcatDataset`` (VOC2007 and VOC2012 live in different folders) and shared by the
    copies ``RepeatDataset`` makes, unlike ``sample_idx`` (local to a sub-dataset) or ``img_id``.
    """
    if 'img_path' not in metainfo:
        raise KeyError("PS-KD needs 'img_path' in the data samples' metainfo: keep it in "
                       "PackDetInputs(meta_keys=...) of the train pipeline.")
    return str(metainfo['img_path'])


def to_original_coords(boxes: Tensor, metainfo: dict) -> Tensor:
    """Undo the train pipeline's flip and resize: boxes in the input frame -> original image frame.

    Args:
        boxes (Tensor): (N, 4) xyxy boxes in the frame the model saw.
        metainfo (dict): The sample's metainfo (``img_shape``, ``scale_factor``, ``flip``,
            ``flip_direction``), as written by mmdet's ``Resize``/``RandomFlip``.

    Returns:
        Tensor: (N, 4) float boxes in original-image pixels.
    """
    boxes = boxes.detach().float().cpu()
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
    """One RoI-head stage's sampled RoIs for a batch, in the row order of its logits."""
    stage: int
    images: List[ImageRoIs]
    rois: Tensor  # (N, 5) on the model's device, for teachers that re-score them

    @classmethod
    def from_sampling(cls, stage: int, sampling_results: Sequence, batch_metainfo: Sequence[dict],
                      batch_gt_instances: Sequence, rois: Tensor) -> 'RoIBatch':
        images = []
        for res, meta, gts in zip(sampling_results, batch_metainfo, batch_gt_instances):
            images.append(
                ImageRoIs(
                    key=image_key(meta),
                    gt_boxes=to_original_coords(get_box_tensor(gts.bboxes), meta),
                    gt_labels=gts.labels.detach().cpu(),
                    pos_boxes=to_original_coords(res.pos_priors, meta),
                    pos_gt_inds=res.pos_assigned_gt_inds.detach().cpu(),
                    num_neg=int(res.neg_priors.size(0))))
        return cls(stage=stage, images=images, rois=rois)

    def split_rows(self, rows: Tensor) -> List[Tensor]:
        """Split a (N, ...) tensor in logits order into per-image chunks."""
        return list(torch.split(rows, [img.num_rois for img in self.images]))
