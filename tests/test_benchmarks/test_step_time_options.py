"""benchmarks/step_time_options.py: every set is the config with its own options and the same checkpoint's
weights, every set trains from those weights, and the table holds one row per set with its ratio to the first."""

import pytest
import torch
from mmengine.runner import Runner
from step_time_options import build_set, parse_args, time_sets

from conftest import BASELINE_CFG, run_tool, tiny_options


def test_a_set_is_the_config_with_its_options_and_the_checkpoints_weights(shapes_root, tmp_path):
    reference, _, _ = build_set(BASELINE_CFG, tiny_options(shapes_root), None)
    checkpoint = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': reference.state_dict()}, checkpoint)
    frozen, _, cfg = build_set(
        BASELINE_CFG, tiny_options(shapes_root, **{'model.backbone.frozen_stages': 4}), checkpoint
    )
    assert cfg.model.backbone.frozen_stages == 4
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), frozen.state_dict().values()))
    trainable = {name.split('.')[0] for name, p in frozen.backbone.named_parameters() if p.requires_grad}
    assert trainable == set()  # ResNet-18's stem and its four stages, all frozen
    assert all(p.requires_grad for p in reference.backbone.layer4.parameters())


def test_every_set_trains_from_the_checkpoints_weights(shapes_root, tmp_path):
    model, _, cfg = build_set(BASELINE_CFG, tiny_options(shapes_root), None)
    checkpoint = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    sets = [build_set(BASELINE_CFG, tiny_options(shapes_root), checkpoint)[:2] for _ in range(2)]
    batches = list(Runner.build_dataloader(cfg.train_dataloader, seed=0))[:2]
    steps = time_sets(sets, batches)
    assert len(steps) == 2 and all(step > 0 for step in steps)
    for trained, _ in sets:  # the warm-up and the timed step trained each set from the checkpoint's weights
        assert not torch.equal(trained.rpn_head.rpn_conv.weight, model.rpn_head.rpn_conv.weight)


def test_the_table_has_a_row_per_set_and_its_ratio_to_the_first(shapes_root):
    data = [f'{key}={value}' for key, value in tiny_options(shapes_root).items()]
    proc = run_tool(
        ['benchmarks/step_time_options.py', BASELINE_CFG, '--batches', '2', '--rounds', '1']
        + ['--set']
        + data
        + ['--set']
        + data
        + ['model.backbone.frozen_stages=4']
    )
    rows = proc.stdout.split('sets alternating:')[1].strip().splitlines()
    assert len(rows) == 2 and rows[0].split()[2] == '1.00x' and rows[1].endswith('model.backbone.frozen_stages=4')
    (step_a, _), (step_b, ratio_b) = [(float(r.split()[0]), float(r.split()[2][:-1])) for r in rows]
    assert ratio_b == pytest.approx(step_b / step_a, abs=0.01)


@pytest.mark.parametrize(
    'argv, message',
    [
        (['cfg.py'], 'give at least one --set'),
        (['cfg.py', '--set', 'model.backbone.frozen_stages'], 'give config options as KEY=VALUE'),
        (['cfg.py', '--set', '--rounds', '0'], '--rounds 0: give at least 1'),
    ],
)
def test_bad_arguments_are_refused_naming_the_fix(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err
