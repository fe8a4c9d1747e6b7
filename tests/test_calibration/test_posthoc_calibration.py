"""Post-hoc calibrators (temperature scaling, isotonic regression), their JSON file, the fitting
targets and the test-time hook; mAP (pycocotools) must not change."""

import json
import math

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from torch import nn

from mmdet_selfkd.calibration import (
    IsotonicCalibration,
    PostHocCalibrationHook,
    ScoreCalibrator,
    TemperatureScaling,
    calibration_set,
    fit_temperature,
    lrp_optimal_thresholds,
    pool_adjacent_violators,
)

from detection_samples import box, coco_world, image


def test_pav_by_hand():
    # (1, 1), (2, 0), (3, 0), (4, 1): the first three pool to 1/3
    xs, ys = pool_adjacent_violators([4, 1, 3, 2], [1, 1, 0, 0])
    assert xs.tolist() == [1, 2, 3, 4]
    assert ys == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1])


def test_pav_merges_equal_inputs_and_uses_weights():
    # x = 1 twice (targets 1, 0 -> 0.5, weight 2), x = 2 (target 0, weight 2): pooled (0.5*2 + 0*2)/4
    xs, ys = pool_adjacent_violators([1, 1, 2], [1, 0, 0], weights=[1, 1, 2])
    assert xs.tolist() == [1, 2]
    assert ys == pytest.approx([0.25, 0.25])


def test_isotonic_interpolates_and_clips():
    iso = IsotonicCalibration([0.2, 0.6], [0.1, 0.5], strict=False)
    assert iso(np.array([0.0, 0.4, 1.0])) == pytest.approx([0.1, 0.3, 0.5])


def test_temperature_by_hand():
    # all scores 0.9 (logit ln 9), 3 of 4 TP: sigmoid(ln 9 / T) = 3/4 <=> ln 9 / T = ln 3 <=> T = 2
    assert fit_temperature(np.full(4, 0.9), [1, 1, 1, 0]) == pytest.approx(2.0, 1e-5)
    ts = TemperatureScaling(2.0)
    assert ts(np.array([0.9, 0.5])) == pytest.approx([0.75, 0.5])


def test_monotone_maps_keep_the_ranking_isotonic_without_strict_makes_ties():
    rng = np.random.default_rng(0)
    scores = np.sort(rng.uniform(0.05, 1.0, 200)).astype(np.float32)
    targets = (rng.uniform(size=200) < scores**2).astype(float)
    for cal in (TemperatureScaling.fit(scores, targets), IsotonicCalibration.fit(scores, targets)):
        assert np.all(np.diff(cal(scores)) > 0), type(cal).__name__
    flat = IsotonicCalibration.fit(scores, targets, strict=False)(scores)
    assert np.all(np.diff(flat) >= 0) and np.any(np.diff(flat) == 0)


def test_per_class_calibrator_falls_back_to_class_agnostic(tmp_path):
    # class 0: 0.9 with 3/4 TP -> T = 2; class 1: 0.9 always TP -> T at its lower bound
    scores = np.full(8, 0.9)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    targets = np.array([1, 1, 1, 0, 1, 1, 1, 1.0])
    cal = ScoreCalibrator.fit(scores, labels, targets, 'temperature', per_class=True, meta=dict(note='x'))
    assert cal.per_class[0].temperature == pytest.approx(2.0, 1e-5)
    # agnostic: 7/8 TP -> T = ln 9 / ln 7
    assert cal.agnostic.temperature == pytest.approx(math.log(9) / math.log(7), 1e-5)
    out = cal(np.array([0.9, 0.9, 0.9]), np.array([0, 1, 2]))
    assert out[0] == pytest.approx(0.75, 1e-5) and out[1] > 0.999
    assert out[2] == pytest.approx(7 / 8, 1e-5)  # class 2: no map of its own

    path = tmp_path / 'cal.json'
    cal.save(str(path))
    with pytest.raises(FileExistsError):
        cal.save(str(path))
    loaded = ScoreCalibrator.load(str(path))
    assert loaded.meta == dict(note='x') and json.loads(path.read_text())['method'] == 'temperature'
    assert loaded(np.array([0.9, 0.9, 0.9]), np.array([0, 1, 2])) == pytest.approx(out)


def test_unknown_file_format_is_refused(tmp_path):
    path = tmp_path / 'x.json'
    path.write_text('{"format": "other"}')
    with pytest.raises(ValueError, match='format'):
        ScoreCalibrator.load(str(path))


