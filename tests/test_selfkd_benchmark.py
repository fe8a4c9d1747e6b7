"""benchmarks/selfkd_benchmark.py: the mean ± std arithmetic, the table, and a real cpu-tiny run (baseline and
PS-KD, one seed) through the command line."""
import importlib.util
import json
import math
import re
from dataclasses import asdict

import pytest

from conftest import REPO, run_tool

_spec = importlib.util.spec_from_file_location('selfkd_benchmark', REPO / 'benchmarks' / 'selfkd_benchmark.py')
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

NUMBER_PM = r'\d+\.\d{3} ± (\d+\.\d{3}|n/a)'


def table_rows(table: str) -> dict:
    """Method -> cells of the Markdown table's body rows."""
    rows = [line.strip('|').split('|') for line in table.splitlines() if line.startswith('| ')]
    header, *body = [[cell.strip() for cell in row] for row in rows]
    return {row[0]: dict(zip(header, row)) for row in body}


def test_mean_std_is_mean_and_sample_std():
    mean, std = bench.mean_std([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and std == pytest.approx(0.1)  # ddof=1; the population std is 0.0816
    assert bench.format_mean_std([0.1, 0.2, 0.3]) == '0.200 ± 0.100'
    assert bench.format_mean_std([0.30, 0.36]) == '0.330 ± 0.042'  # sqrt(((-0.03)^2 + 0.03^2) / 1)


def test_mean_std_undefined_values():
    assert bench.format_mean_std([0.5]) == '0.500 ± n/a'  # one seed: no sample std
    assert bench.format_mean_std([0.1, None, float('nan'), 0.3]) == '0.200 ± 0.141'  # D-ECE without detections
    assert bench.format_mean_std([None]) == 'n/a'


def _run(method: str, seed: int, step: float, mAP: float, gpu=None) -> dict:
    return dict(method=method, seed=seed, device='CPU (2 torch threads)', bbox_mAP=mAP, bbox_mAP_50=2 * mAP,
                dece=0.1, step_time_s=step, peak_gpu_mib=gpu, peak_rss_mib=900.0 + seed)


def test_table_from_hand_numbers():
    settings = asdict(bench.MODES['cpu-tiny'])
    report = dict(family='shapes', description='model on data', mode='cpu-tiny', settings=settings,
                  data=dict(options={}, train_images=16, test_images=8), methods=['baseline', 'pskd'], seeds=[0, 1],
                  runs=[_run('baseline', 0, 1.0, 0.1), _run('baseline', 1, 3.0, 0.3),
                        _run('pskd', 0, 3.0, 0.2), _run('pskd', 1, 5.0, 0.4)])
    table = bench.render_table(report)
    assert '16 train / 8 held-out images, 2 epochs, batch 4, seeds 0, 1; device: CPU (2 torch threads)' in table
    rows = table_rows(table)
    assert rows['baseline']['bbox mAP'] == '0.200 ± 0.141'
    assert rows['baseline']['step-time ratio'] == '1.00'
    assert rows['pskd']['step-time ratio'] == '2.00'  # mean 4.0 s over the baseline's mean 2.0 s
    assert rows['pskd']['mAP@50'] == '0.600 ± 0.283'
    assert rows['pskd']['peak GPU mem'] == 'n/a (CPU)'
    assert rows['pskd']['peak RSS'] == '901 MiB'  # max over seeds
    report['runs'][2]['peak_gpu_mib'] = 1234.4
    assert table_rows(bench.render_table(report))['pskd']['peak GPU mem'] == '1234 MiB'


def test_refuses_an_existing_out_dir(tmp_path):
    with pytest.raises(FileExistsError):
        bench.main(['--mode', 'cpu-tiny', '--out-dir', str(tmp_path)])


def test_cpu_tiny_run(tmp_path):
    out_dir = tmp_path / 'bench'
    proc = run_tool(['benchmarks/selfkd_benchmark.py', '--mode', 'cpu-tiny', '--methods', 'baseline', 'pskd',
                     '--seeds', '0', '--out-dir', str(out_dir)])
    table = (out_dir / 'table.md').read_text()
    assert table in proc.stdout  # printed at the end
    assert 'mode `cpu-tiny`: 16 train / 8 held-out images, 2 epochs, batch 4, seeds 0; device: CPU' in table
    rows = table_rows(table)
    assert list(rows) == ['baseline', 'pskd']
    for row in rows.values():
        assert re.fullmatch(NUMBER_PM, row['bbox mAP']) and re.fullmatch(NUMBER_PM, row['mAP@50'])
        # D-ECE is n/a when no detection reaches the metric's 0.3 score threshold (likely after 8 iterations)
        assert re.fullmatch(NUMBER_PM, row['D-ECE']) or row['D-ECE'] == 'n/a'
        assert float(row['step-time ratio']) > 0 and row['peak GPU mem'] == 'n/a (CPU)'
        assert re.fullmatch(r'\d+ MiB', row['peak RSS'])
    assert rows['baseline']['step-time ratio'] == '1.00'

    assert (out_dir / 'reliability.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    report = json.loads((out_dir / 'results.json').read_text())
    assert [(run['method'], run['seed']) for run in report['runs']] == [('baseline', 0), ('pskd', 0)]
    for run in report['runs']:
        assert run['timed_iters'] == 6  # 2 epochs x 4 iterations, the first 2 left out
        assert math.isfinite(run['step_time_s']) and run['peak_rss_mib'] > 100
        assert (out_dir / run['work_dir'] / 'pairs.npz').exists()
    rebuilt = run_tool(['benchmarks/selfkd_benchmark.py', '--table-from', str(out_dir / 'results.json')])
    assert table in rebuilt.stdout
