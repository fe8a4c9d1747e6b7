from .pskd_hook import PSKDHook

__all__ = ['PSKDHook']
from .cskd_hook import CSKDHook  # noqa: E402
from .mrkd_hook import MrKDHook  # noqa: E402

__all__ += ['CSKDHook', 'MrKDHook']
