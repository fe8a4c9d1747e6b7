"""CS-KD: the KD term's normalisation against numbers worked by hand from the reference's formula, the
class-pair batch sampler on real mmdet datasets (plain, RepeatDataset, DDP-sharded, infinite, empty images),
and a real ``tools/train.py`` run whose positives find their partners in the batch."""

import copy
import itertools
import json
import math
import os

import pytest
import torch
import torch.nn.functional as F
from distill_helpers import with_teacher
from mmengine.dataset import DefaultSampler, InfiniteSampler, RepeatDataset
from mmengine.registry import init_default_scope

from mmdet_selfkd.datasets import ClassPairBatchSampler
from mmdet_selfkd.engine import CSKDHook
from mmdet_selfkd.models.losses import CSKDLoss
from mmdet_selfkd.teachers import RoIBatch
from mmdet_selfkd.teachers.class_pair_teacher import ClassPairTeacher
from mmdet_selfkd.teachers.roi_batch import ImageRoIs

from conftest import REPO, read_scalars, run_tool, tiny_run_options

CSKD_CFG = str(REPO / 'configs/selfkd/faster-rcnn_r18_fpn_cskd-8e_shapes.py')
LN2, LN3, LN6 = math.log(2), math.log(3), math.log(6)
SHAPES_CLASSES = ('square', 'circle', 'triangle')


