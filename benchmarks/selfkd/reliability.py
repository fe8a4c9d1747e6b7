"""reliability.png: one reliability diagram per method, side by side, each pooled over its seeds' runs."""

import os.path as osp
from typing import Any, Dict

import numpy as np

from mmdet_selfkd.evaluation import calibration_errors, plot_reliability_diagrams

from .report import runs_by_method


def plot_reliability_panels(report: Dict[str, Any], out_dir: str, path: str) -> None:
    """Save the diagrams of a report to ``path``; each run's ``pairs.npz`` (the D-ECE set: scores and TP flags)
    is found under ``out_dir`` at the run's ``work_dir``. A run taken from a report file (``--reuse
    results.json``) has none: it is left out of its method's panel, and a method with no such file has no
    panel; without any, no diagram is saved."""
    panels, notes = {}, {}
    for method, runs in runs_by_method(report).items():
        files = [osp.join(out_dir, run['work_dir'], 'pairs.npz') for run in runs]
        pairs = [np.load(file) for file in files if osp.exists(file)]
        if not pairs:
            continue
        panels[method] = calibration_errors(
            np.concatenate([p['scores'] for p in pairs]), np.concatenate([p['is_tp'] for p in pairs])
        )
        notes[method] = f'{len(pairs)} seed(s)' if len(pairs) == len(runs) else f'{len(pairs)} of {len(runs)} seeds'
    if panels:
        plot_reliability_diagrams(panels, notes).savefig(path, dpi=100)
