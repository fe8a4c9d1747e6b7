"""What a teacher is shown of one head stage's batch: the rows of the logits, the student's own detached
probabilities for them, and, for the positive rows, their images, boxes and GTs mapped back to original-image
coordinates so that they can be compared across passes whatever geometric augmentation the pipeline drew
(see :mod:`.pipeline_check` for which pipelines can be mapped back).

The positives' labels and GTs come from mmdet's ``SamplingResult`` (``pos_priors``, ``pos_gt_bboxes``,
``pos_gt_labels``, ``pos_assigned_gt_inds``) for an RoI head, from the head's own targets for a dense head.
Everything the host side needs (boxes, GT boxes, labels, GT indices and the student's probabilities of the
positives) is packed on the device and copied to the host in one transfer, the first time a teacher reads
:attr:`RoIBatch.images`; a teacher that never reads it (the snapshot, MrKD's copies) costs no copy at all.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmdet.structures.bbox import HorizontalBoxes, bbox_flip, bbox_overlaps, get_box_tensor
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
    """The positive rows of one image (and how many negatives follow them), on the host.

    GTs are those the positives are assigned to, in ascending index order; ``pos_gt_inds`` index them.
    """

    key: str
    gt_boxes: Tensor  # (G, 4) original coords
    gt_labels: Tensor  # (G,)
    pos_boxes: Tensor  # (P, 4) original coords
    pos_gt_inds: Tensor  # (P,) index into gt_boxes
    num_neg: int
    pos_probs: Optional[Tensor] = None  # (P, K) the student's detached probabilities

    @property
    def num_rois(self) -> int:
        return self.pos_boxes.size(0) + self.num_neg

    @property
    def pos_labels(self) -> Tensor:
        """(P,) the label of each positive's GT."""
        return self.gt_labels[self.pos_gt_inds]

    @property
    def pos_ious(self) -> Tensor:
        """(P,) each positive's IoU with its GT."""
        return bbox_overlaps(self.pos_boxes, self.gt_boxes[self.pos_gt_inds], is_aligned=True)


