"""Tests for LaECE_0 and LRP (Kuzucu et al., ECCV 2024); numbers by hand."""

import json

import numpy as np
import pytest
from mmdet.utils import register_all_modules
from mmengine.evaluator import Evaluator

from mmdet_selfkd.evaluation import LaECEMetric, localisation_calibration_error, lrp_optimal, match_detections

from detection_samples import box, sample, write_tiny_coco

IOU_2_3 = 2 / 3  # box(0, 0) vs box(2, 0): intersection 80, union 120


def evaluate(samples, **kwargs) -> dict:
    metric = LaECEMetric(**kwargs)
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_laece_bins_are_right_closed_and_target_is_mean_tp_iou():
    # bin (0.64, 0.68]: 0.66 TP IoU 0.5, 0.68 FP -> target 0.25, conf 0.67
    # bin [0, 0.04]: 0.0 and 0.04 FPs -> target 0, conf 0.02
    stats = localisation_calibration_error([0.66, 0.68, 0.0, 0.04], [0.5, 0.0, 0.0, 0.0])
    assert stats['bin_counts'][16] == 2 and stats['bin_counts'][0] == 2
    assert stats['bin_target'][16] == pytest.approx(0.25)
    assert stats['laece'] == pytest.approx(0.5 * 0.42 + 0.5 * 0.02)


def test_laece_empty_is_nan():
    assert np.isnan(localisation_calibration_error([], [])['laece'])


def test_lrp_optimal_by_hand():
    # sorted: TP IoU 1 (0.9), TP IoU 0.5 (0.7), FP (0.3); 2 GTs
    # LRP after each: 1/2, (0.5 + 0)/2 = 1/4, (0.5 + 1)/3 = 1/2
    lrp = lrp_optimal([0.3, 0.9, 0.7], [False, True, True], [0.0, 1.0, 0.5], num_gts=2)
    assert lrp['olrp'] == pytest.approx(0.25)
    assert lrp['threshold'] == pytest.approx(0.7)
    assert lrp['olrp_loc'] == pytest.approx(0.25)
    assert lrp['olrp_fp'] == 0 and lrp['olrp_fn'] == 0
    # tau = 0.5 doubles the localisation part: (0.5/0.5 + 0)/2 = 1/2 ties
    # with the first position (1/2), which wins (first minimum)
    lrp = lrp_optimal([0.3, 0.9, 0.7], [False, True, True], [0.0, 1.0, 0.5], num_gts=2, iou_thr=0.5)
    assert lrp['olrp'] == pytest.approx(0.5)
    assert lrp['threshold'] == pytest.approx(0.9)


def test_lrp_without_true_positive():
    lrp = lrp_optimal([0.9], [False], [0.0], num_gts=3)
    assert lrp['olrp'] == 1 and lrp['olrp_fn'] == 1
    assert np.isnan(lrp['threshold'])


def test_match_at_iou_zero_takes_any_unmatched_gt():
    is_tp, _, ious = match_detections(
        [box(50, 50), box(2, 0), box(0, 0)],
        [0.9, 0.8, 0.7],
        [0, 0, 0],
        [box(0, 0), box(200, 0)],
        [0, 0],
        iou_thr=0.0,
        return_ious=True,
    )
    # 0.9 overlaps nothing but still takes a GT at IoU 0: of the tied GTs
    # the later one, box(200, 0) (as pycocotools); 0.8 takes box(0, 0) at
    # IoU 2/3; 0.7: no GT left -> FP
    assert is_tp.tolist() == [True, True, False]
    assert ious == pytest.approx([0.0, IOU_2_3, 0.0])


def test_perfectly_calibrated_detector():
    # class 0: score = IoU for every TP, no FP
    results = evaluate(
        [
            sample([(box(0, 0), 1.0, 0)], gts=[(box(0, 0), 0)]),
            sample([(box(2, 0), IOU_2_3, 0)], gts=[(box(0, 0), 0)]),
        ]
    )
    assert results['laece/laece0'] == pytest.approx(0.0, abs=1e-6)
    # LRP: after 1.0: (0 + 1 FN)/2; after 2/3: (1/3 loc)/2 = 1/6
    assert results['laece/olrp'] == pytest.approx(1 / 6, 1e-5)
    assert results['laece/olrp_loc'] == pytest.approx(1 / 6, 1e-5)
    assert results['laece/num_dets'] == 2
    assert results['laece/num_classes'] == 1


def test_maximally_over_confident_detector():
    # score 1 on a box that misses its object (TP at IoU 0 under tau = 0)
    # and on a duplicate (FP): every target is 0, every confidence 1
    samples = [sample([(box(50, 50), 1.0, 0), (box(50, 50), 1.0, 0)], gts=[(box(0, 0), 0)])]
    results = evaluate(samples, score_thr=0.0)
    assert results['laece/laece0'] == pytest.approx(1.0)
    # LRP at the first detection: (1 loc + 0 + 0)/1 = 1; at both: 2/2 = 1
    assert results['laece/olrp'] == pytest.approx(1.0)
    # with tau = 0.5 they are both false positives: still LaECE 1
    results = evaluate(samples, iou_thr=0.5, score_thr=0.0)
    assert results['laece/laece'] == pytest.approx(1.0)
    assert results['laece/olrp'] == 1 and results['laece/olrp_fn'] == 1


