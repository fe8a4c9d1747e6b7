"""The paired-difference table: per method, the mean per-seed difference to the baseline and its 95 % interval.

Seeds share data order and initialisation between methods, so each seed's run of a method is compared with
the same seed's baseline run (see :mod:`.statistics`); the interval is Student's t with n - 1 degrees of
freedom over the n seeds both ran.
"""

from typing import Dict, List, Sequence

from .markdown import markdown_table
from .modes import REFERENCE
from .statistics import format_difference, paired_differences, seeds_note

# (column, run key, scale, digits): mAPs in AP points (x 100), calibration errors as they are.
DIFFERENCES = (
    ('Δ bbox mAP (points)', 'bbox_mAP', 100.0, 1),
    ('Δ mAP@50 (points)', 'bbox_mAP_50', 100.0, 1),
    ('Δ D-ECE', 'dece', 1.0, 3),
    ('Δ LaECE₀', 'laece0', 1.0, 3),
)
CAPTION = (
    'Paired difference to the baseline (method − baseline of the same seed: seeds share data order and '
    'initialisation): mean Δ [95 % confidence interval, Student t with n − 1 degrees of freedom over the n '
    'seeds both ran]; mAP in AP points (× 100); [n/a]: one seed. An interval that excludes 0 is an effect '
    'larger than the seed-to-seed noise; a negative Δ D-ECE or Δ LaECE₀ is better calibrated.'
)


def paired_row(label: str, runs: Sequence[dict], reference_runs: Sequence[dict]) -> List[str]:
    """The cells of one entry: its label, the seeds paired with a baseline run, one cell per :data:`DIFFERENCES`
    (``(k of n seeds)`` after a difference defined on only ``k`` of them)."""
    paired_seeds = {run['seed'] for run in runs} & {run['seed'] for run in reference_runs}
    cells = [label, str(len(paired_seeds))]
    for _, key, scale, digits in DIFFERENCES:
        differences = paired_differences(runs, reference_runs, key)
        cell = format_difference(list(differences.values()), scale, digits)
        cells.append(cell + (seeds_note(len(differences), len(paired_seeds)) if differences else ''))
    return cells


def paired_table(entries: Dict[str, Sequence[dict]], reference_runs: Sequence[dict]) -> str:
    """The caption and the table of every entry (label -> runs) but the baseline's; empty without one."""
    rows = [paired_row(label, runs, reference_runs) for label, runs in entries.items() if label != REFERENCE]
    if not rows:
        return ''
    header = ['method', 'paired seeds', *(column for column, *_ in DIFFERENCES)]
    return CAPTION + '\n\n' + markdown_table(header, rows)
