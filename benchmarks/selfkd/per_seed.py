"""The per-seed table: each method's run of each seed, as bbox mAP / D-ECE / detections at score >= 0.3."""

from typing import Dict, Optional, Sequence

from .divergence import LOSS_SPIKE_RATIO, training_flag
from .markdown import markdown_table

CAPTION = (
    'Per seed: bbox mAP / D-ECE / detections at score ≥ 0.3 of each run (n/a: undefined, e.g. a D-ECE '
    'without detections; not run: no finished run of that seed; loss spike: the training loss peaked above '
    f"{LOSS_SPIKE_RATIO:g}× its first epoch's mean without becoming NaN)."
)


def _number(value: Optional[float], digits: int) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def seed_cell(run: Optional[dict]) -> str:
    """``'mAP / D-ECE / dets'`` of one run; ``not run`` for None; ``(loss NaN)`` or ``(loss spike)`` after the
    cell of a run whose training went wrong (selfkd/divergence.py)."""
    if run is None:
        return 'not run'
    cell = ' / '.join([_number(run['bbox_mAP'], 3), _number(run['dece'], 3), _number(run.get('num_dets'), 0)])
    flag = training_flag(run)
    return cell + (f' ({flag})' if flag else '')


def per_seed_table(by_method: Dict[str, Sequence[dict]], seeds: Sequence[int]) -> str:
    """The caption and the table: one row per method (``by_method``: method -> runs), one column per seed."""
    rows = []
    for method, runs in by_method.items():
        by_seed = {run['seed']: run for run in runs}
        rows.append([method, *(seed_cell(by_seed.get(seed)) for seed in seeds)])
    return CAPTION + '\n\n' + markdown_table(['method', *(f'seed {seed}' for seed in seeds)], rows)
