"""LsrKD, Teacher Correction and MrKD (issue 10): where TC applies, checked against numbers worked by hand.

TC acts on the teacher at temperature T (after softening): the true class holds exactly ``tc_share`` of the
target the student's ``softmax(z/T)`` is distilled against, whatever T and K. Every expected value below is
written from the formula with plain ``math``, never by calling the code under test.
"""

import math

import pytest
import torch
from distill_helpers import with_teacher

from mmdet_selfkd.models.losses import LabelSmoothingLoss, LsrKDLoss, MrKDLoss
from mmdet_selfkd.models.losses.kd_terms import uniform_teacher


def kl(p, q):
    """KL(p || q) of two lists, by the definition."""
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)


def softmax(z):
    exps = [math.exp(v) for v in z]
    return [e / sum(exps) for e in exps]


def test_tc_share_holds_at_temperature_for_the_uniform_teacher():
    # K = 4 logits, T = 4, tc_share = 0.6, true class 0: [0.6, 0.4/3, 0.4/3, 0.4/3]
    loss = LsrKDLoss(temperature=4.0, tc_share=0.6, num_classes=3)
    teacher_T = loss.teacher_at_temperature(uniform_teacher(1, 4, torch.device('cpu')), torch.tensor([0]))
    assert teacher_T.tolist()[0] == pytest.approx([0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3], abs=1e-7)
    assert teacher_T.tolist()[0] == pytest.approx([0.6, 0.1333333, 0.1333333, 0.1333333], rel=1e-6, abs=1e-6)
    # COCO: K = 81, background (label 80) as the true class of a negative RoI
    coco = LsrKDLoss(temperature=4.0, tc_share=0.6, num_classes=80)
    teacher_T = coco.teacher_at_temperature(uniform_teacher(1, 81, torch.device('cpu')), torch.tensor([80]))[0]
    assert teacher_T[80].item() == pytest.approx(0.6, abs=1e-7)
    assert teacher_T[:80].tolist() == pytest.approx([0.4 / 80] * 80, abs=1e-8)
    # the old order (correct at T = 1, then soften) would have left 0.6^(1/4) / (0.6^(1/4) + 80 * 0.005^(1/4))
    old = 0.6**0.25 / (0.6**0.25 + 80 * 0.005**0.25)
    assert old == pytest.approx(0.0397, abs=1e-4) and teacher_T[80].item() > 15 * old


def test_lsrkd_tc_loss_by_hand_k4_t4():
    # K = 4 (3 classes + background), T = 4, lambda = 0.5, tc_share = 0.6.
    # Row 0: z = [ln 4, 0, 0, 0], label 0: CE = -ln(4/7); student at T: softmax(z/4) = [sqrt 2, 1, 1, 1]/(3 + sqrt 2);
    #   target [0.6, 0.4/3, 0.4/3, 0.4/3].
    # Row 1: z = 0, label 3 (background): CE = ln 4; student uniform; target [0.4/3, 0.4/3, 0.4/3, 0.6].
    r2, t, lam = math.sqrt(2), 4.0, 0.5
    student0 = [r2 / (3 + r2), 1 / (3 + r2), 1 / (3 + r2), 1 / (3 + r2)]
    row0 = -math.log(4 / 7) + lam * t**2 * kl([0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3], student0)
    row1 = math.log(4) + lam * t**2 * kl([0.4 / 3, 0.4 / 3, 0.4 / 3, 0.6], [0.25] * 4)
    logits = torch.tensor([[math.log(4), 0.0, 0.0, 0.0], [0.0] * 4])
    loss = LsrKDLoss(temperature=t, kd_weight=lam, tc_share=0.6, num_classes=3, reduction='none')
    assert loss(logits, torch.tensor([0, 3])).tolist() == pytest.approx([row0, row1], rel=1e-6, abs=1e-6)
    # mean over rows, with label weights and avg_factor as in mmdet's CrossEntropyLoss
    mean = LsrKDLoss(temperature=t, kd_weight=lam, tc_share=0.6, num_classes=3)(
        logits, torch.tensor([0, 3]), torch.tensor([1.0, 0.5]), avg_factor=2.0
    )
    assert mean.item() == pytest.approx((row0 + 0.5 * row1) / 2, rel=1e-6, abs=1e-6)


def test_lsrkd_tc_kd_term_vanishes_when_the_student_matches_the_target_at_t():
    # z = T * ln(target) gives softmax(z/T) = target: the KD term is 0 and the loss is the CE alone.
    target = [0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3]
    z = [4.0 * math.log(p) for p in target]
    ce = -math.log(softmax(z)[0])
    loss = LsrKDLoss(temperature=4.0, kd_weight=1.0, tc_share=0.6, num_classes=3, reduction='none')
    assert loss(torch.tensor([z]), torch.tensor([0])).item() == pytest.approx(ce, rel=1e-6, abs=1e-6)


