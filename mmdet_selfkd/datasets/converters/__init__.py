"""Dataset converters to COCO instance JSONs (one file per split): Pascal VOC folders and YOLO folders.

Command lines: ``tools/dataset_converters/voc_to_coco.py`` and ``tools/dataset_converters/yolo_to_coco.py``.
"""

from .voc_to_coco import VOCFormatError, convert_voc_to_coco
from .yolo_to_coco import YOLOFormatError, convert_yolo_to_coco

__all__ = ['VOCFormatError', 'YOLOFormatError', 'convert_voc_to_coco', 'convert_yolo_to_coco']
