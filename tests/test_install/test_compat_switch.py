"""``MMDET_SELFKD_COMPAT``: importing the plugin installs the ``weights_only`` allow-list loader for mmengine's
local checkpoints by default, and leaves mmengine's own loader in place with ``MMDET_SELFKD_COMPAT=0`` (each
state in a fresh interpreter, so the import happens under it)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmdet_selfkd import compat

PROBE = r"""
import json, sys
from mmengine.runner import CheckpointLoader
import mmdet_selfkd  # noqa: F401
loader = CheckpointLoader._get_checkpoint_loader(sys.argv[1])
out = dict(loader=f'{loader.__module__}.{loader.__name__}')
try:
    ckpt = CheckpointLoader.load_checkpoint(sys.argv[1], map_location='cpu')
    out['loaded'] = sorted(ckpt)
except Exception as e:  # noqa: BLE001
    out['error'] = type(e).__name__
print(json.dumps(out))
"""
TORCH_SAFE_DEFAULT = tuple(int(v) for v in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 6)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    """What mmengine writes besides tensors: numpy arrays and scalars, a HistoryBuffer."""
    history = HistoryBuffer()
    history.update(0.5)
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth'
    torch.save(
        dict(
            state_dict=dict(w=torch.ones(2)),
            message_hub=dict(log_scalars=dict(loss=history)),
            meta=dict(seed=np.int64(0), hist=np.arange(3), lr=np.float64(0.01)),
        ),
        path,
    )
    return str(path)


def _probe(checkpoint: str, value) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('MMDET_SELFKD_COMPAT', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_WEIGHTS_ONLY_LOAD')
    }
    if value is not None:
        env['MMDET_SELFKD_COMPAT'] = value
    proc = subprocess.run(
        [sys.executable, '-c', PROBE, checkpoint],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, 'PYTHONWARNINGS': 'ignore'},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_default_installs_the_allow_list_loader(checkpoint):
    out = _probe(checkpoint, None)
    assert out['loader'] == 'mmdet_selfkd.compat.load_local_checkpoint'
    assert out['loaded'] == ['message_hub', 'meta', 'state_dict']


def test_off_keeps_mmengines_loader(checkpoint):
    out = _probe(checkpoint, '0')
    assert out['loader'] == 'mmengine.runner.checkpoint.load_from_local'
    if TORCH_SAFE_DEFAULT:  # torch's weights_only default refuses mmengine's non-tensor objects
        assert out.get('error') == 'UnpicklingError', out


@pytest.mark.parametrize(
    'value, enabled',
    [
        ('1', True),
        ('', True),
        ('ON', True),
        ('yes', True),
        ('0', False),
        ('false', False),
        (' off ', False),
        ('No', False),
    ],
)
def test_switch_values(monkeypatch, value, enabled):
    monkeypatch.setenv('MMDET_SELFKD_COMPAT', value)
    assert compat.compat_enabled() is enabled


def test_unknown_value_is_an_error(monkeypatch):
    monkeypatch.setenv('MMDET_SELFKD_COMPAT', 'disabled')
    with pytest.raises(ValueError, match=r"MMDET_SELFKD_COMPAT='disabled'.*0 keeps mmengine"):
        compat.compat_enabled()
