"""A benchmark: the family's data prepared once, then one worker per (seed, method), into one report."""

import os.path as osp
import time
from typing import Any, Dict, Optional

from .families import FAMILIES
from .modes import ModeSettings
from .report import make_report
from .run_config import run_spec
from .step_times import attach_reference_step_times
from .worker import launch_worker


def run_benchmark(
    family_name: str, mode: str, settings: ModeSettings, out_dir: str, data_root: Optional[str] = None
) -> Dict[str, Any]:
    """Prepare the data (from ``data_root``, the family's dataset folder; None for generated data), run every
    (seed, method) worker, seed by seed, and return the report."""
    family = FAMILIES[family_name]
    data = family.prepare_data(osp.join(out_dir, 'data'), settings, data_root)
    specs = [
        run_spec(out_dir, family, method, seed, settings, data)
        for seed in settings.seeds
        for method in settings.methods
    ]
    runs = []
    for index, spec in enumerate(specs, 1):
        start = time.time()
        result = launch_worker(spec, settings.cpu_only)
        result['work_dir'] = osp.relpath(spec['work_dir'], out_dir)
        runs.append(result)
        print(
            f'[{index}/{len(specs)}] {spec["method"]} seed {spec["seed"]}: mAP {result["bbox_mAP"]:.3f}, '
            f'step {result["step_time_s"]:.3f} s ({time.time() - start:.0f} s)',
            flush=True,
        )
    attach_reference_step_times(runs)
    return make_report(family_name, mode, settings, data, runs)
