"""Step-time references: each run's mean train step time over that of the same seed's baseline run."""

from typing import Iterable, Sequence

import numpy as np

from .modes import REFERENCE


def attach_reference_step_times(runs: Sequence[dict], reused: Iterable[dict] = ()) -> None:
    """Give each run of one benchmark run its step-time reference, ``reference_step_s``: the baseline run of
    the same seed (the closest in time), else the mean of the baseline runs. A baseline of ``reused`` (runs
    taken from earlier benchmark directories, ``--reuse``) is the reference of its seed where ``runs`` has no
    baseline of that seed; the reused runs themselves keep theirs.

    Only runs of one benchmark run (one directory) are compared: on a shared machine the same run can be 20 %
    slower an hour later (measured on the 2-core CPU: baseline seed 0, 3.03 s and 3.63 s per step).

    Raises:
        SystemExit: If neither ``runs`` nor ``reused`` has a baseline run.
    """
    # the runs' own baselines last: they win over a reused one of the same seed
    by_seed = {run['seed']: run['step_time_s'] for run in (*reused, *runs) if run['method'] == REFERENCE}
    if not by_seed:
        raise SystemExit(f'no finished {REFERENCE} run beside {runs[0]["work_dir"]}: it is the step-time reference')
    mean_s = float(np.mean(list(by_seed.values())))
    for run in runs:
        run['reference_step_s'] = by_seed.get(run['seed'], mean_s)


def step_time_ratio(runs: Sequence[dict], fallback_reference_s: float) -> float:
    """Mean over runs of step time / the run's ``reference_step_s`` (``fallback_reference_s`` for reports
    written before runs carried one)."""
    return float(np.mean([run['step_time_s'] / run.get('reference_step_s', fallback_reference_s) for run in runs]))
