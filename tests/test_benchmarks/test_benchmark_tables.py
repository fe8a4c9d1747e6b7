"""table.md (benchmarks/selfkd/tables.py, paired.py, per_seed.py) from hand-made reports: the per-method table
(mean ± sample std, detections at score >= 0.3 and their precision, step-time ratios, memory, diverged runs, the
'<method> + post-hoc' rows), the paired differences to the baseline with their 95 % intervals, the per-seed
table, and the caption."""

import json

from benchmark_reports import report, run, table_rows, tables
from conftest import REPO
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
    assert rows['cskd (loss NaN in 1/2 seeds)']['D-ECE'] == '0.100 ± n/a (1 of 2 seeds)'
    assert coco_ap({}, 'coco/bbox_mAP') == 0.0  # CocoMetric reports nothing without detections
    per_seed = tables(table)[2]
    assert per_seed['cskd']['seed 0'] == '0.000 / n/a / n/a (loss NaN)'
    assert per_seed['baseline']['seed 1'] == 'not run'


def test_a_run_without_detections_is_named_in_the_means_and_differences_it_is_left_out_of():
    # pskd seed 1 collapsed: no detection at score >= 0.3, so no D-ECE; its mAP still counts
    baseline = [run('baseline', seed, 1.0, 0.5, dece=dece) for seed, dece in enumerate([0.10, 0.12, 0.14])]
    pskd = [
        run('pskd', seed, 1.0, mAP, dece=dece)
        for seed, (mAP, dece) in enumerate([(0.5, 0.08), (0.0, None), (0.5, 0.11)])
    ]
    main, paired, per_seed = tables(
        render_table(report([*baseline, *pskd], methods=['baseline', 'pskd'], seeds=[0, 1, 2]))
    )
    assert main['pskd']['D-ECE'] == '0.095 ± 0.021 (2 of 3 seeds)'  # mean of 0.08, 0.11; std 0.03 / sqrt(2)
    assert main['pskd']['bbox mAP'] == '0.333 ± 0.289'  # all three seeds
    assert main['baseline']['D-ECE'] == '0.120 ± 0.020'
    assert paired['pskd']['paired seeds'] == '3'
    assert paired['pskd']['Δ D-ECE'] == '-0.025 [-0.089, +0.039] (2 of 3 seeds)'  # -0.02, -0.03: t(1) = 12.71
    assert paired['pskd']['Δ bbox mAP (points)'] == '-16.7 [-88.4, +55.0]'
    assert per_seed['pskd']['seed 1'] == '0.000 / n/a / n/a'


def test_detections_at_score_0_3_and_their_precision():
    runs = [
        run('baseline', 0, 1.0, 0.1, num_dets=100, precision=0.5),
        run('baseline', 1, 1.0, 0.1, num_dets=120, precision=0.7),
        run('pskd', 0, 1.0, 0.1, num_dets=90),  # a run of before the precision was saved
    ]
    rows = table_rows(render_table(report(runs, methods=['baseline', 'pskd'], seeds=[0, 1])))
    assert rows['baseline']['dets ≥ 0.3'] == '110 ± 14'  # sqrt((10^2 + 10^2) / 1)
    assert rows['baseline']['precision ≥ 0.3'] == '0.600 ± 0.141'
    assert rows['pskd']['dets ≥ 0.3'] == '90 ± n/a' and rows['pskd']['precision ≥ 0.3'] == 'n/a'


def test_paired_differences_to_the_baseline_by_hand():
    # pskd - baseline per seed: bbox mAP [-0.002, -0.037, -0.028] (see test_mean_ci_by_hand: mean -2.23 points,
    # 95 % interval [-6.75, +2.28]); D-ECE [-0.05, -0.04, -0.03]: -0.040 ± 4.3027 * 0.01 / sqrt(3)
    baseline = [run('baseline', seed, 1.0, mAP, laece0=0.3) for seed, mAP in enumerate([0.500, 0.520, 0.480])]
    pskd = [
        run('pskd', seed, 1.0, mAP, dece=dece, num_dets=100 + seed)
        for seed, (mAP, dece) in enumerate([(0.498, 0.05), (0.483, 0.06), (0.452, 0.07)])
    ]
    ls = [run('ls', 2, 1.0, 0.49, laece0=0.25)]  # one seed: no interval
    table = render_table(report([*baseline, *pskd, *ls], methods=['baseline', 'pskd', 'ls'], seeds=[0, 1, 2]))
    assert 'Student t with n − 1 degrees of freedom' in table
    main, paired, per_seed = tables(table)
    assert list(paired) == ['pskd', 'ls']  # not the baseline against itself
    assert paired['pskd']['paired seeds'] == '3' and paired['ls']['paired seeds'] == '1'
    assert paired['pskd']['Δ bbox mAP (points)'] == '-2.2 [-6.7, +2.3]'
    assert paired['pskd']['Δ mAP@50 (points)'] == '-4.5 [-13.5, +4.6]'  # twice the mAP differences
    assert paired['pskd']['Δ D-ECE'] == '-0.040 [-0.065, -0.015]'
    assert paired['pskd']['Δ LaECE₀'] == 'n/a'  # no LaECE_0 in these pskd runs
    assert paired['ls']['Δ bbox mAP (points)'] == '+1.0 [n/a]' and paired['ls']['Δ LaECE₀'] == '-0.050 [n/a]'
    assert [per_seed['pskd'][f'seed {seed}'] for seed in (0, 1, 2)] == [
        '0.498 / 0.050 / 100',
        '0.483 / 0.060 / 101',
        '0.452 / 0.070 / 102',
    ]
    assert per_seed['ls']['seed 0'] == 'not run' and per_seed['ls']['seed 2'] == '0.490 / 0.100 / n/a'
    assert list(main) == ['baseline', 'pskd', 'ls']


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
    assert rows['baseline + post-hoc']['dets ≥ 0.3'] == 'n/a'  # calibrated scores move detections across 0.3
    assert rows['pskd + post-hoc']['D-ECE'] == '0.100 ± n/a'  # one run of two has post-hoc numbers
    assert 'cskd + post-hoc' not in rows and 'ls + post-hoc' not in rows
    assert 'cross-fitted' in table.splitlines()[-1]
    paired = tables(table)[1]  # what post-hoc calibration buys, seed by seed: D-ECE [-0.15, -0.25]
    assert paired['baseline + post-hoc']['Δ D-ECE'] == '-0.200 [-0.835, +0.435]'  # 12.706 * 0.0707 / sqrt(2)
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
    table = render_table(hand)
    caption = table.splitlines()[0]
    assert '205 train / 72 held-out images, 2 epochs, batch 8, images resized to 256x192, seeds 0;' in caption
    assert '`model.train_cfg.rcnn.sampler.num=128`' in caption
    assert len(tables(table)) == 2  # only the baseline: no paired differences


def test_results_file_of_the_current_format_renders():
    """A results.json written before the precision column and the paired tables (docs/): n/a, not an error."""
    with open(REPO / 'docs' / 'benchmarks_bccd_lite_seed0.json') as f:
        written = json.load(f)
    main, paired, per_seed = tables(render_table(written))
    assert main['baseline']['bbox mAP'] == '0.536 ± n/a' and main['baseline']['dets ≥ 0.3'] == '1278 ± n/a'
    assert main['baseline']['precision ≥ 0.3'] == 'n/a'
    assert paired['pskd']['Δ bbox mAP (points)'].endswith(' [n/a]')  # one seed
    assert per_seed['baseline']['seed 0'] == '0.536 / 0.107 / 1278'
