"""PS-KD and label smoothing for sigmoid one-stage heads (RetinaNet): the soft focal loss against mmdet's
FocalLoss and hand-worked numbers, the per-anchor GT assignment on real mmdet targets, the memory a real
PSKDRetinaHead records and teaches, and real tools/train.py runs."""

import math
import os
import pickle
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmdet_selfkd.compat import load_local_checkpoint
from mmdet_selfkd.models.dense_heads.pskd_dense_head import gather_logits, level_positions
from mmdet_selfkd.models.losses import LabelSmoothingFocalLoss, PSKDFocalLoss, smooth_sigmoid_targets, soft_focal_loss
from mmdet_selfkd.models.selfkd_head import ALPHA_T
from mmdet_selfkd.teachers import GTMemory, TeacherTargets

from conftest import REPO, by_epoch, read_scalars, run_tool, tiny_options, tiny_run_options

RETINA_CFG = str(REPO / 'configs/shapes/retinanet_r18_fpn_8e_shapes.py')
RETINA_PSKD_CFG = str(REPO / 'configs/pskd/retinanet_r18_fpn_pskd-8e_shapes.py')
RETINA_LS_CFG = str(REPO / 'configs/selfkd/retinanet_r18_fpn_ls-8e_shapes.py')
MMDET_TOOLS = os.path.join(os.path.dirname(__import__('mmdet').__file__), '.mim', 'tools')
NUM_CLASSES = 3


# --- the loss, by hand -----------------------------------------------------------------------------
def test_soft_focal_loss_hand_worked():
    # z = 0 -> p = 0.5; y = 0.7, a = 0.25, gamma = 2:
    # -(0.25 * 0.7 * ln 0.5 + 0.75 * 0.3 * ln 0.5) * |0.7 - 0.5|^2 = 0.4 * ln 2 * 0.04
    loss = soft_focal_loss(torch.zeros(1, 1), torch.full((1, 1), 0.7), alpha=0.25, gamma=2.0)
    assert loss.item() == pytest.approx(0.4 * math.log(2) * 0.04)
    # y = 1, p = sigmoid(ln 3) = 0.75: a * (1 - p)^2 * (-ln p) = 0.25 * 0.0625 * ln(4/3)
    loss = soft_focal_loss(torch.full((1, 1), math.log(3)), torch.ones(1, 1))
    assert loss.item() == pytest.approx(0.25 * 0.0625 * math.log(4 / 3))


def test_soft_focal_loss_is_minimal_at_the_soft_target():
    target = torch.tensor([[0.3, 0.8]])
    logits = torch.logit(target).requires_grad_()
    loss = soft_focal_loss(logits, target)
    loss.sum().backward()
    assert loss.abs().max().item() < 1e-12 and logits.grad.abs().max().item() < 1e-6
    # mmdet's FocalLoss on the same soft target keeps pulling the score away from it
    mmdet_focal = MODELS.build(dict(type='mmdet.FocalLoss', use_sigmoid=True, reduction='sum'))
    logits.grad = None
    mmdet_focal(logits, target).backward()
    assert logits.grad.abs().max().item() > 1e-3


def test_hard_targets_give_exactly_mmdets_focal_loss():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, NUM_CLASSES, generator=gen) * 3
    labels = torch.randint(0, NUM_CLASSES + 1, (50,), generator=gen)  # NUM_CLASSES: background
    weights = torch.rand(50, generator=gen)
    mmdet_focal = MODELS.build(dict(type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25))
    ours = LabelSmoothingFocalLoss(epsilon=0.0)
    for kwargs in (dict(), dict(avg_factor=7.0)):
        assert ours(logits, labels, weights, **kwargs).item() == pytest.approx(
            mmdet_focal(logits, labels, weights, **kwargs).item(), rel=1e-5
        )
    # PS-KD's term on positives without a teacher is 0: the head's loss is mmdet's FocalLoss exactly
    positives = labels < NUM_CLASSES
    num_pos = int(positives.sum())
    nobody = TeacherTargets(torch.zeros(num_pos, NUM_CLASSES), torch.zeros(num_pos, dtype=torch.bool))
    assert PSKDFocalLoss()(logits[positives], labels[positives], nobody, 0.8, weights[positives]).item() == 0.0


