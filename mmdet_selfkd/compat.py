"""Compatibility of the pinned stack (mmengine 0.10.7, torch>=2.6), through mmengine's own extension
points rather than patches.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 calls ``torch.load``
without the argument, and its checkpoints hold a few non-tensor objects (numpy arrays and scalars and
mmengine's ``HistoryBuffer`` in the message hub, whose pickled statistics methods need ``getattr``), so
resume and test fail. Instead of turning the safe loader off for the whole process
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), we register, with ``CheckpointLoader.register_scheme``, a
local-file loader that keeps ``weights_only=True`` and allows exactly those types, only while mmengine
loads a checkpoint. Any other object in a checkpoint still fails loudly.

Importing ``mmdet_selfkd`` installs that loader for every local checkpoint mmengine reads in the process
(``load_from``, ``resume``, ``tools/test.py``), not only this package's. ``MMDET_SELFKD_COMPAT=0`` in the
environment turns it off: importing the plugin then changes nothing in mmengine, whose own loader (plain
``torch.load``) reads the checkpoints, so on torch>=2.6 mmengine checkpoints need torch's own switch
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``). :func:`allow_mmengine_checkpoints` installs it explicitly.
"""

import codecs
import collections
import importlib.util
import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader


def mmengine_checkpoint_globals() -> list:
    """The non-tensor globals mmengine 0.10.7 writes into checkpoints."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_types = [type(np.dtype(name)) for name in ('float64', 'float32', 'int64', 'int32', 'bool')]
    return [
        HistoryBuffer,
        getattr,
        collections.Counter,
        codecs.encode,
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        *dtype_types,
    ]


def load_local_checkpoint(filename: str, map_location: Optional[str] = None):
    """mmengine's local checkpoint loader, with ``weights_only=True`` and mmengine's types allowed."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        return torch.load(filename, map_location=map_location, weights_only=True)


COMPAT_ENV = 'MMDET_SELFKD_COMPAT'
_ON = ('1', 'true', 'on', 'yes')
_OFF = ('0', 'false', 'off', 'no')


def compat_enabled() -> bool:
    """Whether importing the package installs the checkpoint loader: ``MMDET_SELFKD_COMPAT`` unset or one
    of 1/true/on/yes (the default), not with 0/false/off/no; any other value is an error."""
    value = os.environ.get(COMPAT_ENV, '1').strip().lower()
    if value in _ON or value == '':
        return True
    if value in _OFF:
        return False
    raise ValueError(
        f'{COMPAT_ENV}={os.environ[COMPAT_ENV]!r}: expected one of {", ".join(_ON + _OFF)} '
        "(0 keeps mmengine's own checkpoint loader)"
    )


def allow_mmengine_checkpoints() -> None:
    """Make mmengine (resume, ``load_from``, tools/test.py) read its checkpoints on torch>=2.6."""
    if hasattr(torch.serialization, 'safe_globals'):
        CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


def require_pkg_resources() -> None:
    """mmengine 0.10.7 resolves ``mmdet::`` config bases through ``pkg_resources``."""
    if importlib.util.find_spec('pkg_resources') is None:
        raise ImportError(
            "mmengine 0.10.7 needs pkg_resources to resolve 'mmdet::' config bases, and "
            "setuptools>=82 no longer ships it: pip install 'setuptools>=77,<82'."
        )