# --- the loss by hand ------------------------------------------------------------------------------
# K = 3 logits (2 object classes + background = label 2), T = 2, lambda = 0.5, loss_weight = 2.
#   row 0: label 0, z = [ln 4, 0, 0], partner softmax [1/6, 4/6, 1/6]. Student at T: softmax([ln 2, 0, 0]) =
#          [1/2, 1/4, 1/4]; partner at T: prop. to sqrt -> [1, 2, 1] / 4 = [1/4, 1/2, 1/4].
#          KL = 1/4 ln(1/2) + 1/2 ln 2 = 1/4 ln 2; T^2 KL = ln 2. CE = -ln(4/6) = ln 1.5.
#   row 1: label 1, z = 0, partner softmax [4/6, 1/6, 1/6] -> at T [1/2, 1/4, 1/4]; student uniform.
#          KL = 1/2 ln(3/2) + 2 * 1/4 ln(3/4) = 1/2 ln(9/8); T^2 KL = 2 ln(9/8). CE = ln 3.
#   row 2: background, z = [0, ln 4, 0], no partner: CE = -ln(1/6) = ln 6.
#   row 3: label 0, z = 0, a positive without partner: CE = ln 3.
LOGITS = [[math.log(4), 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, math.log(4), 0.0], [0.0, 0.0, 0.0]]
LABELS = [0, 1, 2, 0]
PARTNERS = [[1 / 6, 4 / 6, 1 / 6], [4 / 6, 1 / 6, 1 / 6], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
HAS_PARTNER = [True, True, False, False]
CE = [math.log(1.5), LN3, LN6, LN3]
KD = [LN2, 2 * math.log(9 / 8), 0.0, 0.0]  # T^2 KL per row, 0 without a partner
T, LAMBDA, LOSS_WEIGHT = 2.0, 0.5, 2.0


def cskd(reduction='mean'):
    loss = CSKDLoss(temperature=T, kd_weight=LAMBDA, reduction=reduction, loss_weight=LOSS_WEIGHT)
    return with_teacher(loss, PARTNERS, HAS_PARTNER)


def test_kd_term_is_averaged_over_the_rows_with_a_partner():
    logits, labels = torch.tensor(LOGITS), torch.tensor(LABELS)
    # mean: CE over the 4 rows, KD over the 2 rows with a partner (the old normaliser, 4 rows, gave half of it)
    expected = LOSS_WEIGHT * (sum(CE) / 4 + LAMBDA * (KD[0] + KD[1]) / 2)
    assert cskd()(logits, labels).item() == pytest.approx(expected, abs=1e-6)
    # the RoI head's avg_factor (number of sampled RoIs, here as if 8) normalises the CE only
    expected = LOSS_WEIGHT * (sum(CE) / 8 + LAMBDA * (KD[0] + KD[1]) / 2)
    assert cskd()(logits, labels, torch.ones(4), avg_factor=8.0).item() == pytest.approx(expected, abs=1e-6)
    # a row of weight 0 leaves both terms and the KD normaliser: row 1 out -> KD over row 0 alone
    expected = LOSS_WEIGHT * ((CE[0] + CE[2] + CE[3]) / 3 + LAMBDA * KD[0] / 1)
    assert cskd()(logits, labels, torch.tensor([1.0, 0.0, 1.0, 1.0]), avg_factor=3.0).item() == pytest.approx(
        expected, abs=1e-6
    )
    # sum: no normaliser
    assert cskd('sum')(logits, labels).item() == pytest.approx(LOSS_WEIGHT * (sum(CE) + LAMBDA * sum(KD)), abs=1e-6)
    # none: per row loss_weight * (CE_i + lambda * T^2 KL_i), the KD part not divided by the rows with a partner
    assert cskd('none')(logits, labels).tolist() == pytest.approx(
        [LOSS_WEIGHT * (ce + LAMBDA * kd) for ce, kd in zip(CE, KD)], abs=1e-6
    )


def test_kd_term_is_the_reference_kdloss_on_the_paired_rows():
    # alinlab/cs-kd train.py: KDLoss = KLDivLoss(reduction='sum')(log_softmax(x/T), softmax(x'/T)) * T**2 / n over
    # the n paired samples; loss = CE + lamda * KDLoss. Partner logits whose softmax are PARTNERS' rows:
    logits, labels = torch.tensor(LOGITS), torch.tensor(LABELS)
    paired, partner_logits = logits[:2], torch.tensor([[0.0, math.log(4), 0.0], [math.log(4), 0.0, 0.0]])
    reference_kd = (
        torch.nn.KLDivLoss(reduction='sum')(F.log_softmax(paired / T, 1), F.softmax(partner_logits / T, 1))
        * T**2
        / paired.size(0)
    )
    ce = F.cross_entropy(logits, labels)
    loss = CSKDLoss(temperature=T, kd_weight=LAMBDA)  # loss_weight 1
    assert with_teacher(loss, PARTNERS, HAS_PARTNER)(logits, labels).item() == pytest.approx(
        (ce + LAMBDA * reference_kd).item(), abs=1e-6
    )


def test_no_partner_in_the_batch_or_zero_weight_leaves_the_cross_entropy():
    logits = torch.tensor(LOGITS, requires_grad=True)
    labels = torch.tensor(LABELS)
    nobody = with_teacher(CSKDLoss(temperature=T, kd_weight=LAMBDA), PARTNERS, [False] * 4)
    loss = nobody(logits, labels)
    assert loss.item() == pytest.approx(sum(CE) / 4, abs=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    off = with_teacher(CSKDLoss(temperature=T, kd_weight=0.0), PARTNERS, HAS_PARTNER)
    assert off(logits, labels).item() == pytest.approx(sum(CE) / 4, abs=1e-6)


# --- the class memory as an option ----------------------------------------------------------------
def image(key, labels):
    """One image's rows: one positive per GT (labels), one negative; the student's probabilities uniform."""
    boxes = torch.tensor([[10.0 * i, 0.0, 10.0 * i + 8, 8.0] for i in range(len(labels))])
    return ImageRoIs(
        key=key,
        gt_boxes=boxes,
        gt_labels=torch.tensor(labels),
        pos_boxes=boxes,
        pos_gt_inds=torch.arange(len(labels)),
        num_neg=1,
        pos_probs=torch.full((len(labels), 3), 1 / 3),
    )


def pair_rates(teacher):
    """The pair rates a CS-KD teacher logs (and restarts)."""
    stats = teacher.pop_stats()
    return {name: stats[name] for name in ('pair_rate', 'memory_pair_rate') if name in stats}


def test_class_memory_can_be_turned_off():
    # batch 1 pairs class 0 in a/b; batch 2 has class 0 in c alone: from the memory, or no teacher
    batch1 = RoIBatch(stage=0, images=[image('a', [0]), image('b', [0])])
    batch2 = RoIBatch(stage=0, images=[image('c', [0])])
    for use_memory in (True, False):
        teacher = ClassPairTeacher(use_memory=use_memory)
        teacher.bind(None, 3)
        teacher(batch1)
        assert pair_rates(teacher) == dict(pair_rate=1.0, memory_pair_rate=0.0)
        _, has_teacher = teacher(batch2)
        assert has_teacher.tolist() == [use_memory, False]
        assert pair_rates(teacher) == dict(pair_rate=float(use_memory), memory_pair_rate=float(use_memory))
    assert CSKDHook(use_memory=False).teacher.use_memory is False
    assert CSKDHook().teacher.use_memory is True


# --- the batch sampler ----------------------------------------------------------------------------
def coco_dataset(data_root, ann_file='annotations/train.json', **kwargs):
    from mmdet.registry import DATASETS

    init_default_scope('mmdet')
    return DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=data_root.rstrip('/') + '/',
            ann_file=ann_file,
            data_prefix=dict(img=''),
            metainfo=dict(classes=SHAPES_CLASSES),
            pipeline=[],
            **kwargs,
        )
    )


