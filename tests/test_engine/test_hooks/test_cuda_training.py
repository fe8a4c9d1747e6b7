"""Every method's real 2-pass training on a GPU, with and without AMP (``pytest -m cuda``; skipped without
CUDA). On the GPU the teachers' host copies, the fused focal loss and fp16 logits are exercised: each run must
train with finite losses, teach in its second pass (the methods with a teacher) and save a checkpoint that
resumes."""

import math

import pytest
import torch

from mmdet_selfkd.compat import load_local_checkpoint

from conftest import REPO, by_epoch, read_scalars, run_tool, tiny_run_options

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU'),
]

# config, the key of its distillation term (loss_cls for the methods that replace it), what its hook logs per
# iteration (None: no hook), extra options
RUNS = {
    'pskd-gt': ('configs/pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py', 'loss_pskd', 'pskd_coverage', {}),
    'pskd-iou': ('configs/pskd/faster-rcnn_r18_fpn_pskd-iou-8e_shapes.py', 'loss_pskd', 'pskd_coverage', {}),
    'pskd-snapshot': ('configs/pskd/faster-rcnn_r18_fpn_pskd-snapshot-8e_shapes.py', 'loss_pskd', 'pskd_coverage', {}),
    'pskd-retinanet': ('configs/pskd/retinanet_r18_fpn_pskd-8e_shapes.py', 'loss_pskd', 'pskd_coverage', {}),
    'cskd': ('configs/selfkd/faster-rcnn_r18_fpn_cskd-8e_shapes.py', 'loss_cskd', 'cskd_pair_rate', {}),
    'mrkd': (
        'configs/selfkd/faster-rcnn_r18_fpn_mrkd-8e_shapes.py',
        'loss_mrkd',
        'mrkd_copies',
        {'custom_hooks.0.interval': 2},
    ),
    'mrkd-tc': (
        'configs/selfkd/faster-rcnn_r18_fpn_mrkd-tc-8e_shapes.py',
        'loss_mrkd',
        'mrkd_copies',
        {'custom_hooks.0.interval': 2},
    ),
    'ls': ('configs/selfkd/faster-rcnn_r18_fpn_ls-8e_shapes.py', 'loss_cls', None, {}),
    'ls-retinanet': ('configs/selfkd/retinanet_r18_fpn_ls-8e_shapes.py', 'loss_cls', None, {}),
    'lsrkd': ('configs/selfkd/faster-rcnn_r18_fpn_lsrkd-8e_shapes.py', 'loss_cls', None, {}),
    'lsrkd-tc': ('configs/selfkd/faster-rcnn_r18_fpn_lsrkd-tc-8e_shapes.py', 'loss_cls', None, {}),
}


@pytest.mark.parametrize('amp', [False, True], ids=['fp32', 'amp'])
@pytest.mark.parametrize('method', list(RUNS))
def test_two_pass_gpu_run(method, amp, shapes_root, tmp_path):
    config, term, scalar, extra = RUNS[method]
    options = tiny_run_options(
        shapes_root,
        **{'train_cfg.max_epochs': 2, 'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None, **extra},
    )
    flags = ['--amp'] if amp else []
    run_tool(['tools/train.py', str(REPO / config), '--work-dir', str(tmp_path), *flags, *options])
    logs = [row for row in read_scalars(str(tmp_path)) if 'loss' in row]
    assert logs and all(math.isfinite(row['loss']) and math.isfinite(row[term]) for row in logs)
    assert scalar is None or all(scalar in row for row in logs)
    if method.startswith('pskd'):
        coverage = by_epoch(read_scalars(str(tmp_path)), 'pskd_coverage')
        assert set(coverage[1]) == {0.0} and min(coverage[2]) > 0  # taught in the second pass
        assert max(row[term] for row in logs if row['epoch'] == 2) != 0
    checkpoint = load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))
    if scalar is not None:
        assert 'teacher' in checkpoint[method.split('-')[0]]
    # the checkpoint resumes on the GPU (teacher state restored, one more pass trained)
    more = tiny_run_options(
        shapes_root,
        **{'train_cfg.max_epochs': 3, 'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None, **extra},
    )
    proc = run_tool(['tools/train.py', str(REPO / config), '--work-dir', str(tmp_path), '--resume', *flags, *more])
    assert 'resumed epoch: 2' in proc.stdout + proc.stderr
