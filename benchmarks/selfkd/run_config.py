"""The config of one (method, seed) run: the method's config with the family's data, the mode's size and options,
the schedule scaled to the mode's epochs, and a test evaluator that saves what the tables are computed from."""

import os.path as osp
from dataclasses import asdict
from typing import Any, Dict, Sequence

from mmengine.config import Config

from mmdet_selfkd.apis import load_config

from .data import DATA_LOADERS, PreparedData
from .families import Family
from .modes import ModeSettings
from .paths import REPO


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
    ``LinearLR`` warm-up length are scaled by ``epochs / max_epochs`` (rounded, at least 1), so both keep their
    share of the training."""
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
    """The config of one run from its spec (see :func:`run_spec`).

    A variant's options are merged last: they may override the mode's. The test evaluator gets a
    ``DetectionCalibrationMetric`` that saves the D-ECE set (``pairs.npz``: scores, labels, TP flags of the
    detections with score >= 0.3) and every held-out detection with its ground truth (``dets.pkl``, for
    LaECE_0 and the post-hoc rows) into the run's work dir.
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
        dict(
            type='DetectionCalibrationMetric',
            pairs_file=osp.join(spec['work_dir'], 'pairs.npz'),
            dets_file=osp.join(spec['work_dir'], 'dets.pkl'),
        ),
    ]
    return cfg
