"""Label smoothing, LsrKD (+TC), CS-KD and MrKD (+TC): formulas against numbers worked by hand, setting
checks, CS-KD pairing on sampling results of mmdet's assigner and sampler and of a real RoI head, MrKD's
ring of model copies, and one real ``tools/train.py`` run per method."""

import math
import os
from types import SimpleNamespace

import pytest
import torch
from distill_helpers import with_teacher
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.structures.bbox import bbox2roi
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmdet_selfkd.compat import load_local_checkpoint
from mmdet_selfkd.engine import CSKDHook, MrKDHook
from mmdet_selfkd.models.losses import CSKDLoss, LabelSmoothingLoss, LsrKDLoss, MrKDLoss
from mmdet_selfkd.models.losses.kd_terms import correct_teacher
from mmdet_selfkd.teachers import RoIBatch
from mmdet_selfkd.teachers.class_pair_teacher import ClassPairTeacher
from mmdet_selfkd.teachers.copy_ring_teacher import CopyRingTeacher

from conftest import BASELINE_CFG, REPO, read_scalars, run_tool, tiny_options, tiny_run_options

SELFKD_CFGS = REPO / 'configs/selfkd'
CSKD_CFG = str(SELFKD_CFGS / 'faster-rcnn_r18_fpn_cskd-8e_shapes.py')
MRKD_CFG = str(SELFKD_CFGS / 'faster-rcnn_r18_fpn_mrkd-8e_shapes.py')
LN2, LN3 = math.log(2), math.log(3)
# Logits used throughout: with 3 logits (2 object classes + background, label 2 = background)
# softmax([ln 4, 0, 0]) = [4/6, 1/6, 1/6] and softmax([ln 4, 0, 0] / 2) = softmax([ln 2, 0, 0]) = [1/2, 1/4, 1/4].
Z_LN4 = [math.log(4), 0.0, 0.0]
Z_ZERO = [0.0, 0.0, 0.0]


def kl(p, q):
    """KL(p || q) of two lists, by the definition."""
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)


# --- formulas by hand ------------------------------------------------------------------------------
def test_label_smoothing_by_hand():
    # K = 3, epsilon = 0.3: target = 0.7 * onehot + 0.1
    # row 0, label 0, softmax([ln 2, 0, 0]) = [1/2, 1/4, 1/4]: -(0.8 ln 1/2 + 0.1 ln 1/4 + 0.1 ln 1/4) = 1.2 ln 2
    # row 1, label 2 (background), softmax(0) = 1/3 everywhere: ln 3
    logits, labels = torch.tensor([[LN2, 0.0, 0.0], Z_ZERO]), torch.tensor([0, 2])
    loss = LabelSmoothingLoss(epsilon=0.3, reduction='none')
    assert loss(logits, labels).tolist() == pytest.approx([1.2 * LN2, LN3], abs=1e-6)
    # label_weights and avg_factor as in mmdet's CrossEntropyLoss; loss_weight scales
    weighted = LabelSmoothingLoss(epsilon=0.3, loss_weight=2.0)(
        logits, labels, torch.tensor([1.0, 0.5]), avg_factor=4.0
    )
    assert weighted.item() == pytest.approx(2.0 * (1.2 * LN2 + 0.5 * LN3) / 4.0, abs=1e-6)
    plain = torch.nn.functional.cross_entropy(logits, labels)
    assert LabelSmoothingLoss(epsilon=0.0)(logits, labels).item() == pytest.approx(plain.item(), abs=1e-6)


