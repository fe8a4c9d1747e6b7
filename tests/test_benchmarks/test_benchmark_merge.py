"""--merge (benchmarks/selfkd/merge.py): one table of the finished runs of earlier benchmark directories, later
directories winning, each run against its own directory's baseline, variants kept, other settings refused, and
runs written before the precision entry completed from their pairs.npz."""

import json
from dataclasses import replace

import pytest

from benchmark_reports import finished_run, run, table_rows
from conftest import BCCD_VOC_ROOT, REPO, needs_bccd
from selfkd.cli import main
from selfkd.modes import BCCD_MODES, SHAPES_MODES


def test_merge_collects_finished_runs_later_dirs_winning(tmp_path):
    interrupted, completion = tmp_path / 'a', tmp_path / 'b'
    for result in (run('baseline', 0, 2.0, 0.1), run('pskd', 0, 3.0, 0.5)):
        finished_run(interrupted, result)
    (interrupted / 'runs' / 'cskd' / 'seed0').mkdir(parents=True)  # crashed: no result.json
    for result in (run('baseline', 0, 4.0, 0.3), run('baseline', 1, 4.0, 0.5), run('ls', 1, 4.0, 0.2)):
        finished_run(completion, result)
    main(['--mode', 'cpu-tiny', '--merge', str(interrupted), str(completion), '--out-dir', str(tmp_path / 'm')])
    report = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert report['methods'] == ['baseline', 'pskd', 'ls'] and report['seeds'] == [0, 1]
    rows = table_rows((tmp_path / 'm' / 'table.md').read_text())
    assert rows['baseline']['bbox mAP'] == '0.400 ± 0.141'  # seed 0 from the later directory: 0.3, not 0.1
    assert rows['pskd']['step-time ratio'] == '1.50'  # 3.0 s over its own directory's baseline, 2.0 s
    assert rows['ls']['step-time ratio'] == '1.00'  # 4.0 s over the same seed's baseline, 4.0 s
    assert rows['ls']['bbox mAP'] == '0.200 ± n/a'
    assert (tmp_path / 'm' / 'reliability.png').stat().st_size > 0


def test_merge_keeps_variants_and_refuses_other_epochs(tmp_path):
    settings = SHAPES_MODES['cpu-tiny']
    variant = dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.4})
    swept = replace(settings, variants={'pskd-a0.4': variant})
    finished_run(tmp_path / 'a', run('baseline', 0, 2.0, 0.1))
    finished_run(tmp_path / 'b', run('baseline', 0, 2.0, 0.3), swept)
    finished_run(tmp_path / 'b', run('pskd-a0.4', 0, 3.0, 0.5, variant=variant), swept)
    main(['--mode', 'cpu-tiny', '--merge', str(tmp_path / 'a'), str(tmp_path / 'b'), '--out-dir', str(tmp_path / 'm')])
    report = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert report['methods'] == ['baseline', 'pskd-a0.4'] and report['settings']['variants'] == {'pskd-a0.4': variant}
    table = (tmp_path / 'm' / 'table.md').read_text()
    assert 'Variants: `pskd-a0.4` = pskd with `custom_hooks.0.alpha_T=0.4`.' in table
    assert table_rows(table)['pskd-a0.4']['step-time ratio'] == '1.50'

    finished_run(tmp_path / 'c', run('pskd', 0, 2.0, 0.1), replace(settings, epochs=4))
    dirs = [str(tmp_path / 'a'), str(tmp_path / 'c')]
    with pytest.raises(SystemExit, match=r'was run with epochs=4, this benchmark has epochs=2'):
        main(['--mode', 'cpu-tiny', '--merge', *dirs, '--out-dir', str(tmp_path / 'm2')])


def test_runs_without_precision_get_it_from_their_pairs(tmp_path):
    finished_run(tmp_path / 'a', run('baseline', 0, 2.0, 0.1, num_dets=2))  # as the code before it wrote them
    finished_run(tmp_path / 'a', run('pskd', 0, 2.0, 0.1, num_dets=7, precision=0.25))
    main(['--mode', 'cpu-tiny', '--merge', str(tmp_path / 'a'), '--out-dir', str(tmp_path / 'm')])
    rows = table_rows((tmp_path / 'm' / 'table.md').read_text())
    assert rows['baseline']['dets ≥ 0.3'] == '2 ± n/a' and rows['baseline']['precision ≥ 0.3'] == '0.500 ± n/a'
    assert rows['pskd']['dets ≥ 0.3'] == '7 ± n/a' and rows['pskd']['precision ≥ 0.3'] == '0.250 ± n/a'  # its own


@needs_bccd
def test_merge_reads_the_runs_the_current_study_writes(tmp_path):
    """Runs as the benchmark wrote them before this package (docs/benchmarks_bccd_lite_seed0.json's, in the
    layout of a study's benchmark directories: runs/<method>/seed<k>/ with result.json, spec.json, pairs.npz)."""
    written = json.loads((REPO / 'docs' / 'benchmarks_bccd_lite_seed0.json').read_text())
    lite = replace(BCCD_MODES['lite'], seeds=(0,), methods=('baseline', 'pskd'))
    for result in written['runs']:
        result = {k: v for k, v in result.items() if k not in ('work_dir', 'reference_step_s')}  # the parent's
        finished_run(tmp_path / 'study', result, lite)
    main(
        ['--family', 'bccd', '--mode', 'lite', '--data-root', str(BCCD_VOC_ROOT)]
        + ['--merge', str(tmp_path / 'study'), '--out-dir', str(tmp_path / 'm')]
    )
    report = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert report['methods'] == ['baseline', 'pskd', 'pskd-fg'] and report['data']['test_images'] == 72
    rows = table_rows((tmp_path / 'm' / 'table.md').read_text())
    assert rows['baseline']['bbox mAP'] == '0.536 ± n/a' and rows['pskd']['LaECE₀'] == '0.088 ± n/a'
    assert rows['baseline']['dets ≥ 0.3'] == '1278 ± n/a'  # its result.json's
    assert rows['baseline']['precision ≥ 0.3'] == '0.500 ± n/a'  # from the stand-in pairs.npz: 1 TP of 2
    assert rows['baseline + post-hoc']['D-ECE'] == '0.027 ± n/a'