def test_sigmoid_targets_smooth_only_the_positive_rows():
    labels = torch.tensor([0, 3, 2])  # 3 = background
    # positives: (1 - 0.3) * onehot + 0.3 / 3; background: zeros
    expected = torch.tensor([[0.8, 0.1, 0.1], [0, 0, 0], [0.1, 0.1, 0.8]])
    assert torch.allclose(smooth_sigmoid_targets(labels, 3, 0.3), expected)
    assert torch.equal(smooth_sigmoid_targets(labels, 3, 0.0), torch.tensor([[1.0, 0, 0], [0, 0, 0], [0, 0, 1]]))


def test_label_smoothing_focal_smooths_positives_only():
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]])
    labels = torch.tensor([2, 3])  # a positive of class 2, a background anchor
    loss = LabelSmoothingFocalLoss(epsilon=0.3, reduction='none')(logits, labels)
    # positive: (1 - 0.3) * onehot + 0.3 / 3 = [0.1, 0.1, 0.8]; background: zeros
    expected = soft_focal_loss(logits, torch.tensor([[0.1, 0.1, 0.8], [0.0, 0.0, 0.0]]))
    assert torch.allclose(loss, expected)


def test_pskd_focal_loss_needs_hook_and_head_and_uses_the_teacher():
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]])
    labels = torch.tensor([2, 3])
    loss = PSKDFocalLoss(reduction='sum')
    # called as mmdet's heads call a loss_cls (logits, labels, label_weights): no teacher
    with pytest.raises(RuntimeError, match="add dict\\(type='PSKDHook'\\)") as err:
        loss(logits, labels, torch.ones(2))
    assert "'PSKDRetinaHead'" in str(err.value)
    # the head: FocalLoss over every row, the term over the positive (row 0) with its teacher
    term = loss(logits[:1], labels[:1], TeacherTargets(torch.tensor([[0.2, 0.1, 0.5]]), torch.tensor([True])), 0.4)
    mmdet_focal = MODELS.build(dict(type='mmdet.FocalLoss', use_sigmoid=True, reduction='sum'))
    # row 0: 0.6 * [0, 0, 1] + 0.4 * [0.2, 0.1, 0.5] = [0.08, 0.04, 0.8]; row 1 stays background
    expected = soft_focal_loss(logits, torch.tensor([[0.08, 0.04, 0.8], [0.0, 0.0, 0.0]])).sum()
    assert (mmdet_focal(logits, labels) + term).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize(
    'kwargs,error',
    [
        (dict(use_sigmoid=False), 'use_sigmoid=False'),
        (dict(gamma=-1.0), 'gamma=-1.0'),
        (dict(alpha=1.5), 'alpha=1.5'),
        (dict(reduction='max'), "reduction='max'"),
    ],
)
def test_bad_focal_settings_are_refused(kwargs, error):
    for loss_type in ('PSKDFocalLoss', 'LabelSmoothingFocalLoss'):
        with pytest.raises(ValueError, match=error.replace('(', '\\(')):
            MODELS.build(dict(type=loss_type, **kwargs))
    with pytest.raises(ValueError, match='epsilon=1.0'):
        LabelSmoothingFocalLoss(epsilon=1.0)


# --- the head on real mmdet targets ----------------------------------------------------------------
def build_retina(shapes_root, config=RETINA_PSKD_CFG):
    from mmdet.registry import DATASETS

    init_default_scope('mmdet')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(tiny_options(shapes_root))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train(), dataset


def head_inputs(model, dataset, indices=(0, 1, 2, 3)):
    data = model.data_preprocessor(pseudo_collate([dataset[i] for i in indices]), True)
    cls_scores, bbox_preds = model.bbox_head(model.extract_feat(data['inputs']))
    samples = data['data_samples']
    return cls_scores, bbox_preds, [s.gt_instances for s in samples], [s.metainfo for s in samples]


def anchors_and_assignment(head, cls_scores, gt_instances, metas, image):
    """The image's anchors and mmdet's own MaxIoUAssigner result for them, computed apart from the head."""
    anchor_list, _ = head.get_anchors([s.shape[-2:] for s in cls_scores], metas, device='cpu')
    anchors = torch.cat(anchor_list[image])
    assign = head.assigner.assign(InstanceData(priors=anchors), gt_instances[image])
    return anchors, assign.gt_inds - 1  # -1: negative


