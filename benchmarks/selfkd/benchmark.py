"""A benchmark: the family's data prepared once, then one worker per (seed, method), into one report."""

import os.path as osp
import time
from dataclasses import replace
from typing import Any, Dict, Optional

from .families import FAMILIES
from .modes import ModeSettings
from .report import make_report
from .run_config import run_spec
from .step_times import attach_reference_step_times
from .worker import WorkerFailed, launch_worker


def run_benchmark(
    family_name: str, mode: str, settings: ModeSettings, out_dir: str, data_root: Optional[str] = None
) -> Dict[str, Any]:
    """Prepare the data (from ``data_root``, the family's dataset folder; None for generated data), run every
    (seed, method) worker, seed by seed, and return the report.

    A failed run does not stop the others: it is printed with its log's tail, left out of the report's runs
    and listed in its ``failed`` (method, seed, ``worker_log`` relative to ``out_dir``); a method without a
    finished run leaves the report's methods.

    Raises:
        SystemExit: If no run finished.
    """
    family = FAMILIES[family_name]
    data = family.prepare_data(osp.join(out_dir, 'data'), settings, data_root)
    specs = [
        run_spec(out_dir, family, method, seed, settings, data)
        for seed in settings.seeds
        for method in settings.methods
    ]
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
    if not runs:
        raise SystemExit(f'every run failed; see their worker.log under {osp.join(out_dir, "runs")}')
    attach_reference_step_times(runs)
    finished = tuple(method for method in settings.methods if any(run['method'] == method for run in runs))
    report = make_report(family_name, mode, replace(settings, methods=finished), data, runs)
    report['failed'] = failed
    return report
