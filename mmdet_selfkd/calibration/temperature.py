"""Temperature scaling of detection confidences (on the logit of the score).

Guo et al., "On Calibration of Modern Neural Networks" (ICML 2017), as used
for detectors by Kuzucu et al. (ECCV 2024): a detection's score ``s`` is
mapped to ``sigmoid(logit(s) / T)`` with one temperature ``T > 0`` fitted by
minimising the binary cross-entropy to the calibration targets (IoU of a
true positive, 0 for a false positive, or binary TP flags). ``T`` is
positive, so the map is strictly increasing: the ranking of the detections
does not change.
"""

from typing import Dict

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-12


def logit(scores: np.ndarray) -> np.ndarray:
    """``log(s / (1 - s))`` in float64, with ``s`` clipped to [1e-12, 1 - 1e-12]."""
    s = np.clip(np.asarray(scores, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(s) - np.log1p(-s)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function in float64."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def fit_temperature(scores: np.ndarray, targets: np.ndarray, bounds=(1e-3, 1e3)) -> float:
    """The temperature minimising the mean binary cross-entropy.

    The loss is convex in ``1/T``, so a bounded scalar search over
    ``log T`` finds its minimum.

    Args:
        scores (np.ndarray): (N,) confidences in [0, 1], N > 0.
        targets (np.ndarray): (N,) targets in [0, 1].
        bounds (tuple): Range of ``T``. Defaults to (1e-3, 1e3).

    Returns:
        float: The fitted temperature.
    """
    z = logit(scores)
    y = np.asarray(targets, dtype=np.float64).reshape(-1)
    if z.size == 0:
        raise ValueError('no detection to fit a temperature on')

    def loss(log_t: float) -> float:
        u = z * np.exp(-log_t)
        # BCE with logits: max(u, 0) - u*y + log(1 + exp(-|u|))
        return float(np.mean(np.maximum(u, 0) - u * y + np.log1p(np.exp(-np.abs(u)))))

    res = minimize_scalar(loss, bounds=np.log(bounds), method='bounded', options=dict(xatol=1e-10))
    return float(np.exp(res.x))


class TemperatureScaling:
    """``s -> sigmoid(logit(s) / T)``.

    Args:
        temperature (float): ``T > 0``.
    """

    method = 'temperature'

    def __init__(self, temperature: float) -> None:
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)

    @classmethod
    def fit(cls, scores: np.ndarray, targets: np.ndarray) -> 'TemperatureScaling':
        """Fit on validation confidences and their targets."""
        return cls(fit_temperature(scores, targets))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated confidences, float64."""
        return sigmoid(logit(scores) / self.temperature)

    def to_dict(self) -> Dict[str, float]:
        return dict(temperature=self.temperature)

    @classmethod
    def from_dict(cls, params: dict) -> 'TemperatureScaling':
        return cls(params['temperature'])
