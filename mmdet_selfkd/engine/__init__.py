from .alpha_schedule import AlphaSchedule, repeat_times
from .hooks import PSKDHook

__all__ = ['AlphaSchedule', 'PSKDHook', 'repeat_times']
