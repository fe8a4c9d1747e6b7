"""PS-KD under DDP: 2 processes on the CPU (gloo), launched by tools/dist_train.sh through torchrun and
the real mmengine runner."""

import os
import socket
import sys

import pytest
import torch

from conftest import PSKD_CFG, REPO, run_tool, tiny_run_options


def same_rows(a, b) -> bool:
    """Two stored entries (TopKRows) hold the same values and class ids."""
    return torch.equal(a.values, b.values) and torch.equal(a.ids, b.ids)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['gt', 'iou'])
def test_two_ranks_share_one_memory(shapes_root, tmp_path, strategy):
    probe_cfg = tmp_path / 'probe.py'
    probe_cfg.write_text(
        f"_base_ = '{PSKD_CFG}'\n"
        "custom_imports = dict(imports=['mmdet_selfkd', 'ddp_probe'], allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='PSKDHook', memory=dict(strategy='{strategy}')),\n"
        f"                dict(type='MemoryProbeHook', out_dir='{tmp_path}')]\n"
    )
    env = {
        'PYTHON': sys.executable,
        'PORT': str(free_port()),
        'OMP_NUM_THREADS': '1',
        'PYTHONPATH': os.path.join(REPO, 'tests'),
    }
    # 16 images, 2 ranks x batch 4: each rank trains on 8 images in 2 iterations
    run_tool(
        [
            os.path.join(REPO, 'tools/dist_train.sh'),
            str(probe_cfg),
            '2',
            '--work-dir',
            str(tmp_path / 'wd'),
            *tiny_run_options(shapes_root),
        ],
        env=env,
        launcher=('bash',),
    )
    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in (0, 1)]
    assert [r['world_size'] for r in ranks] == [2, 2] and ranks[0]['backend'] == 'gloo'
    seen0, seen1 = set(ranks[0]['seen']), set(ranks[1]['seen'])
    assert len(seen0) == len(seen1) == 8 and not seen0 & seen1
    merged0, merged1 = ranks[0]['merged'], ranks[1]['merged']
    # both ranks hold the same memory ...
    assert merged0.keys() == merged1.keys()
    assert all(same_rows(merged0[k], merged1[k]) for k in merged0)
    # ... with an entry for every image either rank trained on ...
    assert {key for _, _, key in merged0} == seen0 | seen1
    # ... each equal to what the rank that saw the image computed
    for key, rows in merged0.items():
        owner = ranks[0] if key[2] in seen0 else ranks[1]
        assert same_rows(rows, owner['own'][key])