def test_lsrkd_uniform_teacher_by_hand():
    # T = 2, lambda = 0.5, row 0: z = [ln 4, 0, 0], label 0
    #   CE = -ln(4/6) = ln 1.5; softmax(z/T) = [1/2, 1/4, 1/4]; KL(u || s) = 1/3 ln(2/3) + 2/3 ln(4/3) = 1/3 ln(32/27)
    #   loss = ln 1.5 + 0.5 * T^2 * 1/3 ln(32/27)
    # row 1: z = 0, label 2 (background): CE = ln 3, KL(u || u) = 0
    row0 = math.log(1.5) + 0.5 * 4 * math.log(32 / 27) / 3
    logits, labels = torch.tensor([Z_LN4, Z_ZERO]), torch.tensor([0, 2])
    loss = LsrKDLoss(temperature=2.0, kd_weight=0.5, reduction='none')
    assert loss(logits, labels).tolist() == pytest.approx([row0, LN3], abs=1e-6)
    mean = LsrKDLoss(temperature=2.0, kd_weight=0.5)(logits, labels, torch.tensor([1.0, 0.0]), avg_factor=2.0)
    assert mean.item() == pytest.approx(row0 / 2, abs=1e-6)
    # T^2 scaling: at T = 1 the KL is taken against softmax(z) = [4/6, 1/6, 1/6] and scaled by T^2 = 1
    at_t1 = LsrKDLoss(temperature=1.0, kd_weight=0.5, reduction='none')(logits[:1], labels[:1])
    assert at_t1.item() == pytest.approx(math.log(1.5) + 0.5 * kl([1 / 3] * 3, [4 / 6, 1 / 6, 1 / 6]), abs=1e-6)


def test_lsrkd_teacher_correction_by_hand():
    # tc_share = 0.5, K = 3, T = 2: TC acts on the teacher at T (the uniform teacher stays uniform when
    # softened), so the target is [0.5, 0.25, 0.25] (true class 0) = the student's softmax(z/2): KL = 0.
    row0 = math.log(1.5)
    # background row (label 2), z = 0: target [0.25, 0.25, 0.5], student uniform
    row1 = LN3 + 0.5 * 4 * kl([0.25, 0.25, 0.5], [1 / 3] * 3)
    loss = LsrKDLoss(temperature=2.0, kd_weight=0.5, tc_share=0.5, num_classes=2, reduction='none')
    assert loss(torch.tensor([Z_LN4, Z_ZERO]), torch.tensor([0, 2])).tolist() == pytest.approx([row0, row1], abs=1e-6)


def test_teacher_correction_keeps_the_others_proportions():
    teacher = torch.tensor([[4 / 6, 1 / 6, 1 / 6]])
    # true class 1 gets 0.5; the others 0.5 in proportion 4 : 1
    assert correct_teacher(teacher, torch.tensor([1]), 0.5).tolist()[0] == pytest.approx([0.4, 0.5, 0.1])
    # uniform teacher: the others share evenly (LsrKD-TC); tc_share = 1: one-hot
    uniform = torch.full((1, 3), 1 / 3)
    assert correct_teacher(uniform, torch.tensor([2]), 0.6).tolist()[0] == pytest.approx([0.2, 0.2, 0.6])
    assert correct_teacher(uniform, torch.tensor([0]), 1.0).tolist()[0] == [1.0, 0.0, 0.0]
    # a one-hot teacher gives the others nothing: they share evenly
    assert correct_teacher(torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([0]), 0.8).tolist()[0] == pytest.approx(
        [0.8, 0.1, 0.1]
    )
    # several teachers per row (M, N, K)
    stacked = correct_teacher(torch.stack([teacher, uniform]), torch.tensor([1]), 0.5)
    assert stacked[:, 0].tolist() == [pytest.approx([0.4, 0.5, 0.1]), pytest.approx([0.25, 0.5, 0.25])]


def test_cskd_by_hand():
    # T = 2, lambda = 1. Row 0 (positive, label 0) z = [ln 4, 0, 0]; its partner predicted
    # softmax([0, ln 4, 0]) = [1/6, 4/6, 1/6], softened at T = 2: prop. to [1, 2, 1] = [1/4, 1/2, 1/4].
    # Student at T = 2: [1/2, 1/4, 1/4]. KL = 1/4 ln(1/2) + 1/2 ln 2 = 1/4 ln 2; times T^2 = ln 2.
    # Row 1 (negative, label 2): no partner, CE only = ln 3.
    logits, labels = torch.tensor([Z_LN4, Z_ZERO]), torch.tensor([0, 2])
    partner = [[1 / 6, 4 / 6, 1 / 6], [0.0, 0.0, 0.0]]
    loss = with_teacher(CSKDLoss(temperature=2.0, kd_weight=1.0, reduction='none'), partner, [True, False])
    assert loss(logits, labels).tolist() == pytest.approx([math.log(1.5) + LN2, LN3], abs=1e-6)
    # 'mean': the CE over the 2 rows (avg_factor), the KD term over the 1 row with a partner
    loss = with_teacher(CSKDLoss(temperature=2.0, kd_weight=1.0), partner, [True, False])
    assert loss(logits, labels, torch.ones(2), avg_factor=2.0).item() == pytest.approx(
        (math.log(1.5) + LN3) / 2 + LN2, abs=1e-6
    )


