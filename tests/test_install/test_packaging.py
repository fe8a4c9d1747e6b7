"""Packaging: installing into an existing mmdet 3.3 environment adds only this package (offline pip dry run),
and a wheel ships the configs as ``mmdet_selfkd/.mim/configs``, inheritable from a user's config with stock
mmengine (``_base_`` through an environment variable or an absolute path; ``mmdet_selfkd::`` is refused)."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from glob import glob
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from conftest import REPO

PIP = [sys.executable, '-m', 'pip', '--isolated', '--disable-pip-version-check']
OFFLINE = ['--no-index', '--no-build-isolation']  # nothing downloaded; the venv's setuptools/wheel build
SHAPES_PSKD = 'pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py'


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f'{" ".join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc


def _installed(name: str) -> str:
    try:
        return version(name).split('+')[0]
    except PackageNotFoundError:
        return ''


@pytest.fixture(scope='module')
def source(tmp_path_factory) -> Path:
    """A copy of what a build reads (so the build writes nothing into the checkout)."""
    dst = tmp_path_factory.mktemp('src') / 'mmdet_selfkd_src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info', '.mim')
    for name in ('mmdet_selfkd', 'configs'):
        shutil.copytree(REPO / name, dst / name, ignore=ignore)
    for name in ('setup.py', 'setup.cfg', 'pyproject.toml', 'MANIFEST.in', 'README.md', 'LICENSE'):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dst / name)
    return dst


@pytest.fixture(scope='module')
def wheel(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('wheels')
    _run([*PIP, 'wheel', *OFFLINE, '--no-deps', '-q', '-w', out, source])
    wheels = glob(str(out / 'mmdet_selfkd-*.whl'))
    assert len(wheels) == 1, wheels
    return Path(wheels[0])


def test_install_into_mmdet_3_3_env_installs_nothing_else(source, tmp_path):
    """``pip install <repo>`` where mmdet 3.3.0 / mmcv 2.1.0 are installed: pip resolves every dependency
    from what is there (offline, ``--no-index``) and would install mmdet_selfkd alone."""
    if (_installed('mmdet'), _installed('mmcv')) != ('3.3.0', '2.1.0'):
        pytest.skip(
            f'needs mmdet 3.3.0 and mmcv 2.1.0 installed, found mmdet {_installed("mmdet") or "-"}, '
            f'mmcv {_installed("mmcv") or "-"}'
        )
    report = tmp_path / 'report.json'
    _run([*PIP, 'install', '--dry-run', *OFFLINE, '-q', '--report', report, source])
    install = json.loads(report.read_text())['install']
    names = [re.sub(r'[-_.]+', '-', item['metadata']['name']).lower() for item in install]
    assert names == ['mmdet-selfkd'], f'pip would also install: {names}'
    requires = install[0]['metadata']['requires_dist']
    # exact pins only in extras (the lint extra pins ruff: its formatting changes between releases)
    runtime = [r for r in requires if 'extra ==' not in r]
    assert not [r for r in runtime if '==' in r.split(';')[0]], f'exact pins in install_requires: {requires}'
    for dep in ('mmdet', 'mmengine', 'mmcv', 'torch'):
        assert any(re.match(rf'{dep}\s*[<>]', r) for r in requires), (dep, requires)


def test_wheel_ships_configs_and_license(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = sorted(
        os.path.relpath(p, REPO / 'configs') for p in glob(str(REPO / 'configs' / '**' / '*.py'), recursive=True)
    )
    assert len(configs) >= 40
    missing = [c for c in configs if f'mmdet_selfkd/.mim/configs/{c}' not in names]
    assert not missing, f'configs missing from the wheel: {missing}'
    assert any(re.fullmatch(r'mmdet_selfkd-[^/]+\.dist-info/(licenses/)?LICENSE', n) for n in names), names


def test_installed_configs_inherit_with_stock_mmengine(wheel, tmp_path):
    """From the wheel's files (as pip lays them out), in another working directory: the CLI prints the
    installed configs directory; a user config inherits a shipped one through ``{{$MMDET_SELFKD_CONFIGS:}}``
    or the printed absolute path; ``mmdet_selfkd::`` is not accepted by mmengine."""
    site = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / 'work'
    work.mkdir()
    env = {**os.environ, 'PYTHONPATH': str(site), 'PYTHONWARNINGS': 'ignore'}
    env.pop('MMDET_SELFKD_CONFIGS', None)
    cfg_dir = _run([sys.executable, '-m', 'mmdet_selfkd.configs'], cwd=work, env=env).stdout.strip()
    assert cfg_dir == str(site / 'mmdet_selfkd' / '.mim' / 'configs')

    (work / 'user_env.py').write_text(
        f"_base_ = '{{{{$MMDET_SELFKD_CONFIGS:}}}}/{SHAPES_PSKD}'\ntrain_cfg = dict(max_epochs=1)\n"
    )
    (work / 'user_pkg.py').write_text(f"_base_ = 'mmdet_selfkd::{SHAPES_PSKD}'\n")
    script = r"""
import contextlib, io, json, sys
import mmdet_selfkd
from mmdet_selfkd.configs import main
from mmengine.config import Config
out = dict(package=mmdet_selfkd.__file__)
with contextlib.redirect_stdout(io.StringIO()) as printed:  # python -m mmdet_selfkd.configs NAME
    assert main([sys.argv[1]]) == 0
out['one'] = printed.getvalue().strip()
with open('user_abs.py', 'w') as f:
    f.write(f"_base_ = '{out['one']}'\n")
for name in ('user_env', 'user_abs'):
    cfg = Config.fromfile(name + '.py')
    out[name] = [cfg.model.type, cfg.model.roi_head.type, cfg.train_cfg.max_epochs]
try:
    Config.fromfile('user_pkg.py')
    out['user_pkg'] = 'loaded'
except AssertionError as e:
    out['user_pkg'] = str(e)
print(json.dumps(out))
"""
    out = json.loads(
        _run([sys.executable, '-c', script, SHAPES_PSKD], cwd=work, env={**env, 'MMDET_SELFKD_CONFIGS': cfg_dir})
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out['one'] == os.path.join(cfg_dir, SHAPES_PSKD)
    assert out['package'] == str(site / 'mmdet_selfkd' / '__init__.py')
    assert out['user_env'] == ['FasterRCNN', 'SelfKDRoIHead', 1]
    assert out['user_abs'] == ['FasterRCNN', 'SelfKDRoIHead', 8]
    if _installed('mmengine') == '0.10.7':  # what README says about `pkg::`, for the tested mmengine
        assert out['user_pkg'] == 'mmengine does not support to load mmdet_selfkd config.'
