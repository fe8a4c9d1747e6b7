"""Self-KD benchmark: train every method of a config family on the same data, for several seeds, and compare.

Families (``--family``), each with its own modes (``--mode``, default: the family's smallest):

    shapes  Faster R-CNN R18-FPN from scratch on synthetic shapes (configs of tools/main_job.py), held out: val.
            Modes cpu-tiny, cpu-reduced, full.
    bccd    Faster R-CNN MobileNetV2-FPN (ImageNet-pretrained) on BCCD blood cells (configs/bccd), all of its
            205 train images, held out: its 72 test images; the VOC folder is converted to COCO JSONs with
            tools/dataset_converters/voc_to_coco.py. Modes cpu-reduced (256x192 images, lighter RoI stage,
            2 epochs), full (the config's 640x480 images and 12 epochs) and lite (the evidence study: the lite
            model, 320x240, 12 epochs; the study's arms are the mode's methods and variants); no cpu-tiny: one
            epoch alone takes ~85 s on 2 CPU cores.
    aquarium  The same model on Aquarium (Roboflow, 7 classes, configs/aquarium), 448 train images, held out:
            its 63 test images; the YOLO folder is converted with tools/dataset_converters/yolo_to_coco.py.
            Modes lite and full, as for bccd.

For each (seed, method) a worker subprocess (this script with ``--worker``) trains the method's config,
tests the trained weights on the held-out split (COCO bbox mAP, mAP@50, D-ECE, LaECE_0; for baseline, pskd
and ls also D-ECE and LaECE_0 after post-hoc isotonic calibration cross-fitted over the held-out images, the
'<method> + post-hoc' rows) and reports its mean train step time (mmengine's logged ``time`` scalar), peak GPU
memory and peak host RSS; one process per run keeps the memory figures per run. The parent writes into
``--out-dir`` (never an existing directory):

    table.md         per method: mean ± sample std over seeds, step-time ratio to the baseline, memory;
                     '<method> + post-hoc' rows (see POSTHOC)
    reliability.png  reliability diagrams side by side, one panel per method, pooled over seeds
    results.json     settings and per-run numbers (``--table-from results.json`` rebuilds the table)
    runs/<method>/seed<k>/  each run's mmengine work dir, worker.log, result.json, pairs.npz and dets.pkl
    data/            the family's data, prepared for this benchmark

    python benchmarks/selfkd_benchmark.py --mode cpu-tiny                  # CI smoke run: baseline, pskd
    python benchmarks/selfkd_benchmark.py --mode cpu-reduced               # all 8 methods on 2 CPU cores
    python benchmarks/selfkd_benchmark.py --mode full                      # main-job settings, 3 seeds, GPU
    python benchmarks/selfkd_benchmark.py --mode cpu-tiny --methods baseline ls --seeds 0 1
    python benchmarks/selfkd_benchmark.py --family bccd --mode cpu-reduced # BCCD, 8 methods x 3 seeds, 2 CPU cores
    python benchmarks/selfkd_benchmark.py --family bccd --mode full        # BCCD, the config's 12 epochs, GPU
    python benchmarks/selfkd_benchmark.py --family bccd --mode lite        # the evidence study's screen, 3 seeds
    python benchmarks/selfkd_benchmark.py --family aquarium --mode lite --seeds 0 1 2 3 4 \
        --methods baseline ls pskd     # 5 seeds of chosen arms (a --methods choice runs no mode variants)
    python benchmarks/selfkd_benchmark.py --table-from work_dirs/benchmarks/<timestamp>/results.json
    python benchmarks/selfkd_benchmark.py --family bccd --mode cpu-reduced --merge DIR1 DIR2 --out-dir DIR3
                                          # one table of the finished runs of earlier (e.g. interrupted) benchmarks
    python benchmarks/selfkd_benchmark.py --family bccd --methods pskd --epochs 4 \\
        --cfg-options optim_wrapper.optimizer.lr=0.005 \\
        --variant pskd-a0.4 pskd custom_hooks.0.alpha_T=0.4   # a sweep: extra runs with their own config options
                                          # (4 BCCD epochs at the config's lr 0.01 diverged on the CPU)
"""

import argparse
import glob
import importlib.util
import json
import math
import os
import os.path as osp
import pickle
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.registry import METRICS
from mmengine.config import Config, DictAction
from mmengine.evaluator import BaseMetric
from mmengine.runner import Runner

from mmdet_selfkd.apis import load_config
from mmdet_selfkd.calibration import calibration_report, cross_fitted_scores
from mmdet_selfkd.datasets import make_shapes_dataset
from mmdet_selfkd.evaluation.detection_calibration_metric import (
    DetectionCalibrationMetric,
    _to_numpy,
    calibration_errors,
    plot_reliability_diagrams,
)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCHMARK_METHODS = ('baseline', 'pskd', 'pskd-iou', 'pskd-snapshot', 'ls', 'lsrkd', 'cskd', 'mrkd')
REFERENCE = 'baseline'
DATA_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass(frozen=True)
class ModeSettings:
    """How big a benchmark run is.

    Attributes:
        train_images (int, optional): Training images, for families that generate their data; None for a
            fixed dataset, used whole.
        val_images (int, optional): Held-out images, likewise.
        epochs (int): Training epochs; the configs' schedule is scaled to it.
        batch_size (int): Training batch size.
        num_workers (int): Dataloader workers (0: load in the training process).
        seeds (tuple[int]): Default seeds.
        methods (tuple[str]): Default methods.
        timing_skip_iters (int): First train iterations left out of the mean step time.
        cpu_only (bool): Hide GPUs from the workers.
        img_scale (tuple[int, int], optional): ``(w, h)`` of the train and test pipelines' ``Resize`` steps;
            None keeps the configs'.
        cfg_options (dict): Further config options of the mode, the same for every method (e.g. fewer RoIs
            on CPU).
        variants (dict): Extra runs of a family method with config options of their own (``--variant``):
            name -> ``{'method': <family method>, 'options': {<key>: <value>}}``, e.g. an α_T sweep.
    """

    train_images: Optional[int]
    val_images: Optional[int]
    epochs: int
    batch_size: int
    num_workers: int
    seeds: Tuple[int, ...]
    methods: Tuple[str, ...]
    timing_skip_iters: int
    cpu_only: bool
    img_scale: Optional[Tuple[int, int]] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    variants: Dict[str, Dict[str, Any]] = field(default_factory=dict)


