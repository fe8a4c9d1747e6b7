"""D-ECE, LaECE_0 and oLRP of per-image detections (numpy dicts), optionally with replaced scores.

An image is a dict with ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,), ``gt_bboxes`` (M, 4),
``gt_labels`` (M,) and ``gt_ignore`` (M,), boxes xyxy in one frame (what ``tools/fit_calibrator.py
--dump-dets`` saves).
"""

from typing import Dict, Optional, Sequence

import numpy as np

from ..evaluation import DetectionCalibrationMetric, LaECEMetric


def as_data_sample(img: Dict[str, np.ndarray], scores: Optional[np.ndarray] = None) -> dict:
    """An image as the data-sample dict the calibration metrics read."""
    ignore = np.asarray(img['gt_ignore'], bool)
    return dict(
        pred_instances=dict(
            bboxes=img['bboxes'], labels=img['labels'], scores=img['scores'] if scores is None else scores
        ),
        gt_instances=dict(bboxes=img['gt_bboxes'][~ignore], labels=img['gt_labels'][~ignore]),
        ignored_instances=dict(bboxes=img['gt_bboxes'][ignore], labels=img['gt_labels'][ignore]),
    )


def calibration_report(
    images: Sequence[Dict[str, np.ndarray]], scores: Optional[Sequence[np.ndarray]] = None, classes: Sequence[str] = ()
) -> Dict[str, float]:
    """``calib/dece`` (IoU 0.5, score >= 0.3, 10 bins), ``laece/laece0`` and ``laece/olrp`` (LRP-optimal
    thresholds of these detections) of the images, with ``scores[i]`` replacing image i's scores if given."""
    metrics = [DetectionCalibrationMetric(save_diagram=False), LaECEMetric()]
    for metric in metrics:
        metric.dataset_meta = dict(classes=tuple(classes))
        metric.process({}, [as_data_sample(img, None if scores is None else scores[i]) for i, img in enumerate(images)])
    out = {}
    for metric in metrics:
        out.update(metric.evaluate(len(images)))
    return {k: float(out[k]) for k in ('calib/dece', 'laece/laece0', 'laece/olrp')}
