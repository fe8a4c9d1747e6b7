"""PS-KD soft targets, loss normalisation and the alpha schedule, against numbers worked by hand."""

import math

import pytest
import torch
from distill_helpers import with_teacher
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_selfkd.engine import AlphaSchedule
from mmdet_selfkd.models.losses import PSKDLoss, mix_soft_targets
from mmdet_selfkd.teachers import TeacherTargets, decode_topk, encode_topk

from conftest import BASELINE_CFG, tiny_options

LOGITS = [1.0, 2.0, 3.0]
LOG_Z = 3 + math.log(1 + math.exp(-1) + math.exp(-2))  # logsumexp([1, 2, 3]) = 3.407606
LOG_P = [z - LOG_Z for z in LOGITS]  # [-2.407606, -1.407606, -0.407606]


def test_mixed_targets_by_hand():
    teacher = torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    targets = mix_soft_targets(torch.tensor([0, 2]), 3, 0.4, teacher, torch.tensor([True, False]))
    # row 0: 0.6 * [1, 0, 0] + 0.4 * [0.2, 0.5, 0.3]; row 1 has no teacher: one-hot
    assert torch.allclose(targets, torch.tensor([[0.68, 0.20, 0.12], [0.0, 0.0, 1.0]]))
    assert torch.equal(mix_soft_targets(torch.tensor([1]), 3, 0.0, teacher[:1]), torch.tensor([[0.0, 1.0, 0.0]]))


def _loss(alpha=0.4, **kwargs):
    """PS-KD's soft cross-entropy as the head computes it: mmdet's CrossEntropyLoss plus loss_pskd."""
    return with_teacher(PSKDLoss(**kwargs), [[0.2, 0.5, 0.3], [0.2, 0.5, 0.3]], [True, True], alpha)


def test_soft_cross_entropy_by_hand():
    expected_row0 = -(0.68 * LOG_P[0] + 0.20 * LOG_P[1] + 0.12 * LOG_P[2])  # 1.967606
    # row 1 (label 2): 0.6 * [0, 0, 1] + 0.4 * teacher = [0.08, 0.2, 0.72]
    expected_row1 = -(0.08 * LOG_P[0] + 0.20 * LOG_P[1] + 0.72 * LOG_P[2])
    logits, labels = torch.tensor([LOGITS, LOGITS]), torch.tensor([0, 2])
    none = _loss(reduction='none')(logits, labels)
    assert none.tolist() == pytest.approx([expected_row0, expected_row1], abs=1e-5)
    assert _loss()(logits, labels).item() == pytest.approx((expected_row0 + expected_row1) / 2, abs=1e-5)
    # label_weights and avg_factor as in mmdet's CrossEntropyLoss; loss_weight scales
    weighted = _loss(loss_weight=2.0)(logits, labels, torch.tensor([1.0, 0.0]), avg_factor=4.0)
    assert weighted.item() == pytest.approx(2.0 * expected_row0 / 4.0, abs=1e-5)
    summed = _loss()(logits, labels, reduction_override='sum')
    assert summed.item() == pytest.approx(expected_row0 + expected_row1, abs=1e-5)


def test_teacher_shaping_options_by_hand():
    # teacher [0.2, 0.5, 0.3] (background last), alpha 0.4
    # sharpened at tau = 0.5: squares [0.04, 0.25, 0.09] / 0.38
    sharp = [0.04 / 0.38, 0.25 / 0.38, 0.09 / 0.38]
    # foreground only (positive rows): background dropped, [0.2, 0.5] / 0.7
    fg = [0.2 / 0.7, 0.5 / 0.7, 0.0]
    # both: sharpened first, then [0.04, 0.25] / 0.29
    both = [0.04 / 0.29, 0.25 / 0.29, 0.0]
    logits, labels = torch.tensor([LOGITS, LOGITS]), torch.tensor([0, 2])  # a positive and a background row

    def expected(teacher_pos, teacher_bg):
        pos = [0.6 * (c == 0) + 0.4 * q for c, q in enumerate(teacher_pos)]
        bg = [0.6 * (c == 2) + 0.4 * q for c, q in enumerate(teacher_bg)]
        return [-sum(t * lp for t, lp in zip(target, LOG_P)) for target in (pos, bg)]

    raw = [0.2, 0.5, 0.3]
    for kwargs, rows in [
        (dict(teacher_temperature=0.5), expected(sharp, sharp)),
        (dict(foreground_teacher=True), expected(fg, raw)),  # background rows keep theirs
        (dict(teacher_temperature=0.5, foreground_teacher=True), expected(both, sharp)),
    ]:
        assert _loss(reduction='none', **kwargs)(logits, labels).tolist() == pytest.approx(rows, abs=1e-5), kwargs
    # rows without a teacher keep one-hot targets (their all-zero placeholders stay finite)
    loss = PSKDLoss(reduction='none', teacher_temperature=0.5, foreground_teacher=True)
    loss = with_teacher(loss, torch.zeros(2, 3), [False, False], 0.4)
    onehot = torch.nn.functional.cross_entropy(logits, labels, reduction='none')
    assert torch.allclose(loss(logits, labels), onehot)
    with pytest.raises(ValueError, match='teacher_temperature'):
        PSKDLoss(teacher_temperature=0)


