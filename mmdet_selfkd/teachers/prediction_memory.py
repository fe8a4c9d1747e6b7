"""Where past predictions are stored: the per-image memories behind the ``gt`` and ``iou`` strategies.

Both keep two buffers: ``prev_preds``, the teachers (per image, its latest prediction from a finished
pass) and ``cur_preds`` (what the model predicts in the current pass, written from the same forward pass
that trains). :meth:`end_pass` moves ``cur_preds`` into ``prev_preds``, replacing the older entries.

**Which prediction teaches a draw.** An image drawn in pass ``t`` is taught by its latest prediction
recorded in a pass before ``t``: the one of pass ``t - 1`` when it was drawn then, as in the reference
PS-KD code where every sample is drawn once per epoch. Under a shuffled ``RepeatDataset`` an image can be
drawn 0, 1 or more times in a pass: every draw of pass ``t`` is taught by that same prediction (a second
draw is not taught by the first draw of the same pass), and an image not drawn in pass ``t - 1`` is
taught by its prediction of the last pass that drew it. Entries are never dropped when they teach, so
every drawn image that has ever been recorded gets a teacher.

**Memory bound.** At most two entries per image: one in ``prev_preds`` (every image recorded so far) and
one in ``cur_preds`` (every image recorded in the current pass). ``benchmarks/pskd_memory_size.py`` fills
the real memories at COCO train2017 scale and prints their size.

Like the reference PS-KD code, predictions are all-gathered across ranks every iteration (:meth:`sync`:
a few kB per image), so every rank holds the same memory at all times, teaches from every rank's
predictions, and rank 0's checkpoint holds all of it. Rows are stored as :class:`~.topk_rows.TopKRows`
(boxes in original-image pixels, exact integer class ids, fp16 top-k probabilities).
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor, nn

from .gather_rows import gather_pending
from .registry import TEACHERS
from .roi_batch import ImageRoIs, RoIBatch
from .teacher import Teacher, TeacherTargets, no_teacher
from .topk_rows import TopKRows, decode_topk, encode_topk, from_packed_fp16, id_dtype

MemoryKey = Tuple[int, str, str]  # (head stage, 'gt' or 'proposal' rows, image key)
# what the memories of mmdet_selfkd 0.1 saved as ``strategy`` (converted on load)
OLD_STRATEGIES = {'gt': 'GTMemory', 'iou': 'IoUMemory', 'snapshot': 'SnapshotTeacher'}


class PredictionMemory(Teacher):
    """Base class: double-buffered per-image memory, cross-rank sync, checkpoint state.

    Args:
        topk (int): Probabilities kept per stored row, >= 1.
    """

    hook_name = 'PSKDHook'

    def __init__(self, topk: int = 5) -> None:
        super().__init__()
        if not (isinstance(topk, int) and topk >= 1):
            raise ValueError(f'{type(self).__name__}(topk={topk!r}): topk must be an int >= 1.')
        self.topk = topk
        self.prev_preds: Dict[MemoryKey, TopKRows] = {}
        self.cur_preds: Dict[MemoryKey, TopKRows] = {}
        self._nbytes = 0  # of both buffers, kept up to date: nbytes() is logged every iteration
        self.pending: Dict[Tuple[int, str], Dict[str, TopKRows]] = {}  # recorded, not yet synced

    # --- every batch --------------------------------------------------------------------------------
    def teach(self, batch: RoIBatch) -> TeacherTargets:
        """Teacher distributions for the batch's rows, in logits order, on the host."""
        probs, has = [], []
        for img in batch.images:
            img_probs, img_has = self._teach_image(batch.stage, img)
            probs.append(img_probs)
            has.append(img_has)
        if not probs:
            return no_teacher(0, self.num_logits)
        return TeacherTargets(torch.cat(probs), torch.cat(has))

    def record(self, batch: RoIBatch) -> None:
        """Queue the student's probabilities of the batch's positives (``ImageRoIs.pos_probs``) for
        :meth:`sync`."""
        for img in batch.images:
            self.pending[(batch.stage, img.key)] = self._encode_image(img, img.pos_probs)

    # --- between iterations -------------------------------------------------------------------------
    def sync(self) -> None:
        """Store every rank's queued predictions on every rank (a collective call under DDP: tensors, once
        per iteration)."""
        for pending in gather_pending(self.pending, id_dtype(self.num_logits)):
            for (stage, key), rows_by_kind in pending.items():
                for kind, rows in rows_by_kind.items():
                    self._nbytes += _size(rows) - _size(self.cur_preds.get((stage, kind, key)))
                    self.cur_preds[(stage, kind, key)] = rows
        self.pending = {}

    def end_pass(self, model: Optional[nn.Module] = None) -> None:
        """Close a pass: what was predicted in it becomes the teacher of the next one. The hook has synced
        every iteration already; records left pending (outside a hook, one process) are stored first."""
        if self.pending:
            self.sync()
        self._nbytes -= sum(_size(self.prev_preds.get(key)) for key in self.cur_preds)
        self.prev_preds.update(self.cur_preds)
        self.cur_preds = {}

    # --- per-image logic, per strategy --------------------------------------------------------------
    def _teach_image(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _encode_image(self, img: ImageRoIs, pos_probs: Tensor) -> Dict[str, TopKRows]:
        """Rows to store for one image, by kind ('gt', 'proposal'), from its positives' probabilities."""
        raise NotImplementedError

    def _no_teacher(self, num_rows: int) -> Tuple[Tensor, Tensor]:
        return tuple(no_teacher(num_rows, self.num_logits))

    def _gt_teacher(self, stage: int, img: ImageRoIs, match_iou: float = 0.5) -> Tuple[Tensor, Tensor]:
        """Per current GT: the stored mean prediction of the same GT (same label, best IoU)."""
        entry = self.prev_preds.get((stage, 'gt', img.key))
        # no entry, or one without rows (no positive of the image reached mean_iou_thr in that pass)
        if entry is None or entry.boxes.size(0) == 0 or img.gt_boxes.size(0) == 0:
            return self._no_teacher(img.gt_boxes.size(0))
        best_iou, best = best_same_label_match(img.gt_boxes, img.gt_labels, entry)
        return decode_topk(entry.select(best), self.num_logits), best_iou >= match_iou

    # --- state --------------------------------------------------------------------------------------
    def nbytes(self) -> int:
        """Bytes held by both buffers."""
        return self._nbytes

    def image_keys(self) -> set:
        return {key for _, _, key in self.prev_preds} | {key for _, _, key in self.cur_preds}

    def settings(self) -> dict:
        return dict(super().settings(), topk=self.topk)

    def state_dict(self) -> dict:
        """Checkpoint state: both buffers (the same on every rank after :meth:`sync`)."""
        return dict(self.settings(), prev_preds=_to_lists(self.prev_preds), cur_preds=_to_lists(self.cur_preds))

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        state = convert_old_state(state)
        self.check_settings(state)
        self.prev_preds = _from_lists(state['prev_preds'])
        self.cur_preds = _from_lists(state['cur_preds'])
        self._nbytes = sum(_size(rows) for buf in (self.prev_preds, self.cur_preds) for rows in buf.values())


def convert_old_state(state: dict) -> dict:
    """A PS-KD memory state saved by mmdet_selfkd 0.1 (``strategy``, ``num_classes`` meaning logits) in the
    current form (``type``, ``num_logits``); other states unchanged."""
    if 'strategy' not in state:
        return state
    state = dict(state, type=OLD_STRATEGIES.get(state['strategy'], state['strategy']), num_logits=state['num_classes'])
    del state['strategy'], state['num_classes']
    return state


def best_same_label_match(boxes: Tensor, labels: Tensor, stored: TopKRows) -> Tuple[Tensor, Tensor]:
    """For each box, its best-IoU stored row among those of the same label: ``(iou, index)``, both (N,);
    ``iou`` is -1 where no stored row has the box's label."""
    ious = bbox_overlaps(boxes, stored.boxes)
    same_label = labels.long()[:, None] == stored.labels[None, :]
    return ious.masked_fill(~same_label, -1).max(1)


def check_share_iou_range(owner: str, share_iou_range: Optional[Sequence[float]]) -> Optional[Tuple[float, float]]:
    """``share_iou_range`` as a ``(low, high)`` tuple of floats (None stays None); ValueError naming the fix."""
    if share_iou_range is None:
        return None
    pair = tuple(share_iou_range) if isinstance(share_iou_range, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(v, (int, float)) for v in pair) or not 0 <= pair[0] < pair[1] <= 1:
        raise ValueError(
            f'{owner}(share_iou_range={share_iou_range!r}): give (low, high) with 0 <= low < high <= 1, e.g. '
            "(0.5, 1.0) for Faster R-CNN's positives, or None for the paper's PS-KD."
        )
    return float(pair[0]), float(pair[1])


def share_by_iou(probs: Tensor, img: ImageRoIs, share_iou_range: Tuple[float, float]) -> Tensor:
    """The rows' teachers with each positive's moved towards its one-hot label by its IoU ``u`` with its GT:
    ``w·p + (1 - w)·onehot(y)``, ``w = clip((high - u) / (high - low), 0, 1)``; negatives' rows unchanged.

    Args:
        probs (Tensor): (N, K) teachers of the image's rows, positives first (placeholders where none).
        img (ImageRoIs): The image's positives (boxes, their GTs' boxes and labels, original coordinates).
        share_iou_range (tuple[float, float]): ``(low, high)``.

    Returns:
        Tensor: (N, K) teachers.
    """
    low, high = share_iou_range
    num_pos = img.pos_boxes.size(0)
    share = ((high - img.pos_ious) / (high - low)).clamp(0, 1)[:, None]
    onehot = F.one_hot(img.pos_labels.long(), probs.size(1)).to(probs.dtype)
    probs = probs.clone()
    probs[:num_pos] = share * probs[:num_pos] + (1 - share) * onehot
    return probs


def _size(rows: TopKRows) -> int:
    """Bytes of a stored entry (0 for none)."""
    return 0 if rows is None else rows.nbytes()


def _to_lists(preds: Dict[MemoryKey, TopKRows]) -> dict:
    # plain lists and tensors: loadable by torch.load(weights_only=True)
    return dict(
        stages=[k[0] for k in preds],
        kinds=[k[1] for k in preds],
        keys=[k[2] for k in preds],
        values=[rows.values for rows in preds.values()],
        ids=[rows.ids for rows in preds.values()],
    )


def _from_lists(state: dict) -> Dict[MemoryKey, TopKRows]:
    keys = zip(state['stages'], state['kinds'], state['keys'])
    if 'rows' in state:  # a checkpoint of mmdet_selfkd 0.1: one fp16 tensor per entry
        return {key: from_packed_fp16(rows) for key, rows in zip(keys, state['rows'])}
    return {key: TopKRows(values, ids) for key, values, ids in zip(keys, state['values'], state['ids'])}


@TEACHERS.register_module()
class GTMemory(PredictionMemory):
    """``gt`` strategy: keyed by (image, GT box).

    The mean softmax of the positive proposals assigned to a GT in the last pass teaches every
    positive proposal assigned to that GT now (GTs are matched across passes by label and best IoU
    in original-image coordinates, so crops and reordering don't break the link).

    Negatives keep one-hot background targets: they are a fresh random draw of ~3/4 of the sampled
    RoIs each pass, with no "same sample" a pass earlier, and an image-level mean of background
    predictions would be a label-smoothing term rather than PS-KD.

    Args:
        topk (int): Probabilities kept per stored row.
        mean_iou_thr (float): Only positives whose IoU with their GT is at least this enter the GT's
            stored mean, in [0, 1]. Default 0: every positive (mmdet's assigner makes them >= 0.5 in
            Faster R-CNN). A package option against ambiguous positives (IoU 0.5-0.7) teaching every
            positive of their GT; like a GT without positives, a GT with no such positive in a pass has
            no teacher in the next.
        share_iou_range (tuple[float, float], optional): ``(low, high)``, ``0 <= low < high <= 1``: a
            positive whose IoU with its GT is ``u`` is taught ``w·p + (1 - w)·onehot(y)`` with
            ``w = clip((high - u) / (high - low), 0, 1)``, so that its training target is
            ``(1 - α_t·w)·onehot(y) + α_t·w·p``: poorly localised positives (IoU near ``low``) take the
            teacher's full share, well-localised ones (near ``high``) keep close to one-hot (aimed at a
            score that ranks a GT's detections by how well they cover it, as COCO mAP over IoU 0.5:0.95
            does; measured in docs/benchmarks.md, hypothesis H5). Default None: every positive takes the
            full share (the paper's). A package option; ``(0.5, 1.0)`` spans Faster R-CNN's and
            RetinaNet's positives. FCOS's positives are points (zero-size boxes, IoU 0): every one takes
            the full share, as without the option.
    """

    strategy = 'gt'

    def __init__(
        self, topk: int = 5, mean_iou_thr: float = 0.0, share_iou_range: Optional[Sequence[float]] = None
    ) -> None:
        super().__init__(topk)
        if not 0 <= mean_iou_thr <= 1:
            raise ValueError(f'{type(self).__name__}(mean_iou_thr={mean_iou_thr}): must be in [0, 1].')
        self.mean_iou_thr = mean_iou_thr
        self.share_iou_range = check_share_iou_range(type(self).__name__, share_iou_range)

    def _teach_image(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        probs, has = self._stored_teacher(stage, img)
        if self.share_iou_range is not None and img.pos_boxes.size(0):
            probs = share_by_iou(probs, img, self.share_iou_range)
        return probs, has

    def _stored_teacher(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        """The rows' stored teacher: per positive, its GT's mean prediction a pass earlier."""
        gt_probs, gt_has = self._gt_teacher(stage, img)
        probs, has = self._no_teacher(img.num_rois)
        num_pos = img.pos_boxes.size(0)
        if num_pos and gt_has.any():
            probs[:num_pos] = gt_probs[img.pos_gt_inds]
            has[:num_pos] = gt_has[img.pos_gt_inds]
        return probs, has

    def _encode_image(self, img: ImageRoIs, pos_probs: Tensor) -> Dict[str, TopKRows]:
        num_pos, num_gts = img.pos_boxes.size(0), img.gt_boxes.size(0)
        if num_pos == 0:
            return {}
        pos_gt_inds = img.pos_gt_inds
        if self.mean_iou_thr > 0:
            kept = img.pos_ious >= self.mean_iou_thr
            pos_probs, pos_gt_inds = pos_probs[kept], pos_gt_inds[kept]
        sums = torch.zeros(num_gts, self.num_logits).index_add_(0, pos_gt_inds, pos_probs)
        counts = torch.bincount(pos_gt_inds, minlength=num_gts)
        seen = counts > 0
        mean_probs = sums[seen] / counts[seen, None]
        return {'gt': encode_topk(img.gt_boxes[seen], img.gt_labels[seen], mean_probs, self.topk)}


@TEACHERS.register_module()
class IoUMemory(GTMemory):
    """``iou`` strategy: keyed by proposal.

    The last pass's positive proposals are stored in original-image coordinates with their own
    predictions and the label of the GT they were assigned to; a new positive proposal takes the
    prediction of its best-IoU stored proposal of the same image and the same label when
    ``IoU >= iou_thr`` (where GTs of different classes overlap, a proposal is never taught another
    class's distribution), else the ``gt`` teacher (``fallback='gt'``) or none (``fallback='onehot'``).
    Negatives are not stored (see :class:`GTMemory`): at 512 sampled RoIs
    per image they would be 3/4 of the bytes, over the 0.5 GB COCO budget.

    Args:
        iou_thr (float): Minimum IoU, in (0, 1], for a stored proposal to teach a new one.
        fallback (str): 'gt' or 'onehot', for positives without a match.
        mean_iou_thr (float): See :class:`GTMemory` (its means are the ``gt`` fallback).
        share_iou_range (tuple[float, float], optional): See :class:`GTMemory`.
    """

    strategy = 'iou'

    def __init__(
        self,
        topk: int = 5,
        iou_thr: float = 0.7,
        fallback: str = 'gt',
        mean_iou_thr: float = 0.0,
        share_iou_range: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__(topk, mean_iou_thr, share_iou_range)
        if not 0 < iou_thr <= 1:
            raise ValueError(f'IoUMemory(iou_thr={iou_thr}): iou_thr must be in (0, 1].')
        if fallback not in ('gt', 'onehot'):
            raise ValueError(f"IoUMemory(fallback={fallback!r}): expected 'gt' or 'onehot'.")
        self.iou_thr = iou_thr
        self.fallback = fallback

    def _stored_teacher(self, stage: int, img: ImageRoIs) -> Tuple[Tensor, Tensor]:
        """The rows' stored teacher: per positive, its best-IoU stored proposal, else the fallback."""
        if self.fallback == 'gt':
            probs, has = super()._stored_teacher(stage, img)
        else:
            probs, has = self._no_teacher(img.num_rois)
        stored = self.prev_preds.get((stage, 'proposal', img.key))
        num_pos = img.pos_boxes.size(0)
        if stored is None or num_pos == 0:
            return probs, has
        best_iou, best = best_same_label_match(img.pos_boxes, img.pos_labels, stored)
        matched = torch.nonzero(best_iou >= self.iou_thr).flatten()
        probs[matched] = decode_topk(stored.select(best[matched]), self.num_logits)
        has[matched] = True
        return probs, has

    def _encode_image(self, img: ImageRoIs, pos_probs: Tensor) -> Dict[str, TopKRows]:
        if img.pos_boxes.size(0) == 0:
            return {}
        rows = super()._encode_image(img, pos_probs) if self.fallback == 'gt' else {}
        rows['proposal'] = encode_topk(img.pos_boxes, img.pos_labels, pos_probs, self.topk)
        return rows
