"""The benchmark's command line (benchmarks/selfkd/cli.py): the mode per family, --methods / --seeds / --epochs /
--cfg-options / --variant resolved into the run settings, --data-root, and what is refused."""

import pytest

from benchmark_reports import report, run
from selfkd.cli import main, parse_args, resolve_data_root, resolve_settings
from selfkd.data import BCCD_BASE_CONFIG, config_data_root
from selfkd.modes import BCCD_CPU_OPTIONS, BCCD_MODES, SHAPES_MODES, STUDY_METHODS, STUDY_VARIANTS
from selfkd.tables import render_table


def test_refuses_an_existing_out_dir_and_leaves_it_as_it_was(tmp_path):
    (tmp_path / 'results.json').write_text('{}')
    with pytest.raises(SystemExit, match=f'--out-dir {tmp_path} exists: a benchmark never overwrites'):
        main(['--mode', 'cpu-tiny', '--out-dir', str(tmp_path)])
    assert [p.name for p in tmp_path.iterdir()] == ['results.json']
    assert (tmp_path / 'results.json').read_text() == '{}'


def test_refuses_a_missing_data_root_before_making_the_out_dir(tmp_path):
    out_dir = tmp_path / 'bench'
    missing = tmp_path / 'no-bccd'
    argv = ['--family', 'bccd', '--mode', 'lite', '--data-root', str(missing), '--out-dir', str(out_dir)]
    with pytest.raises(SystemExit, match=f'--data-root {missing} \\(given\\): no such folder'):
        main(argv)
    assert not out_dir.exists()


def test_mode_per_family():
    default = resolve_settings(parse_args(['--family', 'bccd']))
    assert default == BCCD_MODES['cpu-reduced']  # the family's first mode
    assert resolve_settings(parse_args([])) == SHAPES_MODES['cpu-tiny']
    with pytest.raises(SystemExit, match='family bccd has no mode cpu-tiny'):
        resolve_settings(parse_args(['--family', 'bccd', '--mode', 'cpu-tiny']))


def test_data_root_defaults_to_the_configs_and_is_refused_for_generated_data():
    assert resolve_data_root(parse_args(['--family', 'bccd'])) == config_data_root(BCCD_BASE_CONFIG)
    assert config_data_root(BCCD_BASE_CONFIG).endswith('/data/bccd/BCCD/')
    assert resolve_data_root(parse_args(['--family', 'aquarium', '--data-root', '/elsewhere/aq'])) == '/elsewhere/aq'
    assert resolve_data_root(parse_args([])) is None  # shapes: generated
    with pytest.raises(SystemExit, match='--data-root /x: family shapes generates its data'):
        resolve_data_root(parse_args(['--data-root', '/x']))


def test_variants_on_the_command_line():
    args = parse_args(
        ['--methods', 'pskd', '--epochs', '4']
        + ['--variant', 'pskd-a0.4', 'pskd', 'custom_hooks.0.alpha_T=0.4']
        + ['--variant', 'pskd-iou-0.5', 'pskd-iou', 'custom_hooks.0.memory.iou_thr=0.5', 'custom_hooks.0.by_iter=True']
    )
    settings = resolve_settings(args)
    assert settings.methods == ('baseline', 'pskd', 'pskd-a0.4', 'pskd-iou-0.5') and settings.epochs == 4
    assert settings.variants == {
        'pskd-a0.4': dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.4}),
        'pskd-iou-0.5': dict(
            method='pskd-iou', options={'custom_hooks.0.memory.iou_thr': 0.5, 'custom_hooks.0.by_iter': True}
        ),
    }
    assert SHAPES_MODES['cpu-tiny'].epochs == 2 and not SHAPES_MODES['cpu-tiny'].variants  # untouched


def test_cfg_options_for_every_method_after_the_modes():
    args = ['--family', 'bccd', '--methods', 'pskd', '--cfg-options']
    settings = resolve_settings(
        parse_args(args + ['optim_wrapper.optimizer.lr=0.005', 'model.train_cfg.rcnn.sampler.num=64'])
    )
    assert settings.cfg_options == {
        **BCCD_CPU_OPTIONS,
        'optim_wrapper.optimizer.lr': 0.005,
        'model.train_cfg.rcnn.sampler.num': 64,
    }
    assert BCCD_MODES['cpu-reduced'].cfg_options['model.train_cfg.rcnn.sampler.num'] == 128  # untouched
    hand = report([run('baseline', 0, 3.0, 0.2)], ['baseline'], [0], settings, 'bccd', 'cpu-reduced', (205, 72))
    assert '`optim_wrapper.optimizer.lr=0.005`' in render_table(hand).splitlines()[0]


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--variant', 'pskd', 'pskd', 'custom_hooks.0.alpha_T=0.4'], 'name is taken'),
        (['--variant', 'a', 'pskd', 'x=1', '--variant', 'a', 'ls', 'y=2'], 'name is taken'),
        (['--variant', 'a', 'focal', 'x=1'], 'method focal is not in the family'),
        (['--variant', 'a', 'pskd', 'alpha_T'], 'alpha_T is not KEY=VALUE'),
        (['--variant', 'a', 'pskd'], 'give NAME METHOD KEY=VALUE'),
        (['--epochs', '0'], '--epochs 0: give at least 1 epoch'),
    ],
)
def test_bad_variants_and_epochs_are_refused(argv, message):
    with pytest.raises(SystemExit, match=message):
        resolve_settings(parse_args(argv))


def test_lite_mode_runs_the_study_arms_and_keeps_cli_variants():
    settings = resolve_settings(parse_args(['--family', 'bccd', '--mode', 'lite']))
    assert settings.methods == STUDY_METHODS + tuple(STUDY_VARIANTS)
    assert settings.epochs == 12 and settings.img_scale == (320, 240)
    assert settings.cfg_options['model.neck.out_channels'] == 64
    # a --methods choice runs those methods and the --variant ones, not the mode's variants
    chosen = resolve_settings(
        parse_args(
            ['--family', 'aquarium', '--mode', 'lite', '--methods', 'pskd']
            + ['--variant', 'pskd-a0.6', 'pskd', 'custom_hooks.0.alpha_T=0.6']
        )
    )
    assert chosen.methods == ('baseline', 'pskd', 'pskd-a0.6') and list(chosen.variants) == ['pskd-a0.6']
    with pytest.raises(SystemExit, match='taken'):
        resolve_settings(
            parse_args(
                ['--family', 'bccd', '--mode', 'lite', '--variant', 'pskd-fg', 'pskd', 'custom_hooks.0.alpha_T=0.6']
            )
        )
