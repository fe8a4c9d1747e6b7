"""The three memory strategies on real sampling results of an mmdet RoI head, and the coordinate
round trips (resize, flip) that let a prediction find its proposal again a pass later."""

import json
import os
from dataclasses import replace

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

from mmdet_selfkd.engine import PSKDHook
from mmdet_selfkd.engine.hooks.pskd_hook import strategy_teacher
from mmdet_selfkd.models.selfkd_head import ALPHA_T
from mmdet_selfkd.teachers import (
    TEACHERS,
    GTMemory,
    IoUMemory,
    RoIBatch,
    SnapshotTeacher,
    TeacherTargets,
    to_original_coords,
)

from conftest import PSKD_CFG, tiny_options

NUM_LOGITS = 4  # 3 shape classes + background


class BatchRecorder:
    """Stands in for a teacher inside a real SelfKDRoIHead: keeps the RoIBatch it is shown."""

    def __init__(self):
        self.batches = []

    def __call__(self, batch):
        self.batches.append(batch)
        n = batch.rois.size(0)
        return TeacherTargets(torch.zeros(n, NUM_LOGITS), torch.zeros(n, dtype=torch.bool))


def bound(teacher, num_logits=NUM_LOGITS):
    """A teacher bound to ``num_logits`` probabilities per row, as PSKDHook binds it."""
    teacher.bind(None, num_logits)
    return teacher


def with_probs(batch, probs):
    """The batch as a head shows it: the student's probabilities ``probs`` (N, K) of its rows."""
    images, offset = [], 0
    for img in batch.images:
        images.append(replace(img, pos_probs=probs[offset : offset + img.pos_boxes.size(0)]))
        offset += img.num_rois
    return RoIBatch(batch.stage, images, batch.rois, probs)


def split_rows(batch, rows):
    """A (N, ...) tensor in logits order, split per image."""
    return list(torch.split(rows, [img.num_rois for img in batch.images]))


def build(shapes_root, flip_prob=0.5, scale=(160, 160)):
    from mmdet.registry import DATASETS, MODELS

    init_default_scope('mmdet')
    cfg = Config.fromfile(PSKD_CFG)
    cfg.merge_from_dict(tiny_options(shapes_root))
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[2].scale, pipeline[3].prob = scale, flip_prob
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    MessageHub.get_current_instance().update_info(ALPHA_T, 0.0)
    return model, dataset


def sampled_batch(model, dataset, indices=(0, 1, 2, 3)):
    """Run the real model on real images; return the RoIBatch its RoI head built."""
    recorder = BatchRecorder()
    model.roi_head.teacher = recorder
    data_batch = pseudo_collate([dataset[i] for i in indices])
    data = model.data_preprocessor(data_batch, True)
    model.loss(data['inputs'], data['data_samples'])
    return recorder.batches[0], data_batch


@pytest.fixture(scope='module')
def real(shapes_root):
    model, dataset = build(shapes_root)
    batch, data_batch = sampled_batch(model, dataset)
    return model, dataset, batch, data_batch


def same_rows(a, b) -> bool:
    return torch.equal(a.values, b.values) and torch.equal(a.ids, b.ids)


def random_probs(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, NUM_LOGITS, generator=gen).softmax(1)


def test_gt_memory_teaches_the_mean_of_each_gts_positives(real):
    _, _, batch, _ = real
    probs = random_probs(batch.rois.size(0))
    memory = bound(GTMemory(topk=NUM_LOGITS))  # keep every class: exact up to fp16
    memory.record(with_probs(batch, probs))
    teacher, has = memory.teach(batch)
    assert not has.any()  # nothing is taught from the pass being recorded
    memory.end_pass()
    teacher, has = memory.teach(batch)
    offset = 0
    for img, img_probs in zip(batch.images, split_rows(batch, probs)):
        num_pos = img.pos_boxes.size(0)
        assert num_pos > 0
        for row in range(num_pos):
            same_gt = img.pos_gt_inds == img.pos_gt_inds[row]
            expected = img_probs[:num_pos][same_gt].mean(0)
            assert has[offset + row]
            assert torch.allclose(teacher[offset + row], expected, atol=2e-3)
        assert not has[offset + num_pos : offset + img.num_rois].any()  # negatives stay one-hot
        offset += img.num_rois