def flat_scores(cls_scores, image):
    """The image's logits, (num_anchors, C), in anchor order (levels concatenated)."""
    return torch.cat([s[image].permute(1, 2, 0).reshape(-1, NUM_CLASSES) for s in cls_scores])


@pytest.fixture(scope='module')
def retina(shapes_root):
    model, dataset = build_retina(shapes_root)
    with torch.no_grad():
        inputs = head_inputs(model, dataset)
    return model, dataset, inputs


def test_assigned_gt_per_anchor_matches_mmdets_assigner(retina):
    model, _, (cls_scores, _, gt_instances, metas) = retina
    head = model.bbox_head
    anchor_list, valid_flags = head.get_anchors([s.shape[-2:] for s in cls_scores], metas, device='cpu')
    # what PSKDRetinaHead reads: mmdet's labels and SamplingResults (positives in sorted pos_inds order)
    labels_levels, *_, sampling_results = head.get_targets(
        anchor_list, valid_flags, gt_instances, metas, return_sampling_results=True
    )
    for image in range(len(metas)):
        _, expected = anchors_and_assignment(head, cls_scores, gt_instances, metas, image)
        labels, result = torch.cat([level[image] for level in labels_levels]), sampling_results[image]
        assigned = torch.full_like(labels, -1)
        assigned[labels < NUM_CLASSES] = result.pos_assigned_gt_inds[result.pos_inds.argsort()]
        assert torch.equal(assigned, expected.clamp(min=-1))
        assert (assigned >= 0).sum() > 0


def test_positive_logits_are_picked_as_mmdet_flattens_them():
    gen = torch.Generator().manual_seed(0)
    num_priors, num_classes = 3, 4
    levels = [
        torch.randn(2, num_priors * num_classes, h, w, generator=gen, requires_grad=True) for h, w in ((4, 5), (2, 3))
    ]
    # mmdet's flattening: per image, levels concatenated, each (H * W * A, C) from permute(0, 2, 3, 1)
    flat = torch.cat([s.permute(0, 2, 3, 1).reshape(2, -1, num_classes) for s in levels], 1)
    img_inds = torch.tensor([0, 0, 1, 1, 1])
    anchor_inds = torch.tensor([0, 59, 7, 60, 77])  # 4 * 5 * 3 = 60 anchors on level 0, 18 on level 1
    level, level_inds = level_positions(anchor_inds, [60, 18])
    assert level.tolist() == [0, 0, 0, 1, 1] and level_inds.tolist() == [0, 59, 7, 0, 17]
    picked = gather_logits(levels, img_inds, level, level_inds, num_priors)
    assert torch.equal(picked, flat[img_inds, anchor_inds])
    picked.sum().backward()
    assert levels[1].grad.abs().sum() == 2 * num_classes  # two rows of level 1, gradient 1 each


def bound(memory, num_logits=NUM_CLASSES):
    """A memory bound to ``num_logits`` scores per row, as PSKDHook binds it."""
    memory.bind(None, num_logits)
    return memory


def run_head_loss(head, inputs, memory, alpha_t):
    cls_scores, bbox_preds, gt_instances, metas = inputs
    head.teacher = memory
    MessageHub.get_current_instance().update_info(ALPHA_T, alpha_t)
    return head.loss_by_feat(cls_scores, bbox_preds, gt_instances, metas)


def total_cls(losses):
    """The classification loss of a PS-KD dense head: mmdet's loss_cls (per level) plus loss_pskd."""
    loss_cls = losses['loss_cls']
    return (sum(loss_cls) if isinstance(loss_cls, list) else loss_cls) + losses['loss_pskd']


