"""Convert a Pascal-VOC-style dataset folder into COCO instance JSON files.

Expected input layout (``VOC_ROOT``)::

    VOC_ROOT/
        Annotations/<id>.xml
        ImageSets/Main/<split>.txt      # one image id per line
        JPEGImages/<id>.jpg

Output: one file ``OUT_DIR/<split>.json`` per requested split (e.g.
``OUT_DIR/train.json``), in COCO instance format (written by :mod:`.coco_json`).

Conventions (chosen to match mmdet 3.x ``XMLDataset``/``VOCDataset`` and
mmdet's own ``tools/dataset_converters/pascal_voc.py``, so a model evaluated
on the COCO JSON sees exactly the boxes it would see through ``VOCDataset``):

* ``file_name`` is relative to ``VOC_ROOT`` (``JPEGImages/<id>.jpg``); point
  mmdet at it with ``data_root=VOC_ROOT, data_prefix=dict(img='')``.
* Image ids and annotation ids are 1-based and consecutive per split, in the
  order of the split file and of the ``<object>`` elements.
* Category ids are 1-based in the order of ``--classes``. Without
  ``--classes`` the class names are collected from every XML of the converted
  splits and sorted alphabetically (Python string order, so upper case sorts
  before lower case); all splits of one run share that category list.
* Boxes: VOC coordinates are 1-based pixel indices. Like mmdet, each
  coordinate is read with ``int(float(text))`` and 1 is subtracted from all
  four of ``xmin, ymin, xmax, ymax``, which gives the COCO box
  ``[xmin - 1, ymin - 1, xmax - xmin, ymax - ymin]``. The corners are then
  clipped to ``[0, width] x [0, height]`` and ``area = w * h``. A box of
  zero or negative width or height after clipping (e.g. ``xmin == xmax``) is
  dropped and counted as degenerate.
* ``difficult=1`` objects are written with ``iscrowd: 1`` so that COCO
  evaluation (pycocotools) and mmdet's ``CocoDataset`` treat them as ignored
  regions, as ``VOCDataset`` does with its ``ignore_flag``.
* ``segmentation`` holds the box as a 4-point polygon, for tools that expect
  the field (see :mod:`.coco_json`).
* Image width/height come from the XML ``<size>``; when it is missing or zero
  they are read from the image file.

Any problem with the input (missing split file, XML or image; unparseable XML;
missing or non-numeric ``<object>`` fields; a class not in ``--classes``)
raises :class:`VOCFormatError` naming the offending file. All splits are
parsed before anything is written, so an error leaves no partial output.

Command line: ``tools/dataset_converters/voc_to_coco.py``.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from PIL import Image

from .coco_json import Box, build_coco_dict, write_coco_splits

PathLike = Union[str, Path]
DEFAULT_SPLITS = ('train', 'val', 'test')
BOX_FIELDS = ('xmin', 'ymin', 'xmax', 'ymax')


class VOCFormatError(ValueError):
    """Raised when the VOC folder or one of its files is missing or invalid."""


@dataclass
class VOCObject:
    """One ``<object>`` of a VOC annotation, in raw VOC coordinates."""

    name: str
    box: Tuple[int, int, int, int]
    difficult: bool


@dataclass
class VOCImage:
    """One parsed VOC annotation file."""

    xml_path: Path
    file_name: str
    width: int
    height: int
    objects: List[VOCObject] = field(default_factory=list)


def read_split_ids(voc_root: Path, split: str) -> List[str]:
    """Read the image ids listed in ``ImageSets/Main/<split>.txt``.

    Args:
        voc_root: Root of the VOC folder.
        split: Split name, e.g. ``'train'``.

    Returns:
        The image ids in file order (blank lines skipped; only the first
        whitespace-separated token of a line is used).

    Raises:
        VOCFormatError: If the split file is missing or lists an id twice.
    """
    split_file = voc_root / 'ImageSets' / 'Main' / f'{split}.txt'
    if not split_file.is_file():
        raise VOCFormatError(f'split file not found: {split_file}')
    ids = [line.split()[0] for line in split_file.read_text().splitlines() if line.strip()]
    seen = set()
    for img_id in ids:
        if img_id in seen:
            raise VOCFormatError(f'{split_file}: image id {img_id!r} is listed more than once')
        seen.add(img_id)
    return ids


def _required_text(elem: ET.Element, tag: str, xml_path: Path, where: str) -> str:
    """Return the stripped text of child ``tag`` or raise naming the file."""
    child = elem.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise VOCFormatError(f'{xml_path}: {where} has no <{tag}>')
    return child.text.strip()


def _to_int(text: str, xml_path: Path, what: str) -> int:
    """Convert ``text`` like mmdet does (``int(float(text))``)."""
    try:
        return int(float(text))
    except ValueError:
        raise VOCFormatError(f'{xml_path}: {what} is not a number: {text!r}') from None


def _parse_object(obj: ET.Element, index: int, xml_path: Path) -> VOCObject:
    """Parse the ``index``-th (0-based) ``<object>`` element."""
    where = f'<object> #{index + 1}'
    name = _required_text(obj, 'name', xml_path, where)
    bndbox = obj.find('bndbox')
    if bndbox is None:
        raise VOCFormatError(f'{xml_path}: {where} ({name}) has no <bndbox>')
    box = tuple(
        _to_int(_required_text(bndbox, tag, xml_path, f'{where} <bndbox>'), xml_path, f'{where} <{tag}>')
        for tag in BOX_FIELDS
    )
    difficult_elem = obj.find('difficult')
    difficult = (
        difficult_elem is not None
        and difficult_elem.text is not None
        and _to_int(difficult_elem.text, xml_path, f'{where} <difficult>') == 1
    )
    return VOCObject(name=name, box=box, difficult=difficult)


def _xml_size(root: ET.Element, xml_path: Path) -> Tuple[int, int]:
    """Return ``(width, height)`` from ``<size>``, ``(0, 0)`` if absent."""
    size = root.find('size')
    if size is None:
        return 0, 0
    dims = []
    for tag in ('width', 'height'):
        elem = size.find(tag)
        text = elem.text if elem is not None and elem.text else '0'
        dims.append(_to_int(text, xml_path, f'<size> <{tag}>'))
    return dims[0], dims[1]


def _image_size(img_path: Path, xml_path: Path) -> Tuple[int, int]:
    """Read ``(width, height)`` from the image header."""
    try:
        with Image.open(img_path) as img:
            return img.size
    except OSError as err:
        raise VOCFormatError(f'{xml_path}: <size> is missing or zero and {img_path} cannot be read ({err})') from None


def parse_voc_xml(voc_root: Path, img_id: str) -> VOCImage:
    """Parse ``Annotations/<img_id>.xml`` of a VOC folder.

    Args:
        voc_root: Root of the VOC folder.
        img_id: Image id as listed in a split file.

    Returns:
        The parsed annotation; ``file_name`` is ``JPEGImages/<img_id>.jpg``.

    Raises:
        VOCFormatError: If the XML or the image is missing, the XML cannot be
            parsed, or a required field is missing or not numeric.
    """
    xml_path = voc_root / 'Annotations' / f'{img_id}.xml'
    file_name = f'JPEGImages/{img_id}.jpg'
    img_path = voc_root / file_name
    if not xml_path.is_file():
        raise VOCFormatError(f'annotation file not found: {xml_path}')
    if not img_path.is_file():
        raise VOCFormatError(f'image file not found: {img_path} (annotated by {xml_path})')
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as err:
        raise VOCFormatError(f'{xml_path}: malformed XML ({err})') from None
    width, height = _xml_size(root, xml_path)
    if width <= 0 or height <= 0:
        width, height = _image_size(img_path, xml_path)
    objects = [_parse_object(obj, i, xml_path) for i, obj in enumerate(root.findall('object'))]
    return VOCImage(xml_path, file_name, width, height, objects)


def collect_classes(images: Sequence[VOCImage]) -> List[str]:
    """Return the sorted set of object class names found in ``images``."""
    return sorted({obj.name for img in images for obj in img.objects})


def check_classes(images: Sequence[VOCImage], classes: Sequence[str]) -> None:
    """Ensure every object's class is one of ``classes``.

    Args:
        images: Parsed annotations.
        classes: Allowed class names.

    Raises:
        VOCFormatError: On duplicate entries in ``classes`` or an object whose
            class is not in ``classes``.
    """
    if len(set(classes)) != len(classes):
        raise VOCFormatError(f'duplicate class names in {list(classes)}')
    allowed = set(classes)
    for img in images:
        for obj in img.objects:
            if obj.name not in allowed:
                raise VOCFormatError(f'{img.xml_path}: unknown class {obj.name!r} (expected one of {list(classes)})')


def voc_box_to_coco(box: Tuple[int, int, int, int], width: int, height: int) -> Optional[List[int]]:
    """Convert a 1-based VOC box to a clipped COCO ``[x, y, w, h]`` box.

    Args:
        box: ``(xmin, ymin, xmax, ymax)`` as written in the XML.
        width: Image width.
        height: Image height.

    Returns:
        ``[xmin - 1, ymin - 1, xmax - xmin, ymax - ymin]`` after clipping the
        corners to the image, or ``None`` if the box is degenerate
        (``w <= 0`` or ``h <= 0``).
    """
    xmin, ymin, xmax, ymax = box
    x1 = min(max(xmin - 1, 0), width)
    y1 = min(max(ymin - 1, 0), height)
    x2 = min(max(xmax - 1, 0), width)
    y2 = min(max(ymax - 1, 0), height)
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2 - x1, y2 - y1]


def voc_boxes(img: VOCImage, cat_ids: Dict[str, int]) -> List[Box]:
    """The objects of ``img`` as ``(category id, clipped COCO box or None if degenerate, difficult)``, the
    category id ``cat_ids[name]``."""
    return [(cat_ids[obj.name], voc_box_to_coco(obj.box, img.width, img.height), obj.difficult) for obj in img.objects]


def convert_voc_to_coco(
    voc_root: PathLike,
    out_dir: PathLike,
    splits: Sequence[str] = DEFAULT_SPLITS,
    classes: Optional[Sequence[str]] = None,
) -> Dict[str, dict]:
    """Convert the given splits of a VOC folder to ``out_dir/<split>.json``.

    Args:
        voc_root: Root of the VOC folder (holding ``Annotations``,
            ``ImageSets/Main`` and ``JPEGImages``).
        out_dir: Output folder, created if needed.
        splits: Split names; each needs ``ImageSets/Main/<split>.txt``.
        classes: Class names in category-id order (ids start at 1). If
            ``None``, the sorted set of names found in the splits' XMLs.

    Returns:
        ``{split: dict(images=..., boxes=..., dropped_degenerate=...,
        path=...)}`` where ``boxes`` counts every annotation written
        (``difficult`` ones included) and ``path`` is the JSON path as str.

    Raises:
        VOCFormatError: On any missing or invalid input; nothing is written.
    """
    voc_root, out_dir = Path(voc_root), Path(out_dir)
    parsed = {split: [parse_voc_xml(voc_root, i) for i in read_split_ids(voc_root, split)] for split in splits}
    all_images = [img for images in parsed.values() for img in images]
    if classes is None:
        classes = collect_classes(all_images)
    else:
        check_classes(all_images, classes)
    boxes = partial(voc_boxes, cat_ids={name: i for i, name in enumerate(classes, start=1)})
    cocos = {split: build_coco_dict(images, classes, boxes) for split, images in parsed.items()}
    return write_coco_splits(out_dir, cocos)
