"""benchmarks/pskd_overhead.py end to end on the CPU: every strategy trains in one process through mmengine's
Runner (several Runners in one process, each with its own MessageHub and visualizer) and the printed table holds
what each strategy is: nothing taught for the baseline, the positives for the memories, every RoI for the
snapshot, which alone holds a model copy."""

import pytest

from conftest import run_tool


@pytest.mark.slow
def test_overhead_benchmark_runs_every_strategy(tmp_path):
    proc = run_tool(
        ['benchmarks/pskd_overhead.py', '--images', '8', '--batch-size', '4', '--data-root', str(tmp_path / 'shapes')]
    )
    lines = proc.stdout.split('PS-KD overhead:')[1].strip().splitlines()
    assert 'cpu, batch 4, 8 images, pass 1 timed' in lines[0]
    rows = {line.split()[0]: [float(value) for value in line.split()[1:]] for line in lines[2:6]}
    assert list(rows) == ['baseline', 'gt', 'iou', 'snapshot']
    step_ms, ratio, taught, host_mb = (0, 1, 2, 3)
    assert rows['baseline'][ratio] == 1.0 and rows['baseline'][taught] == 0.0 and rows['baseline'][host_mb] == 0.0
    for method in ('gt', 'iou'):
        assert 0 < rows[method][taught] < 1  # the positives of the sampled RoIs
        assert rows[method][ratio] == pytest.approx(rows[method][step_ms] / rows['baseline'][step_ms], abs=1e-3)
    assert rows['snapshot'][taught] == 1.0 and rows['snapshot'][host_mb] > 10  # every RoI; an R18 model copy
