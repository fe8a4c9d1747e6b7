"""Post-hoc calibration measured without a separate fitting split: k-fold cross-fitting over images.

Images are split into ``folds`` folds by index (image i in fold ``i % folds``); each fold's scores come from
a calibrator fitted on the other folds' detections only, so no image is calibrated by a map fitted on its
own detections. Used by the benchmark's ``<method> + post-hoc`` rows, whose only labelled held-out split is
the test split.
"""

from typing import Dict, List, Sequence

import numpy as np

from .calibration_targets import calibration_set
from .score_calibrator import ScoreCalibrator


def cross_fitted_scores(
    images: Sequence[Dict[str, np.ndarray]],
    target: str = 'laece',
    method: str = 'isotonic',
    per_class: bool = False,
    folds: int = 2,
) -> List[np.ndarray]:
    """Per image, its scores calibrated by a map fitted on the other folds (unchanged if those folds have no
    detection to fit on)."""
    if folds < 2:
        raise ValueError(f'folds must be >= 2, got {folds}')
    out = [np.asarray(img['scores'], np.float64) for img in images]
    for fold in range(folds):
        train = [img for i, img in enumerate(images) if i % folds != fold]
        scores, labels, targets = calibration_set(train, target)
        if scores.size == 0:
            continue
        calibrator = ScoreCalibrator.fit(scores, labels, targets, method, per_class)
        for i in range(fold, len(images), folds):
            out[i] = calibrator(images[i]['scores'], images[i]['labels'])
    return out