def test_memory_holds_the_mean_sigmoid_of_each_gts_anchors_and_teaches_it(retina):
    model, _, inputs = retina
    head = model.bbox_head
    cls_scores, _, gt_instances, metas = inputs
    memory = bound(GTMemory(topk=NUM_CLASSES))
    with torch.no_grad():
        first = run_head_loss(head, inputs, memory, alpha_t=0.0)
    assert memory.pop_stats() == dict(coverage=0.0, teacher_conf=0.0)
    assert first['loss_pskd'].item() == 0.0  # pass 0 is stock RetinaNet
    memory.end_pass()
    expected_means = []
    for image, meta in enumerate(metas):
        _, assigned = anchors_and_assignment(head, cls_scores, gt_instances, metas, image)
        probs = flat_scores(cls_scores, image).sigmoid()
        stored = memory.prev_preds[(0, 'gt', meta['img_path'])]
        means = {}
        for gt in assigned[assigned >= 0].unique().tolist():
            means[gt] = probs[assigned == gt].mean(0)
            rows = stored.select(stored.labels == gt_instances[image].labels[gt])  # box + scores, label + classes
            match = [
                i
                for i, box in enumerate(rows.boxes)
                if torch.allclose(box, _original(gt_instances[image].bboxes[gt], meta), atol=0.5)
            ]
            assert len(match) == 1
            scores = torch.zeros(NUM_CLASSES).scatter_(
                0, rows.ids[match[0], 1:].long(), rows.values[match[0], 4:].float()
            )
            assert torch.allclose(scores, means[gt], atol=1e-3)  # fp16 storage
        expected_means.append((assigned, means))

    # next pass, same images and transforms: every positive anchor is taught its GT's mean
    with torch.no_grad():
        second = run_head_loss(head, inputs, memory, alpha_t=0.5)
    assert memory.pop_stats()['coverage'] == 1.0
    total, avg_factor = 0.0, sum(int((a >= 0).sum()) for a, _ in expected_means)
    for image, (assigned, means) in enumerate(expected_means):
        targets = torch.zeros(assigned.numel(), NUM_CLASSES)
        for gt, mean in means.items():
            onehot = torch.nn.functional.one_hot(gt_instances[image].labels[gt], NUM_CLASSES).float()
            targets[assigned == gt] = 0.5 * onehot + 0.5 * memory_row(memory, metas[image], gt_instances[image], gt)
        total += soft_focal_loss(flat_scores(cls_scores, image), targets).sum()
    assert total_cls(second).item() == pytest.approx(total.item() / avg_factor, rel=1e-4)
    assert total_cls(second).item() != pytest.approx(total_cls(first).item(), rel=1e-3)


def _original(box, meta):
    from mmdet_selfkd.teachers import to_original_coords

    return to_original_coords(box[None], meta)[0]


def memory_row(memory, meta, gts, gt):
    """The teacher the memory holds for a GT (decoded as the head gets it)."""
    from mmdet_selfkd.teachers.roi_batch import ImageRoIs

    img = ImageRoIs(
        key=meta['img_path'],
        gt_boxes=_original(gts.bboxes, meta),
        gt_labels=gts.labels,
        pos_boxes=torch.zeros(1, 4),
        pos_gt_inds=torch.tensor([gt]),
        num_neg=0,
    )
    probs, has = memory._teach_image(0, img)
    assert bool(has[0])
    return probs[0]


