"""Compatibility of the pinned stack (mmengine 0.10.7, torch>=2.6), without patching either library.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 calls ``torch.load``
without the argument, and its checkpoints hold a few non-tensor objects (numpy scalars and arrays in
the message hub, mmengine's ``HistoryBuffer``), so resume and test fail. Instead of turning the safe
loader off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), we allow exactly those types through torch's own
allow-list, ``torch.serialization.add_safe_globals``; any other object still fails loudly.
"""
import importlib.util

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def mmengine_checkpoint_globals() -> list:
    """The non-tensor types mmengine 0.10.7 writes into checkpoints."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_types = [type(np.dtype(name)) for name in ('float64', 'float32', 'int64', 'int32', 'bool')]
    return [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, *dtype_types]


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints (no-op on torch<2.4)."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def require_pkg_resources() -> None:
    """mmengine 0.10.7 resolves ``mmdet::`` config bases through ``pkg_resources``."""
    if importlib.util.find_spec('pkg_resources') is None:
        raise ImportError("mmengine 0.10.7 needs pkg_resources to resolve 'mmdet::' config bases, and "
                          "setuptools>=82 no longer ships it: pip install 'setuptools>=77,<82'.")
