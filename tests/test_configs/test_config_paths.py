"""Every shipped config works from any working directory: its data paths are absolute, found from the
config file (``{{fileDirname}}``), and its ``mmdet::`` bases still resolve; the ``configs/_base_/`` wrappers
are mmdet's stock configs with only the data location changed."""

import json
import os
import os.path as osp
import subprocess
import sys
from glob import glob

import pytest

from conftest import REPO

CONFIGS = sorted(osp.relpath(p, REPO) for p in glob(str(REPO / 'configs' / '**' / '*.py'), recursive=True))
# the real datasets' images (BCCD, Aquarium) stay in the shared folder next to the repo (their configs say so)
DATA_ROOTS = (str(REPO / 'data'), str(REPO.parent / 'shared' / 'data'))

LOAD_ALL = r"""
import json, sys
from mmengine.config import Config
out = {}
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)
    paths = []
    def walk(node, where):
        if isinstance(node, dict):
            if 'data_root' in node:
                paths.append((where + '.data_root', node['data_root']))
            if 'ann_file' in node:  # relative to the dataset's data_root, else absolute
                paths.append((where + '.ann_file', node['ann_file'], 'data_root' in node))
            for key, value in node.items():
                walk(value, f'{where}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{where}[{i}]')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator', 'test_evaluator'):
        walk(cfg.get(key), key)
    out[path] = dict(model=cfg.model.type, paths=paths)
print(json.dumps(out))
"""


@pytest.fixture(scope='module')
def loaded(tmp_path_factory):
    """Every config, read in one interpreter whose working directory is an empty temporary folder."""
    cwd = tmp_path_factory.mktemp('elsewhere')
    proc = subprocess.run(
        [sys.executable, '-c', LOAD_ALL, *[str(REPO / c) for c in CONFIGS]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, 'PYTHONWARNINGS': 'ignore'},
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    return {osp.relpath(path, REPO): value for path, value in json.loads(proc.stdout.splitlines()[-1]).items()}


def _inside(path: str) -> bool:
    real = osp.realpath(path)
    return any(real == osp.realpath(root) or real.startswith(osp.realpath(root) + os.sep) for root in DATA_ROOTS)


def test_every_config_loads_from_another_directory(loaded):
    assert len(CONFIGS) >= 40 and set(loaded) == set(CONFIGS)
    for config, info in loaded.items():
        assert info['model'], config  # the `mmdet::` base chain resolved


@pytest.mark.parametrize('config', CONFIGS)
def test_data_paths_are_found_from_the_config(loaded, config):
    paths = loaded[config]['paths']
    assert any(p[0].endswith('.data_root') for p in paths), f'{config}: no data_root'
    for where, value, *in_dataset in paths:
        if in_dataset and in_dataset[0] and not osp.isabs(value):
            continue  # a dataset's ann_file relative to its (checked) data_root
        assert osp.isabs(value), f'{config}: {where} = {value!r} depends on the working directory'
        assert _inside(value), f'{config}: {where} = {value!r} is not under {DATA_ROOTS}'


@pytest.mark.parametrize('wrapper', sorted(c for c in CONFIGS if c.startswith('configs/_base_/')))
def test_base_wrappers_change_only_the_data_location(wrapper, tmp_path):
    """``configs/_base_/X.py`` == mmdet's ``X.py`` once ``<repo>/data/`` is read as mmdet's ``data/``."""
    from mmengine.config import Config

    ours = Config.fromfile(str(REPO / wrapper))
    with open(REPO / wrapper) as f:
        stock_base = next(line.split("'")[1] for line in f if line.startswith('_base_ = '))
    stock_file = tmp_path / 'stock.py'
    stock_file.write_text(f"_base_ = '{stock_base}'\n")
    stock = Config.fromfile(str(stock_file))
    data_dir = osp.join(osp.dirname(str(REPO / wrapper)), '..', '..', 'data') + '/'
    ours_text = json.dumps(_unscoped(ours.to_dict()), sort_keys=True, default=str).replace(data_dir, 'data/')
    assert json.loads(ours_text) == json.loads(json.dumps(_unscoped(stock.to_dict()), sort_keys=True, default=str))


def _unscoped(node):
    """Without ``_scope_='mmdet'``, which mmengine adds to what a config takes with ``{{_base_.xxx}}``
    (mmdet is the default scope: same meaning)."""
    if isinstance(node, dict):
        return {k: _unscoped(v) for k, v in node.items() if not (k == '_scope_' and v == 'mmdet')}
    if isinstance(node, (list, tuple)):
        return [_unscoped(v) for v in node]
    return node