def test_cskd_rows_without_partner_give_no_nan_gradient():
    logits = torch.tensor([Z_LN4, Z_ZERO], requires_grad=True)
    loss = with_teacher(CSKDLoss(), [[0.2, 0.3, 0.5], [0.0, 0.0, 0.0]], [True, False])
    loss(logits, torch.tensor([0, 2])).backward()
    assert torch.isfinite(logits.grad).all()
    ce_grad = torch.autograd.grad(
        torch.nn.functional.cross_entropy(logits[1:], torch.tensor([2]), reduction='sum'), logits
    )[0][1]
    assert torch.allclose(logits.grad[1], ce_grad / 2)  # the no-partner row: CE only (mean over 2 rows)


def test_mrkd_mean_of_copies_by_hand():
    # Two copies score row 0: softmax([ln 4, 0, 0]) and softmax(0); softened at T = 2:
    # [1/2, 1/4, 1/4] and [1/3, 1/3, 1/3]; teacher = their mean [5/12, 7/24, 7/24].
    # Student z = 0, label 0: CE = ln 3, student at T = 2 is uniform.
    copies = [[[4 / 6, 1 / 6, 1 / 6]], [[1 / 3, 1 / 3, 1 / 3]]]
    expected = LN3 + 1.0 * 4 * kl([5 / 12, 7 / 24, 7 / 24], [1 / 3] * 3)
    loss = with_teacher(MrKDLoss(temperature=2.0, kd_weight=1.0), copies, [True])
    assert loss(torch.tensor([Z_ZERO]), torch.tensor([0])).item() == pytest.approx(expected, abs=1e-6)
    # TC 0.5 on true class 1, applied to each copy softened at T = 2: copy 1 [1/2, 1/4, 1/4] -> true class
    # 1/2, the others 1/2 in proportion 2 : 1 -> [1/3, 1/2, 1/6]; copy 2 uniform -> [1/4, 1/2, 1/4];
    # mean [7/24, 1/2, 5/24] (true class exactly 0.5)
    expected_tc = LN3 + 0.5 * 4 * kl([7 / 24, 1 / 2, 5 / 24], [1 / 3] * 3)
    loss = with_teacher(MrKDLoss(temperature=2.0, kd_weight=0.5, tc_share=0.5), copies, [True])
    assert loss(torch.tensor([Z_ZERO]), torch.tensor([1])).item() == pytest.approx(expected_tc, abs=1e-6)
    # before the first copy: no teacher, plain CE
    loss = with_teacher(MrKDLoss(), [[[0.0, 0.0, 0.0]]], [False])
    assert loss(torch.tensor([Z_LN4]), torch.tensor([0])).item() == pytest.approx(math.log(1.5), abs=1e-6)


def test_kd_losses_are_cross_entropy_without_a_teacher():
    logits, labels = torch.randn(4, 5), torch.tensor([0, 1, 4, 4])
    plain = torch.nn.functional.cross_entropy(logits, labels)
    nobody = torch.zeros(4, 5), [False] * 4
    for loss in (CSKDLoss(), MrKDLoss()):
        assert torch.allclose(with_teacher(loss, *nobody)(logits, labels), plain)


