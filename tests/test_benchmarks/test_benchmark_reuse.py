"""--reuse (benchmarks/selfkd/merge.py's reusable_runs, benchmark.py): a benchmark takes the runs that earlier
benchmark directories finished with its settings instead of training them again, refuses runs of other settings
or other variant options, and --merge of a reusing directory reports the runs it reused. Training the runs they
lack is tested by the real cpu-tiny run."""

import json
from dataclasses import replace

import pytest

from benchmark_reports import finished_run, report, run, table_rows
from selfkd.cli import main
from selfkd.modes import SHAPES_MODES


def test_a_benchmark_whose_runs_are_all_finished_trains_nothing(tmp_path, capsys):
    earlier, later = tmp_path / 'a', tmp_path / 'b'
    for result in (run('baseline', 0, 2.0, 0.1), run('pskd', 0, 3.0, 0.5), run('ls', 0, 2.0, 0.2)):
        finished_run(earlier, result)
    finished_run(later, run('baseline', 0, 4.0, 0.3))  # later directories win
    main(
        ['--mode', 'cpu-tiny', '--methods', 'baseline', 'pskd', '--seeds', '0']
        + ['--reuse', str(earlier), str(later), '--out-dir', str(tmp_path / 'c')]
    )
    out = capsys.readouterr().out
    assert 'baseline seed 0: reused, ../b/runs/baseline/seed0' in out and '[1/' not in out  # no worker ran
    report = json.loads((tmp_path / 'c' / 'results.json').read_text())
    assert report['methods'] == ['baseline', 'pskd']  # ls is not one of this benchmark's methods
    assert [(r['method'], r['seed'], r['work_dir']) for r in report['runs']] == [
        ('baseline', 0, '../b/runs/baseline/seed0'),
        ('pskd', 0, '../a/runs/pskd/seed0'),
    ]
    assert report['reused'] == [
        dict(method='baseline', seed=0, work_dir='../b/runs/baseline/seed0'),
        dict(method='pskd', seed=0, work_dir='../a/runs/pskd/seed0'),
    ]
    table = (tmp_path / 'c' / 'table.md').read_text()
    rows = table_rows(table)
    assert rows['baseline']['bbox mAP'] == '0.300 ± n/a' and rows['pskd']['bbox mAP'] == '0.500 ± n/a'
    assert rows['pskd']['step-time ratio'] == '1.50'  # against its own directory's baseline, 2.0 s

    # merging the reusing directory alone gives its runs, each against the baseline it had there
    main(['--mode', 'cpu-tiny', '--merge', str(tmp_path / 'c'), '--out-dir', str(tmp_path / 'm')])
    merged = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert [(r['method'], r['work_dir']) for r in merged['runs']] == [
        ('baseline', '../b/runs/baseline/seed0'),
        ('pskd', '../a/runs/pskd/seed0'),
    ]
    assert table_rows((tmp_path / 'm' / 'table.md').read_text())['pskd']['step-time ratio'] == '1.50'
    assert table.rstrip().endswith(
        '**Reused runs**, trained by an earlier benchmark (their directory, relative to this one): '
        'baseline seed 0 (../b/runs/baseline/seed0); pskd seed 0 (../a/runs/pskd/seed0).'
    )


def test_reuse_refuses_a_variant_run_with_other_options_and_runs_of_other_settings(tmp_path):
    settings = SHAPES_MODES['cpu-tiny']
    other = dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.2})
    finished_run(tmp_path / 'a', run('baseline', 0, 2.0, 0.1))
    finished_run(
        tmp_path / 'a', run('pskd-a', 0, 3.0, 0.5, variant=other), replace(settings, variants={'pskd-a': other})
    )
    args = ['--mode', 'cpu-tiny', '--methods', 'baseline', '--seeds', '0', '--reuse', str(tmp_path / 'a')]
    with pytest.raises(
        SystemExit,
        match=r'--reuse: \.\./a/runs/pskd-a/seed0 ran pskd-a as .*alpha_T.: 0\.2.*'
        r'this benchmark runs it as .*alpha_T.: 0\.4.*give the variant another name',
    ):
        main([*args, '--variant', 'pskd-a', 'pskd', 'custom_hooks.0.alpha_T=0.4', '--out-dir', str(tmp_path / 'b')])

    finished_run(tmp_path / 'c', run('baseline', 0, 2.0, 0.1), replace(settings, epochs=4))
    with pytest.raises(SystemExit, match=r'was run with epochs=4, this benchmark has epochs=2: merge or reuse'):
        main(['--mode', 'cpu-tiny', '--seeds', '0', '--reuse', str(tmp_path / 'c'), '--out-dir', str(tmp_path / 'd')])


