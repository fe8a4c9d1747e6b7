"""A real cpu-tiny benchmark (baseline and PS-KD, one seed, and a variant whose run fails) through the command
line, benchmarks/selfkd_benchmark.py: workers, table.md, reliability.png, results.json, --table-from, and a
failed run that leaves the others reported; then a second benchmark that reuses its runs (--reuse) and trains
only the one they lack."""

import json
import math
import re

import pytest

from benchmark_reports import table_rows, tables
from conftest import run_tool

NUMBER_PM = r'\d+\.\d{3} ± (\d+\.\d{3}|n/a)'


@pytest.mark.slow
def test_cpu_tiny_run(tmp_path):
    out_dir = tmp_path / 'bench'
    proc = run_tool(
        ['benchmarks/selfkd_benchmark.py', '--mode', 'cpu-tiny', '--methods', 'baseline', 'pskd', '--seeds', '0']
        + ['--variant', 'broken', 'pskd', 'custom_hooks.0.alpha_T=2', '--out-dir', str(out_dir)],
        check=False,
    )
    # the variant's worker stops at its hook's check; the benchmark reports the other runs and exits with 1
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert '[3/3] broken seed 0: FAILED' in proc.stdout and 'alpha_T must be in [0, 1]' in proc.stdout
    assert '1 run(s) failed' in proc.stderr
    assert 'alpha_T must be in [0, 1]' in (out_dir / 'runs' / 'broken' / 'seed0' / 'worker.log').read_text()
    table = (out_dir / 'table.md').read_text()
    assert table in proc.stdout  # printed at the end
    assert table.rstrip().endswith(
        '**Failed runs**, not in the tables (their worker.log, relative to this directory): '
        'broken seed 0 (runs/broken/seed0/worker.log).'
    )
    assert 'mode `cpu-tiny`: 16 train / 8 held-out images, 2 epochs, batch 4, seeds 0; device: CPU' in table
    rows = table_rows(table)
    assert list(rows) == ['baseline', 'pskd', 'baseline + post-hoc', 'pskd + post-hoc']
    for row in rows.values():
        assert re.fullmatch(NUMBER_PM, row['bbox mAP']) and re.fullmatch(NUMBER_PM, row['mAP@50'])
        # D-ECE is n/a when no detection reaches the metric's 0.3 score threshold (likely after 8 iterations)
        assert re.fullmatch(NUMBER_PM, row['D-ECE']) or row['D-ECE'] == 'n/a'
        assert float(row['step-time ratio']) > 0 and row['peak GPU mem'] == 'n/a (CPU)'
        assert re.fullmatch(r'\d+ MiB', row['peak RSS'])
    assert rows['baseline']['step-time ratio'] == '1.00'
    assert re.fullmatch(r'\d+ ± n/a', rows['pskd']['dets ≥ 0.3'])
    paired, per_seed = tables(table)[1:3]
    assert list(paired) == ['pskd', 'baseline + post-hoc', 'pskd + post-hoc']
    assert re.fullmatch(r'[+-]\d+\.\d \[n/a\]', paired['pskd']['Δ bbox mAP (points)'])  # one seed
    assert re.fullmatch(r'\d\.\d{3} / (\d\.\d{3}|n/a) / \d+', per_seed['pskd']['seed 0'])

    assert (out_dir / 'reliability.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    report = json.loads((out_dir / 'results.json').read_text())
    assert [(run['method'], run['seed']) for run in report['runs']] == [('baseline', 0), ('pskd', 0)]
    assert report['methods'] == ['baseline', 'pskd']
    assert report['failed'] == [dict(method='broken', seed=0, worker_log='runs/broken/seed0/worker.log')]
    for run in report['runs']:
        assert run['timed_iters'] == 6  # 2 epochs x 4 iterations, the first 2 left out
        assert math.isfinite(run['step_time_s']) and run['peak_rss_mib'] > 100
        assert (out_dir / run['work_dir'] / 'pairs.npz').exists() and (out_dir / run['work_dir'] / 'dets.pkl').exists()
        assert run['num_dets'] == 0 or 0 <= run['precision'] <= 1
        assert 0 < run['peak_loss_ratio'] < 10 and not run['diverged']  # trained normally: no flag
    rebuilt = run_tool(['benchmarks/selfkd_benchmark.py', '--table-from', str(out_dir / 'results.json')])
    assert table in rebuilt.stdout

    # a second benchmark takes the finished runs from the first and trains only ls, against the reused baseline
    more = tmp_path / 'more'
    proc = run_tool(
        ['benchmarks/selfkd_benchmark.py', '--mode', 'cpu-tiny', '--methods', 'baseline', 'pskd', 'ls', '--seeds', '0']
        + ['--reuse', str(out_dir), '--out-dir', str(more)]
    )
    assert 'baseline seed 0: reused, ../bench/runs/baseline/seed0' in proc.stdout
    assert '[1/1] ls seed 0: mAP' in proc.stdout  # the only worker
    reused = json.loads((more / 'results.json').read_text())
    assert [(run['method'], run['work_dir']) for run in reused['runs']] == [
        ('baseline', '../bench/runs/baseline/seed0'),
        ('pskd', '../bench/runs/pskd/seed0'),
        ('ls', 'runs/ls/seed0'),
    ]
    for taken, trained in zip(reused['runs'], report['runs']):  # the same numbers, a work_dir relative to `more`
        assert {**taken, 'work_dir': trained['work_dir']} == trained
    assert not (more / 'runs' / 'baseline').exists()
    assert reused['runs'][2]['reference_step_s'] == report['runs'][0]['step_time_s']
    # merging `more` alone reports the reused runs too, ls against the baseline it was measured against
    run_tool(
        ['benchmarks/selfkd_benchmark.py', '--mode', 'cpu-tiny', '--merge', str(more), '--out-dir', str(tmp_path / 'm')]
    )
    merged = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert [(run['method'], run['work_dir']) for run in merged['runs']] == [
        ('baseline', '../bench/runs/baseline/seed0'),
        ('pskd', '../bench/runs/pskd/seed0'),
        ('ls', '../more/runs/ls/seed0'),
    ]
    assert merged['runs'][2]['reference_step_s'] == report['runs'][0]['step_time_s']