# --- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize('loss_type', ['LsrKDLoss', 'MrKDLoss'])
@pytest.mark.parametrize('tc_share,ok', [(0.25, False), (0.2501, True), (1.0, True), (1.0001, False), (-1, False)])
def test_tc_share_bounds_at_build(loss_type, tc_share, ok):
    from mmdet.registry import MODELS

    cfg = dict(type=loss_type, tc_share=tc_share, num_classes=3)  # K = 4: (1/4, 1]
    if ok:
        MODELS.build(cfg)
    else:
        with pytest.raises(ValueError, match=r'tc_share=.*\(1/K, 1\]'):
            MODELS.build(cfg)


def test_tc_share_checked_at_first_forward_without_num_classes():
    loss = LsrKDLoss(tc_share=0.3)  # fine for K >= 4, not for K = 3
    assert torch.isfinite(loss(torch.randn(2, 4), torch.tensor([0, 3])))
    with pytest.raises(ValueError, match='tc_share=0.3'):
        loss(torch.randn(2, 3), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match='num_classes=3.*width 5'):
        LsrKDLoss(num_classes=3)(torch.randn(2, 5), torch.tensor([0, 4]))


@pytest.mark.parametrize(
    'cfg,setting',
    [
        (dict(type='LabelSmoothingLoss', epsilon=-0.1), 'epsilon'),
        (dict(type='LabelSmoothingLoss', epsilon=1.0), 'epsilon'),
        (dict(type='LsrKDLoss', temperature=0), 'temperature'),
        (dict(type='CSKDLoss', temperature=-1.0), 'temperature'),
        (dict(type='MrKDLoss', temperature=0.0), 'temperature'),
        (dict(type='LsrKDLoss', kd_weight=-0.1), 'kd_weight'),
        (dict(type='CSKDLoss', kd_weight=-1.0), 'kd_weight'),
        (dict(type='MrKDLoss', kd_weight=-1.0), 'kd_weight'),
        (dict(type='MrKDLoss', tc_share=0.1, num_classes=3), 'tc_share'),
        (dict(type='LsrKDLoss', num_classes=0), 'num_classes'),
        (dict(type='CSKDLoss', use_sigmoid=True), 'use_sigmoid'),
        (dict(type='LabelSmoothingLoss', reduction='avg'), 'reduction'),
    ],
)
def test_bad_loss_settings_fail_at_build(cfg, setting):
    from mmdet.registry import MODELS

    with pytest.raises(ValueError, match=f'{cfg["type"]}\\({setting}='):
        MODELS.build(cfg)


@pytest.mark.parametrize(
    'cfg,setting',
    [(dict(num_copies=0), 'num_copies'), (dict(interval=0), 'interval'), (dict(num_copies=1.5), 'num_copies')],
)
def test_bad_mrkd_hook_settings_fail_at_build(cfg, setting):
    from mmdet.registry import HOOKS

    with pytest.raises(ValueError, match=f'MrKDHook\\(.*{setting}='):
        HOOKS.build(dict(type='MrKDHook', **cfg))


def test_loss_called_as_a_loss_cls_names_its_head_and_hook():
    logits, labels, weights = torch.randn(2, 3), torch.tensor([0, 2]), torch.ones(2)
    # what a stock RoI head does with a loss_cls: (logits, labels, label_weights), no teacher
    with pytest.raises(RuntimeError, match="dict\\(type='CSKDHook'\\)"):
        CSKDLoss()(logits, labels, weights)
    with pytest.raises(RuntimeError, match="dict\\(type='MrKDHook'\\)"):
        MrKDLoss()(logits, labels, weights)
    with pytest.raises(RuntimeError, match="roi_head.type='SelfKDRoIHead'"):
        MrKDLoss()(logits, labels, weights)


# --- real models ---------------------------------------------------------------------------------
class StubRunner(SimpleNamespace):
    """The few runner attributes the hooks use."""

    def __init__(self, model):
        super().__init__(
            model=model,
            iter=0,
            logger=MMLogger.get_instance('test_selfkd'),
            message_hub=MessageHub.get_current_instance(),  # where the heads read alpha_t
        )


def build(cfg_path, shapes_root, **model_changes):
    """A shapes model in train mode, and its tiny training set."""
    from mmdet.registry import DATASETS, MODELS

    init_default_scope('mmdet')
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(dict(tiny_options(shapes_root), model=model_changes))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train(), DATASETS.build(cfg.train_dataloader.dataset)


