"""Where the shipped configs are, for inheriting them from your own config.

A wheel / ``pip install`` ships ``configs/`` as ``mmdet_selfkd/.mim/configs`` (OpenMMLab's layout); a source
checkout or an editable install uses ``<repo>/configs``. mmengine 0.10.7 resolves the ``pkg::`` prefix of
``_base_`` only for OpenMMLab's own packages (``mmengine.config.utils.MODULE2PACKAGE``), so
``_base_ = 'mmdet_selfkd::...'`` fails with stock tools. What works without patching anything: an environment
variable in ``_base_``, which mmengine substitutes before it reads the bases::

    export MMDET_SELFKD_CONFIGS=$(python -m mmdet_selfkd.configs)

    # my_config.py
    _base_ = '{{$MMDET_SELFKD_CONFIGS:}}/pskd/faster-rcnn_r50_fpn_pskd-1x_coco.py'

or the absolute path that ``python -m mmdet_selfkd.configs pskd/faster-rcnn_r50_fpn_pskd-1x_coco.py`` prints.

Command line::

    python -m mmdet_selfkd.configs              # the configs directory
    python -m mmdet_selfkd.configs NAME         # the absolute path of one config (NAME relative to it)
    python -m mmdet_selfkd.configs --list       # every shipped config, relative to the directory
"""

import argparse
import os.path as osp
import sys
from glob import glob
from typing import List, Optional

ENV_VAR = 'MMDET_SELFKD_CONFIGS'
# The methods on the synthetic-shapes model (Faster R-CNN R18-FPN, and RetinaNet R18-FPN for the one-stage ones):
# method -> shipped config, relative to :func:`config_dir` (:func:`config_path` gives the absolute path). The main
# job (tools/main_job.py) and the benchmark's shapes family train them.
METHOD_CONFIGS = {
    'baseline': 'shapes/faster-rcnn_r18_fpn_8e_shapes.py',
    'pskd': 'pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py',
    'pskd-iou': 'pskd/faster-rcnn_r18_fpn_pskd-iou-8e_shapes.py',
    'pskd-snapshot': 'pskd/faster-rcnn_r18_fpn_pskd-snapshot-8e_shapes.py',
    'ls': 'selfkd/faster-rcnn_r18_fpn_ls-8e_shapes.py',
    'lsrkd': 'selfkd/faster-rcnn_r18_fpn_lsrkd-8e_shapes.py',
    'lsrkd-tc': 'selfkd/faster-rcnn_r18_fpn_lsrkd-tc-8e_shapes.py',
    'cskd': 'selfkd/faster-rcnn_r18_fpn_cskd-8e_shapes.py',
    'mrkd': 'selfkd/faster-rcnn_r18_fpn_mrkd-8e_shapes.py',
    'mrkd-tc': 'selfkd/faster-rcnn_r18_fpn_mrkd-tc-8e_shapes.py',
    # one-stage: RetinaNet R18-FPN, compare with `retinanet`
    'retinanet': 'shapes/retinanet_r18_fpn_8e_shapes.py',
    'retinanet-pskd': 'pskd/retinanet_r18_fpn_pskd-8e_shapes.py',
    'retinanet-ls': 'selfkd/retinanet_r18_fpn_ls-8e_shapes.py',
}


def config_dir() -> str:
    """The directory of the shipped configs: ``mmdet_selfkd/.mim/configs`` when installed from a wheel,
    ``<repo>/configs`` in a source checkout (editable install)."""
    package = osp.dirname(osp.abspath(__file__))
    installed = osp.join(package, '.mim', 'configs')
    if osp.isdir(installed):
        return installed
    repo = osp.dirname(package)
    if osp.isdir(osp.join(repo, 'configs')) and osp.isfile(osp.join(repo, 'setup.py')):
        return osp.join(repo, 'configs')
    raise FileNotFoundError(
        f'no configs next to {package}: neither {installed} (wheel install) nor '
        f'{osp.join(repo, "configs")} (source checkout) exists'
    )


def list_configs() -> List[str]:
    """Every shipped config, relative to :func:`config_dir` (``_base_/`` ones included)."""
    root = config_dir()
    return sorted(osp.relpath(path, root) for path in glob(osp.join(root, '**', '*.py'), recursive=True))


def config_path(name: str) -> str:
    """The absolute path of the shipped config ``name`` (relative to :func:`config_dir`, e.g.
    ``'pskd/faster-rcnn_r50_fpn_pskd-1x_coco.py'``; ``.py`` may be left out)."""
    name = name if name.endswith('.py') else name + '.py'
    path = osp.join(config_dir(), name)
    if not osp.isfile(path):
        stem = osp.basename(name)
        close = [cfg for cfg in list_configs() if osp.basename(cfg) == stem]
        hint = f'; did you mean {", ".join(close)}?' if close else '; `--list` shows them all'
        raise FileNotFoundError(f'no shipped config {name!r} in {config_dir()}{hint}')
    return path


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m mmdet_selfkd.configs', description='Print where the shipped configs are.'
    )
    parser.add_argument(
        'name',
        nargs='?',
        help='a config relative to the configs directory, e.g. pskd/faster-rcnn_r50_fpn_pskd-1x_coco.py',
    )
    parser.add_argument('--list', action='store_true', help='list every shipped config')
    args = parser.parse_args(argv)
    try:
        if args.list:
            print('\n'.join(list_configs()))
        else:
            print(config_path(args.name) if args.name else config_dir())
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
