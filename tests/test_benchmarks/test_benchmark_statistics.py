"""The benchmark's statistics (benchmarks/selfkd/statistics.py): mean ± sample std over seeds, Student-t
quantiles, and the paired per-seed differences to the baseline with their 95 % interval, worked by hand."""

import math

import pytest

from selfkd.statistics import (
    format_difference,
    format_mean_std,
    mean_ci,
    mean_std,
    paired_differences,
    t_quantile,
)


def test_mean_std_is_mean_and_sample_std():
    mean, std = mean_std([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and std == pytest.approx(0.1)  # ddof=1; the population std is 0.0816
    assert format_mean_std([0.1, 0.2, 0.3]) == '0.200 ± 0.100'
    assert format_mean_std([0.30, 0.36]) == '0.330 ± 0.042'  # sqrt(((-0.03)^2 + 0.03^2) / 1)


def test_mean_std_undefined_values():
    assert format_mean_std([0.5]) == '0.500 ± n/a'  # one seed: no sample std
    assert format_mean_std([0.1, None, float('nan'), 0.3]) == '0.200 ± 0.141 (2 of 4 seeds)'  # D-ECE without detections
    assert format_mean_std([None]) == 'n/a'
    assert format_mean_std([1278, 1300], digits=0) == '1289 ± 16'  # detection counts


@pytest.mark.parametrize(
    'dof, quantile',  # t_{0.975, dof} as printed in the usual tables (3 decimals)
    [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (9, 2.262), (29, 2.045)],
)
def test_t_quantiles_as_in_the_tables(dof, quantile):
    assert t_quantile(0.975, dof) == pytest.approx(quantile, abs=5e-4)


def test_t_quantile_needs_a_degree_of_freedom():
    with pytest.raises(ValueError, match='dof=0'):
        t_quantile(0.975, 0)


def test_mean_ci_by_hand():
    # d = [-0.002, -0.037, -0.028]: mean -0.067 / 3 = -0.022333; deviations +0.020333, -0.014667, -0.005667,
    # s^2 = (4.1344e-4 + 2.1511e-4 + 3.2111e-5) / 2 = 3.3033e-4, s = 0.018175, s / sqrt(3) = 0.010493;
    # half width 4.3027 * 0.010493 = 0.045149
    mean, (low, high) = mean_ci([-0.002, -0.037, -0.028])
    assert mean == pytest.approx(-0.022333, abs=1e-6)
    assert low == pytest.approx(-0.022333 - 0.045149, abs=1e-5) and high == pytest.approx(0.022816, abs=1e-5)
    assert mean_ci([0.01]) == (0.01, None)  # one seed: no interval
    with pytest.raises(ValueError, match='at least one value'):
        mean_ci([])


def test_paired_differences_pair_runs_by_seed():
    baseline = [dict(seed=s, dece=d) for s, d in [(0, 0.20), (1, 0.25), (2, None)]]
    method = [dict(seed=s, dece=d) for s, d in [(2, 0.1), (1, 0.20), (0, 0.15), (3, 0.1)]]
    differences = paired_differences(method, baseline, 'dece')
    assert list(differences) == [0, 1]  # seed 2: the baseline's is undefined; seed 3: no baseline run
    assert differences[0] == pytest.approx(-0.05) and differences[1] == pytest.approx(-0.05)
    method[0]['dece'] = math.nan
    assert list(paired_differences(method, baseline, 'laece0')) == []  # reports without the entry


def test_format_difference():
    assert format_difference([-0.002, -0.037, -0.028], scale=100, digits=1) == '-2.2 [-6.7, +2.3]'  # AP points
    assert format_difference([-0.05, -0.04, -0.03]) == '-0.040 [-0.065, -0.015]'  # 4.3027 * 0.01 / sqrt(3)
    assert format_difference([0.012]) == '+0.012 [n/a]'
    assert format_difference([]) == 'n/a'