def record_teach(teacher):
    """Wrap a teacher's ``teach`` to keep ``(batch, probs, teacher_probs, has_teacher)`` of every call."""
    calls, teach = [], teacher.teach

    def recording_teach(batch):
        targets = teach(batch)
        calls.append((batch, batch.probs, *targets))
        return targets

    teacher.teach = recording_teach
    return calls


def forward_loss(model, dataset, indices=(0, 1, 2, 3)):
    data_batch = pseudo_collate([dataset[i] for i in indices])
    data = model.data_preprocessor(data_batch, True)
    return model.loss(data['inputs'], data['data_samples']), data_batch


@pytest.fixture(scope='module')
def cskd_model(shapes_root):
    return build(CSKD_CFG, shapes_root)


@pytest.fixture(scope='module')
def mrkd_model(shapes_root):
    return build(MRKD_CFG, shapes_root)


@pytest.mark.parametrize(
    'hook_type,loss_cfg',
    [
        (CSKDHook, None),
        (MrKDHook, None),
        (CSKDHook, 'none'),  # a SelfKDRoIHead without distill_loss
        (MrKDHook, dict(type='CSKDLoss')),
    ],
)
def test_hook_without_its_loss_fails_before_training(shapes_root, hook_type, loss_cfg):
    loss_name = hook_type.distill_types[0].__name__
    if loss_cfg is None:  # the baseline: stock RoI head and loss
        model, _ = build(BASELINE_CFG, shapes_root)
        match = "roi_head.type='SelfKDRoIHead'"
    else:
        model, _ = build(CSKD_CFG, shapes_root, roi_head=dict(distill_loss=None if loss_cfg == 'none' else loss_cfg))
        match = f'the head uses no {loss_name}'
    with pytest.raises(ValueError, match=match):
        hook_type().before_train(StubRunner(model))


def test_selfkd_head_without_hook_names_the_hook(cskd_model):
    model, dataset = cskd_model
    model.roi_head.teacher = None
    with pytest.raises(RuntimeError, match="dict\\(type='CSKDHook'\\)"):
        forward_loss(model, dataset)


# --- CS-KD pairing -------------------------------------------------------------------------------
def sampled_image(key, gt_boxes, gt_labels):
    """One image's SamplingResult from mmdet's MaxIoUAssigner and RandomSampler on hand-made boxes: three
    shifted copies of each GT (IoU > 0.5) and eight background boxes away from every GT."""
    gts = InstanceData(bboxes=torch.tensor(gt_boxes, dtype=torch.float), labels=torch.tensor(gt_labels))
    shifts = torch.tensor([[1.0, 1.0, 1.0, 1.0], [-1.0, 0.0, -1.0, 0.0], [0.0, 2.0, 0.0, 2.0]])
    jittered = (gts.bboxes[:, None] + shifts[None]).reshape(-1, 4)
    background = torch.tensor([[80.0 + i, 80.0, 90.0 + i, 90.0] for i in range(8)])
    proposals = InstanceData(priors=torch.cat([jittered, background]))
    assign = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5).assign(proposals, gts)
    result = RandomSampler(num=16, pos_fraction=0.5).sample(assign, proposals, gts)
    meta = dict(img_path=key, img_shape=(100, 100), scale_factor=(1.0, 1.0), flip=False)
    return result, meta, gts


def roi_batch(*images, seed=0):
    """The RoIBatch a SelfKDRoIHead shows its teacher, the student's probabilities drawn with ``seed``."""
    results, metas, _ = zip(*images)
    rois = bbox2roi([r.priors for r in results])
    return RoIBatch.from_sampling(0, results, metas, rois, unique_probs(rois.size(0), seed))


def cskd_teacher():
    teacher = ClassPairTeacher()
    teacher.bind(None, 3)
    return teacher


def pair_rates(teacher):
    """The pair rates a CS-KD teacher logs (and restarts)."""
    stats = teacher.pop_stats()
    return {name: stats[name] for name in ('pair_rate', 'memory_pair_rate') if name in stats}


