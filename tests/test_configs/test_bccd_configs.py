"""configs/bccd: each self-KD config is the BCCD base plus exactly the shapes config's method delta (RoI head
type, RoI classification loss, custom hooks, train batch sampler; MrKD's refresh interval is one epoch in both),
and builds."""

from typing import Any, Dict

import pytest
from mmdet.registry import HOOKS, MODELS
from mmdet.utils import register_all_modules

from mmdet_selfkd.apis import load_config
from mmdet_selfkd.configs import METHOD_CONFIGS as SHAPES
from mmdet_selfkd.configs import config_path

from conftest import REPO

BCCD_BASE = 'configs/bccd/faster-rcnn_mobilenetv2_fpn_1x_bccd.py'
METHODS = ('pskd', 'pskd-iou', 'pskd-snapshot', 'ls', 'lsrkd', 'cskd', 'mrkd')
MRKD_EPOCH_ITERS = {'shapes': 50, 'bccd': 26}  # main job: 400 images / batch 8; BCCD: ceil(205 / 8)


def bccd_config(method: str) -> str:
    return f'configs/bccd/faster-rcnn_mobilenetv2_fpn_{method}-1x_bccd.py'


def method_delta(cfg, family: str) -> Dict[str, Any]:
    """What a method changes: RoI head type, RoI classification loss, distillation term, custom hooks (MrKD's
    interval in epochs) and the train batch sampler (CS-KD's ClassPairBatchSampler)."""
    hooks = [dict(hook) for hook in cfg.get('custom_hooks', [])]
    for hook in hooks:
        if hook['type'] == 'MrKDHook':
            hook['interval'] /= MRKD_EPOCH_ITERS[family]
    distill_loss = cfg.model.roi_head.get('distill_loss')
    return dict(
        roi_head=cfg.model.roi_head.type,
        loss_cls=cfg.model.roi_head.bbox_head.loss_cls.to_dict(),
        distill_loss=None if distill_loss is None else dict(distill_loss),
        custom_hooks=hooks,
        batch_sampler=cfg.train_dataloader.get('batch_sampler'),
    )


def without_delta(cfg) -> dict:
    """The config less the method's delta (and the work dir named after the file)."""
    d = cfg.to_dict()
    d.pop('work_dir')
    d['model']['roi_head'].pop('type')
    d['model']['roi_head'].pop('distill_loss', None)
    d['model']['roi_head']['bbox_head'].pop('loss_cls')
    d.pop('custom_hooks', None)
    d['train_dataloader'].pop('batch_sampler', None)
    return d


@pytest.fixture(scope='module')
def base():
    return load_config(str(REPO / BCCD_BASE))


@pytest.mark.parametrize('method', METHODS)
def test_bccd_config_is_base_plus_the_shapes_delta(base, method):
    cfg = load_config(str(REPO / bccd_config(method)))
    assert method_delta(cfg, 'bccd') == method_delta(load_config(config_path(SHAPES[method])), 'shapes')
    assert method_delta(cfg, 'bccd') != method_delta(base, 'bccd')
    assert without_delta(cfg) == without_delta(base)
    num_classes = (cfg.model.roi_head.get('distill_loss') or {}).get('num_classes')
    assert num_classes in (None, cfg.model.roi_head.bbox_head.num_classes) and len(cfg.metainfo.classes) == 3


@pytest.mark.parametrize('method', ('baseline',) + METHODS)
def test_bccd_config_builds(method):
    cfg = load_config(str(REPO / (BCCD_BASE if method == 'baseline' else bccd_config(method))))
    register_all_modules()
    model = MODELS.build(cfg.model)
    assert type(model.roi_head) is MODELS.get(cfg.model.roi_head.type)
    assert type(model.roi_head.bbox_head.loss_cls) is MODELS.get(cfg.model.roi_head.bbox_head.loss_cls.type)
    assert model.roi_head.bbox_head.num_classes == 3
    hook_cfgs = cfg.get('custom_hooks', [])
    assert [type(HOOKS.build(hook)) for hook in hook_cfgs] == [HOOKS.get(hook.type) for hook in hook_cfgs]
