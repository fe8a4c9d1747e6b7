"""Where past predictions are stored: the per-image memories behind the ``gt`` and ``iou`` strategies.

Both keep two buffers: ``prev_preds`` (what the model predicted during the last finished pass: the
teacher ``p_{t-1}``) and ``cur_preds`` (what it predicts now, written from the same forward pass that
trains). Like the reference PS-KD code, predictions are all-gathered across ranks every iteration
(:meth:`sync`: a few kB per image), so every rank holds the same memory at all times, teaches from every
rank's predictions, and rank 0's checkpoint holds all of it. Once an image has been taught its
``prev_preds`` entry is dropped, so the two buffers together hold one pass worth of predictions;
:meth:`end_pass` moves ``cur_preds`` into ``prev_preds``. (An image drawn twice in one pass, as a
shuffled ``RepeatDataset`` can do, gets no teacher the second time.)

Each image's entry is one fp16 tensor of rows ``[x1, y1, x2, y2, label, p_1..p_k, c_1..c_k]``: a box in
original-image pixels, its label and its top-k class probabilities ``p`` with their classes ``c``.
:func:`decode_topk` spreads the remaining mass ``1 - sum(p)`` evenly over the other classes.
"""
from typing import Dict, Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps
from mmengine.dist import all_gather_object, get_world_size
from torch import Tensor

from .roi_batch import ImageRoIs, RoIBatch

MemoryKey = Tuple[int, str, str]  # (RoI-head stage, 'gt' or 'proposal' rows, image key)
BOX_COLS, LABEL_COL = slice(0, 4), 4


def encode_topk(boxes: Tensor, labels: Tensor, probs: Tensor, topk: int) -> Tensor:
    """Pack boxes, labels and the top-k of each probability row into one fp16 tensor."""
    top_probs, top_classes = probs.float().topk(min(topk, probs.size(1)), dim=1)
    return torch.cat([boxes.float(), labels.float()[:, None], top_probs, top_classes.float()], 1).half()


def decode_topk(rows: Tensor, num_classes: int) -> Tensor:
    """Rebuild full (R, num_classes) distributions from :func:`encode_topk` rows."""
    k = (rows.size(1) - 5) // 2
    top_probs, top_classes = rows[:, 5:5 + k].float(), rows[:, 5 + k:].long()
    rest = (1 - top_probs.sum(1, keepdim=True)).clamp(min=0) / max(num_classes - k, 1)
    probs = rest.expand(rows.size(0), num_classes).clone()
    return probs.scatter_(1, top_classes, top_probs)


