"""A fitted post-hoc calibrator: one map for all classes or one per class, saved as JSON.

File format (``format: mmdet_selfkd.score_calibrator/1``)::

    {"format": ..., "method": "temperature" | "isotonic",
     "per_class": bool,
     "agnostic": {<map parameters>},          # all classes, or the fallback
     "classes": {"<label>": {<map parameters>}, ...},   # per_class only
     "meta": {...}}                            # how it was fitted (free form)

A per-class calibrator uses the class-agnostic map for labels it has no
map of (classes without validation detections).
"""

import json
import os.path as osp
from typing import Dict, Optional, Union

import numpy as np

from .isotonic import IsotonicCalibration
from .temperature import TemperatureScaling

FORMAT = 'mmdet_selfkd.score_calibrator/1'
METHODS = {
    'temperature': TemperatureScaling,
    'isotonic': IsotonicCalibration,
}
Map = Union[TemperatureScaling, IsotonicCalibration]


class ScoreCalibrator:
    """Class-agnostic or per-class map of detection confidences.

    Args:
        agnostic: Map used for every class (or for classes without their own).
        per_class (dict, optional): ``label -> map``. Defaults to None
            (class-agnostic).
        meta (dict, optional): Free-form description of the fit.
    """

    def __init__(self, agnostic: Map, per_class: Optional[Dict[int, Map]] = None, meta: Optional[dict] = None) -> None:
        self.agnostic = agnostic
        self.per_class = per_class
        self.meta = dict(meta or {})
        self.method = agnostic.method

    @classmethod
    def fit(
        cls,
        scores: np.ndarray,
        labels: np.ndarray,
        targets: np.ndarray,
        method: str = 'temperature',
        per_class: bool = False,
        meta: Optional[dict] = None,
    ) -> 'ScoreCalibrator':
        """Fit on validation detections.

        Args:
            scores (np.ndarray): (N,) confidences in [0, 1].
            labels (np.ndarray): (N,) class labels.
            targets (np.ndarray): (N,) calibration targets in [0, 1].
            method (str): 'temperature' or 'isotonic'.
            per_class (bool): One map per class (those with detections),
                the class-agnostic one for the others. Defaults to False.
            meta (dict, optional): Stored with the calibrator.
        """
        if method not in METHODS:
            raise ValueError(f'method must be one of {sorted(METHODS)}, got {method!r}')
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        targets = np.asarray(targets, dtype=np.float64).reshape(-1)
        if scores.size == 0:
            raise ValueError('no validation detection to fit a calibrator on')
        agnostic = METHODS[method].fit(scores, targets)
        maps = None
        if per_class:
            maps = {int(c): METHODS[method].fit(scores[labels == c], targets[labels == c]) for c in np.unique(labels)}
        return cls(agnostic, maps, meta)

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Calibrated confidences (float64) of detections with these labels."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        out = self.agnostic(scores)
        for c, fn in (self.per_class or {}).items():
            sel = labels == c
            if sel.any():
                out[sel] = fn(scores[sel])
        return out

    def to_dict(self) -> dict:
        return dict(
            format=FORMAT,
            method=self.method,
            per_class=self.per_class is not None,
            agnostic=self.agnostic.to_dict(),
            classes={str(c): m.to_dict() for c, m in (self.per_class or {}).items()},
            meta=self.meta,
        )

    @classmethod
    def from_dict(cls, data: dict) -> 'ScoreCalibrator':
        if data.get('format') != FORMAT:
            raise ValueError(f'not a {FORMAT} calibrator: format={data.get("format")!r}')
        kind = METHODS[data['method']]
        maps = None
        if data['per_class']:
            maps = {int(c): kind.from_dict(p) for c, p in data['classes'].items()}
        return cls(kind.from_dict(data['agnostic']), maps, data.get('meta'))

    def save(self, path: str, overwrite: bool = False) -> None:
        """Write as JSON; refuses to replace an existing file unless ``overwrite``."""
        if osp.exists(path) and not overwrite:
            raise FileExistsError(f'{path} exists; not overwriting it')
        with open(path, 'x' if not overwrite else 'w') as f:
            json.dump(self.to_dict(), f, indent=1)

    @classmethod
    def load(cls, path: str) -> 'ScoreCalibrator':
        with open(path) as f:
            return cls.from_dict(json.load(f))
