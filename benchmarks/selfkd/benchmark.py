"""A benchmark: the family's data prepared once, then one worker per (seed, method), into one report."""

import os.path as osp
import time
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .families import FAMILIES
from .merge import reusable_runs
from .modes import ModeSettings
from .report import make_report
from .run_config import run_spec
from .step_times import attach_reference_step_times
from .worker import WorkerFailed, launch_worker


def train_runs(specs: Sequence[Dict[str, Any]], settings: ModeSettings, out_dir: str) -> Tuple[List[dict], List[dict]]:
    """Run one worker per spec, in order: the finished runs (``result.json`` with its ``work_dir`` relative to
    ``out_dir``) and the failed ones (method, seed, ``worker_log`` relative to ``out_dir``), each printed."""
    runs, failed = [], []
    for index, spec in enumerate(specs, 1):
        start = time.time()
        label = f'[{index}/{len(specs)}] {spec["method"]} seed {spec["seed"]}'
        try:
            result = launch_worker(spec, settings.cpu_only)
        except WorkerFailed as error:
            log = osp.relpath(error.log_file, out_dir)
            failed.append(dict(method=spec['method'], seed=spec['seed'], worker_log=log))
            print(f'{label}: FAILED ({time.time() - start:.0f} s), going on with the others: {error}', flush=True)
            continue
        result['work_dir'] = osp.relpath(spec['work_dir'], out_dir)
        runs.append(result)
        print(
            f'{label}: mAP {result["bbox_mAP"]:.3f}, step {result["step_time_s"]:.3f} s ({time.time() - start:.0f} s)',
            flush=True,
        )
    return runs, failed


def run_benchmark(
    family_name: str,
    mode: str,
    settings: ModeSettings,
    out_dir: str,
    data_root: Optional[str] = None,
    reuse_sources: Sequence[str] = (),
) -> Dict[str, Any]:
    """Prepare the data (from ``data_root``, the family's dataset folder; None for generated data), run every
    (seed, method) worker, seed by seed, and return the report.

    A (method, seed) run that one of ``reuse_sources`` (earlier benchmark directories or reports, ``--reuse``)
    finished is taken from there instead of trained (:func:`~.merge.reusable_runs`); the report lists them under
    ``reused``. A trained run's step-time reference is the baseline of its seed trained beside it, else the
    reused one (measured at another time).

    A failed run does not stop the others: it is printed with its log's tail, left out of the report's runs
    and listed in its ``failed`` (method, seed, ``worker_log`` relative to ``out_dir``); a method without a
    finished run leaves the report's methods.

    Raises:
        SystemExit: If no run finished.
    """
    family = FAMILIES[family_name]
    data = family.prepare_data(osp.join(out_dir, 'data'), settings, data_root)
    reused = reusable_runs(reuse_sources, settings, out_dir)
    for (method, seed), run in reused.items():
        print(f'{method} seed {seed}: reused, {run["work_dir"]}', flush=True)
    specs = [
        run_spec(out_dir, family, method, seed, settings, data)
        for seed in settings.seeds
        for method in settings.methods
        if (method, seed) not in reused
    ]
    trained, failed = train_runs(specs, settings, out_dir)
    if not trained and not reused:
        raise SystemExit(f'every run failed; see their worker.log under {osp.join(out_dir, "runs")}')
    if trained:
        attach_reference_step_times(trained, reused.values())
    by_key = {**reused, **{(run['method'], run['seed']): run for run in trained}}
    runs = [by_key[(m, seed)] for seed in settings.seeds for m in settings.methods if (m, seed) in by_key]
    finished = tuple(method for method in settings.methods if any(run['method'] == method for run in runs))
    report = make_report(family_name, mode, replace(settings, methods=finished), data, runs)
    report['reused'] = [dict(method=m, seed=seed, work_dir=run['work_dir']) for (m, seed), run in reused.items()]
    report['failed'] = failed
    return report