# Settings that make runs comparable: ``--merge`` refuses runs whose settings differ in one of them.
COMPARABLE_SETTINGS = ('train_images', 'val_images', 'epochs', 'batch_size', 'img_scale', 'cfg_options')

SHAPES_MODES: Dict[str, ModeSettings] = {
    # CI smoke run: 4 iterations per epoch, ~1 min per method on 2 CPU cores.
    'cpu-tiny': ModeSettings(
        train_images=16,
        val_images=8,
        epochs=2,
        batch_size=4,
        num_workers=0,
        seeds=(0,),
        methods=('baseline', 'pskd'),
        timing_skip_iters=2,
        cpu_only=True,
    ),
    # All 8 methods in ~30-40 min on 2 CPU cores: half the main job's images, its 8 epochs (25 iterations each,
    # ~0.9 s per iteration on an idle 2-core CPU), one seed.
    'cpu-reduced': ModeSettings(
        train_images=200,
        val_images=50,
        epochs=8,
        batch_size=8,
        num_workers=0,
        seeds=(0,),
        methods=BENCHMARK_METHODS,
        timing_skip_iters=10,
        cpu_only=True,
    ),
    # The configs' own settings (the dataset's default 400/100 images, 8 epochs, batch 8).
    'full': ModeSettings(
        train_images=400,
        val_images=100,
        epochs=8,
        batch_size=8,
        num_workers=2,
        seeds=(0, 1, 2),
        methods=BENCHMARK_METHODS,
        timing_skip_iters=20,
        cpu_only=False,
    ),
}

# CPU settings, the same for every method: a lighter RoI stage (the shapes model's proposal and RoI sample counts,
# one RoIAlign sample per bin; with the config's 512 RoIs per image, RoIAlign and the RoI head's FCs take ~2/3 of
# a CPU step: 320x240, batch 8: 12.7 s per iteration, 6.5 s with these options) and gradient clipping.
BCCD_CPU_OPTIONS = {
    'model.train_cfg.rpn_proposal.nms_pre': 1000,
    'model.train_cfg.rpn_proposal.max_per_img': 500,
    'model.train_cfg.rcnn.sampler.num': 128,
    'model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio': 1,
    'model.test_cfg.rpn.nms_pre': 500,
    'model.test_cfg.rpn.max_per_img': 300,
    # the 2-epoch schedule warms up for 8 iterations only: unclipped, 2 of 17 runs (baseline seed 2, CS-KD seed 0)
    # went to NaN loss in epoch 1; mmdet's usual clipping keeps every method stable
    'optim_wrapper.clip_grad': dict(max_norm=35, norm_type=2),
}
# The lite model of the evidence study, the same for every method: MobileNetV2 (ImageNet) with a 64-channel
# FPN and RPN, a 256-d two-FC RoI head over 128 sampled RoIs per image, gradient clipping. On BCCD at 320x240,
# batch 8: ~1.25 s per iteration on 2 CPU cores, 12 epochs and the test in ~6.5 min.
LITE_OPTIONS = {
    'model.neck.out_channels': 64,
    'model.rpn_head.in_channels': 64,
    'model.rpn_head.feat_channels': 64,
    'model.roi_head.bbox_roi_extractor.out_channels': 64,
    'model.roi_head.bbox_head.in_channels': 64,
    'model.roi_head.bbox_head.fc_out_channels': 256,
    'model.train_cfg.rcnn.sampler.num': 128,
    'optim_wrapper.clip_grad': dict(max_norm=35, norm_type=2),
}
# The arms of the evidence study: the simplest competitor (label smoothing), the three PS-KD strategies, and
# variants of the default strategy: an alpha_T sweep and one option per hypothesis about why PS-KD makes a
# converged detector under-confident (see README, "Variants for detection").
STUDY_METHODS = ('baseline', 'ls', 'pskd', 'pskd-iou', 'pskd-snapshot')
STUDY_VARIANTS = {
    'pskd-a0.2': dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.2}),
    'pskd-a0.4': dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.4}),
    'pskd-fg': dict(method='pskd', options={'model.roi_head.bbox_head.loss_cls.foreground_teacher': True}),
    'pskd-sharp': dict(method='pskd', options={'model.roi_head.bbox_head.loss_cls.teacher_temperature': 0.5}),
    'pskd-mean0.7': dict(method='pskd', options={'custom_hooks.0.memory.mean_iou_thr': 0.7}),
}
# BCCD's splits are fixed (205 train / 87 val / 72 test images): all images are used, 26 iterations per epoch.
BCCD_MODES: Dict[str, ModeSettings] = {
    # 8 methods x 3 seeds in ~85 min on an idle 2-core CPU: 256x192 images (no padding at the stride-32 divisor),
    # the lighter RoI stage, 2 epochs (the fewest that give PS-KD and MrKD a teacher: epoch 1's predictions,
    # a copy taken after epoch 1). Measured: ~3.2 s per iteration (baseline), ~190 s per run with the test
    # (mrkd, pskd-snapshot: ~240 s); baseline mAP 0.165.
    'cpu-reduced': ModeSettings(
        train_images=None,
        val_images=None,
        epochs=2,
        batch_size=8,
        num_workers=0,
        seeds=(0, 1, 2),
        methods=BENCHMARK_METHODS,
        timing_skip_iters=10,
        cpu_only=True,
        img_scale=(256, 192),
        cfg_options=BCCD_CPU_OPTIONS,
    ),
    # The config's schedule: full 640x480 images, 12 epochs, batch 8.
    'full': ModeSettings(
        train_images=None,
        val_images=None,
        epochs=12,
        batch_size=8,
        num_workers=2,
        seeds=(0, 1, 2),
        methods=BENCHMARK_METHODS,
        timing_skip_iters=20,
        cpu_only=False,
    ),
    # The evidence study on 2 CPU cores: the lite model trained to convergence (12 epochs, 11 taught passes).
    'lite': ModeSettings(
        train_images=None,
        val_images=None,
        epochs=12,
        batch_size=8,
        num_workers=0,
        seeds=(0, 1, 2),
        methods=STUDY_METHODS,
        timing_skip_iters=10,
        cpu_only=True,
        img_scale=(320, 240),
        cfg_options=LITE_OPTIONS,
        variants=STUDY_VARIANTS,
    ),
}