def test_iou_memory_matches_proposals_and_falls_back(real):
    _, _, batch, _ = real
    probs = random_probs(batch.rois.size(0), seed=1)
    memory = bound(IoUMemory(topk=NUM_LOGITS, iou_thr=0.9, fallback='gt'))
    memory.record(with_probs(batch, probs))
    memory.end_pass()
    teacher, has = memory.teach(batch)
    img, img_probs = batch.images[0], split_rows(batch, probs)[0]
    num_pos = img.pos_boxes.size(0)
    # the very same proposals come back: each is taught by its own prediction (IoU 1); proposals that
    # duplicate another one (a GT added as proposal and an identical RPN box) may take their twin's
    assert has[:num_pos].all()
    from mmdet.structures.bbox import bbox_overlaps

    twins = (bbox_overlaps(img.pos_boxes, img.pos_boxes) > 0.999).sum(1) > 1
    assert (~twins).sum() > 0
    assert torch.allclose(teacher[:num_pos][~twins], img_probs[:num_pos][~twins], atol=2e-3)
    # proposals with no stored proposal near them: the GT memory teaches (mean of the GT's positives)
    img = replace(img, pos_boxes=img.pos_boxes + torch.tensor([1000.0, 0.0, 1000.0, 0.0]))
    moved = RoIBatch(batch.stage, [img] + batch.images[1:], batch.rois)
    teacher, has = memory.teach(moved)
    gt_mean = torch.stack([img_probs[:num_pos][img.pos_gt_inds == g].mean(0) for g in img.pos_gt_inds])
    assert has[:num_pos].all()
    assert torch.allclose(teacher[:num_pos], gt_mean, atol=2e-3)
    onehot_fallback = bound(IoUMemory(iou_thr=0.9, fallback='onehot'))
    onehot_fallback.prev_preds = {k: v for k, v in memory.prev_preds.items() if k[1] == 'proposal'}
    assert not onehot_fallback.teach(moved)[1][:num_pos].any()


@pytest.mark.parametrize('flip_prob,scale', [(1.0, (320, 320)), (0.0, (80, 80))])
def test_stored_boxes_are_in_original_coordinates(shapes_root, flip_prob, scale):
    model, dataset = build(shapes_root, flip_prob=flip_prob, scale=scale)
    batch, data_batch = sampled_batch(model, dataset, indices=(0, 1))
    with open(os.path.join(shapes_root, 'annotations/train.json')) as f:
        coco = json.load(f)
    for img, sample in zip(batch.images, data_batch['data_samples']):
        assert sample.metainfo['flip'] == bool(flip_prob)
        img_id = sample.metainfo['img_id']
        boxes = [a['bbox'] for a in coco['annotations'] if a['image_id'] == img_id]
        expected = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes], dtype=torch.float32)
        # mmdet's own boxes went through Resize and RandomFlip; mapped back they are the annotations again
        assert torch.allclose(img.gt_boxes, expected, atol=1e-3)
        assert img.key == sample.metainfo['img_path']


def test_to_original_coords_vertical_and_diagonal_flips():
    meta = dict(img_shape=(100, 200), scale_factor=(2.0, 0.5), flip=True, flip_direction='diagonal')
    # original box (10, 40, 30, 60) -> resized (20, 20, 60, 30) -> diagonal flip in 200x100
    flipped = torch.tensor([[200 - 60.0, 100 - 30.0, 200 - 20.0, 100 - 20.0]])
    assert torch.allclose(to_original_coords(flipped, meta), torch.tensor([[10.0, 40.0, 30.0, 60.0]]))
    meta['flip_direction'] = 'vertical'
    assert torch.allclose(
        to_original_coords(torch.tensor([[20.0, 70.0, 60.0, 80.0]]), meta), torch.tensor([[10.0, 40.0, 30.0, 60.0]])
    )


