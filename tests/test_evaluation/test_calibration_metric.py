"""Tests for the detection calibration metric (D-ECE / MCE)."""

import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from mmdet.registry import DATASETS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

from mmdet_selfkd.evaluation import (
    DetectionCalibrationMetric,
    calibration_errors,
    match_detections,
    plot_reliability_diagram,
)

from detection_samples import box, sample, write_tiny_coco


def evaluate(metric: DetectionCalibrationMetric, samples) -> dict:
    metric.process({}, samples)
    return metric.evaluate(len(samples))


@pytest.fixture
def metric(tmp_path) -> DetectionCalibrationMetric:
    return DetectionCalibrationMetric(out_dir=str(tmp_path))


def test_calibrated_bin_has_zero_error():
    stats = calibration_errors(np.full(10, 0.8), np.arange(10) < 8)
    assert stats['dece'] == pytest.approx(0.0)
    assert stats['mce'] == pytest.approx(0.0)
    assert stats['bin_counts'][8] == 10
    assert stats['bin_precision'][8] == pytest.approx(0.8)
    assert np.isnan(stats['bin_precision'][0])


def test_two_bins_by_hand():
    # bin 8: 10 dets at 0.85, 5 TP -> gap 0.35
    # bin 4: 30 dets at 0.45, 12 TP -> gap 0.05
    conf = np.r_[np.full(10, 0.85), np.full(30, 0.45)]
    correct = np.r_[np.arange(10) < 5, np.arange(30) < 12]
    stats = calibration_errors(conf, correct, num_bins=10)
    assert stats['dece'] == pytest.approx(10 / 40 * 0.35 + 30 / 40 * 0.05)
    assert stats['mce'] == pytest.approx(0.35)
    assert stats['precision'] == pytest.approx(17 / 40)
    assert stats['avg_conf'] == pytest.approx((8.5 + 13.5) / 40)


def test_confidence_one_falls_in_last_bin():
    stats = calibration_errors([1.0, 0.0], [True, False], num_bins=4)
    assert stats['bin_counts'].tolist() == [1, 0, 0, 1]
    assert stats['dece'] == pytest.approx(0.0)


def test_calibration_errors_rejects_bad_confidences():
    with pytest.raises(ValueError, match='confidences'):
        calibration_errors([1.2], [True])


def test_wrong_class_and_duplicate_are_false_positives():
    gt = box(0, 0)
    is_tp, is_ignored = match_detections(
        det_bboxes=[gt, box(1, 0), gt],
        det_scores=[0.9, 0.8, 0.7],
        det_labels=[0, 0, 1],
        gt_bboxes=[gt],
        gt_labels=[0],
        iou_thr=0.5,
    )
    # second: duplicate of the matched GT; third: right box, wrong class
    assert is_tp.tolist() == [True, False, False]
    assert not is_ignored.any()


def test_matching_is_greedy_by_score_not_input_order():
    gt = box(0, 0)
    is_tp, _ = match_detections([box(1, 0), gt], [0.6, 0.9], [0, 0], [gt], [0])
    assert is_tp.tolist() == [False, True]


def test_match_takes_best_iou_free_gt():
    gt_a, gt_b = box(0, 0), box(4, 0)
    # det overlaps both (IoU 0.43 with a, 1.0 with b) -> takes b, so the
    # next det can still match a
    is_tp, _ = match_detections([gt_b, gt_a], [0.9, 0.8], [0, 0], [gt_a, gt_b], [0, 0], iou_thr=0.4)
    assert is_tp.tolist() == [True, True]


def test_low_iou_is_false_positive():
    is_tp, _ = match_detections([box(6, 0)], [0.9], [0], [box(0, 0)], [0])
    assert is_tp.tolist() == [False]


def test_ignored_gt_drops_detections_inside_it():
    crowd = [0, 0, 100, 100]
    is_tp, is_ignored = match_detections(
        det_bboxes=[box(50, 50), box(50, 50), box(10, 10), box(300, 300)],
        det_scores=[0.9, 0.8, 0.7, 0.6],
        det_labels=[0, 1, 0, 0],
        gt_bboxes=[crowd, box(10, 10)],
        gt_labels=[0, 0],
        gt_ignore=[True, False],
    )
    # inside same-class crowd -> ignored; other class -> FP; real GT inside
    # the crowd -> TP; far away -> FP
    assert is_tp.tolist() == [False, False, True, False]
    assert is_ignored.tolist() == [True, False, False, False]


def test_metric_perfectly_calibrated_bin(metric):
    # 10 images, one GT each; 8 dets hit their GT, 2 miss, all at 0.8
    samples = [sample([(box(0, 0) if i < 8 else box(50, 50), 0.8, 0)], gts=[(box(0, 0), 0)]) for i in range(10)]
    results = evaluate(metric, samples)
    assert results['calib/num_dets'] == 10
    assert results['calib/dece'] == pytest.approx(0.0, abs=1e-6)
    assert results['calib/mce'] == pytest.approx(0.0, abs=1e-6)
    assert results['calib/precision'] == pytest.approx(0.8)