def test_reuse_and_merge_are_refused_together(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(
            ['--mode', 'cpu-tiny', '--merge', str(tmp_path), '--reuse', str(tmp_path), '--out-dir', str(tmp_path / 'm')]
        )
    assert '--merge trains nothing and --reuse trains what its directories lack' in capsys.readouterr().err


def test_reuse_refuses_a_directory_that_is_not_a_benchmark(tmp_path):
    (tmp_path / 'typo').mkdir()
    with pytest.raises(SystemExit, match=r'typo is not a benchmark directory \(no runs/, no results.json\)'):
        main(['--mode', 'cpu-tiny', '--reuse', str(tmp_path / 'typo'), '--out-dir', str(tmp_path / 'b')])


def published_report(tmp_path, runs, settings=SHAPES_MODES['cpu-tiny']):
    """A benchmark report written to ``tmp_path/published.json``, as a docs/benchmarks_*.json is; its path."""
    path = tmp_path / 'published.json'
    path.write_text(json.dumps(report(runs, sorted({r['method'] for r in runs}), [0], settings)))
    return path


def test_a_report_file_is_reused_its_runs_copied_into_the_new_directory(tmp_path, capsys):
    def entry(method, step, mAP):
        return run(method, 0, step, mAP, precision=0.5, reference_step_s=2.0, work_dir=f'runs/{method}/seed0')

    published = published_report(
        tmp_path, [entry('baseline', 2.0, 0.3), entry('pskd', 3.0, 0.5), entry('ls', 2.0, 0.2)]
    )
    for result in (run('baseline', 1, 4.0, 0.4), run('pskd', 1, 6.0, 0.45)):  # with their pairs.npz
        finished_run(tmp_path / 'a', result)
    main(
        ['--mode', 'cpu-tiny', '--methods', 'baseline', 'pskd', '--seeds', '0', '1']
        + ['--reuse', str(published), str(tmp_path / 'a'), '--out-dir', str(tmp_path / 'c')]
    )
    out = capsys.readouterr().out
    assert 'baseline seed 0: reused, reused/1-published/baseline/seed0' in out
    assert 'pskd seed 1: reused, ../a/runs/pskd/seed1' in out and '[1/' not in out  # no worker ran
    copy = tmp_path / 'c' / 'reused' / '1-published' / 'pskd' / 'seed0'
    assert json.loads((copy / 'result.json').read_text()) == run('pskd', 0, 3.0, 0.5, precision=0.5)
    assert json.loads((copy / 'spec.json').read_text())['settings']['epochs'] == 2
    assert sorted(p.name for p in (tmp_path / 'c' / 'reused' / '1-published').iterdir()) == ['baseline', 'pskd']
    result = json.loads((tmp_path / 'c' / 'results.json').read_text())
    assert [(r['method'], r['seed'], r['work_dir']) for r in result['runs']][:2] == [
        ('baseline', 0, 'reused/1-published/baseline/seed0'),
        ('pskd', 0, 'reused/1-published/pskd/seed0'),
    ]
    assert (tmp_path / 'c' / 'reliability.png').exists()  # seed 1's runs have pairs.npz

    # the reusing directory is self-contained: merging it alone finds the copies, at the ratio they had (1.50)
    main(['--mode', 'cpu-tiny', '--seeds', '0', '--merge', str(tmp_path / 'c'), '--out-dir', str(tmp_path / 'm')])
    merged = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert ('pskd', 0, '../c/reused/1-published/pskd/seed0') in [
        (r['method'], r['seed'], r['work_dir']) for r in merged['runs']
    ]
    pskd_seed0 = next(r for r in merged['runs'] if (r['method'], r['seed']) == ('pskd', 0))
    assert pskd_seed0['step_time_s'] / pskd_seed0['reference_step_s'] == 1.5

    # runs without their pairs.npz only: the table, no reliability diagram
    main(
        ['--mode', 'cpu-tiny', '--methods', 'baseline', 'pskd', '--seeds', '0']
        + ['--reuse', str(published), '--out-dir', str(tmp_path / 'd')]
    )
    assert table_rows((tmp_path / 'd' / 'table.md').read_text())['pskd']['step-time ratio'] == '1.50'
    assert not (tmp_path / 'd' / 'reliability.png').exists()
    assert '(table.md, results.json)' in capsys.readouterr().out.splitlines()[-1]


def test_reuse_refuses_a_report_of_other_settings_an_old_report_and_a_file_that_is_not_one(tmp_path):
    args = ['--mode', 'cpu-tiny', '--methods', 'baseline', '--seeds', '0', '--reuse']
    full = dict(precision=0.5, reference_step_s=2.0, work_dir='runs/baseline/seed0')
    other = published_report(
        tmp_path, [run('baseline', 0, 2.0, 0.3, **full)], replace(SHAPES_MODES['cpu-tiny'], epochs=4)
    )
    with pytest.raises(SystemExit, match=r'published.json was run with epochs=4, this benchmark has epochs=2'):
        main([*args, str(other), '--out-dir', str(tmp_path / 'b')])

    old = published_report(tmp_path, [run('baseline', 0, 2.0, 0.3, work_dir='runs/baseline/seed0')])
    with pytest.raises(SystemExit, match=r'baseline seed 0 has no precision or reference_step_s .*reuse the benchmark'):
        main([*args, str(old), '--out-dir', str(tmp_path / 'c')])

    (tmp_path / 'notes.txt').write_text('baseline: 0.3\n')
    with pytest.raises(SystemExit, match=r'notes.txt is not a benchmark report \(a results.json\): check the path'):
        main([*args, str(tmp_path / 'notes.txt'), '--out-dir', str(tmp_path / 'd')])
