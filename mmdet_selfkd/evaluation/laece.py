"""Localisation-aware expected calibration error (LaECE) of one class.

Kuzucu et al., "On Calibration of Object Detectors: Pitfalls, Evaluation and
Baselines" (ECCV 2024; code: github.com/fiveai/detection_calibration,
``CalibrationCOCO.compute_single_errors``), after Oksuz et al. (CVPR 2023).
A detector is calibrated when a detection's confidence equals the IoU it
achieves with its object (0 for a false positive). For one class, with its
(thresholded) detections split into ``B`` equal-width confidence bins
(right-closed, as in the reference: ``[0, 1/B]``, ``(1/B, 2/B]``, ...)::

    target_b = precision_b * meanIoU_b = sum_{TP in b} IoU / n_b
    LaECE_c  = sum_b (n_b / N_c) * |target_b - conf_b|

with ``conf_b`` the bin's mean confidence. The detector's LaECE is the mean
of ``LaECE_c`` over the classes that have ground truth and detections.
LaECE_0 uses IoU threshold 0 (any overlap-free unmatched GT of the class
still makes a TP, of IoU 0) and 25 bins.
"""

from typing import Dict

import numpy as np


def localisation_calibration_error(scores: np.ndarray, tp_ious: np.ndarray, num_bins: int = 25) -> Dict[str, object]:
    """LaECE of one class, with its per-bin statistics.

    Args:
        scores (np.ndarray): (N,) confidences in [0, 1] of the class's
            evaluated detections.
        tp_ious (np.ndarray): (N,) IoU of each detection with its matched GT,
            0 for false positives.
        num_bins (int): Number of equal-width bins. Defaults to 25.

    Returns:
        dict: ``laece`` (NaN when N == 0), ``num_dets``, and per bin
        ``bin_edges`` (B + 1,), ``bin_counts``, ``bin_target`` and
        ``bin_confidence`` (B,), the last two NaN for empty bins.
    """
    conf = np.asarray(scores, dtype=np.float64).reshape(-1)
    ious = np.asarray(tp_ious, dtype=np.float64).reshape(-1)
    if conf.shape != ious.shape:
        raise ValueError(f'scores and tp_ious must have the same length, got {conf.size} and {ious.size}')
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError('scores must lie in [0, 1]')
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    # right-closed bins, the first one closed on both sides
    bin_ids = np.clip(np.searchsorted(edges, conf, side='left') - 1, 0, num_bins - 1)
    counts = np.bincount(bin_ids, minlength=num_bins)
    filled = counts > 0
    target = np.full(num_bins, np.nan)
    confidence = np.full(num_bins, np.nan)
    target[filled] = np.bincount(bin_ids, weights=ious, minlength=num_bins)[filled] / counts[filled]
    confidence[filled] = np.bincount(bin_ids, weights=conf, minlength=num_bins)[filled] / counts[filled]
    laece = np.nan
    if conf.size:
        laece = float(np.sum(counts[filled] / conf.size * np.abs(target - confidence)[filled]))
    return dict(
        laece=laece,
        num_dets=int(conf.size),
        bin_edges=edges,
        bin_counts=counts,
        bin_target=target,
        bin_confidence=confidence,
    )
