"""The benchmark's statistics (benchmarks/selfkd/statistics.py): mean ± sample std over seeds."""

import pytest

from selfkd.statistics import (
    format_mean_std,
    mean_std,
)


def test_mean_std_is_mean_and_sample_std():
    mean, std = mean_std([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and std == pytest.approx(0.1)  # ddof=1; the population std is 0.0816
    assert format_mean_std([0.1, 0.2, 0.3]) == '0.200 ± 0.100'
    assert format_mean_std([0.30, 0.36]) == '0.330 ± 0.042'  # sqrt(((-0.03)^2 + 0.03^2) / 1)


def test_mean_std_undefined_values():
    assert format_mean_std([0.5]) == '0.500 ± n/a'  # one seed: no sample std
    assert format_mean_std([0.1, None, float('nan'), 0.3]) == '0.200 ± 0.141'  # D-ECE without detections
    assert format_mean_std([None]) == 'n/a'
