"""tools/main_job.py: the defaults (baseline and PS-KD, the lighter 200-image setting), the per-method configs,
the data generation with its progress bar, and a tiny real run through the command line (1 epoch on 8 images,
both default methods) that ends with the table, the two-panel reliability PNG, the checkpoints and logs."""

import importlib.util
import os
import os.path as osp
import re
import struct

import numpy as np
import pytest

from conftest import REPO, run_tool

_spec = importlib.util.spec_from_file_location('main_job', REPO / 'tools' / 'main_job.py')
main_job = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(main_job)


def png_size(path: str):
    """``(width, height)`` from a PNG's IHDR chunk."""
    with open(path, 'rb') as f:
        header = f.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', header[16:24])


def test_defaults_are_baseline_and_pskd_on_200_images():
    args = main_job.parse_args([])
    assert args.methods == ['baseline', 'pskd']
    assert args.train_images == 200 and args.epochs is None
    assert main_job.METHOD_CONFIGS['pskd'] == 'pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py'  # in mmdet_selfkd.configs
    assert main_job.parse_args(['--methods', 'ls', 'cskd']).methods == ['ls', 'cskd']


def test_method_config_subset_evaluators_and_no_in_training_validation(shapes_root, tmp_path):
    cfg = main_job.method_config('pskd', shapes_root, str(tmp_path / 'pskd'), train_images=8)
    assert cfg.train_dataloader.dataset.indices == 8
    assert cfg.train_cfg.max_epochs == 8 and cfg.train_cfg.val_begin == 9  # the test evaluates once, after training
    assert cfg.custom_hooks[0].memory.strategy == 'gt'
    evaluators = {e['type']: e for e in cfg.test_evaluator}
    assert set(evaluators) == {'CocoMetric', 'DetectionCalibrationMetric', 'LaECEMetric'}
    assert evaluators['CocoMetric']['ann_file'] == shapes_root.rstrip('/') + '/annotations/val.json'
    assert evaluators['DetectionCalibrationMetric']['pairs_file'] == str(tmp_path / 'pskd' / 'calibration_pairs.npz')
    full = main_job.method_config('baseline', shapes_root, str(tmp_path / 'b'), epochs=2)
    assert 'indices' not in full.train_dataloader.dataset  # 0: all train images
    assert full.train_cfg.max_epochs == 2 and full.param_scheduler[1].milestones == [2]


def test_data_generation_shows_progress_and_smaller_splits_are_prefixes(tmp_path, capfd):
    from mmdet_selfkd.datasets import make_shapes_dataset

    make_shapes_dataset(str(tmp_path / 'a'), splits={'train': 3}, progress=True)
    out = capfd.readouterr().out
    assert 'writing 3 train images' in out and '3/3' in out  # mmengine's ProgressBar
    make_shapes_dataset(str(tmp_path / 'b'), splits={'train': 2})
    for name in ('00001.png', '00002.png'):  # the main job's first N images are those of an N-image split
        assert (tmp_path / 'a/images/train' / name).read_bytes() == (tmp_path / 'b/images/train' / name).read_bytes()


def test_too_few_train_images_is_refused(shapes_root):
    with pytest.raises(SystemExit, match='--train-images 100'):
        main_job.prepare_data(shapes_root, 100)  # the fixture's dataset has 16 train images


@pytest.mark.slow
def test_tiny_main_job_run(shapes_root, tmp_path):
    """The real command with its default methods, on 8 of the fixture's 16 train images for 1 epoch."""
    proc = run_tool(
        [
            'tools/main_job.py',
            '--data-root',
            shapes_root,
            '--work-dir',
            str(tmp_path),
            '--train-images',
            '8',
            '--epochs',
            '1',
        ]
    )
    out, log = proc.stdout, proc.stdout + proc.stderr
    assert 'laece/laece0' in log and 'Epoch(test)' in log
    assert 'Epoch(val)' not in log  # no in-training validation: the test after training is the evaluation
    (run_dir,) = [osp.join(tmp_path, d) for d in os.listdir(tmp_path)]

    table = open(osp.join(run_dir, 'table.md')).read()
    assert table in out  # printed as written
    assert '8 train images, 1 epochs, batch 8; tested on 8 held-out val images' in table
    assert '| method | bbox mAP | mAP@50 | D-ECE | LaECE_0 | train time |' in table
    rows = re.findall(
        r'^\| (\S+) \| (\d\.\d{3}) \| (\d\.\d{3}) \| (\d\.\d{3}|n/a) \| (\d\.\d{3}|n/a) \| (\d+) s \|$', table, re.M
    )
    assert [row[0] for row in rows] == ['baseline', 'pskd']

    png = osp.join(run_dir, 'reliability.png')
    width, height = png_size(png)
    assert (width, height) == (720, 500)  # two 3.6-inch panels at 100 dpi
    assert f'reliability diagrams: {png}' in out

    for method in ('baseline', 'pskd'):
        checkpoint = osp.join(run_dir, method, 'epoch_1.pth')
        assert osp.isfile(checkpoint) and f'checkpoint {checkpoint}' in out
        log_dir = re.search(rf'logs ({re.escape(osp.join(run_dir, method))}/\d{{8}}_\d{{6}})', out).group(1)
        assert osp.isfile(osp.join(log_dir, osp.basename(log_dir) + '.log'))
        pairs = np.load(osp.join(run_dir, method, 'calibration_pairs.npz'))
        assert set(pairs.files) == {'scores', 'labels', 'is_tp'}
    assert re.search(r'whole job: \d+ s', out)


def test_calibration_pairs_file_and_side_by_side_diagrams(tmp_path):
    """The library parts the main job (and the benchmark) draw the diagram with."""
    from mmdet_selfkd.evaluation import DetectionCalibrationMetric, calibration_errors, plot_reliability_diagrams

    metric = DetectionCalibrationMetric(save_diagram=False, pairs_file=str(tmp_path / 'run' / 'pairs.npz'))
    metric.compute_metrics(
        [
            (np.array([0.9, 0.4], np.float32), np.array([0, 1]), np.array([True, False])),
            (np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, bool)),
        ]
    )
    pairs = np.load(tmp_path / 'run' / 'pairs.npz')
    assert pairs['scores'].tolist() == pytest.approx([0.9, 0.4]) and pairs['is_tp'].tolist() == [True, False]
    panels = {
        'baseline': calibration_errors(pairs['scores'], pairs['is_tp']),
        'pskd': calibration_errors(np.zeros(0), np.zeros(0, bool)),
    }  # no detection: D-ECE n/a
    fig = plot_reliability_diagrams(panels, notes={'baseline': '1 seed(s)'})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]  # D-ECE: (0.1 + 0.4) / 2
    assert titles == ['baseline\nD-ECE 0.250, 2 dets, 1 seed(s)', 'pskd\nD-ECE n/a, 0 dets']
    fig.savefig(tmp_path / 'r.png', dpi=100)
    assert png_size(tmp_path / 'r.png') == (720, 500)
