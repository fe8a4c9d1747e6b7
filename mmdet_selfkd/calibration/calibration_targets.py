"""Validation detections and their targets, for fitting a post-hoc calibrator.

Two protocols, one per calibration error the calibrator should lower:

* ``'laece'`` (Kuzucu et al., ECCV 2024, their reference ``fit``): match at
  IoU 0, keep per class the detections at or above the class's LRP-optimal
  threshold (classes without ground truth are left out), target = IoU of a
  true positive, 0 for a false positive.
* ``'dece'`` (the D-ECE protocol of :class:`DetectionCalibrationMetric`):
  match at IoU 0.5, keep score >= 0.3, target = 1 for a true positive, else 0.
"""

from typing import Dict, Sequence, Tuple

import numpy as np

from ..evaluation.detection_calibration_metric import match_detections
from ..evaluation.lrp import lrp_optimal

TARGETS = ('laece', 'dece')


def calibration_set(
    images: Sequence[Dict[str, np.ndarray]],
    target: str = 'laece',
    dece_iou_thr: float = 0.5,
    dece_score_thr: float = 0.3,
) -> Tuple[np.ndarray, ...]:
    """Pool the matched validation detections of all images.

    Args:
        images (Sequence[dict]): Per image ``bboxes`` (N, 4), ``scores``
            (N,), ``labels`` (N,), ``gt_bboxes`` (M, 4), ``gt_labels`` (M,),
            ``gt_ignore`` (M,), boxes xyxy in one frame.
        target (str): 'laece' or 'dece'. Defaults to 'laece'.
        dece_iou_thr (float): IoU threshold of the 'dece' protocol.
        dece_score_thr (float): Score threshold of the 'dece' protocol.

    Returns:
        tuple: ``(scores, labels, targets)`` of the kept detections.
    """
    if target not in TARGETS:
        raise ValueError(f'target must be one of {TARGETS}, got {target!r}')
    if target == 'dece':
        scores, labels, ious, is_tp, _ = _pool(images, dece_iou_thr, dece_score_thr)
        return scores, labels, is_tp.astype(np.float64)
    scores, labels, ious, is_tp, num_gts = _pool(images, 0.0, 0.0)
    keep = np.zeros(len(scores), bool)
    for c, thr in _lrp_thresholds(scores, labels, ious, is_tp, num_gts).items():
        sel = labels == c
        keep |= sel if np.isnan(thr) else sel & (scores >= thr)
    return scores[keep], labels[keep], ious[keep]


def lrp_optimal_thresholds(images: Sequence[Dict[str, np.ndarray]]) -> Dict[int, float]:
    """Per class with ground truth, its LRP-optimal score threshold (IoU 0 matching; NaN: no true positive)."""
    return _lrp_thresholds(*_pool(images, 0.0, 0.0))


def _lrp_thresholds(scores, labels, ious, is_tp, num_gts) -> Dict[int, float]:
    return {
        int(c): lrp_optimal(scores[labels == c], is_tp[labels == c], ious[labels == c], int(num_gts[c]))['threshold']
        for c in np.flatnonzero(num_gts)
    }


def _pool(images, iou_thr: float, score_thr: float):
    """Scores, labels, TP IoUs (0 for FPs), TP flags of the non-ignored detections with score >= score_thr,
    matched at ``iou_thr``, pooled over the images, and the number of non-ignored GT per class."""
    parts, gt_labels = [], []
    for img in images:
        scores = np.asarray(img['scores'], np.float64).reshape(-1)
        keep = scores >= score_thr
        labels = np.asarray(img['labels'], np.int64).reshape(-1)[keep]
        bboxes = np.asarray(img['bboxes'], np.float32).reshape(-1, 4)[keep]
        ignore = np.asarray(img['gt_ignore'], bool).reshape(-1)
        is_tp, is_ignored, ious = match_detections(
            bboxes, scores[keep], labels, img['gt_bboxes'], img['gt_labels'], ignore, iou_thr=iou_thr, return_ious=True
        )
        valid = ~is_ignored
        parts.append((scores[keep][valid], labels[valid], np.where(is_tp, ious, 0.0)[valid], is_tp[valid]))
        gt_labels.append(np.asarray(img['gt_labels'], np.int64).reshape(-1)[~ignore])
    empty = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool))
    scores, labels, ious, is_tp = (np.concatenate(x) for x in zip(empty, *parts))
    num_gts = np.bincount(np.concatenate([np.zeros(0, np.int64), *gt_labels]))
    return scores, labels, ious, is_tp, num_gts