def unique_probs(num_rows, seed):
    return torch.rand(num_rows, 3, generator=torch.Generator().manual_seed(seed)).softmax(1)


def source_row(teacher_row, probs):
    """The row of ``probs`` a teacher row was copied from."""
    (row,) = torch.nonzero((probs == teacher_row).all(1)).flatten().tolist()
    return row


def test_cskd_pairs_in_batch_same_class_other_image_never_own_image():
    torch.manual_seed(0)
    image_b = sampled_image('b.png', [[10, 10, 40, 40]], [0])
    image_a = sampled_image('a.png', [[10, 10, 40, 40], [50, 10, 75, 40]], [0, 1])
    image_c = sampled_image('c.png', [[20, 20, 60, 60]], [1])
    batch = roi_batch(image_b, image_a, image_c, seed=1)
    rows, labels, keys, _ = ClassPairTeacher.positives(batch)
    assert sorted(set(zip(labels.tolist(), keys))) == [(0, 'a.png'), (0, 'b.png'), (1, 'a.png'), (1, 'c.png')]
    probs = batch.probs
    teacher = cskd_teacher()
    teacher_probs, has_teacher = teacher(batch)
    row_key = {row: key for row, key in zip(rows.tolist(), keys)}
    row_label = dict(zip(rows.tolist(), labels.tolist()))
    assert set(torch.nonzero(has_teacher).flatten().tolist()) == set(row_key)  # every positive, no negative
    for row in row_key:
        partner = source_row(teacher_probs[row], probs)
        assert row_label[partner] == row_label[row] and row_key[partner] != row_key[row]
    assert pair_rates(teacher) == dict(pair_rate=1.0, memory_pair_rate=0.0)
    assert pair_rates(teacher) == {}  # counts restart


def test_cskd_no_pair_then_class_memory_from_another_image():
    torch.manual_seed(0)
    teacher = cskd_teacher()
    # batch 1: b.png then a.png, class 0 in both; class 1 only in a.png: no partner and empty memory
    batch1 = roi_batch(
        sampled_image('b.png', [[10, 10, 40, 40]], [0]),
        sampled_image('a.png', [[10, 10, 40, 40], [50, 10, 75, 40]], [0, 1]),
        seed=2,
    )
    probs1 = batch1.probs
    _, has1 = teacher(batch1)
    rows1, labels1, keys1, _ = ClassPairTeacher.positives(batch1)
    assert has1[rows1].tolist() == (labels1 == 0).tolist()
    stats = pair_rates(teacher)
    assert stats['pair_rate'] == pytest.approx((labels1 == 0).float().mean().item())
    assert stats['memory_pair_rate'] == 0.0

    def last_row(label, key):
        return max(r for r, lab, k in zip(rows1.tolist(), labels1.tolist(), keys1) if lab == label and k == key)

    # batch 2: a.png again with classes 0 and 1, alone in its batch
    batch2 = roi_batch(sampled_image('a.png', [[10, 10, 40, 40], [50, 10, 75, 40]], [0, 1]), seed=3)
    probs2 = batch2.probs
    teacher_probs2, has2 = teacher(batch2)
    rows2, labels2, _, _ = ClassPairTeacher.positives(batch2)
    for row, label in zip(rows2.tolist(), labels2.tolist()):
        if label == 0:  # the newest class-0 memory is a.png's own: the one before it, from b.png, teaches
            assert torch.equal(teacher_probs2[row], probs1[last_row(0, 'b.png')])
        else:  # class 1 was only ever seen in a.png: never paired with its own image
            assert not has2[row]
    assert pair_rates(teacher)['memory_pair_rate'] == pytest.approx((labels2 == 0).float().mean().item())
    # the class memory holds, per (stage, class), the newest prediction and the one before it from another
    # image: class 0 a.png (batch 2) and b.png (batch 1), class 1 a.png: three rows of num_logits = 3 floats
    assert teacher.nbytes() == 3 * 3 * probs1.element_size()

    # batch 3: a new image of class 1 takes the latest class-1 prediction (a.png, batch 2)
    batch3 = roi_batch(sampled_image('e.png', [[30, 30, 70, 70]], [1]), seed=4)
    teacher_probs3, has3 = teacher(batch3)
    rows3, _, _, _ = ClassPairTeacher.positives(batch3)
    last_class1_row2 = max(r for r, lab in zip(rows2.tolist(), labels2.tolist()) if lab == 1)
    assert has3[rows3].all() and torch.equal(teacher_probs3[rows3[0]], probs2[last_class1_row2])

    restored = cskd_teacher()
    restored.load_state_dict(teacher.state_dict())
    assert torch.equal(restored.recall(0, 1, 'z.png'), teacher.recall(0, 1, 'z.png'))
    assert restored.recall(0, 0, 'b.png') is not None and restored.recall(0, 2, 'a.png') is None


