"""Shared fixtures: a tiny shapes dataset, and helpers to run the real tools on it."""

import json
import os
import subprocess
import sys
from glob import glob
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

REPO = Path(__file__).resolve().parents[1]
# the benchmark package, benchmarks/selfkd/, imported as `selfkd` (as benchmarks/selfkd_benchmark.py imports it)
sys.path.insert(0, str(REPO / 'benchmarks'))
BASELINE_CFG = str(REPO / 'configs/shapes/faster-rcnn_r18_fpn_8e_shapes.py')
PSKD_CFG = str(REPO / 'configs/pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py')


def _dataset_root(env_var: str, inside: str):
    """The folder named by ``env_var`` if it holds ``inside``, else None (the tests that need it skip)."""
    root = os.environ.get(env_var)
    return Path(root) if root and (Path(root) / inside).exists() else None


# The real datasets, where the environment names them (.ci/run does): the BCCD VOC folder (the one holding
# Annotations/, ImageSets/ and JPEGImages/) and the Aquarium YOLO folder (the one holding data.yaml).
BCCD_VOC_ROOT = _dataset_root('MMDET_SELFKD_BCCD', 'ImageSets/Main')
AQUARIUM_ROOT = _dataset_root('MMDET_SELFKD_AQUARIUM', 'data.yaml')
needs_bccd = pytest.mark.skipif(
    BCCD_VOC_ROOT is None,
    reason='BCCD not found: set MMDET_SELFKD_BCCD to its VOC folder (e.g. ../shared/data/bccd/BCCD)',
)
needs_aquarium = pytest.mark.skipif(
    AQUARIUM_ROOT is None,
    reason='Aquarium not found: set MMDET_SELFKD_AQUARIUM to its YOLO folder (e.g. ../shared/data/aquarium)',
)


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory) -> str:
    """16 train / 8 val images of the synthetic shapes dataset."""
    from mmdet_selfkd.datasets import make_shapes_dataset

    root = tmp_path_factory.mktemp('shapes')
    make_shapes_dataset(str(root), splits={'train': 16, 'val': 8}, seed=1)
    return str(root)


def tiny_options(data_root: str, **extra) -> dict:
    """Config options that point a shapes config at ``data_root`` and make a run tiny and deterministic."""
    data_root = data_root.rstrip('/') + '/'
    options = {
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'val_evaluator.ann_file': data_root + 'annotations/val.json',
        'test_evaluator.ann_file': data_root + 'annotations/val.json',
        'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'train_cfg.max_epochs': 1,
        'default_hooks.logger.interval': 1,
        'randomness.seed': 0,
    }
    options.update(extra)
    return options


def tiny_run_options(data_root: str, **extra) -> List[str]:
    """:func:`tiny_options` as ``--cfg-options`` of a tool."""
    return ['--cfg-options'] + [f'{key}={value}' for key, value in tiny_options(data_root, **extra).items()]


def run_tool(
    args: Sequence[str], check: bool = True, env: Dict[str, str] = None, launcher: Sequence[str] = (sys.executable,)
) -> subprocess.CompletedProcess:
    """Run a repo tool (e.g. ``tools/train.py``) as a user would, from the repo root."""
    proc = subprocess.run(
        [*launcher, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, 'PYTHONWARNINGS': 'ignore', **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
        )
    return proc


def read_scalars(work_dir: str) -> List[dict]:
    """The training scalars mmengine logged (``<work_dir>/<timestamp>/vis_data/scalars.json``)."""
    files = sorted(glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def by_epoch(scalars: List[dict], key: str) -> Dict[int, list]:
    """Logged values of ``key`` per epoch (1-based), from :func:`read_scalars`."""
    values: Dict[int, list] = {}
    for row in scalars:
        if key in row:
            values.setdefault(row['epoch'], []).append(row[key])
    return values
