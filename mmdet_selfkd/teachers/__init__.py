"""Teachers: what teaches each row of a self-KD head, one registered class per strategy and method.

Every teacher is a :class:`~.teacher.Teacher` built from the :data:`~.registry.TEACHERS` registry with
``dict(type=...)``: PS-KD's ``GTMemory``, ``IoUMemory`` and ``SnapshotTeacher``, CS-KD's ``ClassPairTeacher``
and MrKD's ``CopyRingTeacher``.
"""

from .class_pair_teacher import ClassPairTeacher
from .copy_ring_teacher import CopyRingTeacher
from .prediction_memory import GTMemory, IoUMemory, PredictionMemory
from .registry import TEACHERS
from .roi_batch import ImageRoIs, RoIBatch, image_key, to_original_coords
from .snapshot_teacher import SnapshotTeacher
from .teacher import Teacher, TeacherTargets
from .topk_rows import TopKRows, decode_topk, encode_topk

__all__ = [
    'TEACHERS',
    'ClassPairTeacher',
    'CopyRingTeacher',
    'GTMemory',
    'ImageRoIs',
    'IoUMemory',
    'PredictionMemory',
    'RoIBatch',
    'SnapshotTeacher',
    'Teacher',
    'TeacherTargets',
    'TopKRows',
    'decode_topk',
    'encode_topk',
    'image_key',
    'to_original_coords',
]
