"""The registry every teacher is built from: mmdet's ``TASK_UTILS``, where its assigners and samplers are.

A hook names its teacher by registered type and options (``dict(type='GTMemory', topk=5)``) and builds it
with ``TEACHERS.build``; the class that owns the options checks them in its ``__init__``.
"""

from mmdet.registry import TASK_UTILS as TEACHERS

__all__ = ['TEACHERS']
