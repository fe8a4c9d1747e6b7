"""The benchmark's families and their data (benchmarks/selfkd/data.py, families.py): BCCD converted by the
benchmark's own preparation from the folder the environment names, its options, and a BCCD cpu-reduced run
config built on it (no BCCD training: one BCCD epoch takes ~85 s on 2 CPU cores)."""

import json
import math
import os.path as osp

import pytest
from mmdet.registry import DATASETS
from mmdet.utils import register_all_modules

from conftest import BCCD_VOC_ROOT, REPO, needs_bccd
from selfkd.data import prepare_bccd, prepare_shapes
from selfkd.families import FAMILIES
from selfkd.modes import BCCD_MODES, BENCHMARK_METHODS, SHAPES_MODES, STUDY_METHODS
from selfkd.run_config import build_run_config, run_spec


@pytest.fixture(scope='module')
def bccd_data(tmp_path_factory):
    """BCCD converted by the benchmark's own preparation, as for a cpu-reduced run."""
    data_dir = tmp_path_factory.mktemp('bench_data')
    return str(data_dir), prepare_bccd(str(data_dir), BCCD_MODES['cpu-reduced'], str(BCCD_VOC_ROOT))


@needs_bccd
def test_prepare_bccd_converts_the_real_splits(bccd_data):
    data_dir, data = bccd_data
    assert (data.train_images, data.test_images) == (205, 72)
    for split, images in [('train', 205), ('val', 87), ('test', 72)]:
        with open(osp.join(data_dir, 'bccd_coco', f'{split}.json')) as f:
            coco = json.load(f)
        assert len(coco['images']) == images
        assert [(c['id'], c['name']) for c in coco['categories']] == [(1, 'RBC'), (2, 'WBC'), (3, 'Platelets')]


@needs_bccd
def test_bccd_options_point_at_the_converted_splits(bccd_data):
    data_dir, data = bccd_data
    ann = {split: osp.join(data_dir, 'bccd_coco', f'{split}.json') for split in ('train', 'val', 'test')}
    for loader, split in [('train_dataloader', 'train'), ('val_dataloader', 'val'), ('test_dataloader', 'test')]:
        assert data.options[f'{loader}.dataset.ann_file'] == ann[split]
        assert osp.samefile(data.options[f'{loader}.dataset.data_root'], BCCD_VOC_ROOT)
    assert data.options['val_evaluator.ann_file'] == ann['val']
    assert data.options['test_evaluator.ann_file'] == ann['test']  # the held-out split


@needs_bccd
@pytest.mark.parametrize('method', ['baseline', 'mrkd'])
def test_bccd_cpu_reduced_run_config(bccd_data, tmp_path, method):
    """The merged config of a cpu-reduced run: data, image scale, lighter RoI stage, scaled schedule."""
    data_dir, data = bccd_data
    settings = BCCD_MODES['cpu-reduced']
    spec = run_spec(str(tmp_path), FAMILIES['bccd'], method, 1, settings, data)
    cfg = build_run_config(json.loads(json.dumps(spec)))  # as the worker reads it
    assert cfg.train_cfg.max_epochs == 2 and cfg.randomness.seed == 1
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_dataloader.num_workers == 0
    assert cfg.model.train_cfg.rcnn.sampler.num == 128 and cfg.model.test_cfg.rpn.max_per_img == 300
    warmup, steps = cfg.param_scheduler
    assert warmup.end == 8  # 50 of 12 epochs' iterations -> 50 * 2 / 12
    assert steps.milestones == [1, 2] and steps.end == 2  # [8, 11] of 12 epochs
    evaluators = {e.type: e for e in cfg.test_evaluator}
    assert evaluators['CocoMetric'].ann_file == data.options['test_evaluator.ann_file']
    assert evaluators['DetectionCalibrationMetric'].pairs_file == osp.join(spec['work_dir'], 'pairs.npz')

    register_all_modules()
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 72
    assert tuple(test_set[0]['inputs'].shape) == (3, 192, 256)  # 640x480 resized to the mode's 256x192
    train_steps = [step for step in cfg.train_dataloader.dataset.pipeline if step.type == 'Resize']
    assert [step.scale for step in train_steps] == [(256, 192)]
    if method == 'mrkd':  # one copy refreshed per epoch: 205 images at batch 8
        assert cfg.custom_hooks[0].interval == math.ceil(data.train_images / settings.batch_size) == 26


def test_bccd_modes_and_methods():
    family = FAMILIES['bccd']
    assert set(family.configs) == set(BENCHMARK_METHODS)
    assert all((REPO / path).is_file() for path in family.configs.values())  # each builds: test_bccd_configs.py
    for name, settings in family.modes.items():
        assert settings.train_images is None and settings.val_images is None  # all of BCCD's images
        assert len(settings.seeds) == 3
        assert settings.methods == (STUDY_METHODS if name in ('lite', 'plateau') else BENCHMARK_METHODS)
    full = family.modes['full']
    assert full.img_scale is None and full.epochs == 12 and not full.cpu_only and not full.cfg_options


def test_shapes_configs_are_the_main_jobs_and_take_no_data_root(tmp_path):
    assert all((REPO / path).is_file() for path in FAMILIES['shapes'].configs.values())
    assert FAMILIES['shapes'].configs['pskd'] == 'configs/pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py'
    with pytest.raises(ValueError, match='data_root=.*give no data root'):
        prepare_shapes(str(tmp_path), SHAPES_MODES['cpu-tiny'], '/some/shapes')
