"""mmdet_selfkd.configs.METHOD_CONFIGS: the shapes model's method table, shipped configs relative to config_dir."""

import os.path as osp

from mmdet_selfkd.configs import METHOD_CONFIGS, config_path


def test_every_method_config_is_shipped():
    assert {'baseline', 'pskd', 'pskd-iou', 'pskd-snapshot', 'ls', 'lsrkd', 'cskd', 'mrkd'} <= set(METHOD_CONFIGS)
    for method, name in METHOD_CONFIGS.items():
        assert osp.isfile(config_path(name)), method
