"""The benchmark's LaECE_0 column and '<method> + post-hoc' rows (benchmarks/selfkd_benchmark.py)."""

import pickle
from dataclasses import asdict

import pytest

from conftest import load_benchmark
from detection_samples import box, image

bench = load_benchmark()


def table_rows(table: str) -> dict:
    rows = [line.strip('|').split('|') for line in table.splitlines() if line.startswith('|')]
    rows = [row for row in rows if not set(''.join(row)) <= set('-')]
    header, *body = [[cell.strip() for cell in row] for row in rows]
    return {row[0]: dict(zip(header, row)) for row in body}


def test_posthoc_rows_by_hand():
    def run(method, seed, dece, laece0, posthoc):
        return dict(
            method=method,
            seed=seed,
            device='CPU',
            bbox_mAP=0.5,
            bbox_mAP_50=0.8,
            dece=dece,
            laece0=laece0,
            step_time_s=1.0,
            peak_gpu_mib=None,
            peak_rss_mib=900.0,
            posthoc=None
            if posthoc is None
            else dict(calibrator='isotonic', per_class=False, folds=2, dece=posthoc[0], laece0=posthoc[1]),
        )

    report = dict(
        family='shapes',
        description='model on data',
        mode='cpu-tiny',
        settings=asdict(bench.SHAPES_MODES['cpu-tiny']),
        data=dict(options={}, train_images=16, test_images=8),
        methods=['baseline', 'pskd', 'cskd'],
        seeds=[0, 1],
        runs=[
            run('baseline', 0, 0.2, 0.3, (0.05, 0.1)),
            run('baseline', 1, 0.4, 0.5, (0.15, 0.2)),
            run('pskd', 0, 0.1, 0.2, (0.1, 0.1)),
            run('pskd', 1, 0.1, 0.2, None),
            run('cskd', 0, 0.3, 0.3, None),
            run('cskd', 1, 0.3, 0.3, None),
        ],
    )
    table = bench.render_table(report)
    rows = table_rows(table)
    assert rows['baseline']['LaECE₀'] == '0.400 ± 0.141'
    assert rows['baseline + post-hoc']['D-ECE'] == '0.100 ± 0.071'
    assert rows['baseline + post-hoc']['LaECE₀'] == '0.150 ± 0.071'
    assert rows['baseline + post-hoc']['bbox mAP'] == rows['baseline']['bbox mAP']
    assert rows['pskd + post-hoc']['D-ECE'] == '0.100 ± n/a'  # one run of two has post-hoc numbers
    assert 'cskd + post-hoc' not in rows and 'ls + post-hoc' not in rows
    assert 'cross-fitted' in table.splitlines()[-1]
    # reports written before these columns existed still render
    for r in report['runs']:
        del r['laece0'], r['posthoc']
    rows = table_rows(bench.render_table(report))
    assert rows['baseline']['LaECE₀'] == 'n/a' and 'baseline + post-hoc' not in rows


def test_posthoc_numbers_of_saved_detections(tmp_path):
    # 4 images, one object each: a hit (IoU 1) at 0.9 and a miss at 0.8
    images = [image([(box(0, 0), 0.9, 0), (box(100, 100), 0.8, 0)], [(box(0, 0), 0)]) for _ in range(4)]
    path = tmp_path / 'dets.pkl'
    path.write_bytes(pickle.dumps(images))
    out = bench.posthoc_numbers(str(path))
    # raw LaECE_0: LRP-optimal threshold 0.9 keeps the 4 hits (IoU 1): |1 - 0.9|
    assert out['laece0'] == pytest.approx(0.1)
    # each fold is fitted on two images of the same pattern: isotonic maps 0.9 -> 1 and 0.8 -> 0 (up to 1e-6)
    assert out['posthoc']['dece'] == pytest.approx(0.0, abs=1e-5)
    assert out['posthoc']['laece0'] == pytest.approx(0.0, abs=1e-5)