def test_alpha_zero_is_plain_cross_entropy():
    logits, labels = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 3])
    loss = with_teacher(PSKDLoss(), torch.rand(5, 4).softmax(1), torch.ones(5, dtype=torch.bool), 0.0)
    assert torch.allclose(loss(logits, labels), torch.nn.functional.cross_entropy(logits, labels))
    teacher = TeacherTargets(torch.rand(5, 4).softmax(1), torch.ones(5, dtype=torch.bool))
    assert PSKDLoss()(logits, labels, teacher, 0.0).item() == 0.0  # loss_pskd itself


def test_loss_needs_hook_and_teacher():
    loss = PSKDLoss()
    # called as mmdet's heads call a loss_cls (logits, labels, label_weights): no teacher
    with pytest.raises(RuntimeError, match="dict\\(type='PSKDHook'\\)") as err:
        loss(torch.randn(2, 3), torch.tensor([0, 1]), torch.ones(2))
    assert "model.roi_head.type='SelfKDRoIHead'" in str(err.value) and "distill_loss=dict(type='PSKDLoss')" in str(
        err.value
    )
    with pytest.raises(ValueError, match='num_logits'):
        loss(torch.randn(2, 3), torch.tensor([0, 1]), TeacherTargets(torch.rand(2, 5), torch.ones(2, dtype=torch.bool)))


def test_sigmoid_heads_are_refused():
    with pytest.raises(ValueError, match='use_sigmoid'):
        PSKDLoss(use_sigmoid=True)


def test_topk_encoding_by_hand():
    probs = torch.tensor([[0.5, 0.3, 0.1, 0.06, 0.04]])
    rows = encode_topk(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([1]), probs, topk=2)
    # keeps 0.5 and 0.3; the other 0.2 spread evenly over the 3 remaining classes
    decoded = decode_topk(rows, 5)
    assert torch.allclose(decoded, torch.tensor([[0.5, 0.3, 0.2 / 3, 0.2 / 3, 0.2 / 3]]), atol=1e-3)
    assert rows.values.dtype == torch.float16 and rows.values.shape == (1, 4 + 2)
    assert rows.ids.tolist() == [[1, 0, 1]]  # label, then the classes of the kept probabilities


def test_class_ids_are_exact_beyond_fp16():
    # a V3Det-size head: 13,204 classes + background; fp16 holds integers exactly only up to 2048
    num_logits, label, top = 13_205, 13_203, 4_097
    assert torch.tensor(float(top)).half().long().item() != top  # what an fp16 id would have stored
    probs = torch.full((1, num_logits), 0.1 / (num_logits - 2))
    probs[0, top], probs[0, label] = 0.6, 0.3
    rows = encode_topk(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([label]), probs, topk=2)
    assert rows.labels.tolist() == [label] and rows.ids[0, 1:].tolist() == [top, label]
    decoded = decode_topk(rows, num_logits)
    assert decoded[0, top].item() == pytest.approx(0.6, abs=1e-3)
    assert decoded[0, label].item() == pytest.approx(0.3, abs=1e-3)
    wide = encode_topk(torch.zeros(1, 4), torch.tensor([70_000]), torch.rand(1, 70_001), 1)  # beyond int16
    assert wide.ids.dtype == torch.int32 and wide.labels.tolist() == [70_000]


def test_checkpoint_entries_of_the_one_tensor_format_load_exactly():
    from mmdet_selfkd.teachers import GTMemory

    # mmdet_selfkd 0.1 stored [box, label, p_1..p_k, c_1..c_k] as one fp16 tensor per entry
    old = torch.tensor([[1.0, 2.0, 3.0, 4.0, 2.0, 0.7, 0.2, 2.0, 0.0]]).half()
    state = dict(
        strategy='gt',
        num_classes=4,
        topk=2,
        prev_preds=dict(stages=[0], kinds=['gt'], keys=['a.jpg'], rows=[old]),
        cur_preds=dict(stages=[], kinds=[], keys=[], rows=[]),
    )
    memory = GTMemory(topk=2)
    memory.bind(None, 4)
    memory.load_state_dict(state)
    entry = memory.prev_preds[(0, 'gt', 'a.jpg')]
    assert entry.boxes.tolist() == [[1.0, 2.0, 3.0, 4.0]] and entry.ids.tolist() == [[2, 2, 0]]
    assert torch.allclose(decode_topk(entry, 4), torch.tensor([[0.2, 0.05, 0.7, 0.05]]), atol=1e-3)
    assert memory.nbytes() == entry.nbytes()