class PredictionMemory:
    """Base class: double-buffered per-image memory, DDP sync, checkpoint state.

    Args:
        num_classes (int): Logits per RoI, background included (``bbox_head.num_classes + 1``).
        topk (int): Probabilities kept per stored row.
    """
    strategy = ''

    def __init__(self, num_classes: int, topk: int = 5) -> None:
        if topk < 1:
            raise ValueError(f'PSKDHook(memory=dict(topk={topk})): topk must be >= 1.')
        self.num_classes = num_classes
        self.topk = topk
        self.prev_preds: Dict[MemoryKey, Tensor] = {}
        self.cur_preds: Dict[MemoryKey, Tensor] = {}
        self._nbytes = 0  # of both buffers, kept up to date: nbytes() is logged every iteration
        self.pending: Dict[Tuple[int, str], Dict[str, Tensor]] = {}  # recorded, not yet synced

    # --- the two calls an RoI head makes every forward -------------------------------------------
    def teach(self, batch: RoIBatch) -> Tuple[Tensor, Tensor]:
        """Teacher distributions for the batch's RoIs, in logits order.

        Returns:
            tuple[Tensor, Tensor]: ``(teacher_probs (N, num_classes), has_teacher (N,) bool)`` on CPU.
        """
        probs, has = [], []
        for img in batch.images:
            img_probs, img_has = self._teach_image(batch.stage, img)
            probs.append(img_probs)
            has.append(img_has)
        return torch.cat(probs), torch.cat(has)

    def record(self, batch: RoIBatch, probs: Tensor) -> None:
        """Queue this pass's predictions ``probs`` (N, num_classes) of the batch's RoIs for :meth:`sync`."""
        for img, img_probs in zip(batch.images, batch.split_rows(probs.detach().float().cpu())):
            self.pending[(batch.stage, img.key)] = self._encode_image(img, img_probs)

    def sync(self) -> None:
        """Store every rank's queued predictions on every rank (a collective call under DDP)."""
        gathered = [self.pending] if get_world_size() == 1 else all_gather_object(self.pending)
        for pending in gathered:
            for (stage, key), rows_by_kind in pending.items():
                for kind in ('gt', 'proposal'):  # p_{t-1} of this image has taught: free it
                    self._nbytes -= _size(self.prev_preds.pop((stage, kind, key), None))
                for kind, rows in rows_by_kind.items():
                    self._nbytes += _size(rows) - _size(self.cur_preds.get((stage, kind, key)))
                    self.cur_preds[(stage, kind, key)] = rows
        self.pending = {}

    def end_pass(self, model=None) -> None:
        """Close a pass: what was predicted in it becomes the teacher of the next one."""
        self.sync()
        self._nbytes -= sum(_size(self.prev_preds.get(key)) for key in self.cur_preds)
        self.prev_preds.update(self.cur_preds)
        self.cur_preds = {}

    # --- per-image logic, per strategy ------------------------------------------------------------
    def _teach_image(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _encode_image(self, img: ImageRoIs, probs: Tensor) -> Dict[str, Tensor]:
        """Rows to store for one image, by kind ('gt', 'proposal')."""
        raise NotImplementedError

    def _no_teacher(self, num_rows: int) -> Tuple[Tensor, Tensor]:
        return torch.zeros(num_rows, self.num_classes), torch.zeros(num_rows, dtype=torch.bool)

    def _gt_teacher(self, stage: int, img: ImageRoIs, match_iou: float = 0.5) -> Tuple[Tensor, Tensor]:
        """Per current GT: the stored mean prediction of the same GT (same label, best IoU)."""
        entry = self.prev_preds.get((stage, 'gt', img.key))
        if entry is None or img.gt_boxes.size(0) == 0:
            return self._no_teacher(img.gt_boxes.size(0))
        ious = bbox_overlaps(img.gt_boxes, entry[:, BOX_COLS].float())
        same_label = img.gt_labels[:, None] == entry[None, :, LABEL_COL].long()
        best_iou, best = ious.masked_fill(~same_label, -1).max(1)
        return decode_topk(entry[best], self.num_classes), best_iou >= match_iou

    # --- state ------------------------------------------------------------------------------------
    def nbytes(self) -> int:
        """Bytes held by both buffers."""
        return self._nbytes

    def image_keys(self) -> set:
        return {key for _, _, key in self.prev_preds} | {key for _, _, key in self.cur_preds}

    def state_dict(self) -> dict:
        """Checkpoint state: both buffers (the same on every rank after :meth:`sync`)."""
        return dict(strategy=self.strategy, num_classes=self.num_classes, topk=self.topk,
                    prev_preds=_to_lists(self.prev_preds), cur_preds=_to_lists(self.cur_preds))

    def load_state_dict(self, state: dict) -> None:
        for name in ('strategy', 'num_classes', 'topk'):
            if state.get(name) != getattr(self, name):
                raise ValueError(f'PS-KD memory in the checkpoint has {name}={state.get(name)!r} but this run '
                                 f'has {name}={getattr(self, name)!r}: resume with the settings it was saved '
                                 f'with, or start from `load_from` to begin with an empty memory.')
        self.prev_preds = _from_lists(state['prev_preds'])
        self.cur_preds = _from_lists(state['cur_preds'])
        self._nbytes = sum(_size(rows) for buf in (self.prev_preds, self.cur_preds) for rows in buf.values())


def _size(rows) -> int:
    """Bytes of a stored entry (0 for none)."""
    return 0 if rows is None else rows.numel() * rows.element_size()


def _to_lists(preds: Dict[MemoryKey, Tensor]) -> dict:
    # plain lists and tensors: loadable by torch.load(weights_only=True)
    return dict(stages=[k[0] for k in preds], kinds=[k[1] for k in preds], keys=[k[2] for k in preds],
                rows=list(preds.values()))


def _from_lists(state: dict) -> Dict[MemoryKey, Tensor]:
    return dict(zip(zip(state['stages'], state['kinds'], state['keys']), state['rows']))


class GTMemory(PredictionMemory):
    """``gt`` strategy: keyed by (image, GT box).

    The mean softmax of the positive proposals assigned to a GT in the last pass teaches every
    positive proposal assigned to that GT now (GTs are matched across passes by label and best IoU
    in original-image coordinates, so crops and reordering don't break the link).

    Negatives keep one-hot background targets: they are a fresh random draw of ~3/4 of the sampled
    RoIs each pass, with no "same sample" a pass earlier, and an image-level mean of background
    predictions would be a label-smoothing term rather than PS-KD.
    """
    strategy = 'gt'

    def _teach_image(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        gt_probs, gt_has = self._gt_teacher(stage, img)
        probs, has = self._no_teacher(img.num_rois)
        num_pos = img.pos_boxes.size(0)
        if num_pos and gt_has.any():
            probs[:num_pos] = gt_probs[img.pos_gt_inds]
            has[:num_pos] = gt_has[img.pos_gt_inds]
        return probs, has

    def _encode_image(self, img: ImageRoIs, probs: Tensor) -> Dict[str, Tensor]:
        num_pos, num_gts = img.pos_boxes.size(0), img.gt_boxes.size(0)
        if num_pos == 0:
            return {}
        sums = torch.zeros(num_gts, self.num_classes).index_add_(0, img.pos_gt_inds, probs[:num_pos])
        counts = torch.bincount(img.pos_gt_inds, minlength=num_gts)
        seen = counts > 0
        mean_probs = sums[seen] / counts[seen, None]
        return {'gt': encode_topk(img.gt_boxes[seen], img.gt_labels[seen], mean_probs, self.topk)}


class IoUMemory(GTMemory):
    """``iou`` strategy: keyed by proposal.

    The last pass's positive proposals are stored in original-image coordinates with their own
    predictions; a new positive proposal takes the prediction of its best-IoU stored proposal of the
    same image when ``IoU >= iou_thr``, else the ``gt`` teacher (``fallback='gt'``) or none
    (``fallback='onehot'``). Negatives are not stored (see :class:`GTMemory`): at 512 sampled RoIs
    per image they would be 3/4 of the bytes, over the 0.5 GB COCO budget.

    Args:
        iou_thr (float): Minimum IoU, in (0, 1], for a stored proposal to teach a new one.
        fallback (str): 'gt' or 'onehot', for positives without a match.
    """
    strategy = 'iou'

    def __init__(self, num_classes: int, topk: int = 5, iou_thr: float = 0.7, fallback: str = 'gt') -> None:
        super().__init__(num_classes, topk)
        if not 0 < iou_thr <= 1:
            raise ValueError(f'PSKDHook(memory=dict(iou_thr={iou_thr})): iou_thr must be in (0, 1].')
        if fallback not in ('gt', 'onehot'):
            raise ValueError(f"PSKDHook(memory=dict(fallback={fallback!r})): expected 'gt' or 'onehot'.")
        self.iou_thr = iou_thr
        self.fallback = fallback

    def _teach_image(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        if self.fallback == 'gt':
            probs, has = super()._teach_image(stage, img)
        else:
            probs, has = self._no_teacher(img.num_rois)
        stored = self.prev_preds.get((stage, 'proposal', img.key))
        num_pos = img.pos_boxes.size(0)
        if stored is None or num_pos == 0:
            return probs, has
        best_iou, best = bbox_overlaps(img.pos_boxes, stored[:, BOX_COLS].float()).max(1)
        matched = torch.nonzero(best_iou >= self.iou_thr).flatten()
        probs[matched] = decode_topk(stored[best[matched]], self.num_classes)
        has[matched] = True
        return probs, has

    def _encode_image(self, img: ImageRoIs, probs: Tensor) -> Dict[str, Tensor]:
        num_pos = img.pos_boxes.size(0)
        if num_pos == 0:
            return {}
        rows = super()._encode_image(img, probs) if self.fallback == 'gt' else {}
        rows['proposal'] = encode_topk(img.pos_boxes, img.gt_labels[img.pos_gt_inds], probs[:num_pos], self.topk)
        return rows
