"""PS-KD through the real tools: 2-pass runs per strategy, exact resume, plain-mmdet checkpoints and
the errors a misconfigured run gets at start."""

import os
import re

import pytest
import torch

from mmdet_selfkd.compat import load_local_checkpoint

from conftest import BASELINE_CFG, PSKD_CFG, by_epoch, read_scalars, run_tool, tiny_options, tiny_run_options

MMDET_TOOLS = os.path.join(os.path.dirname(__import__('mmdet').__file__), '.mim', 'tools')


def pskd_options(shapes_root, strategy='gt', **extra):
    return tiny_run_options(
        shapes_root, **{'custom_hooks.0.memory.strategy': strategy, 'train_cfg.max_epochs': 2, **extra}
    )


def train(config, work_dir, options, *flags, check=True):
    return run_tool(['tools/train.py', config, '--work-dir', str(work_dir), *flags, *options], check=check)


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['gt', 'iou', 'snapshot'])
def test_two_pass_run_has_soft_targets_in_second_pass(shapes_root, tmp_path, strategy):
    train(PSKD_CFG, tmp_path, pskd_options(shapes_root, strategy))
    scalars = read_scalars(str(tmp_path))
    alpha, coverage = by_epoch(scalars, 'pskd_alpha'), by_epoch(scalars, 'pskd_coverage')
    conf = by_epoch(scalars, 'pskd_teacher_conf')
    # T = 2 passes: alpha_0 = 0 (one-hot), alpha_1 = 0.8 * (1 + 1) / 2 = alpha_T (the last pass)
    assert set(alpha[1]) == {0.0} and alpha[2] == pytest.approx([0.8] * len(alpha[2]))
    assert set(coverage[1]) == {0.0}  # no teacher before a pass has been recorded
    assert min(coverage[2]) > 0 and min(conf[2]) > 0
    if strategy == 'snapshot':
        assert set(coverage[2]) == {1.0}  # the snapshot scores every sampled RoI
    ckpt = load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))
    assert (
        ckpt['pskd']['teacher']['type']
        == {'gt': 'GTMemory', 'iou': 'IoUMemory', 'snapshot': 'SnapshotTeacher'}[strategy]
    )
    assert not any('pskd' in key or 'snapshot' in key for key in ckpt['state_dict'])


@pytest.mark.slow
def test_share_iou_range_from_the_command_line_trains_two_passes(shapes_root, tmp_path):
    options = pskd_options(shapes_root, 'gt', **{'custom_hooks.0.memory.share_iou_range': '(0.5,1.0)'})
    train(PSKD_CFG, tmp_path, options)
    scalars = read_scalars(str(tmp_path))
    coverage, conf = by_epoch(scalars, 'pskd_coverage'), by_epoch(scalars, 'pskd_teacher_conf')
    assert set(coverage[1]) == {0.0} and min(coverage[2]) > 0 and min(conf[2]) > 0
    dumped = [f for f in os.listdir(tmp_path) if f.endswith('.py')]
    text = open(os.path.join(tmp_path, dumped[0])).read()
    assert re.search(r'share_iou_range=\(\s*0\.5,\s*1\.0,?\s*\)', text), 'the option reaches the run config'
    assert load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))['pskd']['teacher']['type'] == 'GTMemory'


def _pskd_runner(shapes_root, work_dir, **options):
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(PSKD_CFG)
    cfg.merge_from_dict(tiny_options(shapes_root, **options))
    cfg.work_dir = str(work_dir)
    return Runner.from_cfg(cfg)


def _pskd_hook(runner):
    from mmdet_selfkd.engine import PSKDHook

    return next(hook for hook in runner.hooks if isinstance(hook, PSKDHook))


@pytest.mark.slow
def test_resume_gives_exactly_the_uninterrupted_memory(shapes_root, tmp_path):
    # an uninterrupted run, stopped after pass 2: its live memory is the reference
    full = _pskd_runner(shapes_root, tmp_path, **{'train_cfg.max_epochs': 2})
    full.train()
    reference = _pskd_hook(full)
    assert reference.open_pass == 2 and reference.teacher.prev_preds
    # a new process-like run resumes from the checkpoint written at that point
    resumed = _pskd_runner(shapes_root, tmp_path / 'resumed', **{'train_cfg.max_epochs': 2})
    resumed._resume, resumed._load_from = True, str(tmp_path / 'epoch_2.pth')
    resumed.train()  # loads the checkpoint, restores in before_train, trains no further
    restored = _pskd_hook(resumed)
    assert restored.open_pass == reference.open_pass
    for buffer in ('prev_preds', 'cur_preds'):
        expected, got = getattr(reference.teacher, buffer), getattr(restored.teacher, buffer)
        assert list(got) == list(expected)
        assert all(
            torch.equal(got[key].values, expected[key].values) and torch.equal(got[key].ids, expected[key].ids)
            for key in expected
        )
    # and the resumed run goes on training from pass 2 with that memory
    proc = train(PSKD_CFG, tmp_path, pskd_options(shapes_root, **{'train_cfg.max_epochs': 3}), '--resume')
    assert 'resumed epoch: 2' in proc.stdout + proc.stderr
    alpha = by_epoch(read_scalars(str(tmp_path)), 'pskd_alpha')
    assert alpha[3] == pytest.approx([0.8 * 3 / 3] * len(alpha[3]))
    coverage = by_epoch(read_scalars(str(tmp_path)), 'pskd_coverage')
    assert min(coverage[3]) > 0  # taught from the restored memory right away


