"""The COCO instance JSON the dataset converters write: one file per split, boxes only.

Shared by :mod:`.voc_to_coco` and :mod:`.yolo_to_coco`: category ids are 1-based in class-name order,
image and annotation ids 1-based and consecutive per split, and each annotation is a box ``[x, y, w, h]``
with ``area = w * h`` and the box as a 4-point ``segmentation`` polygon (for tools that expect the field).
"""

import json
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Tuple

# Sums and products of box coordinates are rounded to this many decimals (integer boxes stay integers).
DECIMALS = 3

# One box of an image: (category id, [x, y, w, h] or None for a degenerate box, iscrowd).
Box = Tuple[int, Optional[List[float]], bool]


class ConvertedImage(Protocol):
    """What the writer needs of a parsed image: its file name (relative to the dataset root) and size."""

    file_name: str
    width: int
    height: int


def box_annotation(ann_id: int, image_id: int, category_id: int, bbox: List[float], iscrowd: bool) -> dict:
    """One COCO annotation of the box ``bbox = [x, y, w, h]``.

    ``area = w * h`` and ``segmentation`` is the polygon ``(x, y), (x, y + h), (x + w, y + h), (x + w, y)``,
    sums and the product rounded to :data:`DECIMALS` decimals.
    """
    x, y, w, h = bbox
    right, bottom = round(x + w, DECIMALS), round(y + h, DECIMALS)
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        bbox=bbox,
        area=round(w * h, DECIMALS),
        iscrowd=int(iscrowd),
        segmentation=[[x, y, x, bottom, right, bottom, right, y]],
    )


def build_coco_dict(
    images: Sequence[ConvertedImage], names: Sequence[str], boxes: Callable[[ConvertedImage], Iterable[Box]]
) -> Tuple[dict, int]:
    """The COCO instance dict of one split.

    Args:
        images: Parsed images of the split, in output order (image ``i`` gets id ``i + 1``).
        names: Class names; category ``k + 1`` is ``names[k]``.
        boxes: An image's boxes, as :data:`Box` tuples in output order; a None box is degenerate: dropped
            and counted.

    Returns:
        The COCO dict and the number of degenerate boxes dropped.
    """
    coco = dict(
        images=[],
        annotations=[],
        categories=[dict(id=i, name=name, supercategory='none') for i, name in enumerate(names, start=1)],
    )
    dropped = 0
    for image_id, img in enumerate(images, start=1):
        coco['images'].append(dict(id=image_id, file_name=img.file_name, width=img.width, height=img.height))
        for category_id, bbox, iscrowd in boxes(img):
            if bbox is None:
                dropped += 1
                continue
            coco['annotations'].append(
                box_annotation(len(coco['annotations']) + 1, image_id, category_id, bbox, iscrowd)
            )
    return coco, dropped


def write_coco_splits(out_dir: Path, splits: Dict[str, Tuple[dict, int]]) -> Dict[str, dict]:
    """Write ``out_dir/<split>.json`` (``out_dir`` created if needed) for ``splits``: split -> the output of
    :func:`build_coco_dict`.

    Returns:
        ``{split: dict(images=..., boxes=..., dropped_degenerate=..., path=...)}``: ``boxes`` counts the
        annotations written, ``path`` is the JSON path as str.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = {}
    for split, (coco, dropped) in splits.items():
        out_path = out_dir / f'{split}.json'
        out_path.write_text(json.dumps(coco))
        stats[split] = dict(
            images=len(coco['images']), boxes=len(coco['annotations']), dropped_degenerate=dropped, path=str(out_path)
        )
    return stats