def test_calibration_set_protocols_by_hand():
    images = [
        image(
            [(box(0, 0), 0.9, 0), (box(52, 0), 0.7, 0), (box(100, 100), 0.3, 0), (box(3, 0), 0.2, 1)],
            [(box(0, 0), 0), (box(50, 0), 0), (box(0, 0), 1)],
        )
    ]
    # laece: IoU 0 matching; class 0's LRP-optimal threshold is 0.7 (LRP 1/2, 1/6, 4/9), so the FP at
    # 0.3 is dropped; class 1: one TP at IoU 70/130
    scores, labels, targets = calibration_set(images, 'laece')
    assert scores.tolist() == [0.9, 0.7, 0.2]
    assert targets == pytest.approx([1.0, 2 / 3, 7 / 13], 1e-6)
    assert lrp_optimal_thresholds(images) == pytest.approx({0: 0.7, 1: 0.2})
    # dece: score >= 0.3, IoU >= 0.5, binary targets
    scores, labels, targets = calibration_set(images, 'dece')
    assert scores.tolist() == [0.9, 0.7, 0.3]
    assert targets.tolist() == [1.0, 1.0, 0.0]


# --- mAP (pycocotools through mmdet's CocoMetric) is unchanged ------------------------------------


def coco_map(tmp_path, samples, calibrator=None) -> dict:
    register_all_modules()
    evaluator = Evaluator([dict(type='CocoMetric', ann_file=str(tmp_path / 'ann.json'))])
    evaluator.dataset_meta = dict(classes=('a', 'b'))
    for s in samples:
        s = dict(s, pred_instances=dict(s['pred_instances']))
        if calibrator is not None:
            pred = s['pred_instances']
            pred['scores'] = torch.from_numpy(calibrator(pred['scores'].numpy(), pred['labels'].numpy()))
        evaluator.process([s])
    return evaluator.evaluate(len(samples))


@pytest.mark.parametrize(
    'method, per_class', [('temperature', False), ('temperature', True), ('isotonic', False), ('isotonic', True)]
)
def test_map_unchanged(tmp_path, method, per_class):
    rng = np.random.default_rng(1)
    samples = coco_world(tmp_path, rng)
    images = [
        dict(
            bboxes=s['pred_instances']['bboxes'].numpy(),
            scores=s['pred_instances']['scores'].numpy(),
            labels=s['pred_instances']['labels'].numpy(),
            gt_bboxes=s['gt_instances']['bboxes'].numpy(),
            gt_labels=s['gt_instances']['labels'].numpy(),
            gt_ignore=np.zeros(3, bool),
        )
        for s in samples
    ]
    cal = ScoreCalibrator.fit(*calibration_set(images, 'laece'), method=method, per_class=per_class)
    before, after = coco_map(tmp_path, samples), coco_map(tmp_path, samples, cal)
    assert before['coco/bbox_mAP'] > 0.1
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert after[key] == before[key], key
    # and the scores did change
    new = cal(samples[0]['pred_instances']['scores'].numpy(), samples[0]['pred_instances']['labels'].numpy())
    assert not np.allclose(new, samples[0]['pred_instances']['scores'].numpy())


def test_isotonic_ties_can_change_map_which_strict_prevents(tmp_path):
    # one image, one object: an FP at 0.6 listed before the TP at 0.7. AP 1 (TP ranked first).
    coco = dict(
        images=[dict(id=0, file_name='0.jpg', width=100, height=100)],
        annotations=[dict(id=1, image_id=0, category_id=1, bbox=[0, 0, 10, 10], area=100, iscrowd=0)],
        categories=[dict(id=1, name='a'), dict(id=2, name='b')],
    )
    (tmp_path / 'ann.json').write_text(json.dumps(coco))
    samples = [
        dict(
            img_id=0,
            ori_shape=(100, 100),
            pred_instances=dict(
                bboxes=torch.tensor([box(50, 50), box(0, 0)]),
                scores=torch.tensor([0.6, 0.7]),
                labels=torch.tensor([0, 0]),
            ),
        )
    ]
    # a map flat on [0.6, 0.7] (as PAV makes when the validation pairs there violate monotonicity)
    flat = ScoreCalibrator(IsotonicCalibration([0.5, 0.8], [0.4, 0.4], strict=False))
    strict = ScoreCalibrator(IsotonicCalibration([0.5, 0.8], [0.4, 0.4], strict=True))
    assert coco_map(tmp_path, samples)['coco/bbox_mAP'] == 1.0
    # tie: pycocotools' stable sort keeps the FP first -> precision 1/2 at the only recall level
    assert coco_map(tmp_path, samples, flat)['coco/bbox_mAP'] == pytest.approx(0.5, abs=0.01)
    assert coco_map(tmp_path, samples, strict)['coco/bbox_mAP'] == 1.0