def test_snapshot_scores_with_the_weights_of_the_previous_pass(real):
    model, _, batch, data_batch = real
    teacher = bound(SnapshotTeacher())
    assert not teacher.teach(batch)[1].any()  # first pass: no snapshot yet
    # the student's preprocessed inputs, as a random batch augmentation left them: the teacher must use
    # these, not run the data preprocessor on the raw batch again
    inputs = model.data_preprocessor(data_batch, True)['inputs'] * 0.5
    with torch.no_grad():
        model.eval()
        expected = model.roi_head._bbox_forward(model.extract_feat(inputs), batch.rois)['cls_score'].softmax(1)
        model.train()
    teacher.end_pass(model)
    with torch.no_grad():  # the live model moves on; the snapshot must not
        model.roi_head.bbox_head.fc_cls.weight.add_(1.0)
        model.extract_feat(inputs)  # the student's forward of this iteration
    probs, has = teacher.teach(batch)
    assert has.all() and torch.allclose(probs, expected, atol=1e-5)
    assert not teacher.snapshot.training  # eval mode: running BN statistics, batch-independent
    assert not any(k.startswith('snapshot') for k in model.state_dict())  # no leak into the model
    model.roi_head.bbox_head.fc_cls.weight.data.sub_(1.0)


def test_memory_state_round_trip_and_mismatch_errors(real):
    _, _, batch, _ = real
    memory = bound(IoUMemory())
    memory.record(with_probs(batch, random_probs(batch.rois.size(0))))
    memory.end_pass()
    first_two = RoIBatch(batch.stage, batch.images[:2], batch.rois)  # half of the next pass
    memory.record(with_probs(first_two, random_probs(sum(img.num_rois for img in batch.images[:2]), seed=3)))
    memory.sync()
    assert {k[2] for k in memory.cur_preds} == {img.key for img in batch.images[:2]}
    # teachers are kept after they teach: a second draw in this pass is taught by the same entry
    assert {k[2] for k in memory.prev_preds} == {img.key for img in batch.images}
    state = memory.state_dict()
    restored = bound(IoUMemory())
    restored.load_state_dict(state)
    assert restored.prev_preds.keys() == memory.prev_preds.keys()
    assert all(same_rows(restored.prev_preds[k], memory.prev_preds[k]) for k in memory.prev_preds)
    assert all(same_rows(restored.cur_preds[k], memory.cur_preds[k]) for k in memory.cur_preds)
    with pytest.raises(ValueError, match='num_logits=4 .* num_logits=9'):
        bound(IoUMemory(), 9).load_state_dict(state)
    with pytest.raises(ValueError, match="type='IoUMemory' .* type='GTMemory'"):
        bound(GTMemory()).load_state_dict(state)
    # a state saved by mmdet_selfkd 0.1 (strategy, num_classes meaning logits) loads as the same memory
    old = {k: v for k, v in state.items() if k not in ('type', 'num_logits')}
    old.update(strategy='iou', num_classes=NUM_LOGITS)
    converted = bound(IoUMemory())
    converted.load_state_dict(old)
    assert all(same_rows(converted.prev_preds[k], memory.prev_preds[k]) for k in memory.prev_preds)
    with pytest.raises(ValueError, match="type='IoUMemory' .* type='GTMemory'"):
        bound(GTMemory()).load_state_dict(old)


