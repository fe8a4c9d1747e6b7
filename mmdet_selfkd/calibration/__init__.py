"""Post-hoc calibration of detection confidences: fit on a validation split, apply at test time."""

from .calibration_hook import PostHocCalibrationHook
from .calibration_report import as_data_sample, calibration_report
from .calibration_targets import TARGETS, calibration_set, lrp_optimal_thresholds
from .cross_fitting import cross_fitted_scores
from .isotonic import IsotonicCalibration, pool_adjacent_violators
from .score_calibrator import ScoreCalibrator
from .temperature import TemperatureScaling, fit_temperature

__all__ = [
    'PostHocCalibrationHook',
    'as_data_sample',
    'calibration_report',
    'TARGETS',
    'calibration_set',
    'lrp_optimal_thresholds',
    'cross_fitted_scores',
    'IsotonicCalibration',
    'pool_adjacent_violators',
    'ScoreCalibrator',
    'TemperatureScaling',
    'fit_temperature',
]