# --- the test-time hook ----------------------------------------------------------------------------


class ToyDetector(nn.Module):
    """Returns fixed predictions in 'predict' mode, a loss dict otherwise."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=torch.zeros(()))
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            bboxes=torch.zeros(2, 4), scores=torch.tensor([0.9, 0.5]), labels=torch.tensor([0, 1])
        )
        return [sample]

    def test_step(self, data):
        return self(**data, mode='predict')


def test_hook_calibrates_predictions_only_inside_the_test_loop(tmp_path):
    path = tmp_path / 'cal.json'
    ScoreCalibrator(TemperatureScaling(2.0)).save(str(path))
    hook = PostHocCalibrationHook(calibrator=str(path))
    model = ToyDetector()

    class Runner:
        pass

    runner = Runner()
    runner.model = model
    assert model(None, mode='predict')[0].pred_instances.scores.tolist() == pytest.approx([0.9, 0.5])
    hook.before_test_epoch(runner)
    out = model(None, mode='predict')[0].pred_instances.scores
    assert out.dtype == torch.float64 and out.tolist() == pytest.approx([0.75, 0.5])
    assert model(None, mode='loss')['loss'] == 0
    hook.after_test_epoch(runner)
    assert model(None, mode='predict')[0].pred_instances.scores.tolist() == pytest.approx([0.9, 0.5])
    # validation: only with apply_in_val
    hook.before_val_epoch(runner)
    assert model(None, mode='predict')[0].pred_instances.scores.tolist() == pytest.approx([0.9, 0.5])
    hook.after_val_epoch(runner)
    hook = PostHocCalibrationHook(calibrator=str(path), apply_in_val=True)
    hook.before_val_epoch(runner)
    assert model(None, mode='predict')[0].pred_instances.scores.tolist() == pytest.approx([0.75, 0.5])
    hook.after_val_epoch(runner)


def test_cross_fitting_never_calibrates_an_image_with_its_own_detections():
    from mmdet_selfkd.calibration import calibration_report, cross_fitted_scores

    gt = (box(0, 0), 0)
    images = [
        image([(box(0, 0), 0.9, 0)], [gt]),  # fold 0: TP
        image([(box(0, 0), 0.9, 0), (box(50, 0), 0.9, 0)], [gt, (box(50, 0), 0)]),  # fold 1: TP, TP
        image([(box(0, 0), 0.9, 0)], [gt]),  # fold 0: TP
        image([(box(0, 0), 0.9, 0), (box(100, 100), 0.9, 0)], [gt]),
    ]  # fold 1: TP, FP
    scores = cross_fitted_scores(images, target='dece', method='temperature')
    # fold 0 gets the map of fold 1 (3 of 4 TP at 0.9 -> T = 2 -> 0.75); fold 1 the map of fold 0 (all TP:
    # T at its lower bound -> ~1)
    assert scores[0] == pytest.approx([0.75], 1e-5) and scores[2] == pytest.approx([0.75], 1e-5)
    assert np.all(scores[1] > 0.999) and np.all(scores[3] > 0.999)
    # D-ECE of the cross-fitted scores, by hand: bin 7 (0.75): 2 TP -> |1 - 0.75|; bin 9 (~1): 3 TP, 1 FP
    report = calibration_report(images, scores)
    assert report['calib/dece'] == pytest.approx(2 / 6 * 0.25 + 4 / 6 * 0.25, abs=1e-4)


def test_hook_goes_through_test_time_augmentation(tmp_path):
    from mmengine.model import BaseTTAModel

    class TTA(BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return [samples[0] for samples in data_samples_list]

    path = tmp_path / 'cal.json'
    ScoreCalibrator(TemperatureScaling(2.0)).save(str(path))
    hook = PostHocCalibrationHook(calibrator=str(path))

    class Runner:
        model = TTA(module=ToyDetector())

    hook.before_test_epoch(Runner)
    # BaseTTAModel.test_step calls the detector's test_step per augmentation: the detector is hooked
    merged = Runner.model.test_step(dict(inputs=[None, None], data_samples=[None, None]))
    assert merged[0].pred_instances.scores.tolist() == pytest.approx([0.75, 0.5])
    hook.after_test_epoch(Runner)