class RoIBatch:
    """One head stage's rows for a batch, in the row order of its logits.

    For an RoI head the rows are the sampled RoIs (positives first per image, as in mmdet's ``SamplingResult``);
    for a dense head (RetinaNet, FCOS) they are the positive anchors or points, image by image.

    Args:
        stage (int): The head stage (cascade stages count from 0).
        images (list[ImageRoIs], optional): The host view; built from ``packed`` when not given.
        rois (Tensor, optional): (N, 5) RoIs on the model's device, for teachers that re-score them.
        probs (Tensor, optional): (N, K) the student's detached probabilities of every row, on its device.
        packed (tuple, optional): ``(pack, num_pos, num_neg, metainfo)``: the device tensor of the positives'
            ``[box(4), gt_box(4), gt_label, gt_index, probs(K)]`` rows, per-image counts and metainfo.
    """

    def __init__(
        self,
        stage: int,
        images: Optional[List[ImageRoIs]] = None,
        rois: Optional[Tensor] = None,
        probs: Optional[Tensor] = None,
        packed: Optional[tuple] = None,
    ) -> None:
        self.stage, self.rois, self.probs = stage, rois, probs
        self._images, self._packed = images, packed  # the host view, or what it is unpacked from

    @property
    def images(self) -> List[ImageRoIs]:
        """The host view, unpacked with one device-to-host copy on first use."""
        if self._images is None:
            self._images = _unpack(*self._packed)
            self._packed = None
        return self._images

    @property
    def num_rows(self) -> int:
        if self.probs is not None:
            return self.probs.size(0)
        return sum(img.num_rois for img in self.images)

    @classmethod
    def from_sampling(
        cls, stage: int, sampling_results: Sequence, batch_metainfo: Sequence[dict], rois: Tensor, probs: Tensor
    ) -> 'RoIBatch':
        """The sampled RoIs of an RoI-head stage (mmdet ``SamplingResult`` per image).

        Args:
            stage (int): The head stage.
            sampling_results (list[SamplingResult]): The stage's sampling results.
            batch_metainfo (list[dict]): The images' metainfo.
            rois (Tensor): (N, 5) the stage's RoIs.
            probs (Tensor): (N, K) the student's detached softmax of them.
        """
        num_pos = [res.pos_priors.size(0) for res in sampling_results]
        num_neg = [res.neg_priors.size(0) for res in sampling_results]
        offsets = np.cumsum([0] + [p + n for p, n in zip(num_pos, num_neg)])[:-1]
        pos_rows = torch.cat([torch.arange(p) + int(o) for p, o in zip(num_pos, offsets)]).to(probs.device)
        pack = _pack(
            torch.cat([get_box_tensor(res.pos_priors) for res in sampling_results]),
            torch.cat([get_box_tensor(res.pos_gt_bboxes) for res in sampling_results]),
            torch.cat([res.pos_gt_labels for res in sampling_results]),
            torch.cat([res.pos_assigned_gt_inds for res in sampling_results]),
            probs[pos_rows],
        )
        return cls(stage, rois=rois, probs=probs, packed=(pack, num_pos, num_neg, list(batch_metainfo)))

    @classmethod
    def from_positives(
        cls,
        num_pos: Sequence[int],
        pos_boxes: Tensor,
        pos_gt_boxes: Tensor,
        pos_gt_labels: Tensor,
        pos_gt_inds: Tensor,
        probs: Tensor,
        batch_metainfo: Sequence[dict],
    ) -> 'RoIBatch':
        """The positive anchors (or points, as zero-size boxes) of a dense head, image by image.

        Args:
            num_pos (list[int]): Positives per image.
            pos_boxes (Tensor): (P, 4) their anchors, input-image coordinates.
            pos_gt_boxes (Tensor): (P, 4) the GT box each is assigned to.
            pos_gt_labels (Tensor): (P,) its label.
            pos_gt_inds (Tensor): (P,) its index within its image.
            probs (Tensor): (P, C) the student's detached sigmoid scores.
            batch_metainfo (list[dict]): The images' metainfo.
        """
        pack = _pack(pos_boxes, pos_gt_boxes, pos_gt_labels, pos_gt_inds, probs)
        return cls(0, probs=probs, packed=(pack, list(num_pos), [0] * len(num_pos), list(batch_metainfo)))

    def positive_rows(self) -> Tensor:
        """Row indices (in logits order, on the host) of the positives, image by image."""
        rows, offset = [], 0
        for img in self.images:
            rows.append(torch.arange(offset, offset + img.pos_boxes.size(0)))
            offset += img.num_rois
        return torch.cat(rows) if rows else torch.zeros(0, dtype=torch.long)


def _pack(boxes: Tensor, gt_boxes: Tensor, gt_labels: Tensor, gt_inds: Tensor, probs: Tensor) -> Tensor:
    """One float tensor of the positives' rows (labels and indices are exact in fp32 up to 2**24)."""
    columns = [boxes, gt_boxes, gt_labels[:, None], gt_inds[:, None], probs]
    return torch.cat([c.detach().float() for c in columns], 1)


def _unpack(pack: Tensor, num_pos: List[int], num_neg: List[int], metainfo: List[dict]) -> List[ImageRoIs]:
    """The host view: one device-to-host copy, then per image its GTs (those with positives) and its rows in
    original-image coordinates."""
    host = pack.cpu()
    images = []
    for rows, negatives, meta in zip(torch.split(host, num_pos), num_neg, metainfo):
        assigned = rows[:, 9].long()
        gt_inds, pos_gt_inds = torch.unique(assigned, return_inverse=True)
        # a row of each GT (all rows of a GT hold its box and label)
        first = torch.zeros(gt_inds.numel(), dtype=torch.long).scatter_(0, pos_gt_inds, torch.arange(rows.size(0)))
        images.append(
            ImageRoIs(
                key=image_key(meta),
                gt_boxes=to_original_coords(rows[first, 4:8], meta),
                gt_labels=rows[first, 8].long(),
                pos_boxes=to_original_coords(rows[:, :4], meta),
                pos_gt_inds=pos_gt_inds,
                num_neg=int(negatives),
                pos_probs=rows[:, 10:],
            )
        )
    return images
