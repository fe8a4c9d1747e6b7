"""Isotonic regression of detection confidences (pool adjacent violators).

Zadrozny and Elkan (KDD 2002), as used for detectors by Kuzucu et al. (ECCV
2024): the non-decreasing map from score to target (IoU of a true positive,
0 for a false positive, or binary TP flags) closest in squared error to the
validation pairs, found by pool adjacent violators (PAV) and applied by
linear interpolation between its knots, constant beyond them (as
scikit-learn's ``IsotonicRegression(out_of_bounds='clip')``).

An isotonic map is flat on each pooled block, so it turns different scores
into equal ones: ties that can reorder detections in COCO's ranking (its
sort is stable, not score-aware beyond equality) and change mAP. With
``strict=True`` (default) the output is ``(1 - eps) * f(s) + eps * s`` with
``eps = 1e-6``: strictly increasing, so the ranking of the detections is
kept exactly, at a calibration cost of at most ``1e-6``.
"""

from typing import Dict, Optional, Tuple

import numpy as np

STRICT_EPS = 1e-6


def pool_adjacent_violators(
    x: np.ndarray, y: np.ndarray, weights: Optional[np.ndarray] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Least-squares non-decreasing fit of ``y`` on ``x``.

    Equal ``x`` values are first merged into one point (their weighted mean
    ``y``), then adjacent blocks that violate monotonicity are pooled.

    Args:
        x (np.ndarray): (N,) inputs, N > 0.
        y (np.ndarray): (N,) targets.
        weights (np.ndarray, optional): (N,) positive weights. Defaults to 1.

    Returns:
        tuple[np.ndarray, np.ndarray]: knots ``(xs, ys)``: the distinct
        ``x`` values, ascending, and the fitted value at each (non-decreasing).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError('no point to fit an isotonic regression on')
    xs, inverse = np.unique(x, return_inverse=True)
    wsum = np.bincount(inverse, weights=w)
    ymean = np.bincount(inverse, weights=w * y) / wsum

    # stack of blocks: (weighted mean, weight, number of knots)
    means, wts, sizes = [], [], []
    for m, wt in zip(ymean, wsum):
        means.append(m)
        wts.append(wt)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, n2 = means.pop(), wts.pop(), sizes.pop()
            w1 = wts[-1]
            means[-1] = (means[-1] * w1 + m2 * w2) / (w1 + w2)
            wts[-1] = w1 + w2
            sizes[-1] += n2
    ys = np.repeat(means, sizes)
    return xs, ys


class IsotonicCalibration:
    """Piecewise-linear non-decreasing map through PAV knots.

    Args:
        xs (array-like): Knot inputs, ascending.
        ys (array-like): Knot outputs, non-decreasing, in [0, 1].
        strict (bool): Mix in ``1e-6 * s`` so the map is strictly
            increasing (keeps the ranking exactly). Defaults to True.
    """

    method = 'isotonic'

    def __init__(self, xs, ys, strict: bool = True) -> None:
        self.xs = np.asarray(xs, dtype=np.float64).reshape(-1)
        self.ys = np.asarray(ys, dtype=np.float64).reshape(-1)
        if self.xs.size == 0 or self.xs.shape != self.ys.shape:
            raise ValueError('xs and ys must be non-empty and of equal length')
        if np.any(np.diff(self.xs) <= 0) or np.any(np.diff(self.ys) < 0):
            raise ValueError('xs must increase and ys must not decrease')
        self.strict = bool(strict)

    @classmethod
    def fit(cls, scores: np.ndarray, targets: np.ndarray, strict: bool = True) -> 'IsotonicCalibration':
        """Fit on validation confidences and their targets."""
        xs, ys = pool_adjacent_violators(scores, targets)
        return cls(xs, np.clip(ys, 0.0, 1.0), strict=strict)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated confidences, float64."""
        s = np.asarray(scores, dtype=np.float64)
        out = np.interp(s, self.xs, self.ys)
        if self.strict:
            out = (1.0 - STRICT_EPS) * out + STRICT_EPS * s
        return out

    def to_dict(self) -> Dict[str, object]:
        return dict(xs=self.xs.tolist(), ys=self.ys.tolist(), strict=self.strict)

    @classmethod
    def from_dict(cls, params: dict) -> 'IsotonicCalibration':
        return cls(params['xs'], params['ys'], params.get('strict', True))
