"""torchvision ImageNet MobileNetV2 -> mmdet MobileNetV2 conversion, the
``TVMobileNetV2`` backbone and the BCCD Faster R-CNN config."""

import importlib.util
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import MobileNetV2

from mmdet_selfkd.models.backbones import (
    TVMobileNetV2,
    convert_torchvision_mobilenet_v2,
    get_tv_mobilenet_v2_path,
    load_tv_mobilenet_v2,
    load_tv_mobilenet_v2_state_dict,
)

from conftest import REPO as REPO_PATH

REPO = str(REPO_PATH)
CONFIG = osp.join(REPO, 'configs', 'bccd', 'faster-rcnn_mobilenetv2_fpn_1x_bccd.py')
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'tv_mobilenet_v2_to_mmdet.py')


@pytest.fixture(scope='module')
def tv_sd():
    return load_tv_mobilenet_v2_state_dict()


@pytest.fixture(scope='module')
def converted(tv_sd):
    return convert_torchvision_mobilenet_v2(tv_sd)


# ---------------------------------------------------------------- reference
# torchvision.models.mobilenet_v2 (width 1.0) written with functional ops,
# reading the *raw torchvision* state dict (torchvision is not installed).
TV_SETTINGS = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


def _bn(x, sd, p):
    return F.batch_norm(
        x, sd[p + 'running_mean'], sd[p + 'running_var'], sd[p + 'weight'], sd[p + 'bias'], False, 0.0, 1e-5
    )


