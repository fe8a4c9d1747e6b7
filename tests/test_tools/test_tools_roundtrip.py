"""Issue 2: config resolution, a stock Faster R-CNN forward/backward, and the train -> resume -> test
round trip through the real tools, including the two traps of the pinned stack."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import mmdet_selfkd  # noqa: F401  (registers the plugin's modules)
from mmdet_selfkd.compat import require_pkg_resources

from conftest import BASELINE_CFG, PSKD_CFG, REPO, run_tool, tiny_run_options


def test_mmdet_base_and_custom_imports_resolve():
    cfg = Config.fromfile(PSKD_CFG)
    # the base chain reaches mmdet's own config (pkg_resources resolves `mmdet::`)
    assert cfg.model.type == 'FasterRCNN'
    assert cfg.model.rpn_head.type == 'RPNHead'
    assert cfg.model.roi_head.type == 'SelfKDRoIHead'
    assert cfg.custom_imports.imports == ['mmdet_selfkd']
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert type(model.roi_head).__name__ == 'SelfKDRoIHead'
    assert type(model.roi_head.bbox_head.loss_cls).__name__ == 'CrossEntropyLoss'  # mmdet's, untouched
    assert type(model.roi_head.distill_loss).__name__ == 'PSKDLoss'


@pytest.mark.parametrize('head', ['PSKDRoIHead', 'PSKDCascadeRoIHead'])
def test_configs_of_the_earlier_form_build_the_same_model_with_a_warning(head):
    """mmdet_selfkd 0.1 configs: PSKDRoIHead/PSKDCascadeRoIHead and a distillation loss as loss_cls."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope('mmdet')
    new = 'SelfKDRoIHead' if head == 'PSKDRoIHead' else 'SelfKDCascadeRoIHead'
    cfg = Config.fromfile(
        PSKD_CFG if head == 'PSKDRoIHead' else str(REPO / 'configs/pskd/cascade-rcnn_r50_fpn_pskd-1x_coco.py')
    )
    roi_head = cfg.model.roi_head
    roi_head.type = head
    del roi_head['distill_loss']
    old_loss = dict(type='PSKDLoss', foreground_teacher=True, loss_weight=2.0)
    bbox_heads = roi_head.bbox_head if isinstance(roi_head.bbox_head, list) else [roi_head.bbox_head]
    for bbox_head in bbox_heads:
        bbox_head.loss_cls = old_loss
    with pytest.warns(DeprecationWarning) as warned:
        model = MODELS.build(cfg.model)
    messages = ' '.join(str(w.message) for w in warned)
    assert f"use '{new}'" in messages and "model.roi_head.distill_loss=dict(type='PSKDLoss'" in messages
    assert isinstance(model.roi_head, MODELS.get(new))
    heads = model.roi_head.bbox_head if head != 'PSKDRoIHead' else [model.roi_head.bbox_head]
    for bbox_head in heads:  # the cross-entropy stays with its weight, the term moves to the RoI head
        assert type(bbox_head.loss_cls).__name__ == 'CrossEntropyLoss' and bbox_head.loss_cls.loss_weight == 2.0
    distill = model.roi_head.distill_loss
    assert type(distill).__name__ == 'PSKDLoss' and distill.foreground_teacher and distill.loss_weight == 2.0


def test_missing_pkg_resources_gets_a_clear_error(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name, *a: None if name == 'pkg_resources' else real_find_spec(name, *a)
    )
    with pytest.raises(ImportError, match=r'setuptools>=77,<82'):
        require_pkg_resources()


def test_stock_faster_rcnn_forward_backward(tmp_path):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    init_default_scope('mmdet')
    cfg_file = tmp_path / 'stock.py'
    cfg_file.write_text("_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n")
    cfg = Config.fromfile(str(cfg_file))
    cfg.model.backbone.init_cfg = None  # no download
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    torch.manual_seed(0)
    samples = []
    for _ in range(2):
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(128, 128),
                ori_shape=(128, 128),
                pad_shape=(128, 128),
                scale_factor=(1.0, 1.0),
                batch_input_shape=(128, 128),
            )
        )
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 20.0, 60.0, 90.0]]), labels=torch.tensor([3]))
        samples.append(sample)
    losses = model.loss(torch.randn(2, 3, 128, 128), samples)
    total = sum(v for k, v in losses.items() if 'loss' in k for v in (v if isinstance(v, list) else [v]))
    total.backward()
    assert torch.isfinite(total)
    cls_grad = model.roi_head.bbox_head.fc_cls.weight.grad
    assert cls_grad is not None and cls_grad.abs().sum() > 0