def test_metric_by_hand_with_threshold_ignore_and_mce(metric):
    gt0, gt1, crowd = box(0, 0), box(50, 0), [0, 100, 100, 200]
    samples = [
        sample(
            [
                (gt0, 0.95, 0),  # TP, bin 9
                (gt0, 0.92, 0),  # duplicate -> FP, bin 9
                (gt1, 0.65, 0),  # wrong class -> FP, bin 6
                (box(20, 120), 0.62, 1),  # inside crowd -> dropped
                (gt1, 0.25, 1),  # below score_thr -> not evaluated
            ],
            gts=[(gt0, 0), (gt1, 1)],
            ignored=[(crowd, 1)],
        ),
        sample([(gt1, 0.61, 1)], gts=[(gt1, 1)]),  # TP, bin 6
    ]
    results = evaluate(metric, samples)
    # bin 9: prec 1/2, conf 0.935; bin 6: prec 1/2, conf 0.63
    gap9, gap6 = 0.935 - 0.5, 0.63 - 0.5
    assert results['calib/num_dets'] == 4
    assert results['calib/dece'] == pytest.approx((gap9 + gap6) / 2, 1e-5)
    assert results['calib/mce'] == pytest.approx(gap9, 1e-5)
    # class 0: bin 9 gap9 (2 dets), bin 6 prec 0 at 0.65; class 1: 0.61 TP
    class0 = (2 * gap9 + 0.65) / 3
    assert results['calib/dece_per_class'] == pytest.approx((class0 + 0.39) / 2, 1e-5)


def test_pairs_and_dets_files_hold_what_dece_and_laece_are_computed_from(tmp_path):
    """pairs_file: the D-ECE set (score >= 0.3, crowd-only matches dropped); dets_file: every detection of every
    image and its ground truth, enough to compute the metric again (calibration_report) after the run."""
    from mmdet_selfkd.calibration import calibration_report

    gt0, crowd = box(0, 0), [0, 100, 100, 200]
    samples = [
        sample(
            [(gt0, 0.9, 0), (box(20, 120), 0.6, 1), (box(60, 60), 0.5, 0), (gt0, 0.1, 0)],
            gts=[(gt0, 0)],
            ignored=[(crowd, 1)],
        ),
        sample([], gts=[(box(30, 30), 1)]),
    ]
    metric = DetectionCalibrationMetric(
        save_diagram=False, pairs_file=str(tmp_path / 'pairs.npz'), dets_file=str(tmp_path / 'run' / 'dets.pkl')
    )
    results = evaluate(metric, samples)
    pairs = np.load(tmp_path / 'pairs.npz')
    assert pairs['scores'].tolist() == pytest.approx([0.9, 0.5])  # 0.6 lies in the crowd, 0.1 is below 0.3
    assert pairs['is_tp'].tolist() == [True, False] and pairs['labels'].tolist() == [0, 0]
    assert results['calib/num_dets'] == 2 and results['calib/precision'] == pytest.approx(0.5)
    with open(tmp_path / 'run' / 'dets.pkl', 'rb') as f:
        images = pickle.load(f)
    assert len(images) == 2
    assert images[0]['scores'].dtype == np.float64 and images[0]['scores'].tolist() == pytest.approx(
        [0.9, 0.6, 0.5, 0.1]
    )
    assert images[0]['bboxes'].shape == (4, 4) and images[0]['labels'].tolist() == [0, 1, 0, 0]
    assert images[0]['gt_labels'].tolist() == [0, 1] and images[0]['gt_ignore'].tolist() == [False, True]
    assert images[1]['bboxes'].shape == (0, 4) and images[1]['gt_bboxes'].tolist() == [box(30, 30)]
    assert calibration_report(images)['calib/dece'] == pytest.approx(results['calib/dece'])


def test_score_thr_is_configurable(tmp_path):
    samples = [sample([(box(0, 0), 0.2, 0)], gts=[(box(0, 0), 0)])]
    assert evaluate(DetectionCalibrationMetric(out_dir=str(tmp_path)), samples)['calib/num_dets'] == 0
    results = evaluate(DetectionCalibrationMetric(score_thr=0.1, out_dir=str(tmp_path)), samples)
    assert results['calib/num_dets'] == 1
    assert results['calib/dece'] == pytest.approx(0.8)


def test_no_detections_gives_nan_and_no_plot(tmp_path):
    results = evaluate(DetectionCalibrationMetric(out_dir=str(tmp_path)), [sample([], gts=[(box(0, 0), 0)])])
    assert results['calib/num_dets'] == 0
    assert np.isnan(results['calib/dece'])
    assert not list(tmp_path.glob('*.png'))


