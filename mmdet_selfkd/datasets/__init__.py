from .synthetic_shapes import CLASSES as SHAPES_CLASSES
from .synthetic_shapes import make_shapes_dataset

__all__ = ['SHAPES_CLASSES', 'make_shapes_dataset']