@pytest.fixture(scope='module')
def trained_run(shapes_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('roundtrip'))
    run_tool(['tools/train.py', BASELINE_CFG, '--work-dir', work_dir, *tiny_run_options(shapes_root)])
    return work_dir


@pytest.mark.slow
def test_train_resume_test_roundtrip(trained_run, shapes_root):
    work_dir = trained_run
    assert os.path.exists(os.path.join(work_dir, 'epoch_1.pth'))
    proc = run_tool(
        [
            'tools/train.py',
            BASELINE_CFG,
            '--work-dir',
            work_dir,
            '--resume',
            *tiny_run_options(shapes_root, **{'train_cfg.max_epochs': 2}),
        ]
    )
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log  # mmengine's own message after loading the checkpoint
    assert 'Epoch(train) [2]' in log and 'Epoch(train) [1]' not in log
    proc = run_tool(
        [
            'tools/test.py',
            BASELINE_CFG,
            os.path.join(work_dir, 'epoch_2.pth'),
            '--work-dir',
            os.path.join(work_dir, 'test'),
            *tiny_run_options(shapes_root),
        ]
    )
    match = re.search(r'coco/bbox_mAP: (-?[0-9.]+)', proc.stdout + proc.stderr)
    assert match, 'tools/test.py printed no COCO mAP'
    assert 0.0 <= float(match.group(1)) <= 1.0


@pytest.mark.slow
def test_mmengine_checkpoint_loading_needs_and_gets_the_allowlist(trained_run):
    ckpt = os.path.join(trained_run, 'epoch_1.pth')
    code = (
        'import sys; {}; from mmengine.runner.checkpoint import _load_checkpoint; '
        'ckpt = _load_checkpoint(sys.argv[1]); print("loaded", sorted(ckpt))'
    )
    bare = subprocess.run([sys.executable, '-c', code.format('pass'), ckpt], capture_output=True, text=True)
    assert bare.returncode != 0 and 'weights_only' in bare.stderr  # the trap is real on this torch
    fixed = subprocess.run(
        [sys.executable, '-c', code.format('import mmdet_selfkd'), ckpt], capture_output=True, text=True
    )
    assert fixed.returncode == 0 and "'message_hub'" in fixed.stdout, fixed.stderr[-2000:]
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


def test_weights_only_stays_on_for_other_objects(tmp_path):
    import torch

    from mmdet_selfkd.compat import load_local_checkpoint

    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': subprocess.Popen}, path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        load_local_checkpoint(path)


@pytest.mark.slow
def test_train_refuses_to_overwrite_checkpoints(trained_run, shapes_root):
    before = {f: os.path.getmtime(os.path.join(trained_run, f)) for f in os.listdir(trained_run) if f.endswith('.pth')}
    proc = run_tool(
        ['tools/train.py', BASELINE_CFG, '--work-dir', trained_run, *tiny_run_options(shapes_root)], check=False
    )
    assert proc.returncode != 0
    assert 'pass --resume' in proc.stderr and 'already holds checkpoints' in proc.stderr
    after = {f: os.path.getmtime(os.path.join(trained_run, f)) for f in os.listdir(trained_run) if f.endswith('.pth')}
    assert after == before


@pytest.mark.slow
def test_show_dir_writes_images(trained_run, shapes_root):
    show_dir = 'shown'
    run_tool(
        [
            'tools/test.py',
            BASELINE_CFG,
            os.path.join(trained_run, 'epoch_1.pth'),
            '--work-dir',
            os.path.join(trained_run, 'show'),
            '--show-dir',
            show_dir,
            *tiny_run_options(shapes_root),
        ]
    )
    drawn = [f for _, _, files in os.walk(os.path.join(trained_run, 'show')) for f in files if f.endswith('.png')]
    assert len(drawn) == 8  # one per val image
