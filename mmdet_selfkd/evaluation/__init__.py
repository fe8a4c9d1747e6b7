from .detection_calibration_metric import (
    DetectionCalibrationMetric,
    calibration_errors,
    image_detections,
    match_detections,
    plot_reliability_diagram,
    plot_reliability_diagrams,
)
from .laece import localisation_calibration_error
from .laece_metric import LaECEMetric
from .lrp import lrp_optimal

__all__ = [
    'DetectionCalibrationMetric',
    'calibration_errors',
    'image_detections',
    'match_detections',
    'plot_reliability_diagram',
    'plot_reliability_diagrams',
    'LaECEMetric',
    'localisation_calibration_error',
    'lrp_optimal',
]
