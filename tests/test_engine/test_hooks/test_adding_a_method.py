"""A sixth method as docs/pskd.md ("Adding a method") writes it: the teacher and the loss of its code block, run
by the stock ``SelfKDHook``, train through ``tools/train.py`` for two passes with no change to the heads or the
hook. The block is read from the docs, so the docs cannot drift from what works."""

import re

import pytest

from mmdet_selfkd.compat import load_local_checkpoint
from mmdet_selfkd.engine import SelfKDHook

from conftest import REPO, by_epoch, read_scalars, run_tool, tiny_run_options

BASE_CONFIG = REPO / 'configs/shapes/faster-rcnn_r18_fpn_8e_shapes.py'


def example_block() -> str:
    """The python block of the "Adding a method" section of docs/pskd.md."""
    section = (REPO / 'docs/pskd.md').read_text().split('## Adding a method')[1].split('\n## ')[0]
    (block,) = re.findall(r'```python\n(.*?)```', section, re.S)
    return block


@pytest.mark.slow
def test_the_documented_method_trains_with_the_stock_hook(shapes_root, tmp_path):
    (tmp_path / 'class_mean_method.py').write_text(example_block())
    config = tmp_path / 'faster-rcnn_r18_fpn_classmean-8e_shapes.py'
    config.write_text(
        f'_base_ = {str(BASE_CONFIG)!r}\n'
        "custom_imports = dict(imports=['mmdet_selfkd', 'class_mean_method'], allow_failed_imports=False)\n"
        "model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='ClassMeanLoss')))\n"
        "custom_hooks = [dict(type='SelfKDHook', teacher=dict(type='ClassMeanTeacher'), alpha_T=0.8, "
        "ckpt_key='classmean')]\n"
    )
    options = tiny_run_options(shapes_root, **{'train_cfg.max_epochs': 2})
    env = {'PYTHONPATH': f'{tmp_path}:{REPO}'}
    run_tool(['tools/train.py', str(config), '--work-dir', str(tmp_path / 'work'), *options], env=env)
    scalars = read_scalars(str(tmp_path / 'work'))
    term, coverage = by_epoch(scalars, 'loss_classmean'), by_epoch(scalars, 'classmean_coverage')
    assert set(term[1]) == {0.0} and set(coverage[1]) == {0.0}  # pass 0 records, nothing is taught
    assert min(coverage[2]) > 0 and all(value > 0 for value in term[2])  # pass 1 is taught the class means
    assert by_epoch(scalars, 'classmean_alpha')[2][0] == pytest.approx(0.8)  # alpha_T at the last pass
    checkpoint = load_local_checkpoint(str(tmp_path / 'work' / 'epoch_2.pth'))
    assert checkpoint['classmean']['teacher']['type'] == 'ClassMeanTeacher'
    assert not any(key.startswith('classmean') for key in checkpoint['state_dict'])  # a plain mmdet model


def test_the_stock_hook_refuses_a_bad_checkpoint_key():
    with pytest.raises(ValueError, match=r"ckpt_key='class mean'.*letters, digits, underscores"):
        SelfKDHook(dict(type='GTMemory'), ckpt_key='class mean')
    assert SelfKDHook(dict(type='GTMemory')).ckpt_key == 'selfkd'