def test_cskd_on_a_real_roi_head(cskd_model):
    model, dataset = cskd_model
    hook, runner = CSKDHook(), StubRunner(model)
    hook.before_train(runner)
    seen = record_teach(hook.teacher)
    hook.before_train_iter(runner, 0)  # publishes alpha_t
    losses, _ = forward_loss(model, dataset)
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_cskd'])
    ((batch, probs, teacher_probs, has_teacher),) = seen
    rows, labels, keys, _ = ClassPairTeacher.positives(batch)
    assert len(set(keys)) == 4 and rows.numel() > 0
    row_key, row_label = dict(zip(rows.tolist(), keys)), dict(zip(rows.tolist(), labels.tolist()))
    assert set(torch.nonzero(has_teacher).flatten().tolist()) <= set(row_key)  # negatives never taught
    for row in torch.nonzero(has_teacher).flatten().tolist():
        partner = source_row(teacher_probs[row].cpu(), probs.cpu())
        assert row_label[partner] == row_label[row] and row_key[partner] != row_key[row]
    hook.after_train_iter(runner, 0)
    assert runner.message_hub.get_scalar('train/cskd_pair_rate').current() == pytest.approx(
        has_teacher.sum().item() / rows.numel()
    )


# --- MrKD copies ---------------------------------------------------------------------------------
def test_copy_ring_slot_by_iteration():
    ring = CopyRingTeacher(num_copies=2, interval=3)
    # refresh after iterations 2, 5, 8, 11 (0-based) into slots 0, 1, 0, 1
    assert [ring.slot_to_refresh(i) for i in range(12)] == [None, None, 0, None, None, 1, None, None, 0, None, None, 1]
    assert [CopyRingTeacher(3, 1).slot_to_refresh(i) for i in range(4)] == [0, 1, 2, 0]


def test_mrkd_copies_refresh_outside_state_dict_and_resume_exactly(mrkd_model, tmp_path):
    model, dataset = mrkd_model
    keys_before = list(model.state_dict())
    hook, runner = MrKDHook(num_copies=2, interval=2), StubRunner(model)
    hook.before_train(runner)
    marker = model.roi_head.bbox_head.fc_cls.bias

    def markers():
        return [
            None if slot.snapshot is None else slot.snapshot.roi_head.bbox_head.fc_cls.bias[0].item()
            for slot in hook.teacher.slots
        ]

    history = []
    for iteration in range(6):
        with torch.no_grad():
            marker.fill_(iteration)
        runner.iter = iteration
        hook.after_train_iter(runner, iteration)
        history.append(markers())
    # weights after iterations 1, 3, 5 (interval 2), oldest overwritten first
    assert history == [[None, None], [1, None], [1, None], [1, 3], [1, 3], [5, 3]]
    assert list(model.state_dict()) == keys_before  # copies never join the model's state_dict
    copy = hook.teacher.slots[0].snapshot
    assert copy.roi_head.teacher is hook.teacher  # shared, not duplicated
    assert runner.message_hub.get_scalar('train/mrkd_memory_mb').current() == pytest.approx(
        2 * sum(t.numel() * t.element_size() for t in model.state_dict().values()) / 2**20
    )

    # the copies re-score the real proposals: one (M=2, N, K) teacher
    seen = record_teach(hook.teacher)
    hook.before_train_iter(runner, 0, pseudo_collate([dataset[i] for i in (0, 1)]))
    losses, _ = forward_loss(model, dataset, (0, 1))
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_mrkd'])
    ((_, _, teacher_probs, has_teacher),) = seen
    assert teacher_probs.shape[0] == 2 and teacher_probs.shape[2] == 4 and has_teacher.all()
    assert torch.allclose(teacher_probs.sum(-1), torch.ones(()))

    # exact resume: the checkpoint carries the copies under 'mrkd', loadable with weights_only=True
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    torch.save(checkpoint, tmp_path / 'ckpt.pth')
    checkpoint = load_local_checkpoint(str(tmp_path / 'ckpt.pth'))
    resumed = MrKDHook(num_copies=2, interval=2)
    resumed.after_load_checkpoint(runner, checkpoint)
    resumed.before_train(runner)
    for old, new in zip(hook.teacher.slots, resumed.teacher.slots):
        for (name, a), b in zip(old.snapshot.state_dict().items(), new.snapshot.state_dict().values()):
            assert torch.equal(a, b), name
    mismatched = MrKDHook(num_copies=3, interval=2)
    mismatched.after_load_checkpoint(runner, checkpoint)
    with pytest.raises(ValueError, match='num_copies=2.*num_copies=3'):
        mismatched.before_train(runner)


