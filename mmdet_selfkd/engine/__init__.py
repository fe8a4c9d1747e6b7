from .alpha_schedule import AlphaSchedule, repeat_times
from .hooks import PSKDHook

__all__ = ['AlphaSchedule', 'PSKDHook', 'repeat_times']
from .hooks import CSKDHook, MrKDHook  # noqa: E402

__all__ += ['CSKDHook', 'MrKDHook']
