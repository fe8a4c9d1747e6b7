"""LRP (Localisation-Recall-Precision) error and LRP-optimal thresholds.

Definitions of Oksuz et al., "One Metric to Measure them All: Localisation
Recall Precision (LRP) for Evaluating Visual Detection Tasks" (TPAMI 2022),
as used for the joint accuracy/calibration evaluation of Kuzucu et al., "On
Calibration of Object Detectors: Pitfalls, Evaluation and Baselines" (ECCV
2024; code: github.com/fiveai/detection_calibration, ``pycocotools_lrp``).

For one class, with the detections of score >= s, ``TP``/``FP`` their true
and false positives (matched at IoU >= tau), ``G`` the number of (non-ignored)
ground-truth objects and ``FN = G - TP``::

    LRP(s) = ( sum_{TP} (1 - IoU) / (1 - tau) + FP + FN ) / (TP + FP + FN)

(0 is perfect, 1 is worst). The LRP-optimal threshold of the class is the
score at which LRP is lowest (oLRP); a class with ground truth but no true
positive has oLRP 1 and no threshold (NaN; none of its detections is
removed, as in the reference code).
"""

from typing import Dict

import numpy as np


def lrp_optimal(
    scores: np.ndarray, is_tp: np.ndarray, tp_ious: np.ndarray, num_gts: int, iou_thr: float = 0.0
) -> Dict[str, float]:
    """oLRP of one class and its LRP-optimal score threshold.

    Detections are sorted by decreasing score (stable); LRP is evaluated
    after each of them and the first minimum is taken, as in the reference
    ``COCOeval.accumulate`` of fiveai/detection_calibration.

    Args:
        scores (np.ndarray): (N,) confidences of the class's detections
            (ignored ones already removed).
        is_tp (np.ndarray): (N,) bool, True for true positives.
        tp_ious (np.ndarray): (N,) IoU of each true positive with its GT
            (anything for false positives).
        num_gts (int): Number of non-ignored ground-truth objects, > 0.
        iou_thr (float): IoU threshold ``tau`` of the matching, in [0, 1).
            Defaults to 0.

    Returns:
        dict: ``olrp``, ``olrp_loc`` (mean 1 - IoU of the TPs), ``olrp_fp``
        (1 - precision), ``olrp_fn`` (1 - recall) at the optimum and
        ``threshold`` (NaN, and components NaN but ``olrp_fn`` = 1, when
        there is no true positive).
    """
    if num_gts <= 0:
        raise ValueError(f'num_gts must be > 0, got {num_gts}')
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    is_tp = np.asarray(is_tp, dtype=bool).reshape(-1)
    tp_ious = np.where(is_tp, np.asarray(tp_ious, np.float64).reshape(-1), 0.0)
    if not is_tp.any():
        return dict(olrp=1.0, olrp_loc=np.nan, olrp_fp=np.nan, olrp_fn=1.0, threshold=np.nan)
    order = np.argsort(-scores, kind='mergesort')
    tp = np.cumsum(is_tp[order])
    fp = np.cumsum(~is_tp[order])
    loc = tp - np.cumsum(tp_ious[order])
    fn = num_gts - tp
    lrp = (loc / (1.0 - iou_thr) + fp + fn) / (tp + fp + fn)
    best = int(np.argmin(lrp))
    return dict(
        olrp=float(lrp[best]),
        olrp_loc=float(loc[best] / tp[best]) if tp[best] else np.nan,
        olrp_fp=float(fp[best] / (tp[best] + fp[best])),
        olrp_fn=float(fn[best] / num_gts),
        threshold=float(scores[order][best]),
    )
