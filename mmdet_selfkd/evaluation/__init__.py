from .detection_calibration_metric import (DetectionCalibrationMetric,
                                           calibration_errors,
                                           match_detections,
                                           plot_reliability_diagram)

__all__ = [
    'DetectionCalibrationMetric', 'calibration_errors', 'match_detections',
    'plot_reliability_diagram'
]
