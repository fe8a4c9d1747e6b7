"""Prediction memories: which past prediction teaches which proposal."""

from .prediction_memory import GTMemory, IoUMemory, PredictionMemory
from .roi_batch import RoIBatch, image_key, to_original_coords
from .snapshot_teacher import SnapshotTeacher
from .topk_rows import TopKRows, decode_topk, encode_topk

MEMORY_STRATEGIES = {'gt': GTMemory, 'iou': IoUMemory, 'snapshot': SnapshotTeacher}


def build_memory(num_classes: int, strategy: str = 'gt', **kwargs):
    """Build the prediction memory of a PS-KD strategy ('gt', 'iou' or 'snapshot')."""
    if strategy not in MEMORY_STRATEGIES:
        raise ValueError(
            f'PSKDHook(memory=dict(strategy={strategy!r})): unknown strategy; '
            f'choose one of {sorted(MEMORY_STRATEGIES)}.'
        )
    try:
        return MEMORY_STRATEGIES[strategy](num_classes, **kwargs)
    except TypeError as err:
        raise ValueError(f'PSKDHook(memory=dict(strategy={strategy!r}, ...)): {err}') from err


__all__ = [
    'GTMemory',
    'IoUMemory',
    'PredictionMemory',
    'SnapshotTeacher',
    'RoIBatch',
    'TopKRows',
    'build_memory',
    'decode_topk',
    'encode_topk',
    'image_key',
    'to_original_coords',
    'MEMORY_STRATEGIES',
]
