"""Convert a YOLO-format dataset folder into COCO instance JSON files.

Expected input layout (``YOLO_ROOT``, e.g. a Roboflow "YOLOv5/v8" export)::

    YOLO_ROOT/
        data.yaml                  # names: [...] or {0: ..., 1: ...}; nc: N
        <split>/images/<stem>.jpg  # any of the image suffixes in IMG_SUFFIXES
        <split>/labels/<stem>.txt  # one object per line

Output: one file ``OUT_DIR/<split>.json`` per split (e.g.
``OUT_DIR/train.json``, ``OUT_DIR/valid.json``), in COCO instance format
(written by :mod:`.coco_json`), named after the split folder.

Conventions (the same as ``voc_to_coco.py`` where they apply):

* Splits: by default every folder among ``train``, ``valid``, ``val`` and
  ``test`` (in that order) that has an ``images/`` subfolder; ``--splits``
  names them explicitly. The ``train``/``val``/``test`` entries of
  ``data.yaml`` are not used: exports write paths such as
  ``../train/images`` that are relative to the training tool's working
  directory, not to the dataset, so the folders are found by name instead.
* ``data.yaml`` must give ``names``, a list or a dict ``{0: name, ...}``
  with the keys ``0 .. n-1``; names must be unique. If ``nc`` is given it
  must equal the number of names.
* ``file_name`` is relative to ``YOLO_ROOT`` (``<split>/images/<file>``);
  point mmdet at it with ``data_root=YOLO_ROOT, data_prefix=dict(img='')``.
* Image ids and annotation ids are 1-based and consecutive per split, images
  in sorted file-name order, annotations in label-file line order.
* Category ids are 1-based in ``names`` order: YOLO class ``k`` is category
  ``k + 1``. All splits share the category list.
* Image width/height are read from the image header (Pillow, no decoding),
  swapped for EXIF orientations 5-8, because mmcv/cv2 (and YOLO tools) load
  such images rotated upright.
* Label lines: ``class cx cy w h`` with centre and size normalised to
  [0, 1], or a YOLO segmentation polygon ``class x1 y1 x2 y2 x3 y3 ...``
  (3 or more points), which becomes the bounding box of its points. Blank
  lines are skipped. The class must be an integer in ``[0, nc)``; every
  coordinate a finite number in ``[0, 1]`` (a small tolerance of 1e-6 is
  allowed for rounding).
* Boxes: ``x1 = (cx - w / 2) * W``, ``x2 = (cx + w / 2) * W`` (likewise for
  y with ``H``), corners clipped to ``[0, W] x [0, H]`` and rounded to 3
  decimals; COCO box ``[x1, y1, x2 - x1, y2 - y1]``, ``area = w * h``,
  ``iscrowd = 0``, ``segmentation`` the box as a 4-point polygon. A box of
  zero width or height after clipping is dropped and counted as degenerate.
* An image without a label file is a background image (YOLO convention): it
  is kept with no annotations and counted. An empty label file is the same
  without being counted as missing.

Any problem with the input (``data.yaml`` missing, unparseable or without
valid ``names``; a split without ``images/`` or ``labels/``; a label file
without an image, or two images sharing a label file; an unreadable image;
a malformed label line or a class id out of range) raises
:class:`YOLOFormatError` naming the offending file (and line). All splits
are parsed before anything is written, so an error leaves no partial output.

Command line: ``tools/dataset_converters/yolo_to_coco.py``.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import yaml
from PIL import Image, UnidentifiedImageError

from .coco_json import DECIMALS, Box, build_coco_dict, write_coco_splits

PathLike = Union[str, Path]
DEFAULT_SPLITS = ('train', 'valid', 'val', 'test')
# The image suffixes ultralytics accepts that Pillow can read.
IMG_SUFFIXES = ('.bmp', '.jpeg', '.jpg', '.mpo', '.png', '.tif', '.tiff', '.webp')
EXIF_ORIENTATION = 0x0112
EXIF_TRANSPOSED = (5, 6, 7, 8)  # orientations that swap width and height
COORD_TOL = 1e-6


class YOLOFormatError(ValueError):
    """Raised when the YOLO folder or one of its files is missing/invalid."""


@dataclass
class YOLOObject:
    """One label line: class id and normalised corners (not clipped)."""

    class_id: int
    line_no: int
    # (x1, y1, x2, y2), normalised, not yet clipped.
    corners: Tuple[float, float, float, float]


@dataclass
class YOLOImage:
    """One image of a split with its parsed label file."""

    file_name: str
    width: int
    height: int
    label_path: Optional[Path]  # None: no label file
    objects: List[YOLOObject] = field(default_factory=list)


def read_names(yolo_root: Path) -> List[str]:
    """Read the class names of ``YOLO_ROOT/data.yaml``.

    Args:
        yolo_root: Root of the YOLO folder.

    Returns:
        Class names in YOLO class-id order.

    Raises:
        YOLOFormatError: If ``data.yaml`` is missing or unparseable, has no
            ``names``, dict keys other than ``0 .. n-1``, duplicate or empty
            names, or an ``nc`` different from the number of names.
    """
    yaml_path = yolo_root / 'data.yaml'
    if not yaml_path.is_file():
        raise YOLOFormatError(f'data.yaml not found: {yaml_path}')
    try:
        data = yaml.safe_load(yaml_path.read_text())
    except yaml.YAMLError as err:
        raise YOLOFormatError(f'{yaml_path}: malformed YAML ({err})') from None
    if not isinstance(data, dict) or 'names' not in data:
        raise YOLOFormatError(f'{yaml_path}: no "names" entry')
    names = data['names']
    if isinstance(names, dict):
        keys = list(names)
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in keys) or sorted(keys) != list(
            range(len(keys))
        ):
            raise YOLOFormatError(f'{yaml_path}: "names" keys must be the integers 0..{len(keys) - 1}, got {keys}')
        names = [names[i] for i in range(len(keys))]
    elif not isinstance(names, list):
        raise YOLOFormatError(f'{yaml_path}: "names" must be a list or a dict, got {type(names).__name__}')
    if not names:
        raise YOLOFormatError(f'{yaml_path}: "names" is empty')
    names = [str(n) if n is not None else '' for n in names]
    if any(not n.strip() for n in names):
        raise YOLOFormatError(f'{yaml_path}: empty class name in {names}')
    if len(set(names)) != len(names):
        raise YOLOFormatError(f'{yaml_path}: duplicate class names in {names}')
    if 'nc' in data and data['nc'] != len(names):
        raise YOLOFormatError(f'{yaml_path}: nc is {data["nc"]!r} but "names" has {len(names)} entries')
    return names


def find_splits(yolo_root: Path) -> List[str]:
    """Return the default split folders present in ``yolo_root``."""
    splits = [s for s in DEFAULT_SPLITS if (yolo_root / s / 'images').is_dir()]
    if not splits:
        raise YOLOFormatError(
            f'{yolo_root}: no split folder with images/ found (looked for '
            f'{", ".join(DEFAULT_SPLITS)}); name them with --splits'
        )
    return splits


def image_size(img_path: Path) -> Tuple[int, int]:
    """Read the upright ``(width, height)`` of an image from its header.

    Raises:
        YOLOFormatError: If the image cannot be read.
    """
    try:
        with Image.open(img_path) as img:
            width, height = img.size
            try:
                orientation = img.getexif().get(EXIF_ORIENTATION)
            except Exception:  # a broken EXIF block: treat as upright
                orientation = None
    except (OSError, UnidentifiedImageError) as err:
        raise YOLOFormatError(f'{img_path}: cannot read image ({err})') from None
    if orientation in EXIF_TRANSPOSED:
        width, height = height, width
    if width <= 0 or height <= 0:
        raise YOLOFormatError(f'{img_path}: image size {width}x{height}')
    return width, height


def _parse_number(token: str, where: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise YOLOFormatError(f'{where}: not a number: {token!r}') from None
    if not math.isfinite(value):
        raise YOLOFormatError(f'{where}: not a finite number: {token!r}')
    return value


def parse_label_line(line: str, line_no: int, label_path: Path, num_classes: int) -> YOLOObject:
    """Parse one non-blank line of a YOLO label file.

    Args:
        line: The line's text.
        line_no: 1-based line number, for error messages.
        label_path: The label file, for error messages.
        num_classes: Number of classes; class ids must be in
            ``[0, num_classes)``.

    Returns:
        The object with its normalised, unclipped corners.

    Raises:
        YOLOFormatError: Naming the file and line, on a wrong number of
            fields, a non-numeric or out-of-range value, or a class id that
            is not an integer in range.
    """
    where = f'{label_path}:{line_no}'
    tokens = line.split()
    n = len(tokens)
    if n != 5 and (n < 7 or n % 2 == 0):
        raise YOLOFormatError(
            f'{where}: expected "class cx cy w h" (5 fields) or a polygon '
            f'"class x1 y1 x2 y2 x3 y3 ..." (an odd number >= 7), got {n} '
            f'fields: {line.strip()!r}'
        )
    cls = _parse_number(tokens[0], f'{where}: class id')
    if not cls.is_integer():
        raise YOLOFormatError(f'{where}: class id is not an integer: {tokens[0]!r}')
    class_id = int(cls)
    if not 0 <= class_id < num_classes:
        raise YOLOFormatError(
            f'{where}: class id {class_id} out of range [0, {num_classes}) (data.yaml has {num_classes} names)'
        )
    values = [_parse_number(t, f'{where}: field {i + 2}') for i, t in enumerate(tokens[1:])]
    for i, v in enumerate(values):
        if not -COORD_TOL <= v <= 1 + COORD_TOL:
            raise YOLOFormatError(
                f'{where}: field {i + 2} is {tokens[i + 1]!r}, outside [0, 1] '
                '(YOLO coordinates are normalised by the image size)'
            )
    if n == 5:
        cx, cy, w, h = values
        corners = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    else:
        xs, ys = values[0::2], values[1::2]
        corners = (min(xs), min(ys), max(xs), max(ys))
    return YOLOObject(class_id, line_no, corners)


def parse_label_file(label_path: Path, num_classes: int) -> List[YOLOObject]:
    """Parse every non-blank line of a label file."""
    try:
        text = label_path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise YOLOFormatError(f'{label_path}: cannot read label file ({err})') from None
    return [
        parse_label_line(line, i, label_path, num_classes)
        for i, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def parse_split(yolo_root: Path, split: str, num_classes: int) -> List[YOLOImage]:
    """Parse ``<split>/images`` and ``<split>/labels``.

    Returns:
        The split's images in sorted file-name order.

    Raises:
        YOLOFormatError: If a folder is missing, a label file has no image
            or two images share a stem, or any image/label is invalid.
    """
    img_dir = yolo_root / split / 'images'
    label_dir = yolo_root / split / 'labels'
    if not img_dir.is_dir():
        raise YOLOFormatError(f'image folder not found: {img_dir}')
    if not label_dir.is_dir():
        raise YOLOFormatError(f'label folder not found: {label_dir}')
    img_paths = sorted(p for p in img_dir.iterdir() if p.is_file() and p.suffix.lower() in IMG_SUFFIXES)
    by_stem: Dict[str, Path] = {}
    for p in img_paths:
        if p.stem in by_stem:
            raise YOLOFormatError(
                f'{by_stem[p.stem]} and {p} would share the label file {label_dir / (p.stem + ".txt")}'
            )
        by_stem[p.stem] = p
    for label_path in sorted(label_dir.glob('*.txt')):
        if label_path.stem not in by_stem:
            raise YOLOFormatError(
                f'{label_path}: no image {label_path.stem}.* with a suffix in {", ".join(IMG_SUFFIXES)} in {img_dir}'
            )
    images = []
    for p in img_paths:
        width, height = image_size(p)
        label_path = label_dir / f'{p.stem}.txt'
        has_label = label_path.is_file()
        objects = parse_label_file(label_path, num_classes) if has_label else []
        images.append(
            YOLOImage(
                file_name=p.relative_to(yolo_root).as_posix(),
                width=width,
                height=height,
                label_path=label_path if has_label else None,
                objects=objects,
            )
        )
    return images


def yolo_corners_to_coco(corners: Tuple[float, float, float, float], width: int, height: int) -> Optional[List[float]]:
    """Convert normalised corners to a clipped absolute COCO box.

    Args:
        corners: ``(x1, y1, x2, y2)`` normalised to [0, 1], unclipped.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``[x, y, w, h]`` in pixels after clipping the corners to the image
        and rounding them to 3 decimals, or ``None`` if ``w`` or ``h`` is 0.
    """
    x1, y1, x2, y2 = corners
    x1, x2 = (round(min(max(v * width, 0.0), width), DECIMALS) for v in (x1, x2))
    y1, y2 = (round(min(max(v * height, 0.0), height), DECIMALS) for v in (y1, y2))
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, round(x2 - x1, DECIMALS), round(y2 - y1, DECIMALS)]


def yolo_boxes(img: YOLOImage) -> List[Box]:
    """The objects of ``img`` as ``(category id, clipped COCO box or None if degenerate, False)``: YOLO class
    ``k`` is category ``k + 1``; YOLO has no crowd flag."""
    return [(obj.class_id + 1, yolo_corners_to_coco(obj.corners, img.width, img.height), False) for obj in img.objects]


def convert_yolo_to_coco(
    yolo_root: PathLike, out_dir: PathLike, splits: Optional[Sequence[str]] = None
) -> Dict[str, dict]:
    """Convert the splits of a YOLO folder to ``out_dir/<split>.json``.

    Args:
        yolo_root: Root of the YOLO folder (holding ``data.yaml`` and the
            split folders).
        out_dir: Output folder, created if needed.
        splits: Split folder names; ``None`` for every one of
            ``train``, ``valid``, ``val``, ``test`` that exists.

    Returns:
        ``{split: dict(images=..., boxes=..., dropped_degenerate=...,
        without_labels=..., without_boxes=..., path=...)}``: ``boxes``
        counts the annotations written, ``without_labels`` the images that
        have no label file, ``without_boxes`` the images left with no
        annotation (no label file, an empty one, or only degenerate boxes),
        and ``path`` is the JSON path as str.

    Raises:
        YOLOFormatError: On any missing or invalid input; nothing is written.
    """
    yolo_root, out_dir = Path(yolo_root), Path(out_dir)
    names = read_names(yolo_root)
    if splits is None:
        splits = find_splits(yolo_root)
    if len(set(splits)) != len(splits):
        raise YOLOFormatError(f'split listed more than once: {list(splits)}')
    parsed = {split: parse_split(yolo_root, split, len(names)) for split in splits}
    cocos = {split: build_coco_dict(images, names, yolo_boxes) for split, images in parsed.items()}
    stats = write_coco_splits(out_dir, cocos)
    for split, images in parsed.items():
        annotated = {a['image_id'] for a in cocos[split][0]['annotations']}
        stats[split].update(
            without_labels=sum(img.label_path is None for img in images), without_boxes=len(images) - len(annotated)
        )
    return stats