# --- real runs -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_retinanet_two_pass_run_and_plain_checkpoint(shapes_root, tmp_path):
    options = tiny_run_options(shapes_root, **{'train_cfg.max_epochs': 2})
    run_tool(['tools/train.py', RETINA_PSKD_CFG, '--work-dir', str(tmp_path), *options])
    scalars = read_scalars(str(tmp_path))
    alpha, coverage = by_epoch(scalars, 'pskd_alpha'), by_epoch(scalars, 'pskd_coverage')
    # T = 2: the last pass trains at alpha_T
    assert set(alpha[1]) == {0.0} and alpha[2] == pytest.approx([0.8] * len(alpha[2]))
    assert set(coverage[1]) == {0.0} and min(coverage[2]) > 0
    assert min(by_epoch(scalars, 'pskd_teacher_conf')[2]) > 0
    ckpt = load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))
    assert ckpt['pskd']['teacher']['topk'] == NUM_CLASSES and ckpt['pskd']['teacher']['prev_preds']['keys']
    # a plain RetinaNet checkpoint: the stock config, no plugin, mmdet's own tools/test.py predicts exactly
    # what the PS-KD config does (score_thr 0: the untrained scores are ~0.01, the RetinaNet prior)
    test_options = tiny_run_options(shapes_root, **{'model.test_cfg.score_thr': 0.0})
    stock_cfg = tmp_path / 'stock.py'
    stock_cfg.write_text(f"_base_ = '{RETINA_CFG}'\ncustom_imports = dict(imports=[], allow_failed_imports=False)\n")
    run_tool(
        [
            os.path.join(MMDET_TOOLS, 'test.py'),
            str(stock_cfg),
            str(tmp_path / 'epoch_2.pth'),
            '--work-dir',
            str(tmp_path / 'stock'),
            '--out',
            str(tmp_path / 'stock.pkl'),
            *test_options,
        ],
        env={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'},
    )
    run_tool(
        [
            'tools/test.py',
            RETINA_PSKD_CFG,
            str(tmp_path / 'epoch_2.pth'),
            '--work-dir',
            str(tmp_path / 'ours'),
            '--out',
            str(tmp_path / 'ours.pkl'),
            *test_options,
        ]
    )
    stock, ours = (pickle.loads((tmp_path / name).read_bytes()) for name in ('stock.pkl', 'ours.pkl'))
    assert len(stock) == len(ours) == 8
    for a, b in zip(stock, ours):
        assert a['pred_instances']['scores'].numel() > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(a['pred_instances'][key], b['pred_instances'][key])


@pytest.mark.slow
def test_retinanet_label_smoothing_run(shapes_root, tmp_path):
    run_tool(['tools/train.py', RETINA_LS_CFG, '--work-dir', str(tmp_path), *tiny_run_options(shapes_root)])
    losses = [row['loss_cls'] for row in read_scalars(str(tmp_path)) if 'loss_cls' in row]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)


@pytest.mark.parametrize(
    'options,error',
    [
        ({'custom_hooks.0.memory.strategy': 'iou'}, "supports strategy='gt' only"),
        ({'custom_hooks.0.memory.topk': 2}, 'remove topk'),
        ({'model.bbox_head.distill_loss': None}, "and distill_loss=dict(type='PSKDFocalLoss')"),
        ('stock RetinaHead', "model.bbox_head.type='PSKDRetinaHead'"),
    ],
)
def test_misconfigured_retinanet_runs_fail_at_start(shapes_root, tmp_path, options, error):
    config = RETINA_PSKD_CFG
    if options == 'stock RetinaHead':  # the stock config with the hook alone
        config, options = str(tmp_path / 'stock_with_hook.py'), {}
        Path(config).write_text(f"_base_ = '{RETINA_CFG}'\ncustom_hooks = [dict(type='PSKDHook')]\n")
    proc = run_tool(
        ['tools/train.py', config, '--work-dir', str(tmp_path), *tiny_run_options(shapes_root, **options)],
        check=False,
    )
    assert proc.returncode != 0 and error in proc.stderr, proc.stderr[-3000:]
    assert 'Epoch(train) [1][2/' not in proc.stdout + proc.stderr


# --- FCOS: the assigned GT recovered from the point targets ------------------------------------------
FCOS_HEAD = dict(
    num_classes=NUM_CLASSES,
    in_channels=8,
    feat_channels=8,
    stacked_convs=1,
    strides=[8, 16, 32],
    regress_ranges=((-1, 16), (16, 32), (32, 1e8)),
    norm_cfg=None,
)


