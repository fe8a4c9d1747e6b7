"""One (method, seed) run in a process of its own: train, read the step time and memory, test on the held-out
split, write ``<work_dir>/result.json``. One process per run keeps the memory figures per run."""

import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.runner import Runner

from .divergence import loss_went_nan, peak_loss_ratio
from .paths import ENTRY_POINT, REPO
from .posthoc import posthoc_numbers
from .run_config import build_run_config
from .statistics import finite


def peak_gpu_mib(scalars: Sequence[dict]) -> Optional[float]:
    """Peak ``torch.cuda.max_memory_allocated`` of the training process in MiB, None without CUDA.

    mmengine resets the peak after logging it as ``memory`` (MiB) every iteration, so the peak is the
    largest logged value or what was allocated since the last log.
    """
    if not torch.cuda.is_available():
        return None
    logged = [row['memory'] for row in scalars if 'memory' in row]
    return float(max([torch.cuda.max_memory_allocated() / 2**20, *logged]))


def train_scalars(log_dir: str) -> List[dict]:
    """The per-iteration training scalars mmengine logged to ``<log_dir>/vis_data/scalars.json``."""
    with open(osp.join(log_dir, 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [row for row in rows if 'loss' in row and 'time' in row]


def mean_step_time(scalars: Sequence[dict], skip_iters: int) -> Tuple[float, int]:
    """Mean logged ``time`` (s) of the train iterations after the first ``skip_iters``, and their count.

    Raises:
        ValueError: If no iteration after the first ``skip_iters`` was logged (lower the mode's
            ``timing_skip_iters`` or train longer).
    """
    times = [row['time'] for row in scalars if row['iter'] > skip_iters]
    if not times:
        raise ValueError(
            f'timing_skip_iters={skip_iters}: no train iteration after the first {skip_iters} was logged; '
            'lower timing_skip_iters or train more iterations'
        )
    return float(np.mean(times)), len(times)


def device_name() -> str:
    """The device the run trained on, for the caption."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f'CPU ({torch.get_num_threads()} torch threads)'


def coco_ap(metrics: Dict[str, float], key: str) -> Optional[float]:
    """A COCO AP of the test metrics; 0 when the model detected nothing (mmdet's CocoMetric then reports no
    metric at all: nothing detected is nothing recalled)."""
    return finite(metrics.get(key, 0.0))


def run_worker(spec_file: str) -> None:
    """Train, then test, one (method, seed) run and write ``<work_dir>/result.json``.

    Peak RSS and GPU memory are read right after training, before testing. ``num_dets`` and ``precision``
    are those of the D-ECE set: the detections with score >= 0.3 (those matching only an ignored box left out)
    and the share of them that are true positives at IoU 0.5.
    """
    with open(spec_file) as f:
        spec = json.load(f)
    cfg = build_run_config(spec)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_s = time.time() - start
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    scalars = train_scalars(runner.log_dir)
    step_time_s, timed_iters = mean_step_time(scalars, spec['settings']['timing_skip_iters'])
    gpu_mib = peak_gpu_mib(scalars)
    metrics = runner.test()
    result = dict(
        method=spec['method'],
        seed=spec['seed'],
        config=spec['config'],
        device=device_name(),
        variant=spec['settings']['variants'].get(spec['method']),
        bbox_mAP=coco_ap(metrics, 'coco/bbox_mAP'),
        bbox_mAP_50=coco_ap(metrics, 'coco/bbox_mAP_50'),
        dece=finite(metrics['calib/dece']),
        num_dets=int(metrics['calib/num_dets']),
        precision=finite(metrics['calib/precision']),
        diverged=loss_went_nan(scalars),
        peak_loss_ratio=peak_loss_ratio(scalars),
        step_time_s=step_time_s,
        timed_iters=timed_iters,
        train_s=train_s,
        peak_gpu_mib=gpu_mib,
        peak_rss_mib=peak_rss_mib,
        log_dir=osp.relpath(runner.log_dir, spec['out_dir']),
    )
    result.update(posthoc_numbers(osp.join(spec['work_dir'], 'dets.pkl')))
    with open(osp.join(spec['work_dir'], 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)


class WorkerFailed(RuntimeError):
    """A worker process exited with an error; ``log_file`` is its ``worker.log``."""

    def __init__(self, message: str, log_file: str) -> None:
        super().__init__(message)
        self.log_file = log_file


def launch_worker(spec: Dict[str, Any], cpu_only: bool) -> Dict[str, Any]:
    """Run one worker subprocess (the command line with ``--worker``, output to ``<work_dir>/worker.log``) and
    return its result.

    Raises:
        WorkerFailed: If the worker fails; the message ends with the log's tail.
    """
    work_dir = spec['work_dir']
    os.makedirs(work_dir)
    spec_file = osp.join(work_dir, 'spec.json')
    with open(spec_file, 'w') as f:
        json.dump(spec, f, indent=2)
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', **({'CUDA_VISIBLE_DEVICES': ''} if cpu_only else {})}
    log_file = osp.join(work_dir, 'worker.log')
    with open(log_file, 'w') as log:
        proc = subprocess.run(
            [sys.executable, ENTRY_POINT, '--worker', spec_file],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode != 0:
        with open(log_file) as f:
            tail = f.read()[-4000:]
        message = f'{spec["method"]} seed {spec["seed"]} failed ({proc.returncode}), see {log_file}:\n{tail}'
        raise WorkerFailed(message, log_file)
    with open(osp.join(work_dir, 'result.json')) as f:
        return json.load(f)
