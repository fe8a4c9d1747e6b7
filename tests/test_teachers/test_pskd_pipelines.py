"""Which train pipelines the gt/iou memories can follow across passes: boxes mapped back to the original
image through crops and several resizes (mmdet's homography_matrix), refusals at start for what cannot be
mapped, and every draw of a shuffled RepeatDataset taught, through the real runner."""

import json
import os
from collections import Counter

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmdet_selfkd.teachers import to_original_coords
from mmdet_selfkd.teachers.pipeline_check import check_train_pipeline

from conftest import PSKD_CFG, tiny_options

OWNER = "PSKDHook(memory=dict(strategy='gt'))"
META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip', 'flip_direction')
HOMOGRAPHY = META_KEYS + ('homography_matrix',)
LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
CROP = [
    dict(type='RandomResize', scale=(320, 320), ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(240, 240)),
    dict(type='RandomFlip', prob=0.5),
]
TWO_RESIZES = [
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='RandomFlip', prob=1.0),
    dict(type='Resize', scale=(200, 200), keep_ratio=False),
]


def dataset(shapes_root, transforms, meta_keys=HOMOGRAPHY):
    from mmdet.registry import DATASETS

    init_default_scope('mmdet')
    cfg = Config.fromfile(PSKD_CFG)
    cfg.merge_from_dict(tiny_options(shapes_root))
    cfg.train_dataloader.dataset.pipeline = LOAD + transforms + [dict(type='PackDetInputs', meta_keys=meta_keys)]
    return DATASETS.build(cfg.train_dataloader.dataset)


def annotations(shapes_root, img_id):
    with open(os.path.join(shapes_root, 'annotations/train.json')) as f:
        coco = json.load(f)
    boxes = [(a['bbox'], a['category_id']) for a in coco['annotations'] if a['image_id'] == img_id]
    return torch.tensor([[x, y, x + w, y + h] for (x, y, w, h), _ in boxes])


@pytest.mark.parametrize('transforms', [CROP, TWO_RESIZES], ids=['resize-crop-flip', 'two-resizes-flip'])
def test_boxes_map_back_through_crops_and_several_resizes(shapes_root, transforms):
    data = dataset(shapes_root, transforms)
    check_train_pipeline(data, OWNER)  # accepted: homography_matrix is packed
    exact = 0
    for index in range(len(data)):
        torch.manual_seed(index)
        sample = data[index]['data_samples']
        boxes, (height, width) = sample.gt_instances.bboxes.tensor, sample.metainfo['img_shape']
        original = annotations(shapes_root, sample.metainfo['img_id'])
        mapped = to_original_coords(boxes, sample.metainfo)
        inside = (boxes[:, 0] > 0) & (boxes[:, 1] > 0) & (boxes[:, 2] < width) & (boxes[:, 3] < height)
        for box in mapped[inside]:  # not clipped by the crop: the annotation itself, to float precision
            assert (box - original).abs().max(1).values.min() < 0.05
            exact += 1
        for box in mapped[~inside]:  # clipped: inside its annotation
            containing = ((box[:2] >= original[:, :2] - 0.05) & (box[2:] <= original[:, 2:] + 0.05)).all(1)
            assert containing.any()
    assert exact >= len(data)  # the test saw many unclipped boxes


def test_without_homography_two_resizes_cannot_be_undone(shapes_root):
    data = dataset(shapes_root, TWO_RESIZES, meta_keys=META_KEYS)
    sample = data[0]['data_samples']
    # the flip and the last scale_factor alone do not give the annotation back: the check is needed
    mapped = to_original_coords(sample.gt_instances.bboxes.tensor, sample.metainfo)
    assert (mapped - annotations(shapes_root, sample.metainfo['img_id'])).abs().max() > 5
    with pytest.raises(ValueError, match=r"2 resizes.*'homography_matrix'"):
        check_train_pipeline(data, OWNER)
    with pytest.raises(ValueError, match=r"RandomCrop.*PackDetInputs.*'homography_matrix'"):
        check_train_pipeline(dataset(shapes_root, CROP, meta_keys=META_KEYS), OWNER)
    # one resize and flips: undone from scale_factor and flip, no homography needed
    check_train_pipeline(dataset(shapes_root, TWO_RESIZES[:2], meta_keys=META_KEYS), OWNER)


