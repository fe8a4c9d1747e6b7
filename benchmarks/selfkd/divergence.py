"""Whether a run's training went wrong: its loss became NaN, or it spiked without becoming NaN.

A collapse need not end in NaN: with gradient clipping a run can blow up (loss ~100x, gradient norm ~1000x its
usual values), recover to a finite loss and end with a detector that detects nothing. ``peak_loss_ratio``
measures that: the largest logged iteration loss over the mean logged loss of the first epoch. On the lite
runs of the evidence study whose logs were read (docs/benchmarks.md) the runs that trained normally peaked at
1.2-2.1x; the one that collapsed (BCCD, ``pskd-fg`` seed 3) at 192x.
"""

import math
from typing import Optional, Sequence

import numpy as np

#: A run whose ``peak_loss_ratio`` exceeds this is flagged ``loss spike`` in the tables.
LOSS_SPIKE_RATIO = 10.0


def loss_went_nan(scalars: Sequence[dict]) -> bool:
    """Whether the last logged training ``loss`` is not finite (the run is flagged ``loss NaN``)."""
    return not math.isfinite(scalars[-1]['loss'])


def peak_loss_ratio(scalars: Sequence[dict]) -> Optional[float]:
    """The largest logged training ``loss`` over the mean logged ``loss`` of the first logged epoch.

    ``scalars``: mmengine's per-iteration training scalars (``loss`` and ``epoch`` of each logged iteration).
    None if a loss is not finite (the run is flagged ``loss NaN`` instead) or nothing was logged.
    """
    losses = [row['loss'] for row in scalars]
    if not losses or not all(math.isfinite(loss) for loss in losses):
        return None
    first_epoch = scalars[0].get('epoch')
    first = float(np.mean([row['loss'] for row in scalars if row.get('epoch') == first_epoch]))
    return max(losses) / first if first > 0 else None


def training_flag(run: dict) -> Optional[str]:
    """``'loss NaN'``, ``'loss spike'`` (``peak_loss_ratio`` above ``LOSS_SPIKE_RATIO``) or None for a run's
    result; runs saved before the ratio was recorded are never flagged ``loss spike``."""
    if run.get('diverged'):
        return 'loss NaN'
    ratio = run.get('peak_loss_ratio')
    if ratio is not None and ratio > LOSS_SPIKE_RATIO:
        return 'loss spike'
    return None
