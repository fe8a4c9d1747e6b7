"""The main job: train a small Faster R-CNN on the synthetic shapes dataset (offline, CPU-friendly)
with one or more self-KD methods side by side, evaluate each on the held-out split with pycocotools
(mmdet's CocoMetric) and the detection calibration error, and print a summary.

    python tools/main_job.py                         # the baseline alone (~6 min on 2 CPU cores)
    python tools/main_job.py --methods baseline pskd # baseline and PS-KD side by side
"""
import argparse
import os
import os.path as osp
import time
from typing import Dict, List

from mmengine.runner import Runner

import mmdet_selfkd  # noqa: F401
from mmdet_selfkd.apis import load_config
from mmdet_selfkd.datasets import make_shapes_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHOD_CONFIGS = {
    'baseline': 'configs/shapes/faster-rcnn_r18_fpn_8e_shapes.py',
    'pskd': 'configs/pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py',
    'pskd-iou': 'configs/pskd/faster-rcnn_r18_fpn_pskd-iou-8e_shapes.py',
    'pskd-snapshot': 'configs/pskd/faster-rcnn_r18_fpn_pskd-snapshot-8e_shapes.py',
    'ls': 'configs/selfkd/faster-rcnn_r18_fpn_ls-8e_shapes.py',
    'lsrkd': 'configs/selfkd/faster-rcnn_r18_fpn_lsrkd-8e_shapes.py',
    'lsrkd-tc': 'configs/selfkd/faster-rcnn_r18_fpn_lsrkd-tc-8e_shapes.py',
    'cskd': 'configs/selfkd/faster-rcnn_r18_fpn_cskd-8e_shapes.py',
    'mrkd': 'configs/selfkd/faster-rcnn_r18_fpn_mrkd-8e_shapes.py',
    'mrkd-tc': 'configs/selfkd/faster-rcnn_r18_fpn_mrkd-tc-8e_shapes.py',
    # one-stage: RetinaNet R18-FPN, compare with `retinanet`
    'retinanet': 'configs/shapes/retinanet_r18_fpn_8e_shapes.py',
    'retinanet-pskd': 'configs/pskd/retinanet_r18_fpn_pskd-8e_shapes.py',
    'retinanet-ls': 'configs/selfkd/retinanet_r18_fpn_ls-8e_shapes.py',
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--methods', nargs='+', default=['baseline'], choices=sorted(METHOD_CONFIGS),
                        help='methods to train and compare (default: baseline)')
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'shapes'),
                        help='where the shapes dataset is (generated there if absent)')
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'main_job'),
                        help='runs go to WORK_DIR/<timestamp>/<method>: earlier runs are never overwritten')
    parser.add_argument('--epochs', type=int, help='override the configs\' 8 epochs')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def method_config(method: str, data_root: str, work_dir: str, epochs: int, seed: int):
    cfg = load_config(osp.join(REPO, METHOD_CONFIGS[method]), work_dir=work_dir)
    root = data_root.rstrip('/') + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.val_evaluator.ann_file = root + 'annotations/val.json'
    cfg.test_evaluator = [dict(type='CocoMetric', ann_file=root + 'annotations/val.json', metric='bbox'),
                          dict(type='DetectionCalibrationMetric', out_dir=work_dir)]
    if epochs:
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = epochs
        cfg.default_hooks.checkpoint.interval = epochs
        cfg.param_scheduler[1].end = epochs
        cfg.param_scheduler[1].milestones = [max(1, round(epochs * 0.75))]
    cfg.randomness = dict(seed=seed)
    return cfg


def run_method(method: str, args: argparse.Namespace, run_dir: str) -> Dict[str, float]:
    work_dir = osp.join(run_dir, method)
    cfg = method_config(method, args.data_root, work_dir, args.epochs, args.seed)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_s = time.time() - start
    metrics = runner.test()  # the trained weights, on the held-out split
    return dict(mAP=metrics['coco/bbox_mAP'], mAP50=metrics['coco/bbox_mAP_50'], dece=metrics['calib/dece'],
                train_s=train_s, work_dir=work_dir, log_dir=runner.log_dir,
                checkpoint=osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth'))


def print_summary(results: Dict[str, dict]) -> None:
    lines = ['', 'main job: Faster R-CNN R18-FPN on shapes (val split, pycocotools)',
             f'{"method":<14}{"bbox mAP":>9}{"mAP@50":>8}{"D-ECE":>8}{"train s":>9}  checkpoint / logs']
    for method, res in results.items():
        lines.append(f'{method:<14}{res["mAP"]:>9.3f}{res["mAP50"]:>8.3f}{res["dece"]:>8.3f}{res["train_s"]:>9.0f}'
                     f'  {res["checkpoint"]}  /  {res["log_dir"]}')
    print('\n'.join(lines), flush=True)


def main() -> None:
    args = parse_args()
    paths = make_shapes_dataset(args.data_root)
    print(f'data: {args.data_root} ({", ".join(paths)})', flush=True)
    run_dir = osp.join(args.work_dir, time.strftime('%Y%m%d_%H%M%S'))
    results: Dict[str, dict] = {}
    for method in args.methods:
        results[method] = run_method(method, args, run_dir)
    print_summary(results)


if __name__ == '__main__':
    main()