def _conv_bn(x, sd, p, stride=1, groups=1, act=True):
    w = sd[p + '0.weight']
    x = F.conv2d(x, w, None, stride, w.shape[-1] // 2, 1, groups)
    x = _bn(x, sd, p + '1.')
    return F.relu6(x) if act else x


def tv_reference_features(sd, x):
    """Outputs after every torchvision `features` stage (layer1..7, conv2)."""
    x = _conv_bn(x, sd, 'features.0.', stride=2)
    outs, idx, cin = [], 1, 32
    for t, c, n, s in TV_SETTINGS:
        for i in range(n):
            p, stride = f'features.{idx}.conv.', s if i == 0 else 1
            y, j = x, 0
            if t != 1:
                y = _conv_bn(y, sd, p + '0.')
                j = 1
            hidden = y.shape[1]
            y = _conv_bn(y, sd, f'{p}{j}.', stride=stride, groups=hidden)
            y = F.conv2d(y, sd[f'{p}{j + 1}.weight'])
            y = _bn(y, sd, f'{p}{j + 2}.')
            x = x + y if stride == 1 and cin == c else y
            cin, idx = c, idx + 1
        outs.append(x)
    x = _conv_bn(x, sd, 'features.18.')
    outs.append(x)
    return outs


# -------------------------------------------------------------- conversion
def test_packaged_file_and_key_coverage(tv_sd, converted):
    assert osp.basename(get_tv_mobilenet_v2_path()) == 'mobilenet_v2-b0353104.pth'
    assert len(tv_sd) == 314
    model_sd = MobileNetV2(out_indices=(1, 2, 4, 7)).state_dict()
    assert len(converted) == len(model_sd) == 312
    assert set(converted) == set(model_sd)
    assert not any(k.startswith('classifier') for k in converted)
    for k, v in model_sd.items():
        assert converted[k].shape == v.shape, k
    # strict load also works for a backbone without conv2 in out_indices
    for out_indices in [(1, 2, 4, 7), (2, 4, 6, 7), (2, 4)]:
        m = MobileNetV2(out_indices=out_indices)
        res = m.load_state_dict(converted, strict=True)
        assert not res.missing_keys and not res.unexpected_keys
    # spot checks of the mapping
    assert converted['conv1.conv.weight'] is tv_sd['features.0.0.weight']
    assert converted['layer1.0.depthwise_conv.bn.running_var'] is tv_sd['features.1.conv.0.1.running_var']
    assert converted['layer1.0.linear_conv.conv.weight'] is tv_sd['features.1.conv.1.weight']
    assert converted['layer2.0.expand_conv.conv.weight'] is tv_sd['features.2.conv.0.0.weight']
    assert converted['layer4.3.linear_conv.bn.bias'] is tv_sd['features.10.conv.3.bias']
    assert converted['layer7.0.depthwise_conv.conv.weight'] is tv_sd['features.17.conv.1.0.weight']
    assert converted['conv2.bn.weight'] is tv_sd['features.18.1.weight']


def test_converter_accepts_wrappers_and_rejects_unknown(tv_sd, converted):
    wrapped = {'state_dict': {'module.' + k: v for k, v in tv_sd.items()}}
    assert list(convert_torchvision_mobilenet_v2(wrapped)) == list(converted)
    with pytest.raises(KeyError, match='features.19'):
        convert_torchvision_mobilenet_v2({**tv_sd, 'features.19.0.weight': torch.zeros(1)})


def test_strict_loader_reports_missing_and_mismatched(tv_sd):
    m = MobileNetV2()
    partial = {k: v for k, v in tv_sd.items() if k != 'features.5.conv.2.weight'}
    with pytest.raises(
        RuntimeError,
        match=r'missing keys.*'
        r'layer3\.1\.linear_conv\.conv\.weight',
    ):
        load_tv_mobilenet_v2(m, partial, logger=None)
    bad = dict(tv_sd)
    bad['features.18.1.bias'] = torch.zeros(3)
    with pytest.raises(RuntimeError, match=r'shape mismatches.*conv2\.bn'):
        load_tv_mobilenet_v2(m, bad, logger=None)
    with pytest.raises(RuntimeError, match='shape mismatches'):
        load_tv_mobilenet_v2(MobileNetV2(widen_factor=0.5), tv_sd, logger=None)


@torch.no_grad()
def test_numerical_equivalence_with_torchvision_forward(tv_sd):
    backbone = TVMobileNetV2(out_indices=tuple(range(8)))
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    ours = backbone(x)
    ref = tv_reference_features(tv_sd, x)
    assert [o.shape[1] for o in ours] == [16, 24, 32, 64, 96, 160, 320, 1280]
    for i, (a, b) in enumerate(zip(ours, ref)):
        assert a.shape == b.shape, i
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert ref[-1].abs().mean() > 0.01  # not a trivially-zero comparison


def test_tv_backbone_arguments(tmp_path):
    m = TVMobileNetV2(init_cfg=dict(type='Pretrained', checkpoint='tv-mobilenet-v2'))
    assert m.pretrained_tv and m.init_cfg != dict(type='Pretrained', checkpoint='tv-mobilenet-v2')
    with pytest.raises(ValueError, match='pretrained_tv=False'):
        TVMobileNetV2(init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
    with pytest.raises(ValueError, match='widen_factor'):
        TVMobileNetV2(widen_factor=0.5)
    plain = TVMobileNetV2(pretrained_tv=False)
    plain.init_weights()  # random init, no file needed
    # explicit torchvision-format path
    path = str(tmp_path / 'tv.pth')
    torch.save(load_tv_mobilenet_v2_state_dict(), path)
    m2 = TVMobileNetV2(tv_checkpoint=path)
    m2.init_weights()
    torch.testing.assert_close(m2.conv2.conv.weight, load_tv_mobilenet_v2_state_dict()['features.18.0.weight'])


def test_cli_converter_output_loads_in_stock_backbone(tmp_path, converted):
    spec = importlib.util.spec_from_file_location('tv_mnv2_cli', CONVERTER)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'mnv2_mmdet.pth')
    cli.main([out])
    ckpt = torch.load(out, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert list(ckpt['state_dict']) == list(converted)
    # documented usage: stock mmdet MobileNetV2 + Pretrained init_cfg
    m = MobileNetV2(out_indices=(1, 2, 4, 7), init_cfg=dict(type='Pretrained', checkpoint=out))
    m.init_weights()
    for k, v in m.state_dict().items():
        assert torch.equal(v, converted[k]), k
    out2 = str(tmp_path / 'prefixed.pth')
    cli.main([out2, '--prefix', 'backbone.'])
    sd2 = torch.load(out2, map_location='cpu', weights_only=True)['state_dict']
    assert all(k.startswith('backbone.') for k in sd2) and len(sd2) == 312


# ------------------------------------------------------------------ config
@pytest.fixture(scope='module')
def cfg():
    from mmengine.config import Config

    return Config.fromfile(CONFIG)


def test_config_contents(cfg):
    assert cfg.model.backbone.type == 'TVMobileNetV2'
    assert cfg.model.backbone.out_indices == (1, 2, 4, 7)
    assert cfg.model.neck.in_channels == [24, 32, 96, 1280]
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert 'init_cfg' not in cfg.model.backbone
    assert cfg.custom_imports.imports == ['mmdet_selfkd']
    for split, dl in [('train', cfg.train_dataloader), ('val', cfg.val_dataloader), ('test', cfg.test_dataloader)]:
        ds = dl.dataset
        assert ds.type == 'CocoDataset'
        assert ds.metainfo['classes'] == ('RBC', 'WBC', 'Platelets')
        assert osp.isabs(ds.ann_file)
        assert osp.normpath(ds.ann_file) == osp.join(REPO, 'data', 'bccd_coco', f'{split}.json')
        assert osp.normpath(ds.data_root) == osp.normpath(osp.join(REPO, '..', 'shared', 'data', 'bccd', 'BCCD'))
    assert osp.normpath(cfg.val_evaluator.ann_file).endswith('val.json')
    assert osp.normpath(cfg.test_evaluator.ann_file).endswith('test.json')
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.01)


def test_detector_builds_inits_and_trains_one_step(cfg, converted):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules

    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    bb = model.backbone
    assert isinstance(bb, TVMobileNetV2)
    for k, v in bb.state_dict().items():
        assert torch.equal(v, converted[k]), k
    # strides of the backbone features match the inherited anchor strides
    feats = bb(torch.zeros(1, 3, 64, 64))
    assert [64 // f.shape[-1] for f in feats] == list(cfg.model.roi_head.bbox_roi_extractor.featmap_strides)
    assert [f.shape[1] for f in feats] == cfg.model.neck.in_channels

    model.train()
    assert not bb.layer1.training and not bb.layer3[0].expand_conv.bn.training
    packed = demo_mm_inputs(batch_size=2, image_shapes=(3, 240, 320), num_items=[3, 2], num_classes=3)
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is None for p in bb.conv1.parameters())
    assert all(p.grad is None for p in bb.layer1.parameters())
    assert bb.layer7[0].linear_conv.conv.weight.grad is not None
    assert bb.conv2.conv.weight.grad.abs().sum() > 0
    assert model.neck.lateral_convs[0].conv.weight.grad is not None
    # BN statistics are frozen (norm_eval=True)
    torch.testing.assert_close(bb.conv2.bn.running_mean, converted['conv2.bn.running_mean'])


def test_dataset_paths_resolve_on_real_images(cfg, tmp_path):
    """A COCO json whose file_name is relative to the VOC root (as written by
    tools/dataset_converters/voc_to_coco.py) loads through the config's
    data_root/data_prefix and test pipeline."""
    data_root = cfg.test_dataloader.dataset.data_root
    img = osp.join(data_root, 'JPEGImages', 'BloodImage_00000.jpg')
    if not osp.isfile(img):
        pytest.skip('BCCD images not available')
    from mmdet.registry import DATASETS

    ann = {
        'images': [dict(id=0, file_name='JPEGImages/BloodImage_00000.jpg', width=640, height=480)],
        'annotations': [dict(id=1, image_id=0, category_id=1, bbox=[10, 20, 100, 80], area=8000, iscrowd=0)],
        'categories': [dict(id=i + 1, name=n) for i, n in enumerate(('RBC', 'WBC', 'Platelets'))],
    }
    ann_file = tmp_path / 'test.json'
    ann_file.write_text(json.dumps(ann))
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg.ann_file = str(ann_file)
    ds = DATASETS.build(ds_cfg)
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 480, 640)
    assert item['data_samples'].gt_instances.labels.tolist() == [0]
