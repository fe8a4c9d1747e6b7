"""Hand-made benchmark runs, reports and finished run directories for the benchmark tests, and a reader of the
Markdown tables of table.md."""

import json
from dataclasses import asdict
from typing import Dict, List, Sequence

import numpy as np

from selfkd.modes import SHAPES_MODES, ModeSettings


def tables(text: str) -> List[Dict[str, Dict[str, str]]]:
    """Every Markdown table of ``text`` (runs of lines starting with ``|``), each as row label -> column -> cell."""
    blocks, block = [], []
    for line in [*text.splitlines(), '']:
        if line.startswith('|'):
            block.append([cell.strip() for cell in line.strip('|').split('|')])
        elif block:
            blocks.append(block)
            block = []
    parsed = []
    for header, _separator, *body in blocks:
        parsed.append({row[0]: dict(zip(header, row)) for row in body})
    return parsed


def table_rows(text: str) -> Dict[str, Dict[str, str]]:
    """The first table of ``text``: table.md's per-method table."""
    return tables(text)[0]


def run(method: str, seed: int, step: float, mAP: float, gpu=None, **extra) -> dict:
    """A run as result.json holds it, with the numbers that matter to a test: bbox mAP, mAP@50 = 2 mAP,
    D-ECE 0.1, this step time and GPU peak, RSS 900 MiB + seed; ``extra`` adds or overrides entries."""
    result = dict(
        method=method,
        seed=seed,
        device='CPU (2 torch threads)',
        bbox_mAP=mAP,
        bbox_mAP_50=2 * mAP,
        dece=0.1,
        step_time_s=step,
        peak_gpu_mib=gpu,
        peak_rss_mib=900.0 + seed,
    )
    result.update(extra)
    return result


def report(
    runs: Sequence[dict],
    methods: Sequence[str],
    seeds: Sequence[int],
    settings: ModeSettings = SHAPES_MODES['cpu-tiny'],
    family: str = 'shapes',
    mode: str = 'cpu-tiny',
    images: Sequence[int] = (16, 8),
) -> dict:
    """A report as results.json holds it, of a model on data; ``images``: train and held-out images."""
    return dict(
        family=family,
        description='model on data',
        mode=mode,
        settings=json.loads(json.dumps(asdict(settings))),
        data=dict(options={}, train_images=images[0], test_images=images[1]),
        methods=list(methods),
        seeds=list(seeds),
        runs=list(runs),
    )


def finished_run(bench_dir, result: dict, settings: ModeSettings = SHAPES_MODES['cpu-tiny']) -> None:
    """A finished run under ``bench_dir/runs/<method>/seed<k>/``: its result.json, spec.json and pairs.npz (two
    detections at score >= 0.3, one of them a true positive)."""
    run_dir = bench_dir / 'runs' / result['method'] / f'seed{result["seed"]}'
    run_dir.mkdir(parents=True)
    (run_dir / 'result.json').write_text(json.dumps(result))
    (run_dir / 'spec.json').write_text(json.dumps(dict(settings=asdict(settings))))
    np.savez(run_dir / 'pairs.npz', scores=np.array([0.9, 0.4]), labels=np.array([0, 1]), is_tp=np.array([1, 0], bool))
