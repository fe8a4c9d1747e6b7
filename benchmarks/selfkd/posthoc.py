"""LaECE_0 of a run's held-out detections, and D-ECE / LaECE_0 after post-hoc calibration (the '<method> +
post-hoc' rows).

The held-out split is the only labelled one a run tests on, so a post-hoc calibrator is cross-fitted over its
images (2 folds: each image calibrated by a map fitted on the other half; see
mmdet_selfkd.calibration.cross_fitting). Isotonic regression (class-agnostic, strictly increasing), fitted to
D-ECE targets for the D-ECE column and to LaECE targets for the LaECE_0 column. The mAP shown is the method's:
one fitted map leaves it unchanged, but two folds' different maps can reorder detections across the folds, so
the cross-fitted scores are not used for mAP.
"""

import pickle
from typing import Any, Dict

from mmdet_selfkd.calibration import calibration_report, cross_fitted_scores

from .statistics import finite

POSTHOC = dict(method='isotonic', per_class=False, folds=2)
POSTHOC_METHODS = ('baseline', 'pskd', 'ls')  # methods that get a '<method> + post-hoc' row


def posthoc_numbers(dets_file: str) -> Dict[str, Any]:
    """``laece0`` of a run's held-out detections (``dets_file``: what ``DetectionCalibrationMetric(dets_file=...)``
    pickled) and ``posthoc``: D-ECE / LaECE_0 after cross-fitted post-hoc calibration, with the calibrator's
    settings."""
    with open(dets_file, 'rb') as f:
        images = pickle.load(f)
    raw = calibration_report(images)
    dece = calibration_report(images, cross_fitted_scores(images, target='dece', **POSTHOC))
    laece = calibration_report(images, cross_fitted_scores(images, target='laece', **POSTHOC))
    return dict(
        laece0=finite(raw['laece/laece0']),
        posthoc=dict(
            calibrator=POSTHOC['method'],
            per_class=POSTHOC['per_class'],
            folds=POSTHOC['folds'],
            dece=finite(dece['calib/dece']),
            laece0=finite(laece['laece/laece0']),
        ),
    )
