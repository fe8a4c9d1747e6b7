"""The main job: the baseline and PS-KD side by side on the synthetic shapes dataset (offline, CPU-friendly).

Writes the shapes dataset (if absent), trains a small Faster R-CNN (R18-FPN from scratch) once per method on
the first 200 train images for the configs' 8 epochs, tests each on the 100 held-out val images (bbox mAP and
mAP@50 with pycocotools through mmdet's CocoMetric, D-ECE, LaECE_0) and ends with one table, the methods'
reliability diagrams in one PNG, and where the checkpoints and logs are.

    python tools/main_job.py                                    # baseline and PS-KD (`gt` strategy)
    python tools/main_job.py --methods baseline pskd pskd-iou ls lsrkd cskd mrkd   # any of METHOD_CONFIGS
    python tools/main_job.py --train-images 0                   # all 400 train images (twice the training)

The methods and their configs: ``METHOD_CONFIGS`` of :mod:`mmdet_selfkd.configs`.
"""

import argparse
import json
import os.path as osp
import time
from typing import Dict, List

import numpy as np
from mmengine.runner import Runner

import mmdet_selfkd  # noqa: F401
from mmdet_selfkd.apis import load_config
from mmdet_selfkd.configs import METHOD_CONFIGS, config_path
from mmdet_selfkd.datasets import make_shapes_dataset
from mmdet_selfkd.evaluation import calibration_errors, plot_reliability_diagrams

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_METHODS = ('baseline', 'pskd')
# The main job trains on the first 200 of the dataset's 400 train images (the same 200 images as the
# benchmark's shapes `cpu-reduced` mode): two methods then fit in a few minutes on 2 CPU cores.
DEFAULT_TRAIN_IMAGES = 200


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--methods',
        nargs='+',
        default=list(DEFAULT_METHODS),
        choices=sorted(METHOD_CONFIGS),
        metavar='METHOD',
        help='methods to train and compare, of: '
        + ', '.join(METHOD_CONFIGS)
        + f' (default: {" ".join(DEFAULT_METHODS)})',
    )
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'shapes'),
        help='the shapes dataset (written there if absent: 400 train / 100 val images)',
    )
    parser.add_argument(
        '--train-images',
        type=int,
        default=DEFAULT_TRAIN_IMAGES,
        help='train on the first N train images; 0: all of them (default: %(default)s)',
    )
    parser.add_argument(
        '--work-dir',
        default=osp.join(REPO, 'work_dirs', 'main_job'),
        help='runs go to WORK_DIR/<timestamp>/<method>: earlier runs are never overwritten',
    )
    parser.add_argument('--epochs', type=int, help="override the configs' 8 epochs")
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def num_images(ann_file: str) -> int:
    with open(ann_file) as f:
        return len(json.load(f)['images'])


def prepare_data(data_root: str, train_images: int) -> Dict[str, int]:
    """Write the shapes dataset if absent (with a progress bar) and return the train / val image counts the
    runs use. The train split is cut to its first ``train_images`` images by the configs (dataset
    ``indices``), the val split is used whole (mmdet's CocoMetric scores every image of its annotation file)."""
    splits = {'train': max(400, train_images), 'val': 100}  # make_shapes_dataset's default sizes, or more
    paths = make_shapes_dataset(data_root, splits=splits, progress=True)
    counts = {split: num_images(path) for split, path in paths.items()}
    if train_images > counts['train']:
        raise SystemExit(
            f'{data_root} holds {counts["train"]} train images, fewer than --train-images '
            f'{train_images}: pass a --data-root that is absent (it is then written) or larger'
        )
    print(
        f'data: {data_root} ({counts["train"]} train / {counts["val"]} val images; '
        f'training on {train_images or counts["train"]})',
        flush=True,
    )
    return dict(train=train_images or counts['train'], val=counts['val'], available_train=counts['train'])


def method_config(method: str, data_root: str, work_dir: str, train_images: int = 0, epochs: int = None, seed: int = 0):
    """The method's shipped config on ``data_root``: its first ``train_images`` train images (0: all), tested
    on the val split with CocoMetric, DetectionCalibrationMetric (D-ECE; detections saved for the diagrams)
    and LaECEMetric. The in-training validation is skipped: the test after training evaluates the same split."""
    cfg = load_config(config_path(METHOD_CONFIGS[method]), work_dir=work_dir)
    root = data_root.rstrip('/') + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    if train_images:
        cfg.train_dataloader.dataset.indices = train_images
    cfg.val_evaluator.ann_file = root + 'annotations/val.json'
    cfg.test_evaluator = [
        dict(type='CocoMetric', ann_file=root + 'annotations/val.json', metric='bbox'),
        dict(
            type='DetectionCalibrationMetric',
            save_diagram=False,
            pairs_file=osp.join(work_dir, 'calibration_pairs.npz'),
        ),
        dict(type='LaECEMetric'),
    ]
    if epochs:
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = epochs
        cfg.default_hooks.checkpoint.interval = epochs
        cfg.param_scheduler[1].end = epochs
        cfg.param_scheduler[1].milestones = [max(1, round(epochs * 0.75))]
    cfg.train_cfg.val_begin = cfg.train_cfg.max_epochs + 1
    cfg.randomness = dict(seed=seed)
    return cfg