@pytest.fixture(scope='module')
def shapes_train(shapes_root):
    return coco_dataset(shapes_root)


def classes_of(dataset, idx):
    """GT classes of an image (mmengine's RepeatDataset and ConcatDataset have no ``get_cat_ids``)."""
    return {inst['bbox_label'] for inst in dataset.get_data_info(idx)['instances'] if not inst['ignore_flag']}


def check_pairs(dataset, batches, batch_size):
    """Every batch: drawn half then partners; each partner another image with a class of its drawn image."""
    drawn = []
    for batch in batches:
        assert len(batch) % 2 == 0 and len(batch) <= batch_size
        half = len(batch) // 2
        for idx, partner in zip(batch[:half], batch[half:]):
            assert 0 <= partner < len(dataset)
            assert classes_of(dataset, idx) & classes_of(dataset, partner)
            assert dataset.get_data_info(idx)['img_path'] != dataset.get_data_info(partner)['img_path']
        drawn += batch[:half]
    return drawn


def test_every_drawn_image_gets_a_same_class_partner(shapes_train):
    sampler = ClassPairBatchSampler(DefaultSampler(shapes_train, seed=0), batch_size=4)
    batches = list(sampler)
    assert len(sampler) == len(batches) == 8 and all(len(batch) == 4 for batch in batches)
    assert sorted(check_pairs(shapes_train, batches, 4)) == list(range(16))  # each image drawn once an epoch
    # batch 6: 3 drawn (a short last batch), or drop_last
    assert [len(b) for b in ClassPairBatchSampler(DefaultSampler(shapes_train, seed=0), 6)] == [6] * 5 + [2]
    assert len(ClassPairBatchSampler(DefaultSampler(shapes_train, seed=0), 6, drop_last=True)) == 5


def test_deterministic_given_seed_and_epoch(shapes_train):
    def epoch(seed, number):
        sampler = ClassPairBatchSampler(DefaultSampler(shapes_train, seed=seed), batch_size=4)
        sampler.sampler.set_epoch(number)  # where mmengine's loops and DistSamplerSeedHook set it
        return list(sampler)

    assert epoch(0, 0) == epoch(0, 0) and epoch(0, 1) == epoch(0, 1)
    assert epoch(0, 0) != epoch(0, 1) and epoch(0, 0) != epoch(1, 0)
    sampler = ClassPairBatchSampler(DefaultSampler(shapes_train, seed=0), batch_size=4)
    sampler.set_epoch(1)
    assert sampler.sampler.epoch == 1 and list(sampler) == epoch(0, 1)
    # the partners themselves depend on the epoch, not only the drawn order
    unshuffled = [list(ClassPairBatchSampler(DefaultSampler(shapes_train, shuffle=False, seed=0), 4)) for _ in range(2)]
    assert unshuffled[0] == unshuffled[1]
    moved = ClassPairBatchSampler(DefaultSampler(shapes_train, shuffle=False, seed=0), 4)
    moved.set_epoch(1)
    assert list(moved) != unshuffled[0]


@pytest.mark.parametrize('batch_size', [3, 1, 0])
def test_odd_batch_size_is_refused(shapes_train, batch_size):
    with pytest.raises(ValueError, match=f'train_dataloader.batch_size={batch_size} must be an even'):
        ClassPairBatchSampler(DefaultSampler(shapes_train, seed=0), batch_size)


def test_repeat_dataset(shapes_train):
    repeated = RepeatDataset(shapes_train, times=3)
    sampler = ClassPairBatchSampler(DefaultSampler(repeated, seed=0), batch_size=4)
    batches = list(sampler)
    assert len(batches) == 24 and sorted(check_pairs(repeated, batches, 4)) == list(range(48))
    # partners are indices of the base dataset (valid in the wrapper too), never a copy of the drawn image
    assert all(partner < 16 for batch in batches for partner in batch[2:])