def fcos_batch():
    """Two 64x64 images with non-overlapping GTs: a positive point lies in exactly the GT it is assigned to."""
    gts = [
        InstanceData(
            bboxes=torch.tensor([[2.0, 2.0, 20.0, 20.0], [30.0, 28.0, 62.0, 60.0]]), labels=torch.tensor([0, 2])
        ),
        InstanceData(bboxes=torch.tensor([[4.0, 36.0, 28.0, 62.0]]), labels=torch.tensor([1])),
    ]
    metas = [
        dict(img_path=f'img{i}.jpg', img_shape=(64, 64), pad_shape=(64, 64), scale_factor=(1.0, 1.0), flip=False)
        for i in range(2)
    ]
    gen = torch.Generator().manual_seed(0)
    feats = tuple(torch.randn(2, 8, 64 // s, 64 // s, generator=gen) for s in (8, 16, 32))
    return feats, gts, metas


def test_a_softmax_distill_loss_in_a_sigmoid_head_is_refused_by_name():
    with pytest.raises(ValueError, match="a sigmoid head takes dict\\(type='PSKDFocalLoss'\\)"):
        build_fcos('PSKDFCOSHead', 'FocalLoss', distill_loss=dict(type='PSKDLoss'))


def build_fcos(head_type, loss_type, **extra):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type=head_type,
            loss_cls=dict(type=loss_type, use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            **FCOS_HEAD,
            **extra,
        )
    )
    return head.train()


def test_fcos_head_records_each_gts_mean_and_teaches_it():
    feats, gts, metas = fcos_batch()
    stock = build_fcos('FCOSHead', 'FocalLoss')
    head = build_fcos('PSKDFCOSHead', 'FocalLoss', distill_loss=dict(type='PSKDFocalLoss'))
    head.load_state_dict(stock.state_dict())
    memory = bound(GTMemory(topk=NUM_CLASSES))
    head.teacher = memory
    MessageHub.get_current_instance().update_info(ALPHA_T, 0.0)
    with torch.no_grad():
        outputs = head(feats)
        first = head.loss_by_feat(*outputs, gts, metas)
        # pass 0 is exactly FCOS: the same losses as the stock head with FocalLoss, and no PS-KD term
        expected = stock.loss_by_feat(*stock(feats), gts, metas)
    assert first['loss_pskd'].item() == 0.0
    for key in ('loss_cls', 'loss_bbox', 'loss_centerness'):
        assert first[key].item() == pytest.approx(expected[key].item(), rel=1e-5)
    memory.end_pass()

    # independently of the head: mmdet's positive points, each assigned to the GT box that contains it
    points = head.prior_generator.grid_priors([f.shape[-2:] for f in feats], device='cpu')
    labels = torch.cat(stock.get_targets(points, gts)[0])  # levels, then images, then points
    logits = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES) for s in outputs[0]])
    xy = torch.cat([p.repeat(2, 1) for p in points])
    img = torch.cat([torch.arange(2).repeat_interleave(p.size(0)) for p in points])
    targets = torch.nn.functional.one_hot(labels, NUM_CLASSES + 1)[:, :NUM_CLASSES].float()
    taught = torch.zeros_like(targets)
    for i, gt_set in enumerate(gts):
        for g, box in enumerate(gt_set.bboxes):
            inside = (
                (img == i)
                & (labels < NUM_CLASSES)
                & (xy[:, 0] >= box[0])
                & (xy[:, 0] <= box[2])
                & (xy[:, 1] >= box[1])
                & (xy[:, 1] <= box[3])
            )
            assert inside.any()
            mean = logits[inside].sigmoid().mean(0)
            assert torch.allclose(memory_row(memory, metas[i], gt_set, g), mean, atol=1e-3)  # fp16 storage
            taught[inside] = 0.5 * targets[inside] + 0.5 * memory_row(memory, metas[i], gt_set, g)
    positives = labels < NUM_CLASSES
    targets[positives] = taught[positives]

    MessageHub.get_current_instance().update_info(ALPHA_T, 0.5)
    memory.pop_stats()
    with torch.no_grad():
        second = head.loss_by_feat(*outputs, gts, metas)
    assert memory.pop_stats()['coverage'] == 1.0
    hand = soft_focal_loss(logits, targets).sum() / positives.sum()
    assert total_cls(second).item() == pytest.approx(hand.item(), rel=1e-5)
    assert second['loss_bbox'].item() == pytest.approx(first['loss_bbox'].item())


def test_label_smoothing_focal_drops_into_fcos():
    feats, gts, metas = fcos_batch()
    stock, smoothed = build_fcos('FCOSHead', 'FocalLoss'), build_fcos('FCOSHead', 'LabelSmoothingFocalLoss')
    smoothed.load_state_dict(stock.state_dict())
    with torch.no_grad():
        outputs = stock(feats)
        hard, soft = stock.loss_by_feat(*outputs, gts, metas), smoothed.loss_by_feat(*outputs, gts, metas)
    assert soft['loss_bbox'].item() == pytest.approx(hard['loss_bbox'].item())
    assert soft['loss_cls'].item() != pytest.approx(hard['loss_cls'].item(), rel=1e-3)
