from .class_pair_batch_sampler import ClassPairBatchSampler
from .synthetic_shapes import CLASSES as SHAPES_CLASSES
from .synthetic_shapes import make_shapes_dataset

__all__ = ['ClassPairBatchSampler', 'SHAPES_CLASSES', 'make_shapes_dataset']