def test_memory_byte_count_and_bound(real):
    """The running byte count is exact, and the two buffers hold at most two entries per image: its
    latest finished-pass prediction (prev_preds) and the current pass's (cur_preds)."""
    _, _, batch, _ = real
    memory = bound(IoUMemory(), NUM_LOGITS + 77)  # 80 COCO classes + background
    probs = torch.rand(batch.rois.size(0), NUM_LOGITS + 77).softmax(1)
    memory.record(with_probs(batch, probs))
    memory.end_pass()
    memory.record(with_probs(batch, probs))
    memory.sync()
    keys = {img.key for img in batch.images}
    assert {k[2] for k in memory.prev_preds} == keys == {k[2] for k in memory.cur_preds}
    # a row: 4 fp16 box coordinates + topk fp16 probabilities, and the label + topk classes as int16
    per_row = 2 * (4 + memory.topk) + 2 * (1 + memory.topk)
    rows = sum(v.values.size(0) for buf in (memory.prev_preds, memory.cur_preds) for v in buf.values())
    assert memory.nbytes() == rows * per_row
    memory.end_pass()  # the pass replaces the older entries of the same images
    assert memory.nbytes() == sum(v.nbytes() for v in memory.prev_preds.values()) and not memory.cur_preds
    assert len(memory.prev_preds) == 2 * len(keys)  # one 'gt' and one 'proposal' entry an image
    restored = bound(IoUMemory(), NUM_LOGITS + 77)
    restored.load_state_dict(memory.state_dict())
    assert restored.nbytes() == memory.nbytes()


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(alpha_T=1.5), 'alpha_T'),
        (dict(alpha_T=-0.1), 'alpha_T'),
        (dict(memory=dict(strategy='nearest')), 'unknown strategy'),
        (dict(memory=dict(strategy='iou', iou_thr=0.0)), 'iou_thr'),
        (dict(memory=dict(strategy='iou', iou_thr=1.2)), 'iou_thr'),
        (dict(memory=dict(strategy='iou', fallback='mean')), 'fallback'),
        (dict(memory=dict(strategy='gt', topk=0)), 'topk'),
        (dict(memory=dict(strategy='gt', iou_thr=0.5)), "strategy='gt'"),
    ],
)
def test_bad_hook_settings_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PSKDHook(**kwargs)


def test_teachers_are_built_from_the_registry_and_by_strategy():
    assert isinstance(TEACHERS.build(strategy_teacher(dict(strategy='gt'))), GTMemory)
    iou = TEACHERS.build(strategy_teacher(dict(strategy='iou', iou_thr=0.5)))
    assert isinstance(iou, IoUMemory) and iou.iou_thr == 0.5
    assert isinstance(TEACHERS.build(strategy_teacher(dict(strategy='snapshot'))), SnapshotTeacher)
    assert isinstance(TEACHERS.build(dict(type='IoUMemory', topk=3)), IoUMemory)
    assert isinstance(PSKDHook(teacher=dict(type='IoUMemory', iou_thr=0.5)).teacher, IoUMemory)
    with pytest.raises(ValueError, match='not both'):
        PSKDHook(memory=dict(strategy='gt'), teacher=dict(type='GTMemory'))


def test_every_shipped_config_builds(tmp_path):
    """Every config in configs/ resolves its `mmdet::` bases and builds its model with our types."""
    from glob import glob

    from mmdet.registry import HOOKS, MODELS
    from mmengine.registry import init_default_scope

    from conftest import REPO

    init_default_scope('mmdet')
    configs = sorted(glob(str(REPO / 'configs' / '**' / '*.py'), recursive=True))
    assert len(configs) >= 20
    for path in configs:
        cfg = Config.fromfile(path)
        cfg.model.backbone.init_cfg = None
        cfg.model.backbone.pop('pretrained_tv', None)
        model = MODELS.build(cfg.model)
        hooks = [HOOKS.build(hook) for hook in cfg.get('custom_hooks', [])]
        for hook in hooks:  # the head the hook teaches, with the hook's loss
            assert isinstance(hook.check_head(model).distill_loss, hook.distill_types), path