def mixed_samples():
    """Class 0: TP IoU 1 (0.9), TP IoU 2/3 (0.7), FP (0.3); class 1: TP IoU
    1 and a duplicate FP, both 0.8; class 2: a GT and no detection."""
    return [
        sample(
            [
                (box(0, 0), 0.9, 0),
                (box(52, 0), 0.7, 0),
                (box(100, 100), 0.3, 0),
                (box(0, 50), 0.8, 1),
                (box(0, 50), 0.8, 1),
            ],
            gts=[(box(0, 0), 0), (box(50, 0), 0), (box(0, 50), 1), (box(100, 0), 2)],
        ),
        sample([]),  # empty image: no detection, no GT
    ]


def test_mixed_by_hand_with_lrp_optimal_thresholds():
    results = evaluate(mixed_samples())
    # class 0: LRP 1/2, 1/6, 4/9 -> threshold 0.7 drops the FP at 0.3;
    #   bins: 0.9 -> |1 - 0.9|, 0.7 -> |2/3 - 0.7|, each weight 1/2
    laece0 = 0.5 * 0.1 + 0.5 * (0.7 - IOU_2_3)
    # class 1: LRP 0 then 1/2 -> threshold 0.8, which keeps the tied FP:
    #   one bin, target (1 + 0)/2, confidence 0.8
    laece1 = 0.3
    assert results['laece/laece0'] == pytest.approx((laece0 + laece1) / 2, 1e-5)
    # oLRP: class 0 1/6, class 1 0, class 2 (no detection) 1
    assert results['laece/olrp'] == pytest.approx((1 / 6 + 0 + 1) / 3, 1e-5)
    assert results['laece/olrp_loc'] == pytest.approx((1 / 6 + 0) / 2, 1e-5)
    assert results['laece/olrp_fp'] == pytest.approx(0.0)
    assert results['laece/olrp_fn'] == pytest.approx(1 / 3)
    assert results['laece/num_dets'] == 4
    assert results['laece/num_classes'] == 2


def test_mixed_by_hand_with_fixed_threshold():
    results = evaluate(mixed_samples(), score_thr=0.0)
    # class 0 keeps its FP at 0.3 (own bin, target 0)
    laece0 = (0.1 + (0.7 - IOU_2_3) + 0.3) / 3
    assert results['laece/laece0'] == pytest.approx((laece0 + 0.3) / 2, 1e-5)
    assert results['laece/num_dets'] == 5
    # per-class thresholds: class 1 at 0.9 keeps nothing -> only class 0
    results = evaluate(mixed_samples(), score_thr=[0.5, 0.9, 0.5])
    assert results['laece/laece0'] == pytest.approx(0.5 * 0.1 + 0.5 * (0.7 - IOU_2_3), 1e-5)
    assert results['laece/num_classes'] == 1


def test_class_without_ground_truth_is_left_out():
    # class 1 has only detections (all false positives) and no GT
    results = evaluate([sample([(box(0, 0), 1.0, 0), (box(0, 0), 0.9, 1)], gts=[(box(0, 0), 0)])])
    assert results['laece/laece0'] == pytest.approx(0.0)
    assert results['laece/olrp'] == pytest.approx(0.0)
    assert results['laece/num_classes'] == 1


def test_no_detection_at_all():
    results = evaluate([sample([], gts=[(box(0, 0), 0)]), sample([])])
    assert np.isnan(results['laece/laece0'])
    assert results['laece/olrp'] == 1
    assert results['laece/num_dets'] == 0


def test_crowd_detections_are_dropped():
    results = evaluate(
        [sample([(box(0, 0), 1.0, 0), (box(20, 20), 0.9, 0)], gts=[(box(0, 0), 0)], ignored=[([15, 15, 60, 60], 0)])],
        score_thr=0.0,
    )
    assert results['laece/laece0'] == pytest.approx(0.0)
    assert results['laece/num_dets'] == 1


@pytest.mark.parametrize(
    'kwargs, name',
    [
        (dict(iou_thr=1.0), 'iou_thr'),
        (dict(iou_thr=-0.1), 'iou_thr'),
        (dict(num_bins=0), 'num_bins'),
        (dict(score_thr='fixed'), 'score_thr'),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LaECEMetric(**kwargs)


def test_next_to_coco_metric(tmp_path):
    register_all_modules()
    write_tiny_coco(tmp_path)
    coco = json.loads((tmp_path / 'ann.json').read_text())
    evaluator = Evaluator(
        [
            dict(type='CocoMetric', ann_file=str(tmp_path / 'ann.json')),
            dict(type='LaECEMetric'),
        ]
    )
    evaluator.dataset_meta = dict(classes=('cat', 'dog'))
    s = sample(
        [([10.0, 10.0, 40.0, 40.0], 0.95, 0), ([50.0, 20.0, 90.0, 60.0], 0.9, 1)],
        gts=[([10.0, 10.0, 40.0, 40.0], 0), ([50.0, 20.0, 90.0, 60.0], 1)],
    )
    s.update(img_id=coco['images'][0]['id'], ori_shape=(80, 100))
    evaluator.process([s])
    results = evaluator.evaluate(1)
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    # both TPs at IoU 1: |1 - 0.95| and |1 - 0.9|
    assert results['laece/laece0'] == pytest.approx((0.05 + 0.1) / 2, 1e-5)