def test_lsrkd_tc_share_one_is_a_one_hot_target_at_every_t():
    # KL(onehot_y || s) = -ln s_y, with s = softmax(z/T); z = [0, ln 9, 0], label 1, T = 3: s_1 = 9^(1/3)/(9^(1/3) + 2)
    z, t = [0.0, math.log(9), 0.0], 3.0
    s1 = 9 ** (1 / 3) / (9 ** (1 / 3) + 2)
    expected = -math.log(9 / 11) + 0.2 * t**2 * -math.log(s1)
    loss = LsrKDLoss(temperature=t, kd_weight=0.2, tc_share=1.0, num_classes=2, reduction='none')
    assert loss(torch.tensor([z]), torch.tensor([1])).item() == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_lsrkd_at_t1_is_label_smoothing_with_lambda_eps_over_1_minus_eps():
    # (1-eps) * [CE + eps/(1-eps) * KL(u || p)] = (1-eps) CE + eps H(u, p) - eps ln K = LS(eps) - eps ln K
    eps, k = 0.2, 5
    logits, labels = torch.randn(6, k, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3, 4, 4])
    lsrkd = LsrKDLoss(temperature=1.0, kd_weight=eps / (1 - eps), loss_weight=1 - eps, reduction='none')
    ls = LabelSmoothingLoss(epsilon=eps, reduction='none')
    assert torch.allclose(lsrkd(logits, labels), ls(logits, labels) - eps * math.log(k), atol=1e-6)


def test_mrkd_tc_per_copy_after_softening_then_mean_k4():
    # Two copies, K = 4, T = 2, tc_share = 0.5, true class 2, lambda = 1.
    # copy 1 = softmax([ln 16, 0, 0, 0]) = [16, 1, 1, 1]/19, softened at T = 2: prop. to [4, 1, 1, 1]
    #   = [4/7, 1/7, 1/7, 1/7];
    #   TC: true class 2 -> 1/2, the others 1/2 in proportion 4 : 1 : 1 -> [1/3, 1/12, 1/2, 1/12]
    # copy 2 = softmax([0, 0, 0, ln 9]) = [1, 1, 1, 9]/12,
    #   softened at T = 2: prop. to [1, 1, 1, 3] = [1/6, 1/6, 1/6, 1/2];
    #   TC -> others 1/2 in proportion 1 : 1 : 3 -> [1/10, 1/10, 1/2, 3/10]
    # mean teacher: [(1/3 + 1/10)/2, (1/12 + 1/10)/2, 1/2, (1/12 + 3/10)/2] = [13/60, 11/120, 1/2, 23/120]
    teacher = [13 / 60, 11 / 120, 1 / 2, 23 / 120]
    assert sum(teacher) == pytest.approx(1.0)
    # student z = [0, 0, ln 4, 0], label 2: CE = -ln(4/7); softmax(z/2) = [1, 1, 2, 1]/5
    expected = -math.log(4 / 7) + 1.0 * 4 * kl(teacher, [0.2, 0.2, 0.4, 0.2])
    copies = [[[16 / 19, 1 / 19, 1 / 19, 1 / 19]], [[1 / 12, 1 / 12, 1 / 12, 9 / 12]]]
    mrkd = MrKDLoss(temperature=2.0, kd_weight=1.0, tc_share=0.5, num_classes=3)
    loss = with_teacher(mrkd, copies, [True])
    z = torch.tensor([[0.0, 0.0, math.log(4), 0.0]])
    assert loss(z, torch.tensor([2])).item() == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # the teacher itself: true class exactly tc_share, the rest as worked above
    teacher_T = mrkd.teacher_at_temperature(torch.tensor(copies), torch.tensor([2]))
    assert teacher_T.tolist()[0] == pytest.approx(teacher, abs=1e-7)


def test_mrkd_without_tc_unchanged_mean_of_softened_copies():
    # No TC: mean of softmax(z_k / T). Same copies as above: [4/7, 1/7, 1/7, 1/7] and [1/6, 1/6, 1/6, 1/2]
    teacher = [(4 / 7 + 1 / 6) / 2, (1 / 7 + 1 / 6) / 2, (1 / 7 + 1 / 6) / 2, (1 / 7 + 1 / 2) / 2]
    copies = [[[16 / 19, 1 / 19, 1 / 19, 1 / 19]], [[1 / 12, 1 / 12, 1 / 12, 9 / 12]]]
    expected = -math.log(4 / 7) + 0.5 * 4 * kl(teacher, [0.2, 0.2, 0.4, 0.2])
    loss = with_teacher(MrKDLoss(temperature=2.0, kd_weight=0.5), copies, [True])
    assert loss(torch.tensor([[0.0, 0.0, math.log(4), 0.0]]), torch.tensor([2])).item() == pytest.approx(
        expected, rel=1e-6, abs=1e-6
    )