@pytest.mark.parametrize(
    'transform',
    [
        dict(type='Expand', mean=(0, 0, 0), ratio_range=(1, 2)),
        dict(type='MinIoURandomCrop'),
        dict(type='RandomAffine', max_rotate_degree=5),
    ],
)
def test_transforms_that_move_boxes_unrecorded_are_refused_by_name(shapes_root, transform):
    data = dataset(shapes_root, [transform, dict(type='Resize', scale=(160, 160), keep_ratio=True)])
    with pytest.raises(ValueError, match=rf"{transform['type']}.*strategy='snapshot'.*trusted_transforms"):
        check_train_pipeline(data, OWNER)


def test_wrapped_and_trusted_transforms(shapes_root):
    # a crop inside AutoAugment's policies is found; a transform the user declares box-preserving passes
    policies = [[dict(type='Resize', scale=(160, 160), keep_ratio=True)], [dict(type='RandomCrop', crop_size=(90, 90))]]
    with pytest.raises(ValueError, match='RandomCrop'):
        check_train_pipeline(dataset(shapes_root, [dict(type='AutoAugment', policies=policies)], META_KEYS), OWNER)
    expand = dataset(shapes_root, [dict(type='Expand', mean=(0, 0, 0))])
    check_train_pipeline(expand, OWNER, trusted=('Expand',))


def pskd_runner(shapes_root, work_dir, **options) -> Runner:
    cfg = Config.fromfile(PSKD_CFG)
    cfg.merge_from_dict(tiny_options(shapes_root, **options))
    cfg.work_dir = str(work_dir)
    return Runner.from_cfg(cfg)


def test_the_hook_refuses_an_unmappable_pipeline_at_start(shapes_root, tmp_path):
    runner = pskd_runner(shapes_root, tmp_path)
    runner.cfg.train_dataloader.dataset.pipeline = LOAD + CROP + [dict(type='PackDetInputs')]
    runner = Runner.from_cfg(runner.cfg)
    with pytest.raises(
        ValueError, match=r"PSKDHook\(memory=dict\(strategy='gt'\)\): the train pipeline has RandomCrop"
    ):
        runner.train()


class DrawProbe(Hook):
    """After PSKDHook has closed finished passes: for each drawn image, its pass and whether the memory
    holds a teacher for it."""

    priority = 'LOW'

    def __init__(self):
        self.draws = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        hook = next(h for h in runner.hooks if type(h).__name__ == 'PSKDHook')
        for sample in data_batch['data_samples']:
            key = sample.metainfo['img_path']
            self.draws.append((hook.open_pass, key, (0, 'gt', key) in hook.teacher.prev_preds))


@pytest.mark.slow
def test_every_draw_of_a_shuffled_repeat_dataset_is_taught(shapes_root, tmp_path):
    # 16 images, RepeatDataset(times=3), batch 4: an epoch is 12 iterations = 3 passes of 4; 2 epochs: T = 6
    runner = pskd_runner(shapes_root, tmp_path, **{'train_cfg.max_epochs': 2})
    cfg = runner.cfg
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=3, dataset=cfg.train_dataloader.dataset)
    runner = Runner.from_cfg(cfg)
    probe = DrawProbe()
    runner.register_hook(probe)
    runner.train()
    draws = Counter((pass_, key) for pass_, key, _ in probe.draws)
    assert {pass_ for pass_, _ in draws} == set(range(6))
    # a draw has a teacher exactly when its image was drawn (so recorded) in an earlier pass, whatever
    # happened earlier in its own pass: second draws of a pass included
    drawn_before = {p: {key for pass_, key, _ in probe.draws if pass_ < p} for p in range(6)}
    for pass_, key, has in probe.draws:
        assert has == (key in drawn_before[pass_]), (pass_, key)
    repeats = [(pass_, key) for (pass_, key), n in draws.items() if n >= 2 and key in drawn_before[pass_]]
    assert repeats  # the shuffle drew some recorded image twice in one pass: both draws were taught
    assert sum(has for _, _, has in probe.draws) > 0.8 * sum(pass_ >= 1 for pass_, _, _ in probe.draws)