def test_ddp_shards_are_balanced(shapes_train, monkeypatch):
    import mmengine.dataset.sampler as mmengine_samplers

    shards = []
    for rank in (0, 1):
        monkeypatch.setattr(mmengine_samplers, 'get_dist_info', lambda rank=rank: (rank, 2))
        shards.append(list(ClassPairBatchSampler(DefaultSampler(shapes_train, seed=0), batch_size=4)))
    assert [len(batches) for batches in shards] == [4, 4]
    assert all(len(batch) == 4 for batches in shards for batch in batches)
    drawn = [check_pairs(shapes_train, batches, 4) for batches in shards]
    assert sorted(drawn[0] + drawn[1]) == list(range(16))  # the DefaultSampler's shards, each drawn once


def test_infinite_sampler(shapes_train):
    sampler = ClassPairBatchSampler(InfiniteSampler(shapes_train, seed=0), batch_size=4)
    batches = list(itertools.islice(iter(sampler), 20))  # 2.5 passes over the 16 images
    assert sorted(check_pairs(shapes_train, batches[:8], 4)) == list(range(16))
    check_pairs(shapes_train, batches, 4)


def test_images_without_gt_and_ignored_boxes(shapes_root, tmp_path):
    # train.json with image 0's boxes removed and one class left only on a crowd box of image 1
    with open(os.path.join(shapes_root, 'annotations/train.json')) as f:
        coco = json.load(f)
    images = [img['id'] for img in coco['images']]
    anns = [ann for ann in coco['annotations'] if ann['image_id'] != images[0]]
    crowd = next(ann for ann in anns if ann['image_id'] == images[1])
    crowd_class = crowd['category_id']
    anns = [ann for ann in anns if ann['category_id'] != crowd_class or ann is crowd]
    crowd['iscrowd'] = 1
    edited = copy.deepcopy(coco)
    edited['annotations'] = anns
    ann_file = tmp_path / 'train.json'
    ann_file.write_text(json.dumps(edited))
    dataset = coco_dataset(shapes_root, ann_file=str(ann_file), filter_cfg=dict(filter_empty_gt=False))
    assert len(dataset) == 16
    sampler = ClassPairBatchSampler(DefaultSampler(dataset, seed=0), batch_size=4)
    rng = sampler._rng()
    keys = [dataset.get_data_info(i)['img_path'] for i in range(16)]
    empty = next(i for i in range(16) if keys[i].endswith(coco['images'][0]['file_name']))
    assert not dataset.get_data_info(empty)['instances']
    for _ in range(20):  # no GT: any other image
        assert keys[sampler.partner(empty, rng)] != keys[empty]
    # the crowd box's class is no GT: nobody is paired on it
    crowd_label = dataset.cat2label[crowd_class]
    assert crowd_label not in sampler._class_images
    for idx in range(16):
        if idx == empty:
            continue
        gt = {inst['bbox_label'] for inst in dataset.get_data_info(idx)['instances'] if not inst['ignore_flag']}
        for _ in range(5):
            partner = sampler.partner(idx, rng)
            partner_gt = {
                inst['bbox_label'] for inst in dataset.get_data_info(partner)['instances'] if not inst['ignore_flag']
            }
            assert keys[partner] != keys[idx]
            if gt:
                assert gt & partner_gt


# --- a real training run ----------------------------------------------------------------------------
@pytest.mark.slow
def test_training_run_pairs_positives_in_the_batch(shapes_root, tmp_path):
    """tools/train.py on the CS-KD shapes config (ClassPairBatchSampler), class memory off: the pair rate is
    the in-batch one. Batch 8 = 4 drawn + 4 partners: 16 images -> 4 iterations."""
    work_dir = str(tmp_path / 'cskd')
    options = tiny_run_options(
        shapes_root,
        **{
            'train_dataloader.batch_size': 8,
            'custom_hooks.0.use_memory': False,
            'val_cfg': None,
            'val_dataloader': None,
            'val_evaluator': None,
        },
    )
    proc = run_tool(['tools/train.py', CSKD_CFG, '--work-dir', work_dir, *options])
    output = proc.stdout + proc.stderr
    assert 'ClassPairBatchSampler: 16 images' in output
    assert 'partner image for each drawn image: ClassPairBatchSampler; no class memory' in output
    with open(os.path.join(work_dir, os.path.basename(CSKD_CFG))) as f:
        assert "type='ClassPairBatchSampler'" in f.read()
    logs = [log for log in read_scalars(work_dir) if 'loss' in log]
    assert len(logs) == 4 and all(math.isfinite(log['loss_cls']) for log in logs)
    rates = [log['cskd_pair_rate'] for log in logs]
    assert min(rates) >= 0.9, rates
    assert all(log['cskd_memory_pair_rate'] == 0 for log in logs)