def test_diagram_written_and_never_overwritten(metric, tmp_path):
    samples = [sample([(box(0, 0), 0.9, 0)], gts=[(box(0, 0), 0)])]
    evaluate(metric, samples)
    first = tmp_path / 'reliability_calib_0.png'
    assert first.is_file() and first.stat().st_size > 0
    first_bytes = first.read_bytes()
    evaluate(metric, [sample([(box(0, 0), 0.5, 0)])])
    assert (tmp_path / 'reliability_calib_1.png').is_file()
    assert first.read_bytes() == first_bytes


def test_diagram_defaults_to_log_file_dir(tmp_path):
    MMLogger.get_instance('test_calibration_metric', log_file=str(tmp_path / 'run.log'))
    metric = DetectionCalibrationMetric(prefix='val_calib')
    evaluate(metric, [sample([(box(0, 0), 0.9, 0)], gts=[(box(0, 0), 0)])])
    assert (tmp_path / 'reliability_val_calib_0.png').is_file()


def test_plot_on_given_axes():
    fig = Figure()
    axes = fig.subplots(2, 2)
    for col, conf in enumerate((0.9, 0.6)):
        stats = calibration_errors(np.full(5, conf), np.arange(5) < 3)
        assert plot_reliability_diagram(stats, ax=axes[0, col], hist_ax=axes[1, col], title=f'model {col}') is fig
    assert axes[0, 1].get_title() == 'model 1'


@pytest.mark.parametrize(
    'kwargs, name',
    [
        (dict(iou_thr=0.0), 'iou_thr'),
        (dict(iou_thr=1.5), 'iou_thr'),
        (dict(num_bins=0), 'num_bins'),
        (dict(num_bins=2.5), 'num_bins'),
        (dict(score_thr=1.0), 'score_thr'),
        (dict(score_thr=-0.1), 'score_thr'),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DetectionCalibrationMetric(**kwargs)


# --- real mmdet data flow: CocoDataset + test pipeline + Evaluator ---------

STANDARD_TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(200, 160), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# GT resized with the image, so the metric must use the raw 'instances'.
ANNOTATIONS_FIRST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(200, 160), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'instances')),
]


@pytest.mark.parametrize(
    'pipeline', [STANDARD_TEST_PIPELINE, ANNOTATIONS_FIRST_PIPELINE], ids=['standard', 'annotations_before_resize']
)
def test_real_test_loop_data_flow(tmp_path, pipeline):
    register_all_modules()
    write_tiny_coco(tmp_path)
    dataset = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=str(tmp_path),
            ann_file='ann.json',
            data_prefix=dict(img='imgs/'),
            metainfo=dict(classes=('cat', 'dog')),
            test_mode=True,
            pipeline=pipeline,
        )
    )
    data = dataset[0]
    data_sample: DetDataSample = data['data_samples']
    assert data_sample.scale_factor == (2.0, 2.0)  # image was upscaled
    # detector output, rescaled to the original image as in mmdet's test
    data_sample.pred_instances = InstanceData(
        bboxes=torch.tensor(
            [
                [10.0, 10.0, 40.0, 40.0],
                [50.0, 20.0, 90.0, 60.0],
                [5.0, 55.0, 35.0, 75.0],
                [50.0, 20.0, 90.0, 60.0],
                [11.0, 10.0, 40.0, 40.0],
                [10.0, 10.0, 40.0, 40.0],
            ]
        ),
        scores=torch.tensor([0.95, 0.85, 0.8, 0.45, 0.35, 0.1]),
        labels=torch.tensor([0, 0, 0, 1, 0, 0]),
    )
    # kept: cat TP (0.95), dog box labelled cat FP (0.85), cat in crowd
    # dropped (0.8), dog TP (0.45), duplicate cat FP (0.35); 0.1 < score_thr
    evaluator = Evaluator(
        [
            dict(type='CocoMetric', ann_file=str(tmp_path / 'ann.json')),
            dict(type='DetectionCalibrationMetric', out_dir=str(tmp_path)),
        ]
    )
    evaluator.dataset_meta = dataset.metainfo
    evaluator.process(data_samples=[data_sample], data_batch=data)
    results = evaluator.evaluate(len(dataset))

    assert 'coco/bbox_mAP' in results
    expected = calibration_errors([0.95, 0.85, 0.45, 0.35], [True, False, True, False])
    assert results['calib/num_dets'] == 4
    assert results['calib/dece'] == pytest.approx(expected['dece'], 1e-5)
    assert results['calib/dece'] == pytest.approx((0.05 + 0.85 + 0.55 + 0.35) / 4, 1e-5)
    assert results['calib/mce'] == pytest.approx(0.85, 1e-5)
    assert osp.isfile(tmp_path / 'reliability_calib_0.png')
