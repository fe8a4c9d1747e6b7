"""benchmarks/selfkd_benchmark.py: the mean ± std arithmetic, the table, a real cpu-tiny run (baseline and
PS-KD, one seed) through the command line, and the BCCD family's data, modes and run configs (no BCCD training:
one BCCD epoch takes ~85 s on 2 CPU cores)."""

import json
import math
import os.path as osp
import re
from dataclasses import asdict, replace

import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmdet.utils import register_all_modules

from conftest import REPO, load_benchmark, run_tool

bench = load_benchmark()

NUMBER_PM = r'\d+\.\d{3} ± (\d+\.\d{3}|n/a)'


def table_rows(table: str) -> dict:
    """Method -> cells of the Markdown table's body rows."""
    rows = [line.strip('|').split('|') for line in table.splitlines() if line.startswith('| ')]
    header, *body = [[cell.strip() for cell in row] for row in rows]
    return {row[0]: dict(zip(header, row)) for row in body}


def test_mean_std_is_mean_and_sample_std():
    mean, std = bench.mean_std([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and std == pytest.approx(0.1)  # ddof=1; the population std is 0.0816
    assert bench.format_mean_std([0.1, 0.2, 0.3]) == '0.200 ± 0.100'
    assert bench.format_mean_std([0.30, 0.36]) == '0.330 ± 0.042'  # sqrt(((-0.03)^2 + 0.03^2) / 1)


def test_mean_std_undefined_values():
    assert bench.format_mean_std([0.5]) == '0.500 ± n/a'  # one seed: no sample std
    assert bench.format_mean_std([0.1, None, float('nan'), 0.3]) == '0.200 ± 0.141'  # D-ECE without detections
    assert bench.format_mean_std([None]) == 'n/a'


def _run(method: str, seed: int, step: float, mAP: float, gpu=None) -> dict:
    return dict(
        method=method,
        seed=seed,
        device='CPU (2 torch threads)',
        bbox_mAP=mAP,
        bbox_mAP_50=2 * mAP,
        dece=0.1,
        step_time_s=step,
        peak_gpu_mib=gpu,
        peak_rss_mib=900.0 + seed,
    )


def test_table_from_hand_numbers():
    settings = asdict(bench.SHAPES_MODES['cpu-tiny'])
    report = dict(
        family='shapes',
        description='model on data',
        mode='cpu-tiny',
        settings=settings,
        data=dict(options={}, train_images=16, test_images=8),
        methods=['baseline', 'pskd'],
        seeds=[0, 1],
        runs=[
            _run('baseline', 0, 1.0, 0.1),
            _run('baseline', 1, 3.0, 0.3),
            _run('pskd', 0, 3.0, 0.2),
            _run('pskd', 1, 5.0, 0.4),
        ],
    )
    table = bench.render_table(report)
    assert '16 train / 8 held-out images, 2 epochs, batch 4, seeds 0, 1; device: CPU (2 torch threads)' in table
    rows = table_rows(table)
    assert rows['baseline']['bbox mAP'] == '0.200 ± 0.141'
    assert rows['baseline']['step-time ratio'] == '1.00'
    assert rows['pskd']['step-time ratio'] == '2.00'  # no per-run reference (older reports): 4.0 s over 2.0 s
    bench.attach_reference_step_times(report['runs'])  # each seed against its own baseline run
    assert [run['reference_step_s'] for run in report['runs']] == [1.0, 3.0, 1.0, 3.0]
    rows = table_rows(bench.render_table(report))
    assert rows['baseline']['step-time ratio'] == '1.00'
    assert rows['pskd']['step-time ratio'] == '2.33'  # (3.0 / 1.0 + 5.0 / 3.0) / 2
    assert rows['pskd']['mAP@50'] == '0.600 ± 0.283'
    assert rows['pskd']['peak GPU mem'] == 'n/a (CPU)'
    assert rows['pskd']['peak RSS'] == '901 MiB'  # max over seeds
    report['runs'][2]['peak_gpu_mib'] = 1234.4
    assert table_rows(bench.render_table(report))['pskd']['peak GPU mem'] == '1234 MiB'


def test_a_diverged_run_is_reported_not_averaged_away():
    settings = asdict(bench.SHAPES_MODES['cpu-tiny'])
    runs = [_run('baseline', 0, 1.0, 0.1), _run('cskd', 0, 1.0, 0.0), _run('cskd', 1, 1.0, 0.2)]
    runs[1].update(diverged=True, dece=None)
    report = dict(
        family='shapes',
        description='model on data',
        mode='cpu-tiny',
        settings=settings,
        data=dict(options={}, train_images=16, test_images=8),
        methods=['baseline', 'cskd'],
        seeds=[0, 1],
        runs=runs,
    )
    rows = table_rows(bench.render_table(report))
    assert rows['cskd (loss NaN in 1/2 seeds)']['bbox mAP'] == '0.100 ± 0.141'
    assert rows['cskd (loss NaN in 1/2 seeds)']['D-ECE'] == '0.100 ± n/a'
    assert bench.coco_ap({}, 'coco/bbox_mAP') == 0.0  # CocoMetric reports nothing without detections


def _finished_run(bench_dir, run: dict, settings=bench.SHAPES_MODES['cpu-tiny']) -> None:
    run_dir = bench_dir / 'runs' / run['method'] / f'seed{run["seed"]}'
    run_dir.mkdir(parents=True)
    (run_dir / 'result.json').write_text(json.dumps(run))
    (run_dir / 'spec.json').write_text(json.dumps(dict(settings=asdict(settings))))
    np.savez(run_dir / 'pairs.npz', scores=np.array([0.9, 0.4]), labels=np.array([0, 1]), is_tp=np.array([1, 0], bool))


def test_merge_collects_finished_runs_later_dirs_winning(tmp_path):
    interrupted, completion = tmp_path / 'a', tmp_path / 'b'
    for run in (_run('baseline', 0, 2.0, 0.1), _run('pskd', 0, 3.0, 0.5)):
        _finished_run(interrupted, run)
    (interrupted / 'runs' / 'cskd' / 'seed0').mkdir(parents=True)  # crashed: no result.json
    for run in (_run('baseline', 0, 4.0, 0.3), _run('baseline', 1, 4.0, 0.5), _run('ls', 1, 4.0, 0.2)):
        _finished_run(completion, run)
    bench.main(['--mode', 'cpu-tiny', '--merge', str(interrupted), str(completion), '--out-dir', str(tmp_path / 'm')])
    report = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert report['methods'] == ['baseline', 'pskd', 'ls'] and report['seeds'] == [0, 1]
    rows = table_rows((tmp_path / 'm' / 'table.md').read_text())
    assert rows['baseline']['bbox mAP'] == '0.400 ± 0.141'  # seed 0 from the later directory: 0.3, not 0.1
    assert rows['pskd']['step-time ratio'] == '1.50'  # 3.0 s over its own directory's baseline, 2.0 s
    assert rows['ls']['step-time ratio'] == '1.00'  # 4.0 s over the same seed's baseline, 4.0 s
    assert rows['ls']['bbox mAP'] == '0.200 ± n/a'
    assert (tmp_path / 'm' / 'reliability.png').stat().st_size > 0


def test_refuses_an_existing_out_dir(tmp_path):
    with pytest.raises(FileExistsError):
        bench.main(['--mode', 'cpu-tiny', '--out-dir', str(tmp_path)])


@pytest.mark.slow
def test_cpu_tiny_run(tmp_path):
    out_dir = tmp_path / 'bench'
    proc = run_tool(
        [
            'benchmarks/selfkd_benchmark.py',
            '--mode',
            'cpu-tiny',
            '--methods',
            'baseline',
            'pskd',
            '--seeds',
            '0',
            '--out-dir',
            str(out_dir),
        ]
    )
    table = (out_dir / 'table.md').read_text()
    assert table in proc.stdout  # printed at the end
    assert 'mode `cpu-tiny`: 16 train / 8 held-out images, 2 epochs, batch 4, seeds 0; device: CPU' in table
    rows = table_rows(table)
    assert list(rows) == ['baseline', 'pskd', 'baseline + post-hoc', 'pskd + post-hoc']
    for row in rows.values():
        assert re.fullmatch(NUMBER_PM, row['bbox mAP']) and re.fullmatch(NUMBER_PM, row['mAP@50'])
        # D-ECE is n/a when no detection reaches the metric's 0.3 score threshold (likely after 8 iterations)
        assert re.fullmatch(NUMBER_PM, row['D-ECE']) or row['D-ECE'] == 'n/a'
        assert float(row['step-time ratio']) > 0 and row['peak GPU mem'] == 'n/a (CPU)'
        assert re.fullmatch(r'\d+ MiB', row['peak RSS'])
    assert rows['baseline']['step-time ratio'] == '1.00'

    assert (out_dir / 'reliability.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    report = json.loads((out_dir / 'results.json').read_text())
    assert [(run['method'], run['seed']) for run in report['runs']] == [('baseline', 0), ('pskd', 0)]
    for run in report['runs']:
        assert run['timed_iters'] == 6  # 2 epochs x 4 iterations, the first 2 left out
        assert math.isfinite(run['step_time_s']) and run['peak_rss_mib'] > 100
        assert (out_dir / run['work_dir'] / 'pairs.npz').exists()
    rebuilt = run_tool(['benchmarks/selfkd_benchmark.py', '--table-from', str(out_dir / 'results.json')])
    assert table in rebuilt.stdout


# ----------------------------------------------------------------------------------------------- BCCD family

BCCD_VOC = REPO.parent / 'shared' / 'data' / 'bccd' / 'BCCD'
needs_bccd = pytest.mark.skipif(not BCCD_VOC.is_dir(), reason='BCCD data not present')


@pytest.fixture(scope='module')
def bccd_data(tmp_path_factory):
    """BCCD converted by the benchmark's own preparation, as for a cpu-reduced run."""
    data_dir = tmp_path_factory.mktemp('bench_data')
    return str(data_dir), bench.prepare_bccd(str(data_dir), bench.BCCD_MODES['cpu-reduced'])


@needs_bccd
def test_prepare_bccd_converts_the_real_splits(bccd_data):
    data_dir, data = bccd_data
    assert (data.train_images, data.test_images) == (205, 72)
    for split, images in [('train', 205), ('val', 87), ('test', 72)]:
        with open(osp.join(data_dir, 'bccd_coco', f'{split}.json')) as f:
            coco = json.load(f)
        assert len(coco['images']) == images
        assert [(c['id'], c['name']) for c in coco['categories']] == [(1, 'RBC'), (2, 'WBC'), (3, 'Platelets')]


@needs_bccd
def test_bccd_options_point_at_the_converted_splits(bccd_data):
    data_dir, data = bccd_data
    ann = {split: osp.join(data_dir, 'bccd_coco', f'{split}.json') for split in ('train', 'val', 'test')}
    for loader, split in [('train_dataloader', 'train'), ('val_dataloader', 'val'), ('test_dataloader', 'test')]:
        assert data.options[f'{loader}.dataset.ann_file'] == ann[split]
        assert osp.samefile(data.options[f'{loader}.dataset.data_root'], BCCD_VOC)
    assert data.options['val_evaluator.ann_file'] == ann['val']
    assert data.options['test_evaluator.ann_file'] == ann['test']  # the held-out split


@needs_bccd
@pytest.mark.parametrize('method', ['baseline', 'mrkd'])
def test_bccd_cpu_reduced_run_config(bccd_data, tmp_path, method):
    """The merged config of a cpu-reduced run: data, image scale, lighter RoI stage, scaled schedule."""
    data_dir, data = bccd_data
    settings = bench.BCCD_MODES['cpu-reduced']
    spec = bench.run_spec(str(tmp_path), bench.FAMILIES['bccd'], method, 1, settings, data)
    cfg = bench.build_run_config(json.loads(json.dumps(spec)))  # as the worker reads it
    assert cfg.train_cfg.max_epochs == 2 and cfg.randomness.seed == 1
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_dataloader.num_workers == 0
    assert cfg.model.train_cfg.rcnn.sampler.num == 128 and cfg.model.test_cfg.rpn.max_per_img == 300
    warmup, steps = cfg.param_scheduler
    assert warmup.end == 8  # 50 of 12 epochs' iterations -> 50 * 2 / 12
    assert steps.milestones == [1, 2] and steps.end == 2  # [8, 11] of 12 epochs
    evaluators = {e.type: e for e in cfg.test_evaluator}
    assert evaluators['CocoMetric'].ann_file == data.options['test_evaluator.ann_file']
    assert 'CalibrationPairsMetric' in evaluators

    register_all_modules()
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 72
    assert tuple(test_set[0]['inputs'].shape) == (3, 192, 256)  # 640x480 resized to the mode's 256x192
    train_steps = [step for step in cfg.train_dataloader.dataset.pipeline if step.type == 'Resize']
    assert [step.scale for step in train_steps] == [(256, 192)]
    if method == 'mrkd':  # one copy refreshed per epoch: 205 images at batch 8
        assert cfg.custom_hooks[0].interval == math.ceil(data.train_images / settings.batch_size) == 26


def test_bccd_modes_and_methods():
    family = bench.FAMILIES['bccd']
    assert set(family.configs) == set(bench.BENCHMARK_METHODS)
    assert all((REPO / path).is_file() for path in family.configs.values())  # each builds: test_bccd_configs.py
    for name, settings in family.modes.items():
        assert settings.train_images is None and settings.val_images is None  # all of BCCD's images
        assert len(settings.seeds) == 3
        assert settings.methods == (bench.STUDY_METHODS if name == 'lite' else bench.BENCHMARK_METHODS)
    full = family.modes['full']
    assert full.img_scale is None and full.epochs == 12 and not full.cpu_only and not full.cfg_options


def test_bccd_caption_names_scale_and_mode_options():
    report = dict(
        family='bccd',
        description='model on data',
        mode='cpu-reduced',
        settings=json.loads(json.dumps(asdict(bench.BCCD_MODES['cpu-reduced']))),
        data=dict(options={}, train_images=205, test_images=72),
        methods=['baseline'],
        seeds=[0],
        runs=[_run('baseline', 0, 3.0, 0.2)],
    )
    caption = bench.render_table(report).splitlines()[0]
    assert '205 train / 72 held-out images, 2 epochs, batch 8, images resized to 256x192, seeds 0;' in caption
    assert '`model.train_cfg.rcnn.sampler.num=128`' in caption


def test_mode_per_family():
    default = bench.resolve_settings(bench.parse_args(['--family', 'bccd']))
    assert default == bench.BCCD_MODES['cpu-reduced']  # the family's first mode
    assert bench.resolve_settings(bench.parse_args([])) == bench.SHAPES_MODES['cpu-tiny']
    with pytest.raises(SystemExit, match='family bccd has no mode cpu-tiny'):
        bench.resolve_settings(bench.parse_args(['--family', 'bccd', '--mode', 'cpu-tiny']))


def test_shapes_schedule_unchanged_at_its_epochs(tmp_path):
    """Scaling the schedule is the identity at the config's own epochs (the shapes cpu-reduced / full runs)."""
    settings = bench.SHAPES_MODES['cpu-reduced']
    data = bench.PreparedData({}, train_images=200, test_images=50)
    cfg = bench.build_run_config(bench.run_spec(str(tmp_path), bench.FAMILIES['shapes'], 'baseline', 0, settings, data))
    warmup, steps = cfg.param_scheduler
    assert (warmup.end, steps.milestones, steps.end) == (100, [6], 8)


def test_variants_on_the_command_line():
    args = bench.parse_args(
        [
            '--methods',
            'pskd',
            '--epochs',
            '4',
            '--variant',
            'pskd-a0.4',
            'pskd',
            'custom_hooks.0.alpha_T=0.4',
            '--variant',
            'pskd-iou-0.5',
            'pskd-iou',
            'custom_hooks.0.memory.iou_thr=0.5',
            'custom_hooks.0.by_iter=True',
        ]
    )
    settings = bench.resolve_settings(args)
    assert settings.methods == ('baseline', 'pskd', 'pskd-a0.4', 'pskd-iou-0.5') and settings.epochs == 4
    assert settings.variants == {
        'pskd-a0.4': dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.4}),
        'pskd-iou-0.5': dict(
            method='pskd-iou', options={'custom_hooks.0.memory.iou_thr': 0.5, 'custom_hooks.0.by_iter': True}
        ),
    }
    assert bench.SHAPES_MODES['cpu-tiny'].epochs == 2 and not bench.SHAPES_MODES['cpu-tiny'].variants  # untouched


def test_cfg_options_for_every_method_after_the_modes(tmp_path):
    settings = bench.resolve_settings(
        bench.parse_args(
            [
                '--family',
                'bccd',
                '--methods',
                'pskd',
                '--cfg-options',
                'optim_wrapper.optimizer.lr=0.005',
                'model.train_cfg.rcnn.sampler.num=64',
            ]
        )
    )
    assert settings.cfg_options == {
        **bench.BCCD_CPU_OPTIONS,
        'optim_wrapper.optimizer.lr': 0.005,
        'model.train_cfg.rcnn.sampler.num': 64,
    }
    assert bench.BCCD_MODES['cpu-reduced'].cfg_options['model.train_cfg.rcnn.sampler.num'] == 128  # untouched
    data = bench.PreparedData({}, train_images=205, test_images=72)
    for method in settings.methods:
        cfg = bench.build_run_config(bench.run_spec(str(tmp_path), bench.FAMILIES['bccd'], method, 0, settings, data))
        assert cfg.optim_wrapper.optimizer.lr == 0.005 and cfg.model.train_cfg.rcnn.sampler.num == 64
    report = dict(
        family='bccd',
        description='model on data',
        mode='cpu-reduced',
        settings=asdict(settings),
        data=dict(options={}, train_images=205, test_images=72),
        methods=['baseline'],
        seeds=[0],
        runs=[_run('baseline', 0, 3.0, 0.2)],
    )
    assert '`optim_wrapper.optimizer.lr=0.005`' in bench.render_table(report).splitlines()[0]


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
        bench.resolve_settings(bench.parse_args(argv))


def test_a_variant_runs_its_method_config_with_its_options(tmp_path):
    settings = bench.resolve_settings(
        bench.parse_args(
            [
                '--mode',
                'cpu-reduced',
                '--methods',
                'pskd',
                '--epochs',
                '4',
                '--variant',
                'pskd-a0.4',
                'pskd',
                'custom_hooks.0.alpha_T=0.4',
            ]
        )
    )
    data = bench.PreparedData({}, train_images=200, test_images=50)
    specs = {
        m: json.loads(json.dumps(bench.run_spec(str(tmp_path), bench.FAMILIES['shapes'], m, 0, settings, data)))
        for m in ('pskd', 'pskd-a0.4')
    }
    assert specs['pskd-a0.4']['config'] == specs['pskd']['config'] == bench.FAMILIES['shapes'].configs['pskd']
    assert specs['pskd-a0.4']['work_dir'].endswith('runs/pskd-a0.4/seed0')
    configs = {m: bench.build_run_config(spec) for m, spec in specs.items()}
    assert configs['pskd'].custom_hooks[0].alpha_T == 0.8 and configs['pskd-a0.4'].custom_hooks[0].alpha_T == 0.4
    for cfg in configs.values():  # --epochs 4: the shapes config's 8 epochs halved, the schedule with them
        warmup, steps = cfg.param_scheduler
        assert cfg.train_cfg.max_epochs == 4 and (warmup.end, steps.milestones, steps.end) == (50, [3], 4)


def test_merge_keeps_variants_and_refuses_other_epochs(tmp_path):
    settings = bench.SHAPES_MODES['cpu-tiny']
    variant = dict(method='pskd', options={'custom_hooks.0.alpha_T': 0.4})
    swept = replace(settings, variants={'pskd-a0.4': variant})
    _finished_run(tmp_path / 'a', _run('baseline', 0, 2.0, 0.1))
    _finished_run(tmp_path / 'b', _run('baseline', 0, 2.0, 0.3), swept)
    _finished_run(tmp_path / 'b', dict(_run('pskd-a0.4', 0, 3.0, 0.5), variant=variant), swept)
    bench.main(
        ['--mode', 'cpu-tiny', '--merge', str(tmp_path / 'a'), str(tmp_path / 'b'), '--out-dir', str(tmp_path / 'm')]
    )
    report = json.loads((tmp_path / 'm' / 'results.json').read_text())
    assert report['methods'] == ['baseline', 'pskd-a0.4'] and report['settings']['variants'] == {'pskd-a0.4': variant}
    table = (tmp_path / 'm' / 'table.md').read_text()
    assert 'Variants: `pskd-a0.4` = pskd with `custom_hooks.0.alpha_T=0.4`.' in table
    assert table_rows(table)['pskd-a0.4']['step-time ratio'] == '1.50'

    _finished_run(tmp_path / 'c', _run('pskd', 0, 2.0, 0.1), replace(settings, epochs=4))
    with pytest.raises(SystemExit, match=r'was run with epochs=4, this merge has epochs=2'):
        bench.main(
            [
                '--mode',
                'cpu-tiny',
                '--merge',
                str(tmp_path / 'a'),
                str(tmp_path / 'c'),
                '--out-dir',
                str(tmp_path / 'm2'),
            ]
        )


def test_lite_mode_runs_the_study_arms_and_keeps_cli_variants():
    settings = bench.resolve_settings(bench.parse_args(['--family', 'bccd', '--mode', 'lite']))
    assert settings.methods == bench.STUDY_METHODS + tuple(bench.STUDY_VARIANTS)
    assert settings.epochs == 12 and settings.img_scale == (320, 240)
    assert settings.cfg_options['model.neck.out_channels'] == 64
    # a --methods choice runs those methods and the --variant ones, not the mode's variants
    chosen = bench.resolve_settings(
        bench.parse_args(
            [
                '--family',
                'aquarium',
                '--mode',
                'lite',
                '--methods',
                'pskd',
                '--variant',
                'pskd-a0.6',
                'pskd',
                'custom_hooks.0.alpha_T=0.6',
            ]
        )
    )
    assert chosen.methods == ('baseline', 'pskd', 'pskd-a0.6') and list(chosen.variants) == ['pskd-a0.6']
    with pytest.raises(SystemExit, match='taken'):
        bench.resolve_settings(
            bench.parse_args(
                ['--family', 'bccd', '--mode', 'lite', '--variant', 'pskd-fg', 'pskd', 'custom_hooks.0.alpha_T=0.6']
            )
        )


AQUARIUM_YOLO = REPO.parent / 'shared' / 'data' / 'aquarium'


@pytest.mark.skipif(not (AQUARIUM_YOLO / 'data.yaml').is_file(), reason='Aquarium data not present')
def test_aquarium_lite_run_config(tmp_path):
    """Aquarium's YOLO splits converted, every method config pointed at them, the lite model built on them."""
    family = bench.FAMILIES['aquarium']
    assert set(family.configs) == set(bench.BENCHMARK_METHODS)
    data = bench.prepare_aquarium(str(tmp_path / 'data'), family.modes['lite'])
    assert (data.train_images, data.test_images) == (448, 63)
    spec = bench.run_spec(
        str(tmp_path),
        family,
        'pskd-fg',
        0,
        bench.resolve_settings(bench.parse_args(['--family', 'aquarium', '--mode', 'lite'])),
        data,
    )
    cfg = bench.build_run_config(json.loads(json.dumps(spec)))
    assert cfg.model.roi_head.bbox_head.loss_cls.foreground_teacher is True  # the variant's option
    assert cfg.model.roi_head.bbox_head.fc_out_channels == 256 and cfg.model.roi_head.bbox_head.num_classes == 7
    assert cfg.test_dataloader.dataset.ann_file == data.options['test_evaluator.ann_file']
    register_all_modules()
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 63 and max(test_set[0]['inputs'].shape[1:]) == 320
