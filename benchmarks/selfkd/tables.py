"""table.md: the caption, the per-method table (mean ± sample std over seeds), the paired-difference table, the
per-seed table and the note on the '<method> + post-hoc' rows."""

from typing import Any, Dict, List, Sequence

import numpy as np

from .divergence import training_flag
from .markdown import markdown_table
from .modes import REFERENCE
from .paired import paired_table
from .per_seed import per_seed_table
from .posthoc import POSTHOC, POSTHOC_METHODS
from .report import runs_by_method
from .statistics import format_mean_std
from .step_times import step_time_ratio

HEADER = (
    'method',
    'bbox mAP',
    'mAP@50',
    'D-ECE',
    'LaECE₀',
    'dets ≥ 0.3',
    'precision ≥ 0.3',
    'step-time ratio',
    'step time (s)',
    'peak GPU mem',
    'peak RSS',
)
POSTHOC_NOTE = (
    '`+ post-hoc`: the same runs, scores calibrated by {} regression ({}), {}-fold cross-fitted over the '
    "held-out images (D-ECE: fitted to TP targets, LaECE₀: to IoU targets); mAP is the method's (one fitted "
    "map leaves it unchanged; the two folds' maps could reorder detections across the folds), training cost "
    'that of the method.'
).format(POSTHOC['method'], 'per class' if POSTHOC['per_class'] else 'class-agnostic', POSTHOC['folds'])


def posthoc_runs(runs: Sequence[dict]) -> List[dict]:
    """The runs of a method that have post-hoc numbers, with their post-hoc D-ECE and LaECE_0; no detection
    counts (the calibrated scores move detections across the 0.3 threshold)."""
    return [
        dict(run, dece=run['posthoc']['dece'], laece0=run['posthoc']['laece0'], num_dets=None, precision=None)
        for run in runs
        if run.get('posthoc')
    ]


def table_entries(report: Dict[str, Any]) -> Dict[str, List[dict]]:
    """Row label -> runs: every method, then ``'<method> + post-hoc'`` for the :data:`POSTHOC_METHODS` with
    post-hoc numbers (same runs, scores calibrated after the fact, see :mod:`.posthoc`)."""
    by_method = runs_by_method(report)
    entries = dict(by_method)
    for method in POSTHOC_METHODS:
        runs = posthoc_runs(by_method.get(method, ()))
        if runs:
            entries[f'{method} + post-hoc'] = runs
    return entries


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
        f'dets ≥ 0.3: the detections D-ECE is computed on (score ≥ 0.3; those matching only an ignored box left '
        f'out), precision ≥ 0.3: the share of them that are true positives at IoU 0.5. '
        f'Step-time ratio: mean train iteration time (mmengine `time`, first {s["timing_skip_iters"]} '
        f"iterations excluded) over the same seed's baseline run of the same benchmark run, averaged over "
        f'seeds. Memory: peak of the training process, max over seeds.'
    )


def row_label(label: str, runs: Sequence[dict]) -> str:
    """``label``, with the number of seeds whose loss went to NaN or spiked (selfkd/divergence.py), if any."""
    flags = [training_flag(run) for run in runs]
    notes = [f'{flag} in {flags.count(flag)}/{len(runs)} seeds' for flag in ('loss NaN', 'loss spike') if flag in flags]
    return f'{label} ({"; ".join(notes)})' if notes else label


def method_row(label: str, runs: Sequence[dict], fallback_reference_s: float) -> List[str]:
    """The cells of one entry of the per-method table."""
    step_s = float(np.mean([run['step_time_s'] for run in runs]))
    gpu = [run['peak_gpu_mib'] for run in runs if run['peak_gpu_mib'] is not None]
    return [
        row_label(label, runs),
        format_mean_std([run['bbox_mAP'] for run in runs]),
        format_mean_std([run['bbox_mAP_50'] for run in runs]),
        format_mean_std([run['dece'] for run in runs]),
        format_mean_std([run.get('laece0') for run in runs]),
        format_mean_std([run.get('num_dets') for run in runs], digits=0),
        format_mean_std([run.get('precision') for run in runs]),
        f'{step_time_ratio(runs, fallback_reference_s):.2f}',
        f'{step_s:.3f}',
        f'{max(gpu):.0f} MiB' if gpu else 'n/a (CPU)',
        f'{max(run["peak_rss_mib"] for run in runs):.0f} MiB',
    ]


def failed_note(report: Dict[str, Any]) -> str:
    """The line naming the report's failed runs and their logs; empty without any."""
    failed = report.get('failed', ())
    if not failed:
        return ''
    listed = '; '.join(f'{run["method"]} seed {run["seed"]} ({run["worker_log"]})' for run in failed)
    return f'**Failed runs**, not in the tables (their worker.log, relative to this directory): {listed}.'


def reused_note(report: Dict[str, Any]) -> str:
    """The line naming the report's runs taken from earlier benchmark directories (``--reuse``); empty without
    any."""
    reused = report.get('reused', ())
    if not reused:
        return ''
    listed = '; '.join(f'{run["method"]} seed {run["seed"]} ({run["work_dir"]})' for run in reused)
    return f'**Reused runs**, trained by an earlier benchmark (their directory, relative to this one): {listed}.'


def render_table(report: Dict[str, Any]) -> str:
    """table.md of a report as written to ``results.json``: the caption and the per-method table, the
    paired-difference table (with more methods than the baseline), the per-seed table, the post-hoc note, the
    reused runs and the failed runs."""
    by_method = runs_by_method(report)
    entries = table_entries(report)
    reference_step_s = float(np.mean([run['step_time_s'] for run in by_method[REFERENCE]]))
    rows = [method_row(label, runs, reference_step_s) for label, runs in entries.items()]
    parts = [
        table_caption(report),
        markdown_table(HEADER, rows),
        paired_table(entries, by_method[REFERENCE]),
        per_seed_table(by_method, report['seeds']),
        POSTHOC_NOTE if set(entries) - set(by_method) else '',
        reused_note(report),
        failed_note(report),
    ]
    return '\n\n'.join(part for part in parts if part) + '\n'
