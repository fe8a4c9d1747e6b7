"""table.md (benchmarks/selfkd/tables.py) from hand-made reports: the per-method table (mean ± sample std,
step-time ratios, memory, diverged runs, the '<method> + post-hoc' rows) and the caption."""

from benchmark_reports import report, run, table_rows
from selfkd.modes import BCCD_MODES
from selfkd.step_times import attach_reference_step_times
from selfkd.tables import render_table
from selfkd.worker import coco_ap


def test_table_from_hand_numbers():
    runs = [run('baseline', 0, 1.0, 0.1), run('baseline', 1, 3.0, 0.3)]
    runs += [run('pskd', 0, 3.0, 0.2), run('pskd', 1, 5.0, 0.4)]
    hand = report(runs, methods=['baseline', 'pskd'], seeds=[0, 1])
    table = render_table(hand)
    assert '16 train / 8 held-out images, 2 epochs, batch 4, seeds 0, 1; device: CPU (2 torch threads)' in table
    rows = table_rows(table)
    assert rows['baseline']['bbox mAP'] == '0.200 ± 0.141'
    assert rows['baseline']['step-time ratio'] == '1.00'
    assert rows['pskd']['step-time ratio'] == '2.00'  # no per-run reference (older reports): 4.0 s over 2.0 s
    attach_reference_step_times(hand['runs'])  # each seed against its own baseline run
    assert [r['reference_step_s'] for r in hand['runs']] == [1.0, 3.0, 1.0, 3.0]
    rows = table_rows(render_table(hand))
    assert rows['baseline']['step-time ratio'] == '1.00'
    assert rows['pskd']['step-time ratio'] == '2.33'  # (3.0 / 1.0 + 5.0 / 3.0) / 2
    assert rows['pskd']['mAP@50'] == '0.600 ± 0.283'
    assert rows['pskd']['peak GPU mem'] == 'n/a (CPU)'
    assert rows['pskd']['peak RSS'] == '901 MiB'  # max over seeds
    hand['runs'][2]['peak_gpu_mib'] = 1234.4
    assert table_rows(render_table(hand))['pskd']['peak GPU mem'] == '1234 MiB'


def test_a_diverged_run_is_reported_not_averaged_away():
    runs = [run('baseline', 0, 1.0, 0.1), run('cskd', 0, 1.0, 0.0), run('cskd', 1, 1.0, 0.2)]
    runs[1].update(diverged=True, dece=None)
    table = render_table(report(runs, methods=['baseline', 'cskd'], seeds=[0, 1]))
    rows = table_rows(table)
    assert rows['cskd (loss NaN in 1/2 seeds)']['bbox mAP'] == '0.100 ± 0.141'
    assert rows['cskd (loss NaN in 1/2 seeds)']['D-ECE'] == '0.100 ± n/a'
    assert coco_ap({}, 'coco/bbox_mAP') == 0.0  # CocoMetric reports nothing without detections


def test_posthoc_rows_by_hand():
    def posthoc_run(method, seed, dece, laece0, posthoc):
        numbers = posthoc and dict(calibrator='isotonic', per_class=False, folds=2, dece=posthoc[0], laece0=posthoc[1])
        return run(method, seed, 1.0, 0.5, dece=dece, laece0=laece0, posthoc=numbers, bbox_mAP_50=0.8, num_dets=50)

    hand = report(
        [
            posthoc_run('baseline', 0, 0.2, 0.3, (0.05, 0.1)),
            posthoc_run('baseline', 1, 0.4, 0.5, (0.15, 0.2)),
            posthoc_run('pskd', 0, 0.1, 0.2, (0.1, 0.1)),
            posthoc_run('pskd', 1, 0.1, 0.2, None),
            posthoc_run('cskd', 0, 0.3, 0.3, None),
            posthoc_run('cskd', 1, 0.3, 0.3, None),
        ],
        methods=['baseline', 'pskd', 'cskd'],
        seeds=[0, 1],
    )
    table = render_table(hand)
    rows = table_rows(table)
    assert rows['baseline']['LaECE₀'] == '0.400 ± 0.141'
    assert rows['baseline + post-hoc']['D-ECE'] == '0.100 ± 0.071'
    assert rows['baseline + post-hoc']['LaECE₀'] == '0.150 ± 0.071'
    assert rows['baseline + post-hoc']['bbox mAP'] == rows['baseline']['bbox mAP']
    assert rows['pskd + post-hoc']['D-ECE'] == '0.100 ± n/a'  # one run of two has post-hoc numbers
    assert 'cskd + post-hoc' not in rows and 'ls + post-hoc' not in rows
    assert 'cross-fitted' in table.splitlines()[-1]
    # reports written before these columns existed still render
    for r in hand['runs']:
        del r['laece0'], r['posthoc']
    rows = table_rows(render_table(hand))
    assert rows['baseline']['LaECE₀'] == 'n/a' and 'baseline + post-hoc' not in rows


def test_bccd_caption_names_scale_and_mode_options():
    hand = report(
        [run('baseline', 0, 3.0, 0.2)],
        methods=['baseline'],
        seeds=[0],
        settings=BCCD_MODES['cpu-reduced'],
        family='bccd',
        mode='cpu-reduced',
        images=(205, 72),
    )
    caption = render_table(hand).splitlines()[0]
    assert '205 train / 72 held-out images, 2 epochs, batch 8, images resized to 256x192, seeds 0;' in caption
    assert '`model.train_cfg.rcnn.sampler.num=128`' in caption
