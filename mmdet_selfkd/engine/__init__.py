from .alpha_schedule import AlphaSchedule, repeat_times
from .hooks import CSKDHook, MrKDHook, PSKDHook, SelfKDHook

__all__ = ['AlphaSchedule', 'CSKDHook', 'MrKDHook', 'PSKDHook', 'SelfKDHook', 'repeat_times']