@pytest.mark.slow
def test_resume_from_a_plain_checkpoint_starts_an_empty_memory(shapes_root, tmp_path):
    train(BASELINE_CFG, tmp_path, tiny_run_options(shapes_root))
    proc = train(PSKD_CFG, tmp_path, pskd_options(shapes_root), '--resume')
    log = proc.stdout + proc.stderr
    assert "has no 'pskd' teacher state" in log and 'starting with an empty teacher' in log
    assert load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))['pskd']['open_pass'] == 2


def _map(proc):
    match = re.search(r'coco/bbox_mAP: (-?[0-9.]+)', proc.stdout + proc.stderr)
    assert match, proc.stdout[-2000:]
    return float(match.group(1))


@pytest.mark.slow
def test_pskd_checkpoint_is_a_plain_mmdet_model(shapes_root, tmp_path):
    train(PSKD_CFG, tmp_path, pskd_options(shapes_root, 'iou'))
    ckpt = str(tmp_path / 'epoch_2.pth')
    ours = _map(
        run_tool(
            ['tools/test.py', PSKD_CFG, ckpt, '--work-dir', str(tmp_path / 'ours'), *pskd_options(shapes_root, 'iou')]
        )
    )
    # the stock config (no plugin import, stock RoI head and loss) through mmdet's own tools/test.py
    stock_cfg = tmp_path / 'stock.py'
    stock_cfg.write_text(f"_base_ = '{BASELINE_CFG}'\ncustom_imports = dict(imports=[], allow_failed_imports=False)\n")
    stock = run_tool(
        [
            os.path.join(MMDET_TOOLS, 'test.py'),
            str(stock_cfg),
            ckpt,
            '--work-dir',
            str(tmp_path / 'stock'),
            *tiny_run_options(shapes_root),
        ],
        # mmengine 0.10.7 alone cannot read any checkpoint on torch>=2.6 (see README)
        env={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'},
    )
    assert 'mmdet_selfkd' not in stock.stdout
    assert _map(stock) == ours


@pytest.mark.parametrize(
    'options,error',
    [
        ({'custom_hooks': '[]'}, "add dict(type='PSKDHook') to custom_hooks"),
        ({'model.roi_head.distill_loss': None}, 'the head uses no PSKDLoss'),
        ('stock RoI head', "set model.roi_head.type='SelfKDRoIHead'"),
        ({'model.roi_head.distill_loss.use_sigmoid': True}, 'use_sigmoid=True'),
        ({'custom_hooks.0.alpha_T': 2.0}, 'alpha_T must be in'),
        ({'custom_hooks.0.memory.strategy': 'nearest'}, 'unknown strategy'),
        ({'custom_hooks.0.memory.iou_thr': 0.5}, "strategy='gt'"),
    ],
)
def test_misconfigured_runs_fail_at_start_naming_the_setting(shapes_root, tmp_path, options, error):
    config = PSKD_CFG
    if options == 'stock RoI head':  # the stock config with the hook alone
        config, options = str(tmp_path / 'stock_with_hook.py'), {}
        (tmp_path / 'stock_with_hook.py').write_text(
            f"_base_ = '{BASELINE_CFG}'\ncustom_hooks = [dict(type='PSKDHook', memory=dict(strategy='gt'))]\n"
        )
    opts = pskd_options(shapes_root)
    opts = [
        o
        for o in opts
        if not any(o.startswith(key + '=') for key in options)
        and not (o.startswith('custom_hooks.') and 'custom_hooks' in options)
    ]
    opts += [f'{key}={value}' for key, value in options.items()]
    proc = train(config, tmp_path, opts, check=False)
    assert proc.returncode != 0
    assert error in proc.stderr, proc.stderr[-3000:]
    assert 'Epoch(train) [1][2/' not in proc.stdout + proc.stderr  # failed before training got going


@pytest.mark.slow
def test_memory_from_another_dataset_or_class_count_is_refused(shapes_root, tmp_path, tmp_path_factory):
    from mmdet_selfkd.datasets import make_shapes_dataset

    train(PSKD_CFG, tmp_path, pskd_options(shapes_root))
    other_root = str(tmp_path_factory.mktemp('other_shapes'))
    make_shapes_dataset(other_root, splits={'train': 16, 'val': 8}, seed=7)
    moved = tmp_path / 'other'
    moved.mkdir()
    proc = train(
        PSKD_CFG,
        moved,
        pskd_options(other_root, **{'train_cfg.max_epochs': 3}),
        '--resume',
        str(tmp_path / 'epoch_2.pth'),
        check=False,
    )
    assert proc.returncode != 0 and 'different dataset' in proc.stderr, proc.stderr[-3000:]