# --- real training runs ----------------------------------------------------------------------------
RUNS = {
    'ls': ('faster-rcnn_r18_fpn_ls-8e_shapes.py', 'LabelSmoothingLoss', 'loss_cls', {}),
    'lsrkd': ('faster-rcnn_r18_fpn_lsrkd-tc-8e_shapes.py', 'LsrKDLoss', 'loss_cls', {}),
    'cskd': ('faster-rcnn_r18_fpn_cskd-8e_shapes.py', 'CSKDLoss', 'cskd_pair_rate', {}),
    'mrkd': ('faster-rcnn_r18_fpn_mrkd-8e_shapes.py', 'MrKDLoss', 'mrkd_memory_mb', {'custom_hooks.0.interval': 3}),
}


@pytest.mark.slow
@pytest.mark.parametrize('method', list(RUNS))
def test_two_epoch_training_run(method, shapes_root, tmp_path):
    cfg_name, loss_type, scalar, extra = RUNS[method]
    work_dir = str(tmp_path / method)
    options = tiny_run_options(
        shapes_root,
        **{
            'train_dataloader.dataset.indices': 16,
            'train_cfg.max_epochs': 2,
            'val_cfg': None,
            'val_dataloader': None,
            'val_evaluator': None,
            **extra,
        },
    )
    run_tool(['tools/train.py', str(SELFKD_CFGS / cfg_name), '--work-dir', work_dir, *options])
    with open(os.path.join(work_dir, cfg_name)) as f:
        assert loss_type in f.read()
    train_logs = [log for log in read_scalars(work_dir) if 'loss' in log]
    # 2 epochs of 16 images at batch 4, logged every iteration; CS-KD's ClassPairBatchSampler draws 2 images per
    # batch of 4 (each with a same-class partner), so its epochs have twice the iterations
    assert len(train_logs) == (16 if method == 'cskd' else 8)
    assert all(math.isfinite(log['loss']) and math.isfinite(log['loss_cls']) for log in train_logs)
    assert all(scalar in log for log in train_logs)
    checkpoint = load_local_checkpoint(os.path.join(work_dir, 'epoch_2.pth'))
    if method == 'mrkd':  # refreshed after iterations 2 and 5: two copies, in the checkpoint, not in the model
        assert [log['mrkd_copies'] for log in train_logs] == [0, 0, 1, 1, 1, 2, 2, 2]
        assert all(slot['snapshot'] is not None for slot in checkpoint['mrkd']['teacher']['slots'])
    if method == 'cskd':
        assert 0 < train_logs[-1]['cskd_pair_rate'] <= 1 and 'cskd' in checkpoint
    assert not [key for key in checkpoint['state_dict'] if 'snapshot' in key or 'provider' in key]
