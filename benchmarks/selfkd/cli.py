"""Self-KD benchmark: train every method of a config family on the same data, for several seeds, and compare.

Families (``--family``), each with its own modes (``--mode``, default: the family's smallest):

    shapes  Faster R-CNN R18-FPN from scratch on synthetic shapes (the main job's configs,
            mmdet_selfkd.configs.METHOD_CONFIGS), held out: val. Modes cpu-tiny, cpu-reduced, full.
    bccd    Faster R-CNN MobileNetV2-FPN (ImageNet-pretrained) on BCCD blood cells (configs/bccd), all of its
            205 train images, held out: its 72 test images; the VOC folder (--data-root, default: the
            config's) is converted to COCO JSONs (mmdet_selfkd.datasets.converters.voc_to_coco). Modes
            cpu-reduced (256x192 images, lighter RoI stage, 2 epochs), full (the config's 640x480 images and
            12 epochs) and lite (the evidence study: the lite model, 320x240, 12 epochs; the study's arms are
            the mode's methods and variants); no cpu-tiny: one epoch alone takes ~85 s on 2 CPU cores.
    aquarium  The same model on Aquarium (Roboflow, 7 classes, configs/aquarium), 448 train images, held out:
            its 63 test images; the YOLO folder (--data-root, default: the config's) is converted likewise
            (mmdet_selfkd.datasets.converters.yolo_to_coco). Modes lite and full, as for bccd.

For each (seed, method) a worker subprocess (benchmarks/selfkd_benchmark.py with ``--worker``) trains the
method's config, tests the trained weights on the held-out split (COCO bbox mAP, mAP@50, D-ECE with its
detections at score >= 0.3 and their precision, LaECE_0; for baseline, pskd and ls also D-ECE and LaECE_0
after post-hoc isotonic calibration cross-fitted over the held-out images, the '<method> + post-hoc' rows)
and reports its mean train step time (mmengine's logged ``time`` scalar), peak GPU memory and peak host RSS;
one process per run keeps the memory figures per run. A failed run does not stop the others: the benchmark
reports the finished ones, names the failed ones and their logs at the end of table.md and exits with status 1.
``--reuse DIR ...`` takes the (method, seed) runs that earlier benchmark directories finished with the same
settings from there instead of training them again (a seed's run on the CPU repeats to the last digit; the
step-time ratio of a run trained beside a reused baseline compares two times on the machine). A report file
(``--reuse docs/benchmarks_aquarium_lite.json``) works too: its runs are copied under ``reused/`` of the new
directory (numbers only: no pairs.npz, so they are left out of reliability.png).
The parent writes into ``--out-dir`` (never an existing directory):

    table.md         per method: mean ± sample std over seeds of bbox mAP, mAP@50, D-ECE, LaECE_0, the
                     detections at score >= 0.3 and their precision, step-time ratio to the same seed's
                     baseline, memory; '<method> + post-hoc' rows (see selfkd/posthoc.py); per method, the
                     paired per-seed difference to the baseline with its 95 % Student-t interval; per seed,
                     each run's mAP / D-ECE / detections at score >= 0.3
    reliability.png  reliability diagrams side by side, one panel per method, pooled over seeds
    results.json     settings and per-run numbers (``--table-from results.json`` rebuilds the table)
    runs/<method>/seed<k>/  each run's mmengine work dir, worker.log, result.json, pairs.npz and dets.pkl
    reused/<n>-<file>/<method>/seed<k>/  result.json and spec.json of each run taken from the n-th --reuse, a report
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
    python benchmarks/selfkd_benchmark.py --family bccd --mode lite --data-root /data/BCCD  # BCCD elsewhere
    python benchmarks/selfkd_benchmark.py --table-from work_dirs/benchmarks/<timestamp>/results.json
    python benchmarks/selfkd_benchmark.py --family bccd --mode cpu-reduced --merge DIR1 DIR2 --out-dir DIR3
                                          # one table of the finished runs of earlier (e.g. interrupted) benchmarks
    python benchmarks/selfkd_benchmark.py --family bccd --mode lite --seeds 0 1 2 --methods baseline ls \\
        --reuse DIR1 --out-dir DIR4       # trains only the runs DIR1 lacks (here ls: DIR1 has the baselines);
                                          # the same command with --reuse resumes an interrupted benchmark
    python benchmarks/selfkd_benchmark.py --family aquarium --mode lite --seeds 0 --methods baseline pskd-iou \\
        --reuse docs/benchmarks_aquarium_lite.json   # the published report's baseline seed 0, pskd-iou trained
    python benchmarks/selfkd_benchmark.py --family bccd --methods pskd --epochs 4 \\
        --cfg-options optim_wrapper.optimizer.lr=0.005 \\
        --variant pskd-a0.4 pskd custom_hooks.0.alpha_T=0.4   # a sweep: extra runs with their own config options
                                          # (4 BCCD epochs at the config's lr 0.01 diverged on the CPU)
"""