@dataclass(frozen=True)
class PreparedData:
    """A family's data, ready for its configs.

    Attributes:
        options (dict): Config options pointing every config of the family at the data, the held-out split
            in ``test_dataloader`` and ``test_evaluator``.
        train_images (int): Images of the training split.
        test_images (int): Images of the held-out split.
    """

    options: Dict[str, Any]
    train_images: int
    test_images: int


@dataclass(frozen=True)
class Family:
    """Configs of one model and dataset, one per method, how to get their data, and the run sizes.

    Attributes:
        description (str): Model and data, for the table caption.
        configs (dict[str, str]): Method -> config path, relative to the repository root.
        prepare_data (callable): ``(data_dir, settings) -> PreparedData``: writes (or converts) the data
            under ``data_dir``.
        modes (dict[str, ModeSettings]): Mode name -> run sizes for this family.
    """

    description: str
    configs: Dict[str, str]
    prepare_data: Callable[[str, ModeSettings], PreparedData]
    modes: Dict[str, ModeSettings]


def _load_repo_module(name: str, rel_path: str) -> ModuleType:
    """Import a script of the repository (e.g. ``tools/main_job.py``) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, rel_path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _main_job_method_configs() -> Dict[str, str]:
    """``METHOD_CONFIGS`` of tools/main_job.py (the shapes family), loaded from its file."""
    return dict(_load_repo_module('main_job', 'tools/main_job.py').METHOD_CONFIGS)


def prepare_shapes(data_dir: str, settings: ModeSettings) -> PreparedData:
    """Write the synthetic shapes dataset (train / val) and point the shapes configs at it.

    Args:
        data_dir (str): Directory for the dataset.
        settings (ModeSettings): Gives the train and val image counts.

    Returns:
        PreparedData: val is the held-out split.
    """
    root = osp.join(data_dir, 'shapes') + '/'
    make_shapes_dataset(root, splits={'train': settings.train_images, 'val': settings.val_images})
    options: Dict[str, Any] = {f'{loader}.dataset.data_root': root for loader in DATA_LOADERS}
    options.update(
        {
            'val_evaluator.ann_file': root + 'annotations/val.json',
            'test_evaluator.ann_file': root + 'annotations/val.json',
        }
    )
    return PreparedData(options, train_images=settings.train_images, test_images=settings.val_images)


BCCD_BASE_CONFIG = 'configs/bccd/faster-rcnn_mobilenetv2_fpn_1x_bccd.py'
BCCD_CONFIGS = {
    'baseline': BCCD_BASE_CONFIG,
    **{
        method: f'configs/bccd/faster-rcnn_mobilenetv2_fpn_{method}-1x_bccd.py'
        for method in BENCHMARK_METHODS
        if method != REFERENCE
    },
}
BCCD_SPLITS = ('train', 'val', 'test')  # of DATA_LOADERS, in order


def converted_splits(image_root: str, splits: Sequence[str], stats: Dict[str, dict]) -> PreparedData:
    """Point the train, val and test loaders and evaluators at the converted ``splits`` (in that order; the
    last is held out), images under ``image_root``; ``stats`` is a converter's ``{split: {'path', 'images'}}``."""
    options: Dict[str, Any] = {}
    for loader, split in zip(DATA_LOADERS, splits):
        options[f'{loader}.dataset.data_root'] = image_root
        options[f'{loader}.dataset.ann_file'] = stats[split]['path']
    train, val, test = splits
    options.update({'val_evaluator.ann_file': stats[val]['path'], 'test_evaluator.ann_file': stats[test]['path']})
    return PreparedData(options, train_images=stats[train]['images'], test_images=stats[test]['images'])


def prepare_bccd(data_dir: str, settings: ModeSettings) -> PreparedData:
    """Convert BCCD's VOC splits to COCO JSONs (tools/dataset_converters/voc_to_coco.py) and point the BCCD
    configs at them.

    The VOC folder and the class order (category ids) are the base config's; images stay in the VOC folder.

    Args:
        data_dir (str): The JSONs go to ``<data_dir>/bccd_coco/<split>.json``.
        settings (ModeSettings): Unused: BCCD's splits are fixed.

    Returns:
        PreparedData: train, val and test loaders on their splits; test is the held-out split.
    """
    cfg = load_config(osp.join(REPO, BCCD_BASE_CONFIG))
    voc_root = osp.normpath(cfg.train_dataloader.dataset.data_root) + '/'
    converter = _load_repo_module('voc_to_coco', 'tools/dataset_converters/voc_to_coco.py')
    stats = converter.convert_voc_to_coco(
        voc_root, osp.join(data_dir, 'bccd_coco'), splits=BCCD_SPLITS, classes=cfg.metainfo.classes
    )
    return converted_splits(voc_root, BCCD_SPLITS, stats)


AQUARIUM_BASE_CONFIG = 'configs/aquarium/faster-rcnn_mobilenetv2_fpn_1x_aquarium.py'
AQUARIUM_CONFIGS = {
    'baseline': AQUARIUM_BASE_CONFIG,
    **{
        method: f'configs/aquarium/faster-rcnn_mobilenetv2_fpn_{method}-1x_aquarium.py'
        for method in BENCHMARK_METHODS
        if method != REFERENCE
    },
}
AQUARIUM_SPLITS = ('train', 'valid', 'test')  # of DATA_LOADERS, in order (Roboflow names its val split 'valid')
# Aquarium's splits are fixed (448 train / 127 valid / 63 test images): 56 iterations per epoch.
AQUARIUM_MODES: Dict[str, ModeSettings] = {
    'lite': BCCD_MODES['lite'],  # at 320x240, like BCCD
    # The config's schedule: its 512x384 images, 12 epochs, batch 8.
    'full': BCCD_MODES['full'],
}


def prepare_aquarium(data_dir: str, settings: ModeSettings) -> PreparedData:
    """Convert Aquarium's YOLO splits to COCO JSONs (tools/dataset_converters/yolo_to_coco.py) and point the
    Aquarium configs at them; images stay in the YOLO folder.

    Args:
        data_dir (str): The JSONs go to ``<data_dir>/aquarium_coco/<split>.json``.
        settings (ModeSettings): Unused: Aquarium's splits are fixed.

    Returns:
        PreparedData: train, valid and test loaders on their splits; test is the held-out split.
    """
    cfg = load_config(osp.join(REPO, AQUARIUM_BASE_CONFIG))
    yolo_root = osp.normpath(cfg.train_dataloader.dataset.data_root) + '/'
    converter = _load_repo_module('yolo_to_coco', 'tools/dataset_converters/yolo_to_coco.py')
    stats = converter.convert_yolo_to_coco(yolo_root, osp.join(data_dir, 'aquarium_coco'), splits=AQUARIUM_SPLITS)
    return converted_splits(yolo_root, AQUARIUM_SPLITS, stats)


