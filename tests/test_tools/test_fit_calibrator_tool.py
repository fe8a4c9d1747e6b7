"""tools/fit_calibrator.py -> stock tools/test.py with one config option: the scores the evaluator sees are the
calibrated ones, COCO mAP does not change, and an existing calibrator file is never overwritten silently."""

import json
import os
import pickle
import re

import numpy as np
import pytest

from mmdet_selfkd.calibration import ScoreCalibrator

from conftest import BASELINE_CFG, run_tool, tiny_run_options


@pytest.mark.slow
def test_fit_then_test_with_the_hook(shapes_root, tmp_path):
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', BASELINE_CFG, '--work-dir', work_dir, *tiny_run_options(shapes_root)])
    ckpt = os.path.join(work_dir, 'epoch_1.pth')
    # keep every box (a 1-epoch model scores low) so there is something to calibrate
    options = tiny_run_options(shapes_root, **{'model.test_cfg.rcnn.score_thr': 0.0})

    proc = run_tool(
        [
            'tools/fit_calibrator.py',
            BASELINE_CFG,
            ckpt,
            '--method',
            'isotonic',
            '--per-class',
            '--dump-dets',
            str(tmp_path / 'dets.pkl'),
            *options,
        ]
    )
    cal_path = os.path.join(work_dir, 'epoch_1.isotonic-per-class-laece.calibrator.json')
    assert os.path.isfile(cal_path), proc.stdout
    meta = json.loads(open(cal_path).read())['meta']
    assert meta['num_images'] == 8 and meta['num_fit_dets'] > 0
    assert meta['in_sample_after']['laece/laece0'] <= meta['in_sample_before']['laece/laece0']
    assert 'default_hooks.calibration.calibrator=' in proc.stdout

    again = run_tool(
        ['tools/fit_calibrator.py', BASELINE_CFG, ckpt, '--method', 'isotonic', '--per-class', *options], check=False
    )
    assert again.returncode == 1 and 'exists' in again.stderr

    def test(extra, out):
        proc = run_tool(
            [
                'tools/test.py',
                BASELINE_CFG,
                ckpt,
                '--work-dir',
                str(tmp_path / out),
                '--out',
                str(tmp_path / f'{out}.pkl'),
                *options,
                *extra,
            ]
        )
        log = proc.stdout + proc.stderr
        maps = [re.search(rf'coco/bbox_{key}: (-?[0-9.]+)', log).group(1) for key in ('mAP', 'mAP_50', 'mAP_75')]
        with open(tmp_path / f'{out}.pkl', 'rb') as f:
            return log, maps, pickle.load(f)

    _, maps_raw, raw = test([], 'raw')
    log, maps_cal, cal = test(
        ['default_hooks.calibration.type=PostHocCalibrationHook', f'default_hooks.calibration.calibrator={cal_path}'],
        'cal',
    )
    assert 'PostHocCalibrationHook: isotonic (per class)' in log
    assert maps_cal == maps_raw
    calibrator = ScoreCalibrator.load(cal_path)
    for r, c in zip(raw, cal):
        pr, pc = r['pred_instances'], c['pred_instances']
        assert np.array_equal(pr['labels'].numpy(), pc['labels'].numpy())
        expected = calibrator(pr['scores'].numpy(), pr['labels'].numpy())
        np.testing.assert_allclose(pc['scores'].numpy(), expected, rtol=1e-6)


def test_crosscheck_export_round_trip(tmp_path):
    """tools/calibration_crosscheck.py: the COCO JSON export read back gives the numbers of the detections."""
    import importlib.util

    from mmdet_selfkd.calibration import calibration_report

    from conftest import REPO
    from detection_samples import coco_world

    spec = importlib.util.spec_from_file_location('crosscheck', REPO / 'tools/calibration_crosscheck.py')
    crosscheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crosscheck)

    samples = coco_world(tmp_path, np.random.default_rng(3))
    images = [
        dict(
            bboxes=s['pred_instances']['bboxes'].numpy(),
            labels=s['pred_instances']['labels'].numpy(),
            scores=s['pred_instances']['scores'].numpy().astype(np.float64),
            gt_bboxes=s['gt_instances']['bboxes'].numpy(),
            gt_labels=s['gt_instances']['labels'].numpy(),
            gt_ignore=np.zeros(3, bool),
        )
        for s in samples
    ]
    with open(tmp_path / 'dets.pkl', 'wb') as f:
        pickle.dump(dict(classes=('a', 'b'), images=images), f)
    crosscheck.export(str(tmp_path / 'dets.pkl'), str(tmp_path / 'out'))
    ours = crosscheck.ours(str(tmp_path / 'out'))
    direct = calibration_report(images, classes=('a', 'b'))
    # the documented cross-check numbers (docs/calibration.md)
    assert ours['calib/dece'] == pytest.approx(direct['calib/dece'], abs=1e-6)
    assert ours['calib/dece'] == pytest.approx(0.22924225, abs=1e-7)
    assert ours['laece/laece0'] == pytest.approx(direct['laece/laece0'], abs=1e-6)
    assert ours['laece/laece0'] == pytest.approx(0.48783192, abs=1e-6)
