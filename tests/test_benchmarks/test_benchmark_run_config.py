"""The config of one benchmark run (benchmarks/selfkd/run_config.py): the schedule scaled to the mode's epochs,
variants on their method's config, --cfg-options for every method, the evaluator that saves the D-ECE set and
the held-out detections, and Aquarium's lite run config on the real data."""

import json

from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules

from conftest import AQUARIUM_ROOT, needs_aquarium
from selfkd.cli import parse_args, resolve_settings
from selfkd.data import PreparedData, prepare_aquarium
from selfkd.families import FAMILIES
from selfkd.modes import BENCHMARK_METHODS, SHAPES_MODES
from selfkd.run_config import build_run_config, run_spec


def test_shapes_schedule_unchanged_at_its_epochs(tmp_path):
    """Scaling the schedule is the identity at the config's own epochs (the shapes cpu-reduced / full runs)."""
    settings = SHAPES_MODES['cpu-reduced']
    data = PreparedData({}, train_images=200, test_images=50)
    cfg = build_run_config(run_spec(str(tmp_path), FAMILIES['shapes'], 'baseline', 0, settings, data))
    warmup, steps = cfg.param_scheduler
    assert (warmup.end, steps.milestones, steps.end) == (100, [6], 8)
    (calibration,) = [e for e in cfg.test_evaluator if e.type == 'DetectionCalibrationMetric']
    assert calibration.pairs_file == str(tmp_path / 'runs' / 'baseline' / 'seed0' / 'pairs.npz')
    assert calibration.dets_file == str(tmp_path / 'runs' / 'baseline' / 'seed0' / 'dets.pkl')


def test_cfg_options_reach_every_method_config(tmp_path):
    args = ['--family', 'bccd', '--methods', 'pskd', '--cfg-options']
    settings = resolve_settings(
        parse_args(args + ['optim_wrapper.optimizer.lr=0.005', 'model.train_cfg.rcnn.sampler.num=64'])
    )
    data = PreparedData({}, train_images=205, test_images=72)
    for method in settings.methods:
        cfg = build_run_config(run_spec(str(tmp_path), FAMILIES['bccd'], method, 0, settings, data))
        assert cfg.optim_wrapper.optimizer.lr == 0.005 and cfg.model.train_cfg.rcnn.sampler.num == 64


def test_a_variant_runs_its_method_config_with_its_options(tmp_path):
    settings = resolve_settings(
        parse_args(
            ['--mode', 'cpu-reduced', '--methods', 'pskd', '--epochs', '4']
            + ['--variant', 'pskd-a0.4', 'pskd', 'custom_hooks.0.alpha_T=0.4']
        )
    )
    data = PreparedData({}, train_images=200, test_images=50)
    specs = {
        m: json.loads(json.dumps(run_spec(str(tmp_path), FAMILIES['shapes'], m, 0, settings, data)))
        for m in ('pskd', 'pskd-a0.4')
    }
    assert specs['pskd-a0.4']['config'] == specs['pskd']['config'] == FAMILIES['shapes'].configs['pskd']
    assert specs['pskd-a0.4']['work_dir'].endswith('runs/pskd-a0.4/seed0')
    configs = {m: build_run_config(spec) for m, spec in specs.items()}
    assert configs['pskd'].custom_hooks[0].alpha_T == 0.8 and configs['pskd-a0.4'].custom_hooks[0].alpha_T == 0.4
    for cfg in configs.values():  # --epochs 4: the shapes config's 8 epochs halved, the schedule with them
        warmup, steps = cfg.param_scheduler
        assert cfg.train_cfg.max_epochs == 4 and (warmup.end, steps.milestones, steps.end) == (50, [3], 4)


def test_plateau_mode_trains_16_epochs_of_the_lite_model_with_a_frozen_backbone_and_one_roialign_sample(tmp_path):
    """The plateau mode's run config: the lite model's widths, 16 epochs (LR steps at 8 and 11 of 12 scaled to 11
    and 15), the backbone trainable from layer 5 on (stride 16's second half), RoIAlign at one sample per bin,
    1000/500 training proposals, 64 RoIs."""
    settings = resolve_settings(parse_args(['--family', 'bccd', '--mode', 'plateau', '--methods', 'pskd']))
    assert settings.methods == ('baseline', 'pskd') and settings.img_scale == (320, 240)
    data = PreparedData({}, train_images=205, test_images=72)
    cfg = build_run_config(run_spec(str(tmp_path), FAMILIES['bccd'], 'pskd', 0, settings, data))
    warmup, steps = cfg.param_scheduler
    assert cfg.train_cfg.max_epochs == 16 and (warmup.end, steps.milestones) == (67, [11, 15])
    assert (cfg.model.neck.out_channels, cfg.model.roi_head.bbox_head.fc_out_channels) == (64, 256)
    rpn_proposal = cfg.model.train_cfg.rpn_proposal
    assert (rpn_proposal.nms_pre, rpn_proposal.max_per_img, cfg.model.train_cfg.rcnn.sampler.num) == (1000, 500, 64)
    register_all_modules()
    cfg.model.backbone.pretrained_tv = False  # the freezing, not the weights, is under test
    model = MODELS.build(cfg.model)
    model.train()
    trainable = {name.split('.')[0] for name, p in model.backbone.named_parameters() if p.requires_grad}
    assert trainable == {'layer5', 'layer6', 'layer7', 'conv2'}
    assert [layer.sampling_ratio for layer in model.roi_head.bbox_roi_extractor.roi_layers] == [1, 1, 1, 1]


@needs_aquarium
def test_aquarium_lite_run_config(tmp_path):
    """Aquarium's YOLO splits converted, every method config pointed at them, the lite model built on them."""
    family = FAMILIES['aquarium']
    assert set(family.configs) == set(BENCHMARK_METHODS)
    data = prepare_aquarium(str(tmp_path / 'data'), family.modes['lite'], str(AQUARIUM_ROOT))
    assert (data.train_images, data.test_images) == (448, 63)
    spec = run_spec(
        str(tmp_path),
        family,
        'pskd-fg',
        0,
        resolve_settings(parse_args(['--family', 'aquarium', '--mode', 'lite'])),
        data,
    )
    cfg = build_run_config(json.loads(json.dumps(spec)))
    assert cfg.model.roi_head.distill_loss.foreground_teacher is True  # the variant's option
    assert cfg.model.roi_head.bbox_head.fc_out_channels == 256 and cfg.model.roi_head.bbox_head.num_classes == 7
    assert cfg.test_dataloader.dataset.ann_file == data.options['test_evaluator.ann_file']
    register_all_modules()
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 63 and max(test_set[0]['inputs'].shape[1:]) == 320