def test_alpha_schedule_epoch_loop():
    schedule = AlphaSchedule(alpha_T=0.8, total_passes=4, iters_per_pass=10, passes_per_epoch=1, iters_per_epoch=10)
    assert [schedule.pass_index(i) for i in (0, 9, 10, 39)] == [0, 0, 1, 3]
    # the reference's alpha_T * (epoch + 1) / T: one-hot (no memory), 0.4, 0.6, 0.8 at the last pass
    assert [schedule.alpha(i) for i in (0, 9, 10, 25, 39)] == pytest.approx([0, 0, 0.4, 0.6, 0.8])


def test_alpha_schedule_repeat_dataset_counts_passes_not_epochs():
    # RepeatDataset(times=3): an epoch of 30 iterations is 3 passes of 10; 2 epochs -> T = 6
    schedule = AlphaSchedule(alpha_T=0.6, total_passes=6, iters_per_pass=10, passes_per_epoch=3, iters_per_epoch=30)
    assert [schedule.pass_index(i) for i in (0, 10, 29, 30, 59)] == [0, 1, 2, 3, 5]
    assert schedule.alpha(10) == pytest.approx(0.6 * 2 / 6) and schedule.alpha(59) == pytest.approx(0.6)
    # an uneven last batch (31 iterations per epoch) never moves a pass across the epoch boundary
    uneven = AlphaSchedule(alpha_T=0.6, total_passes=6, iters_per_pass=31 / 3, passes_per_epoch=3, iters_per_epoch=31)
    assert [uneven.pass_index(i) for i in (30, 31, 61, 62)] == [2, 3, 5, 6]


def test_alpha_schedule_iteration_loop_and_per_iteration_ramp():
    schedule = AlphaSchedule(alpha_T=0.8, total_passes=4, iters_per_pass=13)
    assert [schedule.pass_index(i) for i in (12, 13, 51)] == [0, 1, 3]
    ramp = AlphaSchedule(alpha_T=0.8, total_passes=4, iters_per_pass=13, by_iter=True)
    assert ramp.alpha(12) == 0.0  # first pass: no memory yet
    # equal to the per-pass value at the start of a pass, linear in between, alpha_T in the last pass
    assert [ramp.alpha(i) for i in (13, 26, 39, 51)] == pytest.approx([schedule.alpha(i) for i in (13, 26, 39, 51)])
    assert ramp.alpha(32.5) == pytest.approx(0.8 * 3.5 / 4) and ramp.alpha(45.5) == pytest.approx(0.8)


def _runner(shapes_root, tmp_path, **options):
    cfg = Config.fromfile(BASELINE_CFG)
    cfg.merge_from_dict(tiny_options(shapes_root, **options))
    cfg.work_dir = str(tmp_path)
    return Runner.from_cfg(cfg)


def test_schedule_from_real_runners(shapes_root, tmp_path):
    # epoch loop over RepeatDataset(times=3): 16 images, batch 4 -> 12 iterations an epoch, 3 passes
    runner = _runner(shapes_root, tmp_path / 'epoch', **{'train_cfg.max_epochs': 2})
    cfg = runner.cfg
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=3, dataset=cfg.train_dataloader.dataset)
    runner = Runner.from_cfg(cfg)
    schedule = AlphaSchedule.from_runner(runner, alpha_T=0.8)
    assert (schedule.total_passes, schedule.passes_per_epoch, schedule.iters_per_epoch) == (6, 3, 12)
    assert [schedule.pass_index(i) for i in (3, 4, 11, 12)] == [0, 1, 2, 3]
    # iteration loop: 16 images at batch 4 -> a pass is 4 iterations; 20 iterations -> T = 5
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=20, val_interval=20)
    cfg.train_dataloader.dataset = cfg.train_dataloader.dataset.dataset
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.param_scheduler = []
    cfg.work_dir = str(tmp_path / 'iter')
    schedule = AlphaSchedule.from_runner(Runner.from_cfg(cfg), alpha_T=0.8)
    assert (schedule.total_passes, schedule.iters_per_pass) == (5, 4)
    assert schedule.alpha(8) == pytest.approx(0.8 * 3 / 5) and schedule.alpha(19) == pytest.approx(0.8)
