"""The finished runs of earlier benchmark directories of one family and mode: one report of them, e.g. of an
interrupted benchmark and the one that completed it (``--merge``), or the runs a new benchmark takes from them
instead of training them again (``--reuse``)."""

import glob
import json
import os
import os.path as osp
from dataclasses import asdict, replace
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from .families import FAMILIES
from .modes import BENCHMARK_METHODS, COMPARABLE_SETTINGS, REFERENCE, ModeSettings
from .report import make_report
from .statistics import finite
from .step_times import attach_reference_step_times


def check_comparable(run_settings: Dict[str, Any], settings: ModeSettings, result_file: str) -> None:
    """Refuse a finished run whose settings (its ``spec.json``) differ from the merge's in what makes runs
    comparable (:data:`~.modes.COMPARABLE_SETTINGS`)."""
    expected = json.loads(json.dumps(asdict(settings)))  # tuples as JSON lists, like the spec's
    for key in COMPARABLE_SETTINGS:
        if run_settings.get(key) != expected[key]:
            raise SystemExit(
                f'{result_file} was run with {key}={run_settings.get(key)}, this benchmark has '
                f'{key}={expected[key]}: merge or reuse runs of the same --family/--mode/--epochs only'
            )


def saved_detection_counts(run_dir: str) -> Dict[str, Any]:
    """``num_dets`` and ``precision`` of a run's D-ECE set, from its ``pairs.npz`` (TP flags of the detections
    with score >= 0.3): for runs whose ``result.json`` predates the ``precision`` entry."""
    is_tp = np.load(osp.join(run_dir, 'pairs.npz'))['is_tp']
    return dict(num_dets=int(is_tp.size), precision=finite(float(is_tp.mean())) if is_tp.size else None)


def finished_run(result_file: str, out_dir: str) -> dict:
    """A run's ``result.json`` with its ``work_dir`` relative to ``out_dir``, completed from its saved files
    where it predates an entry."""
    run_dir = osp.dirname(result_file)
    with open(result_file) as f:
        run = json.load(f)
    if 'precision' not in run:
        run = {**saved_detection_counts(run_dir), **run}
    run['work_dir'] = osp.relpath(run_dir, out_dir)
    return run


def add_variant(variants: Dict[str, Dict[str, Any]], run: dict, result_file: str) -> None:
    """Record the variant of ``run`` (if it is one) in ``variants``, refusing another variant of that name."""
    if run.get('variant') and variants.setdefault(run['method'], run['variant']) != run['variant']:
        raise SystemExit(
            f'variant {run["method"]} has other options in {result_file} than in an earlier run: give one of '
            'them another name'
        )


def comparable_run(result_file: str, settings: ModeSettings, out_dir: str, variants: Dict[str, Dict[str, Any]]) -> dict:
    """A finished run (:func:`finished_run`) whose settings are checked (:func:`check_comparable`) and whose
    variant is recorded in ``variants`` (:func:`add_variant`)."""
    with open(osp.join(osp.dirname(result_file), 'spec.json')) as f:
        check_comparable(json.load(f)['settings'], settings, result_file)
    run = finished_run(result_file, out_dir)
    add_variant(variants, run, result_file)
    return run


def reused_runs(
    bench_dir: str, settings: ModeSettings, out_dir: str, variants: Dict[str, Dict[str, Any]]
) -> List[dict]:
    """The runs the benchmark of ``bench_dir`` took from earlier directories (``--reuse``; its results.json's
    ``reused``, none where the benchmark was interrupted before writing it), each with the step-time reference
    it had there."""
    report_file = osp.join(bench_dir, 'results.json')
    if not osp.exists(report_file):
        return []
    with open(report_file) as f:
        report = json.load(f)
    reused = {(entry['method'], entry['seed']) for entry in report.get('reused', ())}
    runs = []
    for entry in report['runs']:
        if (entry['method'], entry['seed']) in reused:
            result_file = osp.join(bench_dir, entry['work_dir'], 'result.json')
            runs.append(
                {
                    **comparable_run(result_file, settings, out_dir, variants),
                    'reference_step_s': entry['reference_step_s'],
                }
            )
    return runs