def test_cascade_distils_every_stage(tmp_path):
    """Cascade R-CNN from the shipped config: all three stages record and, a pass later, get teachers."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    from conftest import REPO

    init_default_scope('mmdet')
    cfg = Config.fromfile(str(REPO / 'configs/pskd/cascade-rcnn_r50_fpn_pskd-1x_coco.py'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    memory = bound(GTMemory(), 81)
    model.roi_head.teacher = memory
    torch.manual_seed(0)
    samples = []
    for i in range(2):
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(128, 128),
                ori_shape=(128, 128),
                pad_shape=(128, 128),
                scale_factor=(1.0, 1.0),
                batch_input_shape=(128, 128),
                img_path=f'img{i}.jpg',
            )
        )
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[10.0, 20.0, 60.0, 90.0], [70.0, 70.0, 120.0, 110.0]]), labels=torch.tensor([3, 7])
        )
        samples.append(sample)
    images = torch.randn(2, 3, 128, 128)
    for alpha in (0.0, 0.5):
        MessageHub.get_current_instance().update_info(ALPHA_T, alpha)
        memory.pop_stats()
        losses = model.loss(images, samples)
        memory.end_pass()
    assert {stage for stage, _, _ in memory.prev_preds} == {0, 1, 2}
    assert all(f's{stage}.loss_pskd' in losses for stage in range(3))  # weighted like each stage's loss_cls
    assert memory.pop_stats()['coverage'] > 0


def test_iou_memory_matches_only_stored_proposals_of_the_same_label():
    from mmdet_selfkd.teachers.roi_batch import ImageRoIs

    # two overlapping GTs of different classes (labels 0 and 2); a proposal of each, almost the same box
    gt_boxes = torch.tensor([[10.0, 10.0, 50.0, 50.0], [12.0, 10.0, 52.0, 50.0]])
    img = ImageRoIs(
        key='a.jpg',
        gt_boxes=gt_boxes,
        gt_labels=torch.tensor([0, 2]),
        pos_boxes=torch.tensor([[10.0, 10.0, 50.0, 50.0], [12.0, 10.0, 52.0, 50.0]]),
        pos_gt_inds=torch.tensor([0, 1]),
        num_neg=0,
    )
    batch = RoIBatch(0, [img])
    probs = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1]])
    memory = bound(IoUMemory(topk=NUM_LOGITS, iou_thr=0.5, fallback='onehot'))
    memory.record(with_probs(batch, probs))
    memory.end_pass()
    # next pass: a class-2 positive exactly at the stored class-0 proposal's box (IoU 1.0), IoU 0.905 with
    # the stored class-2 one (intersection 38 x 40 = 1520, union 1600 + 1600 - 1520 = 1680)
    moved = ImageRoIs(
        key='a.jpg',
        gt_boxes=gt_boxes,
        gt_labels=torch.tensor([0, 2]),
        pos_boxes=torch.tensor([[10.0, 10.0, 50.0, 50.0]]),
        pos_gt_inds=torch.tensor([1]),
        num_neg=0,
    )
    teacher, has = memory.teach(RoIBatch(0, [moved]))
    assert has.tolist() == [True]
    assert torch.allclose(teacher[0], probs[1], atol=1e-3)  # its own class's proposal, not the better-IoU one
    # a stored proposal of another class alone never teaches
    only_other = bound(IoUMemory(topk=NUM_LOGITS, iou_thr=0.5, fallback='onehot'))
    only_other.record(
        with_probs(RoIBatch(0, [replace(img, pos_boxes=img.pos_boxes[:1], pos_gt_inds=img.pos_gt_inds[:1])]), probs[:1])
    )
    only_other.end_pass()
    assert not only_other.teach(RoIBatch(0, [moved]))[1].any()


def test_gt_memory_mean_iou_thr_keeps_ambiguous_positives_out_of_the_mean():
    from mmdet_selfkd.teachers.roi_batch import ImageRoIs

    # one GT; positives: the GT box itself (IoU 1) and a box cut to 6 of 10 rows (IoU 60 / 100 = 0.6)
    img = ImageRoIs(
        key='a.jpg',
        gt_boxes=torch.tensor([[0.0, 0.0, 10.0, 10.0]]),
        gt_labels=torch.tensor([1]),
        pos_boxes=torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 6.0]]),
        pos_gt_inds=torch.tensor([0, 0]),
        num_neg=0,
    )
    probs = torch.tensor([[0.1, 0.8, 0.05, 0.05], [0.3, 0.3, 0.2, 0.2]])
    for thr, expected in [
        (0.0, [0.2, 0.55, 0.125, 0.125]),
        (0.7, [0.1, 0.8, 0.05, 0.05]),
        (0.6, [0.2, 0.55, 0.125, 0.125]),
    ]:
        memory = bound(GTMemory(topk=NUM_LOGITS, mean_iou_thr=thr))
        memory.record(with_probs(RoIBatch(0, [img]), probs))
        memory.end_pass()
        teacher, has = memory.teach(RoIBatch(0, [img]))
        assert has.all() and torch.allclose(teacher, torch.tensor([expected] * 2), atol=1e-3), thr
    # a pass in which no positive of the image reaches the threshold leaves it without a teacher in the next
    # (the image's earlier entry is replaced, not kept), in both memories
    ambiguous = ImageRoIs(
        key='a.jpg',
        gt_boxes=img.gt_boxes,
        gt_labels=img.gt_labels,
        pos_boxes=img.pos_boxes[1:],
        pos_gt_inds=img.pos_gt_inds[1:],
        num_neg=0,
    )
    for memory in (GTMemory(topk=NUM_LOGITS, mean_iou_thr=0.7), IoUMemory(topk=NUM_LOGITS, mean_iou_thr=0.7)):
        memory = bound(memory)
        memory.record(with_probs(RoIBatch(0, [img]), probs))
        memory.end_pass()
        memory.record(with_probs(RoIBatch(0, [ambiguous]), probs[1:]))
        memory.end_pass()
        _, has = memory.teach(RoIBatch(0, [ambiguous]))
        # the gt memory has nothing; the iou memory still matches the stored proposal itself (IoU 1)
        assert has.tolist() == [isinstance(memory, IoUMemory)]
    with pytest.raises(ValueError, match='mean_iou_thr'):
        PSKDHook(memory=dict(strategy='gt', mean_iou_thr=1.5))


def test_share_iou_range_moves_well_localised_positives_towards_their_one_hot_label():
    from mmdet_selfkd.teachers.roi_batch import ImageRoIs

    # one GT of label 1; positives: the GT box (IoU 1), its top 7.5 rows (IoU 0.75), its top 5 rows (IoU 0.5);
    # one negative row after them
    img = ImageRoIs(
        key='a.jpg',
        gt_boxes=torch.tensor([[0.0, 0.0, 10.0, 10.0]]),
        gt_labels=torch.tensor([1]),
        pos_boxes=torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 7.5], [0.0, 0.0, 10.0, 5.0]]),
        pos_gt_inds=torch.tensor([0, 0, 0]),
        num_neg=1,
    )
    probs = torch.tensor([[0.2, 0.5, 0.1, 0.2]] * 3 + [[0.0, 0.0, 0.0, 1.0]])
    # w = clip((1 - IoU) / (1 - 0.5), 0, 1) = 0, 0.5, 1: the teacher of a positive is w * p + (1 - w) * onehot(1)
    expected = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.1, 0.75, 0.05, 0.1], [0.2, 0.5, 0.1, 0.2]])
    for memory in (
        GTMemory(topk=NUM_LOGITS, share_iou_range=(0.5, 1.0)),
        IoUMemory(topk=NUM_LOGITS, share_iou_range=[0.5, 1.0]),
    ):
        memory = bound(memory)
        memory.record(with_probs(RoIBatch(0, [img]), probs))
        memory.end_pass()
        teacher, has = memory.teach(RoIBatch(0, [img]))
        assert has.tolist() == [True, True, True, False], type(memory).__name__
        assert torch.allclose(teacher[:3], expected, atol=1e-3), type(memory).__name__
    # without the option every positive is taught the stored prediction itself (the paper's)
    plain = bound(GTMemory(topk=NUM_LOGITS))
    plain.record(with_probs(RoIBatch(0, [img]), probs))
    plain.end_pass()
    assert torch.allclose(plain.teach(RoIBatch(0, [img]))[0][:3], probs[:3], atol=1e-3)
    # a range ending below 1: a positive at or above `high` keeps its one-hot target, one below `low` the teacher
    memory = bound(GTMemory(topk=NUM_LOGITS, share_iou_range=(0.6, 0.7)))
    memory.record(with_probs(RoIBatch(0, [img]), probs))
    memory.end_pass()
    teacher = memory.teach(RoIBatch(0, [img]))[0]
    assert torch.allclose(teacher[:3], torch.stack([expected[0], expected[0], probs[2]]), atol=1e-3)


@pytest.mark.parametrize('bad', [(0.7, 0.5), (0.5, 0.5), (0.5, 1.5), (-0.1, 1.0), 0.5, (0.5,), ('a', 1.0)])
def test_share_iou_range_refuses_a_range_that_is_not_low_below_high_in_0_1(bad):
    with pytest.raises(ValueError, match=r'share_iou_range=.*give \(low, high\) with 0 <= low < high <= 1'):
        PSKDHook(memory=dict(strategy='gt', share_iou_range=bad))
