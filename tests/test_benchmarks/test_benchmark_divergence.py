"""benchmarks/selfkd/divergence.py: the peak-loss ratio of a run's logged training scalars, the flags it and a
NaN loss give a run, and how the tables show them."""

from benchmark_reports import report, run, tables
from selfkd.divergence import LOSS_SPIKE_RATIO, loss_went_nan, peak_loss_ratio, training_flag
from selfkd.tables import render_table


def scalars(losses_by_epoch):
    return [dict(epoch=epoch, loss=loss) for epoch, losses in losses_by_epoch for loss in losses]


def test_peak_loss_ratio_is_the_largest_loss_over_the_first_epochs_mean():
    # first epoch mean (3 + 2 + 1) / 3 = 2; the largest loss 5 (epoch 2): 2.5
    assert peak_loss_ratio(scalars([(1, [3.0, 2.0, 1.0]), (2, [5.0, 0.5]), (3, [0.4])])) == 2.5
    # a run that blows up in its second epoch and recovers to a finite loss: 380 / 2 = 190
    assert peak_loss_ratio(scalars([(1, [3.0, 1.0]), (2, [1.0, 380.0, 40.0]), (3, [2.0])])) == 190.0
    # a falling loss peaks at its first iteration: 3 / 2
    assert peak_loss_ratio(scalars([(1, [3.0, 1.0]), (2, [0.5])])) == 1.5
    assert peak_loss_ratio(scalars([(1, [3.0]), (2, [float('nan')])])) is None  # flagged 'loss NaN' instead
    assert peak_loss_ratio([]) is None


def test_loss_went_nan_reads_the_last_logged_loss():
    assert loss_went_nan(scalars([(1, [3.0]), (2, [float('nan')])]))
    assert loss_went_nan(scalars([(1, [3.0]), (2, [float('inf')])]))
    assert not loss_went_nan(scalars([(1, [3.0]), (2, [380.0, 2.0])]))  # a spike, not a NaN


def test_training_flag():
    assert training_flag(dict(diverged=True, peak_loss_ratio=None)) == 'loss NaN'
    assert training_flag(dict(diverged=False, peak_loss_ratio=LOSS_SPIKE_RATIO + 0.1)) == 'loss spike'
    assert training_flag(dict(diverged=False, peak_loss_ratio=LOSS_SPIKE_RATIO)) is None
    assert training_flag(dict(diverged=False, peak_loss_ratio=2.2)) is None
    assert training_flag(dict(bbox_mAP=0.5)) is None  # a run saved before the ratio was recorded


def test_a_run_whose_loss_spiked_is_named_in_the_tables():
    runs = [run('baseline', seed, 1.0, 0.5, peak_loss_ratio=2.0) for seed in (0, 1, 2)]
    runs += [run('pskd', 0, 1.0, 0.5, peak_loss_ratio=2.1), run('pskd', 1, 1.0, 0.001, peak_loss_ratio=190.0)]
    runs += [run('pskd', 2, 1.0, 0.0, diverged=True, dece=None)]
    main, _, per_seed = tables(render_table(report(runs, methods=['baseline', 'pskd'], seeds=[0, 1, 2])))
    assert list(main)[:2] == ['baseline', 'pskd (loss NaN in 1/3 seeds; loss spike in 1/3 seeds)']
    assert per_seed['pskd']['seed 0'] == '0.500 / 0.100 / n/a'
    assert per_seed['pskd']['seed 1'] == '0.001 / 0.100 / n/a (loss spike)'
    assert per_seed['pskd']['seed 2'] == '0.000 / n/a / n/a (loss NaN)'
