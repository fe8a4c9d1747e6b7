"""Mean ± sample std over seeds, and paired differences to the baseline with Student-t confidence intervals.

Seeds share data order and initialisation between methods, so run k of a method and run k of the baseline are
a pair: the per-seed difference ``d_k = x_k - b_k`` removes what the seed does to both, and the interval of
the mean difference says whether an effect is larger than what is left of the seed-to-seed noise.
"""

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats


def finite(value: Optional[float]) -> Optional[float]:
    """``value`` as a float, None if it is None or NaN (JSON has no NaN)."""
    return None if value is None or math.isnan(value) else float(value)


def mean_std(values: Sequence[Optional[float]]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (ddof=1) of the defined values.

    None and NaN values (e.g. a D-ECE without detections) are left out. The mean is None without values,
    the std None with fewer than two.
    """
    kept = [v for v in values if finite(v) is not None]
    if not kept:
        return None, None
    std = float(np.std(kept, ddof=1)) if len(kept) > 1 else None
    return float(np.mean(kept)), std


def format_mean_std(values: Sequence[Optional[float]], digits: int = 3) -> str:
    """``'mean ± std'`` of :func:`mean_std` over ``values``, one per seed, with ``n/a`` for what is undefined;
    ``(k of n seeds)`` after it when only ``k`` of the ``n`` values are defined (e.g. a run without any
    detection has no D-ECE)."""
    mean, std = mean_std(values)
    if mean is None:
        return 'n/a'
    cell = f'{mean:.{digits}f} ± ' + ('n/a' if std is None else f'{std:.{digits}f}')
    return cell + seeds_note(sum(finite(v) is not None for v in values), len(values))


def seeds_note(defined: int, seeds: int) -> str:
    """``' (k of n seeds)'`` when a number is defined for only ``k = defined`` of the ``n = seeds`` seeds, else
    empty."""
    return f' ({defined} of {seeds} seeds)' if defined < seeds else ''


def t_quantile(probability: float, dof: int) -> float:
    """The ``probability`` quantile of Student's t distribution with ``dof`` degrees of freedom (e.g.
    ``t_quantile(0.975, 2) = 4.303``).

    Raises:
        ValueError: If ``dof < 1`` (one value has no spread to scale).
    """
    if dof < 1:
        raise ValueError(f'dof={dof}: Student t needs at least 1 degree of freedom, i.e. two values')
    return float(stats.t.ppf(probability, dof))


def mean_ci(values: Sequence[float], level: float = 0.95) -> Tuple[float, Optional[Tuple[float, float]]]:
    """Mean of ``n`` values and its Student-t confidence interval (None with one value)::

        mean ± t_{(1 + level) / 2, n - 1} * s / sqrt(n),    s = sample std (ddof=1)

    Raises:
        ValueError: If ``values`` is empty.
    """
    if not values:
        raise ValueError('mean_ci needs at least one value')
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, None
    half = t_quantile((1 + level) / 2, len(values) - 1) * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return mean, (mean - half, mean + half)


def paired_differences(runs: Sequence[dict], reference_runs: Sequence[dict], key: str) -> Dict[int, float]:
    """Seed -> ``run[key] - reference[key]`` for every seed both ``runs`` and ``reference_runs`` have, with
    both values defined (not None or NaN), in seed order."""
    reference = {run['seed']: finite(run.get(key)) for run in reference_runs}
    differences = {}
    for run in sorted(runs, key=lambda r: r['seed']):
        value, base = finite(run.get(key)), reference.get(run['seed'])
        if value is not None and base is not None:
            differences[run['seed']] = value - base
    return differences


def format_difference(differences: List[float], scale: float = 1.0, digits: int = 3) -> str:
    """``'mean [low, high]'`` of :func:`mean_ci` (95 %) of ``scale * differences``, signed; ``[n/a]`` for the
    interval of one difference, ``n/a`` without any."""
    if not differences:
        return 'n/a'
    mean, interval = mean_ci([scale * d for d in differences])
    if interval is None:
        return f'{mean:+.{digits}f} [n/a]'
    low, high = interval
    return f'{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]'