def directory_runs(
    bench_dir: str, settings: ModeSettings, out_dir: str, variants: Dict[str, Dict[str, Any]]
) -> Dict[Tuple[str, int], dict]:
    """(method, seed) -> finished run of one benchmark directory, its own and those it reused, each against
    the baseline it was measured against there (the same seed's, trained beside it or reused).

    Raises:
        SystemExit: If ``bench_dir`` has neither ``runs/`` nor ``results.json`` (not a benchmark directory).
    """
    if not (osp.isdir(osp.join(bench_dir, 'runs')) or osp.isfile(osp.join(bench_dir, 'results.json'))):
        raise SystemExit(f'{bench_dir} is not a benchmark directory (no runs/, no results.json): check the path')
    pattern = osp.join(bench_dir, 'runs', '*', 'seed*', 'result.json')
    own = [comparable_run(result_file, settings, out_dir, variants) for result_file in sorted(glob.glob(pattern))]
    reused = reused_runs(bench_dir, settings, out_dir, variants)
    if own:
        attach_reference_step_times(own, reused)
    return {(run['method'], run['seed']): run for run in reused + own}


def copy_report_run(entry: dict, report_settings: Dict[str, Any], run_dir: str) -> None:
    """Write a run of a report (one entry of its ``runs``) into ``run_dir`` as a finished run: its ``result.json``
    (the entry, less the report's ``work_dir`` and ``reference_step_s``) and ``spec.json`` (the report's
    settings), as the run's own directory held them; its ``pairs.npz``, detections and logs are not in a report."""
    os.makedirs(run_dir)
    result = {key: value for key, value in entry.items() if key not in ('work_dir', 'reference_step_s')}
    with open(osp.join(run_dir, 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)
    with open(osp.join(run_dir, 'spec.json'), 'w') as f:
        json.dump(dict(settings=report_settings), f, indent=2)


def read_report(report_file: str) -> Dict[str, Any]:
    """A benchmark report (``results.json``).

    Raises:
        SystemExit: If ``report_file`` is not one (not JSON, or no ``settings`` and ``runs``).
    """
    with open(report_file) as f:
        try:
            report = json.load(f)
        except json.JSONDecodeError:
            report = None
    if not isinstance(report, dict) or not {'settings', 'runs'} <= report.keys():
        raise SystemExit(f'{report_file} is not a benchmark report (a results.json): check the path')
    return report


def report_file_runs(
    report_file: str, settings: ModeSettings, out_dir: str, wanted: Set[Tuple[str, int]], copy_name: str
) -> Dict[Tuple[str, int], dict]:
    """(method, seed) -> run of a benchmark report (a ``results.json``, e.g. a published
    ``docs/benchmarks_*.json``) that is one of ``wanted`` (the benchmark's methods and seeds), copied into
    ``out_dir/reused/<copy_name>/<method>/seed<k>/`` (:func:`copy_report_run`) so that the new directory holds
    every run it reports; each keeps the step-time reference it had in the report.

    Raises:
        SystemExit: If the report was run with other settings (:data:`~.modes.COMPARABLE_SETTINGS`), or one of
            its runs lacks ``precision`` or ``reference_step_s`` (reports written before runs carried them).
    """
    report = read_report(report_file)
    check_comparable(report['settings'], settings, report_file)
    copy_root = osp.join(out_dir, 'reused', copy_name)
    runs = {}
    for entry in report['runs']:
        key = (entry['method'], entry['seed'])
        if key not in wanted:
            continue
        if 'precision' not in entry or 'reference_step_s' not in entry:
            raise SystemExit(
                f'{report_file}: {key[0]} seed {key[1]} has no precision or reference_step_s (a report older '
                'than them): reuse the benchmark directory it was written in instead'
            )
        run_dir = osp.join(copy_root, key[0], f'seed{key[1]}')
        copy_report_run(entry, report['settings'], run_dir)
        runs[key] = {**entry, 'work_dir': osp.relpath(run_dir, out_dir)}
    return runs


def reusable_runs(sources: Sequence[str], settings: ModeSettings, out_dir: str) -> Dict[Tuple[str, int], dict]:
    """(method, seed) -> finished run of ``sources`` that a benchmark of ``settings`` would train: one of its
    methods and seeds, run with comparable settings and, for a variant, the same options; later sources win.
    A source is an earlier benchmark directory (:func:`directory_runs`) or a benchmark report, its
    ``results.json`` (:func:`report_file_runs`: its runs are copied into ``out_dir``). Each run keeps its
    ``work_dir`` (relative to ``out_dir``) and the step-time reference it had.

    Raises:
        SystemExit: On a run of other settings (:data:`~.modes.COMPARABLE_SETTINGS`), or a run of one of the
            benchmark's variants with other options.
    """
    wanted = {(method, seed) for method in settings.methods for seed in settings.seeds}
    found: Dict[Tuple[str, int], dict] = {}
    for index, source in enumerate(sources, 1):
        if osp.isfile(source):
            copy_name = f'{index}-{osp.splitext(osp.basename(source))[0]}'  # two results.json stay apart
            found.update(report_file_runs(source, settings, out_dir, wanted, copy_name))
        else:
            found.update(directory_runs(source, settings, out_dir, {}))
    reused = {key: run for key, run in found.items() if key in wanted}
    for (method, _), run in reused.items():
        expected = json.loads(json.dumps(settings.variants.get(method)))  # the options as result.json holds them
        if run.get('variant') != expected:
            raise SystemExit(
                f'--reuse: {run["work_dir"]} ran {method} as {run.get("variant")}, this benchmark runs it as '
                f'{expected}: give the variant another name, or leave that directory out of --reuse'
            )
    return reused


def merge_runs(
    family_name: str,
    mode: str,
    settings: ModeSettings,
    bench_dirs: Sequence[str],
    out_dir: str,
    data_root: Optional[str] = None,
) -> Dict[str, Any]:
    """The report of every finished run (``runs/<method>/seed<k>/result.json``) of ``bench_dirs``.

    Later directories win for a (method, seed) run twice; the runs stay where they are (``work_dir`` points
    there, relative to ``out_dir``) and their step-time reference is their own directory's baseline. Methods
    keep the family's benchmark order, baseline first, then the variants (``--variant``) in name order. Runs
    whose settings differ (:data:`~.modes.COMPARABLE_SETTINGS`, e.g. other epochs) are refused. The family's
    data is prepared again from ``data_root`` (for the report's image counts).
    """
    family = FAMILIES[family_name]
    found: Dict[Tuple[str, int], dict] = {}
    variants: Dict[str, Dict[str, Any]] = {}
    for bench_dir in bench_dirs:
        found.update(directory_runs(bench_dir, settings, out_dir, variants))
    if not any(method == REFERENCE for method, _ in found):
        raise SystemExit(f'no finished {REFERENCE} run under {", ".join(bench_dirs)}: it is the step-time reference')
    order = dict.fromkeys((REFERENCE, *BENCHMARK_METHODS, *family.configs, *sorted(variants)))
    methods = [m for m in order if any(method == m for method, _ in found)]
    seeds = sorted({seed for _, seed in found})
    runs = [found[(method, seed)] for method in methods for seed in seeds if (method, seed) in found]
    data = family.prepare_data(osp.join(out_dir, 'data'), settings, data_root)
    settings = replace(settings, methods=tuple(methods), seeds=tuple(seeds), variants=variants)
    return make_report(family_name, mode, settings, data, runs)