def run_method(method: str, args: argparse.Namespace, counts: Dict[str, int], run_dir: str) -> dict:
    """Train, then test, one method; return its numbers and where its files are."""
    work_dir = osp.join(run_dir, method)
    subset = counts['train'] if counts['train'] < counts['available_train'] else 0
    cfg = method_config(method, args.data_root, work_dir, subset, args.epochs, args.seed)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_s = time.time() - start
    metrics = runner.test()  # the trained weights, on the held-out split
    return dict(
        mAP=metrics.get('coco/bbox_mAP', 0.0),  # CocoMetric reports nothing when nothing is detected
        mAP50=metrics.get('coco/bbox_mAP_50', 0.0),
        dece=metrics['calib/dece'],
        laece0=metrics['laece/laece0'],
        train_s=train_s,
        log_dir=runner.log_dir,
        pairs_file=osp.join(work_dir, 'calibration_pairs.npz'),
        checkpoint=osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth'),
        epochs=cfg.train_cfg.max_epochs,
        batch_size=cfg.train_dataloader.batch_size,
    )


def _number(value: float) -> str:
    return 'n/a' if value is None or np.isnan(value) else f'{value:.3f}'


def render_table(results: Dict[str, dict], counts: Dict[str, int]) -> str:
    """The summary table (Markdown) with a caption of the settings."""
    first = next(iter(results.values()))
    lines = [
        f'Faster R-CNN R18-FPN on shapes: {counts["train"]} train images, {first["epochs"]} epochs, '
        f'batch {first["batch_size"]}; tested on {counts["val"]} held-out val images (mAP: pycocotools; '
        'D-ECE: IoU 0.5, score >= 0.3; LaECE_0: per class, LRP-optimal thresholds; lower is better '
        'for both).',
        '',
        '| method | bbox mAP | mAP@50 | D-ECE | LaECE_0 | train time |',
        '|---|---|---|---|---|---|',
    ]
    for method, res in results.items():
        lines.append(
            f'| {method} | {_number(res["mAP"])} | {_number(res["mAP50"])} | {_number(res["dece"])} | '
            f'{_number(res["laece0"])} | {res["train_s"]:.0f} s |'
        )
    return '\n'.join(lines) + '\n'


def plot_reliability(results: Dict[str, dict], path: str) -> None:
    """The methods' reliability diagrams side by side in one PNG."""
    panels = {}
    for method, res in results.items():
        pairs = np.load(res['pairs_file'])
        panels[method] = calibration_errors(pairs['scores'], pairs['is_tp'])
    plot_reliability_diagrams(panels).savefig(path, dpi=100)


def main(argv: List[str] = None) -> None:
    start = time.time()
    args = parse_args(argv)
    methods = list(dict.fromkeys(args.methods))
    counts = prepare_data(args.data_root, args.train_images)
    run_dir = osp.join(args.work_dir, time.strftime('%Y%m%d_%H%M%S'))
    results: Dict[str, dict] = {}
    for index, method in enumerate(methods, 1):
        print(f'\n=== [{index}/{len(methods)}] {method}: {METHOD_CONFIGS[method]} -> {run_dir}/{method}', flush=True)
        results[method] = run_method(method, args, counts, run_dir)
    table = render_table(results, counts)
    with open(osp.join(run_dir, 'table.md'), 'w') as f:
        f.write(table)
    plot_reliability(results, osp.join(run_dir, 'reliability.png'))
    where = [
        f'  {method}: checkpoint {res["checkpoint"]}\n  {" " * len(method)}  logs {res["log_dir"]}'
        for method, res in results.items()
    ]
    print(
        '\n'.join(
            [
                '',
                f'main job ({", ".join(methods)})',
                '',
                table,
                f'reliability diagrams: {osp.join(run_dir, "reliability.png")}',
                f'this table:           {osp.join(run_dir, "table.md")}',
                'checkpoints and logs:',
                *where,
                f'whole job: {time.time() - start:.0f} s (data, training, testing)',
            ]
        ),
        flush=True,
    )


if __name__ == '__main__':
    main()
