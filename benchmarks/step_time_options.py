"""Paired step times of config option sets on one detector: what each cheaper setting saves per training step.

Builds the model of ``CONFIG`` once per ``--set`` (config options, as ``tools/train.py --cfg-options`` takes them;
the first set is the reference, ``--set`` with no options is the config as it is), loads the same checkpoint into
each (trained weights: a settled RPN proposes far fewer boxes than an initial one), then times their training
steps **alternating over the same batches**, so that a machine which speeds up or slows down during the
measurement affects every set alike. The step is the model's own ``train_step`` (forward, losses, backward,
optimizer) without data loading or hooks: give a config whose model trains without hooks (a baseline or
label-smoothing config; a PS-KD model needs its hook's teacher). Prints the mean step of each set and its
ratio to the first. How the ``plateau`` mode of ``benchmarks/selfkd_benchmark.py`` was chosen::

    python benchmarks/step_time_options.py RUN_DIR/faster-rcnn_mobilenetv2_fpn_1x_bccd.py RUN_DIR/epoch_16.pth \\
        --set --set model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio=1 \\
        --set model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio=1 model.backbone.frozen_stages=4

(``RUN_DIR``: a lite run of the benchmark, e.g. ``runs/baseline/seed0`` of its output directory.)
"""

import argparse
import time
from typing import Dict, List, Optional, Sequence

from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner, load_checkpoint

import mmdet_selfkd  # noqa: F401  (registers the package's modules)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='a config whose model trains without hooks (e.g. a baseline run config)')
    parser.add_argument('checkpoint', nargs='?', help='weights loaded into every set (default: the initial ones)')
    parser.add_argument(
        '--set',
        nargs='*',
        action='append',
        default=None,
        metavar='KEY=VALUE',
        help='config options of one set; repeat for more sets; the first set is the reference',
    )
    parser.add_argument('--batches', type=int, default=6, help='batches each set trains on, in every round')
    parser.add_argument('--rounds', type=int, default=3, help='times the batches are gone through, after a warm-up')
    args = parser.parse_args(argv)
    if not args.set:
        parser.error('give at least one --set (a bare --set: the config as it is)')
    bad = [pair for pairs in args.set for pair in pairs if '=' not in pair]
    if bad:
        parser.error(f'--set {" ".join(bad)}: give config options as KEY=VALUE (e.g. model.backbone.frozen_stages=4)')
    if args.batches < 1 or args.rounds < 1:
        parser.error(f'--batches {args.batches} --rounds {args.rounds}: give at least 1 of each')
    return args


def parse_options(pairs: List[str]) -> Dict:
    """``KEY=VALUE`` strings into config options, parsed as ``--cfg-options`` parses them."""
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, pairs)
    return namespace.options


def build_set(config: str, options: Dict, checkpoint: Optional[str]):
    """The model of ``config`` with ``options`` in train mode, its optimizer wrapper, and the config."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), cfg


def time_sets(sets, batches) -> List[float]:
    """Mean seconds per training step of each ``(model, optim_wrapper)``, their steps alternating batch by batch
    (the first batch once per set as a warm-up, not timed)."""
    for model, optim_wrapper in sets:
        model.train_step(batches[0], optim_wrapper)
    totals = [0.0] * len(sets)
    for batch in batches[1:]:
        for index, (model, optim_wrapper) in enumerate(sets):
            start = time.perf_counter()
            model.train_step(batch, optim_wrapper)
            totals[index] += time.perf_counter() - start
    return [total / (len(batches) - 1) for total in totals]


def main(argv: Optional[Sequence[str]] = None) -> List[float]:
    args = parse_args(argv)
    register_all_modules()
    options = [parse_options(pairs) for pairs in args.set]
    built = [build_set(args.config, set_options, args.checkpoint) for set_options in options]
    loader = Runner.build_dataloader(built[0][2].train_dataloader, seed=0)
    if len(loader) == 0:
        raise SystemExit(f'{args.config}: its train_dataloader yields no batch; point it at a training set')
    batches, iterator = [], iter(loader)
    while len(batches) < args.batches:
        try:
            batches.append(next(iterator))
        except StopIteration:  # fewer batches in an epoch than asked for: go round again
            iterator = iter(loader)
    steps = time_sets([(model, wrapper) for model, wrapper, _ in built], batches[:1] + batches * args.rounds)
    print(f'step time, {len(batches)} batches x {args.rounds} rounds, sets alternating:')
    for pairs, step in zip(args.set, steps):
        print(f'{step:8.3f} s  {step / steps[0]:5.2f}x  {" ".join(pairs) or "(the config as it is)"}')
    return steps


if __name__ == '__main__':
    main()
