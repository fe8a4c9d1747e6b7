"""Mean ± sample std over seeds."""

import math
from typing import Optional, Sequence, Tuple

import numpy as np


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
    """``'mean ± std'`` of :func:`mean_std`, with ``n/a`` for what is undefined."""
    mean, std = mean_std(values)
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f} ± ' + ('n/a' if std is None else f'{std:.{digits}f}')
