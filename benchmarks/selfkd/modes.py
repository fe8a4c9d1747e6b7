"""Run sizes: the modes of every family (epochs, batch, images, seeds, methods, config options), and the arms of
the evidence study (LITE_OPTIONS, PLATEAU_OPTIONS, STUDY_METHODS, STUDY_VARIANTS)."""

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional, Tuple

BENCHMARK_METHODS = ('baseline', 'pskd', 'pskd-iou', 'pskd-snapshot', 'ls', 'lsrkd', 'cskd', 'mrkd')
# The step-time reference and the other side of every paired difference.
REFERENCE = 'baseline'


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

# All 8 methods in ~30-40 min on 2 CPU cores: half the main job's images, its 8 epochs (25 iterations each,
# ~0.9 s per iteration on an idle 2-core CPU), one seed.
SHAPES_CPU_REDUCED = ModeSettings(
    train_images=200,
    val_images=50,
    epochs=8,
    batch_size=8,
    num_workers=0,
    seeds=(0,),
    methods=BENCHMARK_METHODS,
    timing_skip_iters=10,
    cpu_only=True,
)
SHAPES_MODES: Dict[str, ModeSettings] = {
    # CI smoke run: 4 iterations per epoch, ~1 min per method on 2 CPU cores.
    'cpu-tiny': replace(
        SHAPES_CPU_REDUCED,
        train_images=16,
        val_images=8,
        epochs=2,
        batch_size=4,
        methods=('baseline', 'pskd'),
        timing_skip_iters=2,
    ),
    'cpu-reduced': SHAPES_CPU_REDUCED,
    # The configs' own settings (the dataset's default 400/100 images, 8 epochs, batch 8), on a GPU.
    'full': replace(
        SHAPES_CPU_REDUCED,
        train_images=400,
        val_images=100,
        num_workers=2,
        seeds=(0, 1, 2),
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
# batch 8, 2 idle CPU cores: 1.36 s per iteration, 12 epochs and the test in 442 s (baseline, measured).
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
# The plateau recipe: the lite model made cheaper where a trained lite step spends its time, so that the
# baseline's bbox mAP plateau (16 epochs) fits in about 6 minutes per run with its test on 2 idle CPU cores.
# benchmarks/step_time_options.py on a 16-epoch lite checkpoint, each option added to the ones before: one
# RoIAlign sample per bin 0.85x the lite step, the backbone frozen up to its stride-16 layers (conv1, layers 1-4)
# 0.57x, 1000/500 training proposals before/after NMS 0.52x, 64 sampled RoIs per image 0.46x (docs/benchmarks.md).
PLATEAU_OPTIONS = {
    **LITE_OPTIONS,
    'model.backbone.frozen_stages': 4,
    'model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio': 1,
    'model.train_cfg.rpn_proposal.nms_pre': 1000,
    'model.train_cfg.rpn_proposal.max_per_img': 500,
    'model.train_cfg.rcnn.sampler.num': 64,
}
# The arms of the evidence study: the simplest competitor (label smoothing), the three PS-KD strategies, one
# option of the default strategy per hypothesis about why PS-KD makes a trained detector under-confident
# (docs/benchmarks.md, "Hypotheses and the variants that test them") and an alpha_T sweep on the option that
# calibrates best (mean_iou_thr=0.7; its alpha_T = 0.8 arm is pskd-mean0.7).
STUDY_METHODS = ('baseline', 'ls', 'pskd', 'pskd-iou', 'pskd-snapshot')
STUDY_VARIANTS = {
    'pskd-fg': dict(method='pskd', options={'model.roi_head.distill_loss.foreground_teacher': True}),
    'pskd-sharp': dict(method='pskd', options={'model.roi_head.distill_loss.teacher_temperature': 0.5}),
    'pskd-mean0.7': dict(method='pskd', options={'custom_hooks.0.memory.mean_iou_thr': 0.7}),
    'pskd-mean0.7-a0.2': dict(
        method='pskd', options={'custom_hooks.0.memory.mean_iou_thr': 0.7, 'custom_hooks.0.alpha_T': 0.2}
    ),
    'pskd-mean0.7-a0.4': dict(
        method='pskd', options={'custom_hooks.0.memory.mean_iou_thr': 0.7, 'custom_hooks.0.alpha_T': 0.4}
    ),
}


def fixed_split_mode(
    epochs: int, cpu_only: bool, methods: Tuple[str, ...] = BENCHMARK_METHODS, **extra
) -> ModeSettings:
    """A mode of a family whose dataset has fixed splits, used whole: batch 8, seeds 0, 1, 2; on the CPU no
    dataloader workers and the first 10 iterations left out of the step time, on a GPU 2 workers and 20;
    ``extra``: the other :class:`ModeSettings` fields."""
    return ModeSettings(
        train_images=None,
        val_images=None,
        epochs=epochs,
        batch_size=8,
        num_workers=0 if cpu_only else 2,
        seeds=(0, 1, 2),
        methods=methods,
        timing_skip_iters=10 if cpu_only else 20,
        cpu_only=cpu_only,
        **extra,
    )


def study_mode(epochs: int, cfg_options: Dict[str, Any]) -> ModeSettings:
    """A mode of the evidence study: ``epochs`` on 2 CPU cores at 320x240, the study's arms, every method with
    ``cfg_options`` (the model's size)."""
    return fixed_split_mode(
        epochs,
        cpu_only=True,
        methods=STUDY_METHODS,
        img_scale=(320, 240),
        cfg_options=cfg_options,
        variants=STUDY_VARIANTS,
    )


# BCCD's splits are fixed (205 train / 87 val / 72 test images): all images are used, 26 iterations per epoch.
BCCD_MODES: Dict[str, ModeSettings] = {
    # 8 methods x 3 seeds in ~85 min on an idle 2-core CPU: 256x192 images (no padding at the stride-32 divisor),
    # the lighter RoI stage, 2 epochs (the fewest that give PS-KD and MrKD a teacher: epoch 1's predictions,
    # a copy taken after epoch 1). Measured: ~3.2 s per iteration (baseline), ~190 s per run with the test
    # (mrkd, pskd-snapshot: ~240 s); baseline mAP 0.165.
    'cpu-reduced': fixed_split_mode(2, cpu_only=True, img_scale=(256, 192), cfg_options=BCCD_CPU_OPTIONS),
    # The config's schedule: full 640x480 images, 12 epochs, batch 8.
    'full': fixed_split_mode(12, cpu_only=False),
    # The evidence study on 2 CPU cores: the lite model on a full 12-epoch schedule (11 taught passes).
    'lite': study_mode(12, LITE_OPTIONS),
    # The evidence study at the plateau: the plateau recipe's 16 epochs (15 taught passes).
    'plateau': study_mode(16, PLATEAU_OPTIONS),
}

# Aquarium's splits are fixed (448 train / 127 valid / 63 test images): 56 iterations per epoch.
AQUARIUM_MODES: Dict[str, ModeSettings] = {
    'lite': BCCD_MODES['lite'],  # at 320x240, like BCCD
    'plateau': BCCD_MODES['plateau'],
    # The config's schedule: its 512x384 images, 12 epochs, batch 8.
    'full': BCCD_MODES['full'],
}
