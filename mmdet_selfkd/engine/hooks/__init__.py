from .cskd_hook import CSKDHook
from .mrkd_hook import MrKDHook
from .pskd_hook import PSKDHook
from .selfkd_hook import SelfKDHook

__all__ = ['CSKDHook', 'MrKDHook', 'PSKDHook', 'SelfKDHook']
