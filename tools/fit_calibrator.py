"""Fit a post-hoc confidence calibrator on a checkpoint's validation-split detections.

Runs CONFIG's ``val_dataloader`` through the checkpoint once, matches the detections to the ground truth
with the protocol of the calibration error to lower (``--target laece``: LaECE_0 of Kuzucu et al., ECCV
2024, IoU targets; ``--target dece``: the package's D-ECE, binary targets), fits temperature scaling or
isotonic regression (class-agnostic or ``--per-class``) and writes it as JSON beside the checkpoint
(never over an existing file unless ``--force``). Apply it with the stock tools/test.py:

    python tools/fit_calibrator.py CONFIG CKPT --method isotonic --per-class
    python tools/test.py CONFIG CKPT --cfg-options \\
        default_hooks.calibration.type=PostHocCalibrationHook \\
        default_hooks.calibration.calibrator=CKPT_STEM.isotonic-per-class-laece.calibrator.json

The JSON also records the in-sample D-ECE / LaECE_0 / mAP-free numbers before and after on the split it
was fitted on (optimistic: evaluate on another split).
"""

import argparse
import os.path as osp
import pickle
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

import mmdet_selfkd  # noqa: F401  (registers our modules; lets torch>=2.6 load mmengine checkpoints)
from mmdet_selfkd.apis import load_config
from mmdet_selfkd.calibration import (
    TARGETS,
    ScoreCalibrator,
    calibration_report,
    calibration_set,
    lrp_optimal_thresholds,
)
from mmdet_selfkd.evaluation import image_detections


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--method', choices=('temperature', 'isotonic'), default='temperature')
    parser.add_argument('--per-class', action='store_true', help='one map per class (default: one for all)')
    parser.add_argument(
        '--target',
        choices=TARGETS,
        default='laece',
        help="calibration error to lower: 'laece' (IoU targets, IoU 0, LRP-optimal "
        "thresholds) or 'dece' (TP targets, IoU 0.5, score >= 0.3)",
    )
    parser.add_argument('--split', default='val_dataloader', help='config key of the dataloader to fit on')
    parser.add_argument('--out', help='JSON path (default: beside the checkpoint)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing --out')
    parser.add_argument('--dump-dets', help='also pickle the per-image detections and ground truth here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def default_out(args: argparse.Namespace) -> str:
    stem = osp.splitext(args.checkpoint)[0]
    kind = args.method + ('-per-class' if args.per_class else '')
    return f'{stem}.{kind}-{args.target}.calibrator.json'


def predict(cfg, split: str) -> List[Dict[str, np.ndarray]]:
    """Per image: detections and ground truth (original-image frame) as numpy arrays."""
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    loader = runner.build_dataloader(cfg[split])
    model = runner.model
    model.eval()
    images = []
    start = time.time()
    with torch.no_grad():
        for i, data in enumerate(loader):
            for sample in model.val_step(data):
                d = sample.to_dict()
                images.append(dict(img_id=d.get('img_id'), **image_detections(d)))
            if (i + 1) % 20 == 0:
                runner.logger.info(f'fit_calibrator: {len(images)} images ({time.time() - start:.0f} s)')
    return images


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or default_out(args)
    if osp.exists(out) and not args.force:
        print(f'fit_calibrator: {out} exists; pass --force to overwrite it or --out elsewhere', file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix='fit_calibrator_') as work_dir:
        cfg = load_config(args.config, args.cfg_options, work_dir)
        cfg.load_from = args.checkpoint
        images = predict(cfg, args.split)
        classes = tuple(cfg[args.split].dataset.get('metainfo', {}).get('classes', ()))
    if args.dump_dets:
        with open(args.dump_dets, 'xb' if not args.force else 'wb') as f:
            pickle.dump(dict(classes=classes, images=images), f)

    scores, labels, targets = calibration_set(images, args.target)
    meta = dict(
        config=osp.abspath(args.config),
        checkpoint=osp.abspath(args.checkpoint),
        split=args.split,
        target=args.target,
        num_images=len(images),
        num_fit_dets=int(scores.size),
        created=time.strftime('%Y-%m-%d %H:%M:%S'),
    )
    calibrator = ScoreCalibrator.fit(scores, labels, targets, args.method, args.per_class, meta)
    calibrated = [dict(img, scores=calibrator(img['scores'], img['labels'])) for img in images]
    calibrator.meta['in_sample_before'] = calibration_report(images, classes=classes)
    calibrator.meta['in_sample_after'] = calibration_report(calibrated, classes=classes)
    # the reference protocol's operating thresholds: LaECEMetric(score_thr=<these, in class order>)
    thresholds = lrp_optimal_thresholds(calibrated)
    calibrator.meta['lrp_optimal_thresholds_after'] = {
        str(c): None if np.isnan(t) else t for c, t in sorted(thresholds.items())
    }
    calibrator.save(out, overwrite=args.force)

    print(
        f'fit_calibrator: {args.method} ({"per class" if args.per_class else "class-agnostic"}, '
        f'target {args.target}) on {scores.size} detections of {len(images)} images -> {out}'
    )
    for when in ('before', 'after'):
        print(
            f'  {args.split} (in-sample) {when}: '
            + ', '.join(f'{k} {v:.4f}' for k, v in calibrator.meta[f'in_sample_{when}'].items())
        )
    print(
        'Apply it with:\n  python tools/test.py CONFIG CKPT --cfg-options '
        'default_hooks.calibration.type=PostHocCalibrationHook '
        f'default_hooks.calibration.calibrator={out}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