FAMILIES: Dict[str, Family] = {
    'shapes': Family(
        description='Faster R-CNN R18-FPN (from scratch) on synthetic shapes',
        configs=_main_job_method_configs(),
        prepare_data=prepare_shapes,
        modes=SHAPES_MODES,
    ),
    'bccd': Family(
        description='Faster R-CNN MobileNetV2-FPN (ImageNet-pretrained) on BCCD blood cells',
        configs=BCCD_CONFIGS,
        prepare_data=prepare_bccd,
        modes=BCCD_MODES,
    ),
    'aquarium': Family(
        description='Faster R-CNN MobileNetV2-FPN (ImageNet-pretrained) on Aquarium photos',
        configs=AQUARIUM_CONFIGS,
        prepare_data=prepare_aquarium,
        modes=AQUARIUM_MODES,
    ),
}


@METRICS.register_module()
class CalibrationPairsMetric(DetectionCalibrationMetric):
    """:class:`DetectionCalibrationMetric` that also saves its pooled detections to ``pairs_file``.

    The ``.npz`` holds ``scores``, ``labels`` and ``is_tp`` of the detections the D-ECE is computed on,
    so reliability diagrams can be pooled over runs afterwards.

    Args:
        pairs_file (str): Path of the ``.npz`` file.
        **kwargs: :class:`DetectionCalibrationMetric` arguments.
    """

    def __init__(self, pairs_file: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pairs_file = pairs_file

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Save the ``(scores, labels, is_tp)`` of all images, then compute the metric."""
        empty = (np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, bool))
        scores, labels, is_tp = (np.concatenate(x) for x in zip(empty, *results))
        np.savez(self.pairs_file, scores=scores, labels=labels, is_tp=is_tp)
        return super().compute_metrics(results)


# Post-hoc rows: the held-out split is the only labelled one a run tests on, so a post-hoc calibrator is
# cross-fitted over its images (2 folds: each image calibrated by a map fitted on the other half; see
# mmdet_selfkd.calibration.cross_fitting). Isotonic regression (class-agnostic, strictly increasing), fitted
# to D-ECE targets for the D-ECE column and to LaECE targets for the LaECE_0 column. The mAP shown is the
# method's: one fitted map leaves it unchanged, but two folds' different maps can reorder detections across
# the folds, so the cross-fitted scores are not used for mAP.
POSTHOC = dict(method='isotonic', per_class=False, folds=2)
POSTHOC_METHODS = ('baseline', 'pskd', 'ls')  # methods that get a '<method> + post-hoc' row


@METRICS.register_module()
class HeldOutDetectionsMetric(BaseMetric):
    """Pickles each held-out image's detections and ground truth (numpy) to ``dets_file``; reports nothing."""

    def __init__(self, dets_file: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dets_file = dets_file

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            gt_bboxes, gt_labels, gt_ignore = DetectionCalibrationMetric._ground_truth(sample)
            self.results.append(
                dict(
                    bboxes=_to_numpy(pred['bboxes']).reshape(-1, 4),
                    scores=_to_numpy(pred['scores'], np.float64).reshape(-1),
                    labels=_to_numpy(pred['labels'], np.int64).reshape(-1),
                    gt_bboxes=gt_bboxes,
                    gt_labels=gt_labels,
                    gt_ignore=gt_ignore,
                )
            )

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        with open(self.dets_file, 'wb') as f:
            pickle.dump(results, f)
        return {}


def posthoc_numbers(dets_file: str) -> Dict[str, Optional[float]]:
    """LaECE_0 of a run's held-out detections, and D-ECE / LaECE_0 after cross-fitted post-hoc calibration."""
    with open(dets_file, 'rb') as f:
        images = pickle.load(f)
    raw = calibration_report(images)
    dece = calibration_report(images, cross_fitted_scores(images, target='dece', **POSTHOC))
    laece = calibration_report(images, cross_fitted_scores(images, target='laece', **POSTHOC))
    return dict(
        laece0=_finite(raw['laece/laece0']),
        posthoc=dict(
            calibrator=POSTHOC['method'],
            per_class=POSTHOC['per_class'],
            folds=POSTHOC['folds'],
            dece=_finite(dece['calib/dece']),
            laece0=_finite(laece['laece/laece0']),
        ),
    )


# ----------------------------------------------------------------------------------------------- worker


def run_options(settings: ModeSettings, seed: int) -> Dict[str, Any]:
    """Config options of one benchmark run: the mode's own, schedule length, loader, per-iteration logging, seed.

    In-training validation is skipped (``val_begin`` after the last epoch): the worker tests once at the end.
    """
    options: Dict[str, Any] = {
        **settings.cfg_options,
        'train_cfg.max_epochs': settings.epochs,
        'train_cfg.val_begin': settings.epochs + 1,
        'default_hooks.checkpoint.interval': settings.epochs,
        'default_hooks.logger.interval': 1,
        'log_processor.window_size': 1,  # the logged `time` is then each iteration's own
        'train_dataloader.batch_size': settings.batch_size,
        'randomness.seed': seed,
    }
    for loader in DATA_LOADERS:
        options[f'{loader}.num_workers'] = settings.num_workers
        options[f'{loader}.persistent_workers'] = settings.num_workers > 0
    return options


def scale_step_schedule(cfg: Config, epochs: int) -> None:
    """Fit the schedule to ``epochs``: the epoch-based ``MultiStepLR`` milestones and the iteration-based
    ``LinearLR`` warm-up length are scaled proportionally, so both keep their share of the training."""
    ratio = epochs / cfg.train_cfg.max_epochs
    schedulers = cfg.param_scheduler if isinstance(cfg.param_scheduler, list) else [cfg.param_scheduler]
    for scheduler in schedulers:
        by_epoch = scheduler.get('by_epoch', True)
        if scheduler.type == 'MultiStepLR' and by_epoch:
            scheduler.milestones = [max(1, round(m * ratio)) for m in scheduler.milestones]
            scheduler.end = epochs
        elif scheduler.type == 'LinearLR' and not by_epoch:
            scheduler.end = max(1, round(scheduler.end * ratio))


def set_image_scale(cfg: Config, img_scale: Sequence[int]) -> None:
    """Set the ``(w, h)`` scale of every ``Resize`` step of the train, val and test pipelines."""
    for loader in DATA_LOADERS:
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'Resize':
                step.scale = tuple(img_scale)


def build_run_config(spec: Dict[str, Any]) -> Config:
    """The config of one run from its spec (see :func:`run_spec`), test evaluator saving calibration pairs.

    A variant's options are merged last: they may override the mode's.
    """
    settings = ModeSettings(**spec['settings'])
    cfg = load_config(osp.join(REPO, spec['config']), work_dir=spec['work_dir'])
    scale_step_schedule(cfg, settings.epochs)
    if settings.img_scale:
        set_image_scale(cfg, settings.img_scale)
    cfg.merge_from_dict(
        {**spec['data_options'], **run_options(settings, spec['seed']), **spec.get('variant_options', {})}
    )
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    cfg.test_evaluator = [
        *evaluators,
        dict(type='CalibrationPairsMetric', pairs_file=osp.join(spec['work_dir'], 'pairs.npz')),
        dict(type='HeldOutDetectionsMetric', dets_file=osp.join(spec['work_dir'], 'dets.pkl')),
    ]
    return cfg


def peak_gpu_mib(scalars: Sequence[dict]) -> Optional[float]:
    """Peak ``torch.cuda.max_memory_allocated`` of the training process in MiB, None without CUDA.

    mmengine resets the peak after logging it as ``memory`` (MiB) every iteration, so the peak is the
    largest logged value or what was allocated since the last log.
    """
    if not torch.cuda.is_available():
        return None
    logged = [row['memory'] for row in scalars if 'memory' in row]
    return float(max([torch.cuda.max_memory_allocated() / 2**20, *logged]))


def train_scalars(log_dir: str) -> List[dict]:
    """The per-iteration training scalars mmengine logged to ``<log_dir>/vis_data/scalars.json``."""
    with open(osp.join(log_dir, 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [row for row in rows if 'loss' in row and 'time' in row]


def mean_step_time(scalars: Sequence[dict], skip_iters: int) -> Tuple[float, int]:
    """Mean logged ``time`` (s) of the train iterations after the first ``skip_iters``, and their count."""
    times = [row['time'] for row in scalars if row['iter'] > skip_iters]
    if not times:
        raise ValueError(f'no train iteration after the first {skip_iters} was logged')
    return float(np.mean(times)), len(times)


def device_name() -> str:
    """The device the run trained on, for the caption."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f'CPU ({torch.get_num_threads()} torch threads)'


def _finite(value: Optional[float]) -> Optional[float]:
    """``value`` as a float, None if it is NaN (JSON has no NaN)."""
    return None if value is None or math.isnan(value) else float(value)


def coco_ap(metrics: Dict[str, float], key: str) -> Optional[float]:
    """A COCO AP of the test metrics; 0 when the model detected nothing (mmdet's CocoMetric then reports no
    metric at all: nothing detected is nothing recalled)."""
    return _finite(metrics.get(key, 0.0))


def run_worker(spec_file: str) -> None:
    """Train, then test, one (method, seed) run and write ``<work_dir>/result.json``.

    Peak RSS and GPU memory are read right after training, before testing.
    """
    with open(spec_file) as f:
        spec = json.load(f)
    cfg = build_run_config(spec)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_s = time.time() - start
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    scalars = train_scalars(runner.log_dir)
    step_time_s, timed_iters = mean_step_time(scalars, spec['settings']['timing_skip_iters'])
    gpu_mib = peak_gpu_mib(scalars)
    metrics = runner.test()
    result = dict(
        method=spec['method'],
        seed=spec['seed'],
        config=spec['config'],
        device=device_name(),
        variant=spec['settings']['variants'].get(spec['method']),
        bbox_mAP=coco_ap(metrics, 'coco/bbox_mAP'),
        bbox_mAP_50=coco_ap(metrics, 'coco/bbox_mAP_50'),
        dece=_finite(metrics['calib/dece']),
        num_dets=int(metrics['calib/num_dets']),
        diverged=not math.isfinite(scalars[-1]['loss']),
        step_time_s=step_time_s,
        timed_iters=timed_iters,
        train_s=train_s,
        peak_gpu_mib=gpu_mib,
        peak_rss_mib=peak_rss_mib,
        log_dir=osp.relpath(runner.log_dir, spec['out_dir']),
    )
    result.update(posthoc_numbers(osp.join(spec['work_dir'], 'dets.pkl')))
    with open(osp.join(spec['work_dir'], 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)


# ----------------------------------------------------------------------------------------------- parent


def run_spec(
    out_dir: str, family: Family, method: str, seed: int, settings: ModeSettings, data: PreparedData
) -> Dict[str, Any]:
    """What a worker needs to train and test one (method, seed) run; ``method`` may be a variant's name."""
    variant = settings.variants.get(method, dict(method=method, options={}))
    return dict(
        method=method,
        seed=seed,
        config=family.configs[variant['method']],
        settings=asdict(settings),
        variant_options=variant['options'],
        data_options=data.options,
        out_dir=out_dir,
        work_dir=osp.join(out_dir, 'runs', method, f'seed{seed}'),
    )


def launch_worker(spec: Dict[str, Any], cpu_only: bool) -> Dict[str, Any]:
    """Run one worker subprocess (output to ``<work_dir>/worker.log``) and return its result.

    Raises:
        RuntimeError: If the worker fails; the message ends with the log's tail.
    """
    work_dir = spec['work_dir']
    os.makedirs(work_dir)
    spec_file = osp.join(work_dir, 'spec.json')
    with open(spec_file, 'w') as f:
        json.dump(spec, f, indent=2)
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', **({'CUDA_VISIBLE_DEVICES': ''} if cpu_only else {})}
    log_file = osp.join(work_dir, 'worker.log')
    with open(log_file, 'w') as log:
        proc = subprocess.run(
            [sys.executable, osp.abspath(__file__), '--worker', spec_file],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode != 0:
        with open(log_file) as f:
            tail = f.read()[-4000:]
        raise RuntimeError(f'{spec["method"]} seed {spec["seed"]} failed ({proc.returncode}), see {log_file}:\n{tail}')
    with open(osp.join(work_dir, 'result.json')) as f:
        return json.load(f)


def mean_std(values: Sequence[Optional[float]]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (ddof=1) of the defined values.

    None and NaN values (e.g. a D-ECE without detections) are left out. The mean is None without values,
    the std None with fewer than two.
    """
    kept = [v for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return None, None
    std = float(np.std(kept, ddof=1)) if len(kept) > 1 else None
    return float(np.mean(kept)), std


def format_mean_std(values: Sequence[Optional[float]], digits: int = 3) -> str:
    """``'mean ± std'`` of :func:`mean_std`, with ``n/a`` for what is undefined."""
    mean, std = mean_std(values)
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f} ± ' + ('n/a' if std is None else f'{std:.{digits}f}')


def _runs_by_method(report: Dict[str, Any]) -> Dict[str, List[dict]]:
    """The report's runs grouped by method, in the report's method order."""
    return {method: [run for run in report['runs'] if run['method'] == method] for method in report['methods']}


def _options_text(options: Dict[str, Any]) -> str:
    """Config options as ```key=value`, ...`` for a caption."""
    return ', '.join(f'`{key}={value}`' for key, value in options.items())


def table_caption(report: Dict[str, Any]) -> str:
    """The settings of a report as one caption line."""
    s = report['settings']
    seeds = ', '.join(str(seed) for seed in report['seeds'])
    devices = ', '.join(sorted({run['device'] for run in report['runs']}))
    image_scale = 'images resized to {}x{}, '.format(*s['img_scale']) if s.get('img_scale') else ''
    options = _options_text(s.get('cfg_options', {}))
    options = f"Config options for every method (the mode's and `--cfg-options`): {options}. " if options else ''
    variants = '; '.join(
        f'`{name}` = {variant["method"]} with {_options_text(variant["options"])}'
        for name, variant in s.get('variants', {}).items()
    )
    variants = f'Variants: {variants}. ' if variants else ''
    return (
        f'Self-KD benchmark, {report["description"]} (family `{report["family"]}`), mode `{report["mode"]}`: '
        f'{report["data"]["train_images"]} train / {report["data"]["test_images"]} held-out images, '
        f'{s["epochs"]} epochs, batch {s["batch_size"]}, {image_scale}seeds {seeds}; device: {devices}. {options}'
        f'{variants}'
        f'Metrics on the held-out split: mean ± sample std (n-1) over seeds (n/a: one seed). '
        f'Step-time ratio: mean train iteration time (mmengine `time`, first {s["timing_skip_iters"]} '
        f"iterations excluded) over the same seed's baseline run of the same benchmark run, averaged over "
        f'seeds. Memory: peak of the training process, max over seeds.'
    )


def attach_reference_step_times(runs: Sequence[dict]) -> None:
    """Give each run of one benchmark run its step-time reference, ``reference_step_s``: the baseline run of
    the same seed (the closest in time), else the mean of the baseline runs.

    Only runs of one benchmark run (one directory) are compared: on a shared machine the same run can be 20 %
    slower an hour later (measured on the 2-core CPU: baseline seed 0, 3.03 s and 3.63 s per step).

    Raises:
        SystemExit: If ``runs`` has no baseline run.
    """
    by_seed = {run['seed']: run['step_time_s'] for run in runs if run['method'] == REFERENCE}
    if not by_seed:
        raise SystemExit(f'no finished {REFERENCE} run beside {runs[0]["work_dir"]}: it is the step-time reference')
    mean_s = float(np.mean(list(by_seed.values())))
    for run in runs:
        run['reference_step_s'] = by_seed.get(run['seed'], mean_s)


def step_time_ratio(runs: Sequence[dict], fallback_reference_s: float) -> float:
    """Mean over runs of step time / the run's ``reference_step_s`` (``fallback_reference_s`` for reports
    written before runs carried one)."""
    return float(np.mean([run['step_time_s'] / run.get('reference_step_s', fallback_reference_s) for run in runs]))


def method_row(method: str, runs: Sequence[dict], fallback_reference_s: float) -> str:
    """One Markdown table row of a method's runs."""
    step_s = float(np.mean([run['step_time_s'] for run in runs]))
    gpu = [run['peak_gpu_mib'] for run in runs if run['peak_gpu_mib'] is not None]
    diverged = sum(run.get('diverged', False) for run in runs)
    cells = [
        f'{method} (loss NaN in {diverged}/{len(runs)} seeds)' if diverged else method,
        format_mean_std([run['bbox_mAP'] for run in runs]),
        format_mean_std([run['bbox_mAP_50'] for run in runs]),
        format_mean_std([run['dece'] for run in runs]),
        format_mean_std([run.get('laece0') for run in runs]),
        f'{step_time_ratio(runs, fallback_reference_s):.2f}',
        f'{step_s:.3f}',
        f'{max(gpu):.0f} MiB' if gpu else 'n/a (CPU)',
        f'{max(run["peak_rss_mib"] for run in runs):.0f} MiB',
    ]
    return '| ' + ' | '.join(cells) + ' |'


def render_table(report: Dict[str, Any]) -> str:
    """The Markdown table (caption first) of a report as written to ``results.json``."""
    by_method = _runs_by_method(report)
    reference_step_s = float(np.mean([run['step_time_s'] for run in by_method[REFERENCE]]))
    header = (
        '| method | bbox mAP | mAP@50 | D-ECE | LaECE₀ | step-time ratio | step time (s) | peak GPU mem '
        '| peak RSS |\n|---|---|---|---|---|---|---|---|---|'
    )
    rows = [method_row(method, runs, reference_step_s) for method, runs in by_method.items()]
    notes = []
    for method in POSTHOC_METHODS:  # same runs, scores calibrated after the fact (see POSTHOC)
        runs = [
            dict(run, dece=run['posthoc']['dece'], laece0=run['posthoc']['laece0'])
            for run in by_method.get(method, ())
            if run.get('posthoc')
        ]
        if runs:
            rows.append(method_row(f'{method} + post-hoc', runs, reference_step_s))
            notes = [
                '',
                '`+ post-hoc`: the same runs, scores calibrated by {} regression ({}), {}-fold cross-fitted '
                'over the held-out images (D-ECE: fitted to TP targets, LaECE₀: to IoU targets); mAP is the '
                "method's (one fitted map leaves it unchanged; the two folds' maps could reorder "
                'detections across the folds), training cost that of the method.'.format(
                    POSTHOC['method'], 'per class' if POSTHOC['per_class'] else 'class-agnostic', POSTHOC['folds']
                ),
            ]
    return '\n'.join([table_caption(report), '', header, *rows, *notes]) + '\n'


def plot_reliability_panels(report: Dict[str, Any], out_dir: str, path: str) -> None:
    """Save reliability diagrams side by side, one panel per method, each pooled over its seeds' runs."""
    panels, notes = {}, {}
    for method, runs in _runs_by_method(report).items():
        pairs = [np.load(osp.join(out_dir, run['work_dir'], 'pairs.npz')) for run in runs]
        panels[method] = calibration_errors(
            np.concatenate([p['scores'] for p in pairs]), np.concatenate([p['is_tp'] for p in pairs])
        )
        notes[method] = f'{len(runs)} seed(s)'
    plot_reliability_diagrams(panels, notes).savefig(path, dpi=100)


def run_benchmark(family_name: str, mode: str, settings: ModeSettings, out_dir: str) -> Dict[str, Any]:
    """Prepare the data, run every (seed, method) worker and return the report (settings + per-run numbers)."""
    family = FAMILIES[family_name]
    data = family.prepare_data(osp.join(out_dir, 'data'), settings)
    specs = [
        run_spec(out_dir, family, method, seed, settings, data)
        for seed in settings.seeds
        for method in settings.methods
    ]
    runs = []
    for index, spec in enumerate(specs, 1):
        start = time.time()
        result = launch_worker(spec, settings.cpu_only)
        result['work_dir'] = osp.relpath(spec['work_dir'], out_dir)
        runs.append(result)
        print(
            f'[{index}/{len(specs)}] {spec["method"]} seed {spec["seed"]}: mAP {result["bbox_mAP"]:.3f}, '
            f'step {result["step_time_s"]:.3f} s ({time.time() - start:.0f} s)',
            flush=True,
        )
    attach_reference_step_times(runs)
    return dict(
        family=family_name,
        description=family.description,
        mode=mode,
        settings=asdict(settings),
        data=asdict(data),
        methods=list(settings.methods),
        seeds=list(settings.seeds),
        runs=runs,
    )


def _check_comparable(run_settings: Dict[str, Any], settings: ModeSettings, result_file: str) -> None:
    """Refuse a finished run whose settings (its ``spec.json``) differ from the merge's in what makes runs
    comparable (:data:`COMPARABLE_SETTINGS`)."""
    expected = json.loads(json.dumps(asdict(settings)))  # tuples as JSON lists, like the spec's
    for key in COMPARABLE_SETTINGS:
        if run_settings.get(key) != expected[key]:
            raise SystemExit(
                f'{result_file} was run with {key}={run_settings.get(key)}, this merge has '
                f'{key}={expected[key]}: merge runs of the same --family/--mode/--epochs only'
            )


def merge_runs(
    family_name: str, mode: str, settings: ModeSettings, bench_dirs: Sequence[str], out_dir: str
) -> Dict[str, Any]:
    """The report of every finished run (``runs/<method>/seed<k>/result.json``) of earlier benchmark
    directories of one family and mode, e.g. of an interrupted benchmark and the one that completed it.

    Later directories win for a (method, seed) run twice; the runs stay where they are (``work_dir`` points
    there, relative to ``out_dir``) and their step-time reference is their own directory's baseline. Methods
    keep the family's benchmark order, baseline first, then the variants (``--variant``) in name order. Runs
    whose settings differ (:data:`COMPARABLE_SETTINGS`, e.g. other epochs) are refused.
    """
    family = FAMILIES[family_name]
    found: Dict[Tuple[str, int], dict] = {}
    variants: Dict[str, Dict[str, Any]] = {}
    for bench_dir in bench_dirs:
        dir_runs = []
        for result_file in sorted(glob.glob(osp.join(bench_dir, 'runs', '*', 'seed*', 'result.json'))):
            with open(osp.join(osp.dirname(result_file), 'spec.json')) as f:
                _check_comparable(json.load(f)['settings'], settings, result_file)
            with open(result_file) as f:
                run = json.load(f)
            if run.get('variant'):
                if variants.setdefault(run['method'], run['variant']) != run['variant']:
                    raise SystemExit(
                        f'variant {run["method"]} has other options in {result_file} than in an '
                        'earlier run: give one of them another name'
                    )
            run['work_dir'] = osp.relpath(osp.dirname(result_file), out_dir)
            dir_runs.append(run)
        if dir_runs:
            attach_reference_step_times(dir_runs)  # each run against its own directory's baseline
        found.update({(run['method'], run['seed']): run for run in dir_runs})
    if not any(method == REFERENCE for method, _ in found):
        raise SystemExit(f'no finished {REFERENCE} run under {", ".join(bench_dirs)}: it is the step-time reference')
    order = dict.fromkeys((REFERENCE, *BENCHMARK_METHODS, *family.configs, *sorted(variants)))
    methods = [m for m in order if any(method == m for method, _ in found)]
    seeds = sorted({seed for _, seed in found})
    runs = [found[(method, seed)] for method in methods for seed in seeds if (method, seed) in found]
    data = family.prepare_data(osp.join(out_dir, 'data'), settings)
    settings = replace(settings, methods=tuple(methods), seeds=tuple(seeds), variants=variants)
    return dict(
        family=family_name,
        description=family.description,
        mode=mode,
        settings=asdict(settings),
        data=asdict(data),
        methods=methods,
        seeds=seeds,
        runs=runs,
    )


def write_outputs(report: Dict[str, Any], out_dir: str) -> str:
    """Write ``results.json``, ``table.md`` and ``reliability.png`` into ``out_dir``; return the table."""
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(report, f, indent=2)
    table = render_table(report)
    with open(osp.join(out_dir, 'table.md'), 'w') as f:
        f.write(table)
    plot_reliability_panels(report, out_dir, osp.join(out_dir, 'reliability.png'))
    return table


def parse_variants(
    family: Family, variant_args: Sequence[Sequence[str]], taken: Sequence[str] = ()
) -> Dict[str, Dict[str, Any]]:
    """The ``--variant NAME METHOD KEY=VALUE...`` arguments as ``name -> {'method', 'options'}``; ``taken``:
    names already in use (the mode's own variants).

    Values are parsed like mmengine's ``--cfg-options`` (numbers, booleans, lists, else strings).

    Raises:
        SystemExit: On a name that is taken, a method not in the family or an option without ``=``.
    """
    variants: Dict[str, Dict[str, Any]] = {}
    for args in variant_args:
        if len(args) < 3:
            raise SystemExit(
                f'--variant {" ".join(args)}: give NAME METHOD KEY=VALUE [KEY=VALUE ...], e.g. '
                '--variant pskd-a0.4 pskd custom_hooks.0.alpha_T=0.4'
            )
        name, method, *pairs = args
        if name in family.configs or name in variants or name in taken:
            raise SystemExit(
                f'--variant {name}: the name is taken (a method of the family, a variant of the mode '
                'or another variant)'
            )
        if method not in family.configs:
            raise SystemExit(
                f'--variant {name}: method {method} is not in the family (its methods: {", ".join(family.configs)})'
            )
        malformed = [pair for pair in pairs if '=' not in pair]
        if malformed:
            raise SystemExit(f'--variant {name}: {", ".join(malformed)} is not KEY=VALUE')
        options = dict(pair.split('=', 1) for pair in pairs)
        variants[name] = dict(method=method, options={k: DictAction._parse_iterable(v) for k, v in options.items()})
    return variants


def resolve_settings(args: argparse.Namespace) -> ModeSettings:
    """The family's settings of the mode with the ``--methods`` / ``--seeds`` / ``--epochs`` / ``--cfg-options``
    / ``--variant`` overrides, baseline always first and the variants last."""
    family = FAMILIES[args.family]
    if args.mode not in family.modes:
        raise SystemExit(f'family {args.family} has no mode {args.mode} (its modes: {", ".join(family.modes)})')
    settings = family.modes[args.mode]
    methods = list(args.methods or settings.methods)
    unknown = sorted(set(methods) - set(family.configs))
    if unknown:
        raise SystemExit(f'methods not in family {args.family}: {", ".join(unknown)}')
    if args.epochs is not None and args.epochs < 1:
        raise SystemExit(f'--epochs {args.epochs}: give at least 1 epoch')
    # the mode's own variants (the study's arms) run with its default methods, not with a --methods choice
    mode_variants = {} if args.methods else settings.variants
    variants = {**mode_variants, **parse_variants(family, args.variant or [], taken=mode_variants)}
    methods = [REFERENCE] + [m for m in dict.fromkeys(methods) if m != REFERENCE] + list(variants)
    cfg_options = {**settings.cfg_options, **(args.cfg_options or {})}
    return replace(
        settings,
        methods=tuple(methods),
        seeds=tuple(args.seeds or settings.seeds),
        epochs=args.epochs or settings.epochs,
        cfg_options=cfg_options,
        variants=variants,
    )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``, default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = sorted({mode for family in FAMILIES.values() for mode in family.modes})
    parser.add_argument(
        '--mode',
        choices=modes,
        help="run size, per family (default: the family's smallest). shapes: "
        'cpu-tiny: 16/8 images, 2 epochs, 1 seed, baseline + pskd (CI, ~2 min); '
        'cpu-reduced: 200/50 images, 8 epochs, 1 seed, 8 methods (~30-40 min, 2 CPU cores); '
        'full: 400/100 images, 8 epochs, 3 seeds, 8 methods (GPU). '
        'bccd (all 205 train / 72 test images): '
        'cpu-reduced: 256x192 images, lighter RoI stage, 2 epochs, 3 seeds, 8 methods '
        '(~85 min, 2 CPU cores); '
        'full: 640x480 images, 12 epochs, 3 seeds, 8 methods (GPU); '
        'lite: the evidence study, the lite model (64-channel FPN/RPN, 256-d RoI head, 128 RoIs '
        'per image) at 320x240, 12 epochs, 3 seeds, baseline, ls, the three PS-KD strategies '
        'and the PS-KD variants (~6.5 min per run, 2 CPU cores). aquarium: lite, full',
    )
    parser.add_argument(
        '--family',
        choices=sorted(FAMILIES),
        default='shapes',
        help='shapes: R18-FPN from scratch on synthetic shapes, held out: val; '
        'bccd: MobileNetV2-FPN (ImageNet-pretrained) on BCCD blood cells, held out: test; '
        'aquarium: the same model on Aquarium photos (7 classes), held out: test',
    )
    parser.add_argument(
        '--methods',
        nargs='+',
        help="methods to compare (default: the mode's); baseline is always run, as the step-time reference",
    )
    parser.add_argument('--seeds', nargs='+', type=int, help="seeds (default: the mode's)")
    parser.add_argument(
        '--epochs', type=int, help="train this many epochs instead of the mode's (the schedule is scaled to it)"
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help="config options for every method, after the mode's (e.g. "
        "optim_wrapper.optimizer.lr=0.005); like tools/train.py's",
    )
    parser.add_argument(
        '--variant',
        nargs='+',
        action='append',
        metavar='NAME METHOD KEY=VALUE',
        help='also run NAME: METHOD with these config options (like --cfg-options), e.g. '
        '--variant pskd-a0.4 pskd custom_hooks.0.alpha_T=0.4; repeatable',
    )
    parser.add_argument(
        '--out-dir', help='output directory, must not exist (default: work_dirs/benchmarks/<timestamp>)'
    )
    parser.add_argument('--table-from', metavar='RESULTS_JSON', help='only print the table of an earlier run')
    parser.add_argument(
        '--merge',
        nargs='+',
        metavar='BENCH_DIR',
        help='train nothing: write the table of the finished runs of these earlier benchmark '
        'directories (same --family and --mode; e.g. an interrupted run and its completion)',
    )
    parser.add_argument('--worker', metavar='SPEC_JSON', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.mode = args.mode or next(iter(FAMILIES[args.family].modes))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run a benchmark, a worker (``--worker``), merge earlier ones (``--merge``) or print a table
    (``--table-from``)."""
    args = parse_args(argv)
    if args.worker:
        run_worker(args.worker)
        return
    if args.table_from:
        with open(args.table_from) as f:
            print(render_table(json.load(f)), end='')
        return
    settings = resolve_settings(args)
    out_dir = osp.abspath(args.out_dir or osp.join(REPO, 'work_dirs', 'benchmarks', time.strftime('%Y%m%d_%H%M%S')))
    os.makedirs(out_dir)  # fails if it exists: never overwrite an earlier benchmark
    start = time.time()
    if args.merge:
        report = merge_runs(args.family, args.mode, settings, [osp.abspath(d) for d in args.merge], out_dir)
    else:
        report = run_benchmark(args.family, args.mode, settings, out_dir)
    table = write_outputs(report, out_dir)
    print(
        f'\n{table}\nwritten to {out_dir} (table.md, reliability.png, results.json) in {time.time() - start:.0f} s',
        flush=True,
    )


if __name__ == '__main__':
    main()