import argparse
import json
import os
import os.path as osp
import time
from dataclasses import replace
from typing import Any, Dict, Optional, Sequence

from mmengine.config import DictAction

from .benchmark import run_benchmark
from .families import FAMILIES, Family
from .merge import merge_runs
from .modes import REFERENCE, ModeSettings
from .outputs import write_outputs
from .paths import REPO
from .tables import render_table
from .worker import run_worker


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


def resolve_data_root(args: argparse.Namespace) -> Optional[str]:
    """The dataset folder to prepare: ``--data-root``, else the family's default (None for generated data).

    Raises:
        SystemExit: On ``--data-root`` for a family that generates its data.
    """
    family = FAMILIES[args.family]
    if args.data_root is not None and family.data_config is None:
        raise SystemExit(
            f'--data-root {args.data_root}: family {args.family} generates its data (under OUT_DIR/data); '
            'leave --data-root out'
        )
    return family.data_root(args.data_root)


def require_folder(data_root: Optional[str], given: bool) -> None:
    """Refuse a dataset folder that does not exist (``given``: named by ``--data-root``, else the family's
    config's default), before anything is written."""
    if data_root is not None and not osp.isdir(data_root):
        source = 'given' if given else "the family's config's default"
        raise SystemExit(
            f'--data-root {data_root} ({source}): no such folder; give the dataset folder with --data-root'
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
        'and the PS-KD variants (~7.4 min per run, 2 CPU cores); '
        'plateau: the lite model with the backbone frozen up to stride 16, 64 RoIs per image, 500 proposals, '
        "one RoIAlign sample per bin, 16 epochs (the baseline's plateau), the study arms (~6 min per run). "
        'aquarium: lite, plateau, full',
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
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help="the family's dataset folder: bccd: the VOC folder (Annotations/, ImageSets/Main/, JPEGImages/), "
        "aquarium: the YOLO folder (data.yaml, <split>/images, <split>/labels); default: the family's config's "
        'data_root. The shapes family generates its data and takes none',
    )
    parser.add_argument('--table-from', metavar='RESULTS_JSON', help='only print the table of an earlier run')
    parser.add_argument(
        '--merge',
        nargs='+',
        metavar='BENCH_DIR',
        help='train nothing: write the table of the finished runs of these earlier benchmark '
        'directories (same --family and --mode; e.g. an interrupted run and its completion)',
    )
    parser.add_argument(
        '--reuse',
        nargs='+',
        metavar='BENCH_DIR_OR_RESULTS_JSON',
        help='take the (method, seed) runs that these earlier benchmark directories, or benchmark reports '
        '(a results.json, e.g. docs/benchmarks_aquarium_lite.json: its runs are copied under OUT_DIR/reused/), '
        'finished (same --family, --mode, --epochs, --cfg-options and variant options) from there instead of '
        'training them again; train the rest',
    )
    parser.add_argument('--worker', metavar='SPEC_JSON', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.merge and args.reuse:
        parser.error('--merge trains nothing and --reuse trains what its directories lack: give one of them')
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
    data_root = resolve_data_root(args)
    require_folder(data_root, given=args.data_root is not None)
    out_dir = osp.abspath(args.out_dir or osp.join(REPO, 'work_dirs', 'benchmarks', time.strftime('%Y%m%d_%H%M%S')))
    if osp.exists(out_dir):
        raise SystemExit(
            f'--out-dir {out_dir} exists: a benchmark never overwrites an earlier one; give a new directory '
            '(an earlier benchmark directory is taken by --reuse or --merge)'
        )
    os.makedirs(out_dir)
    start = time.time()
    if args.merge:
        report = merge_runs(args.family, args.mode, settings, [osp.abspath(d) for d in args.merge], out_dir, data_root)
    else:
        reuse_sources = [osp.abspath(source) for source in args.reuse or ()]
        report = run_benchmark(args.family, args.mode, settings, out_dir, data_root, reuse_sources)
    table = write_outputs(report, out_dir)
    written = ', '.join(
        name for name in ('table.md', 'reliability.png', 'results.json') if osp.exists(osp.join(out_dir, name))
    )
    print(f'\n{table}\nwritten to {out_dir} ({written}) in {time.time() - start:.0f} s', flush=True)
    if report.get('failed'):
        table_file = osp.join(out_dir, 'table.md')
        raise SystemExit(f'{len(report["failed"])} run(s) failed (listed at the end of {table_file})')
