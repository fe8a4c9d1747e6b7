"""A deterministic, learnable detection dataset for offline runs and tests: "shapes".

Each image is a noisy textured background with 1-4 filled shapes (square, circle, triangle) of random
size, position and colour. Class is the shape; colour is class-correlated for most objects (hue band
per class) and random for ``confusing_share`` of them, so a detector has to look at shape too and
its confidence is not trivially perfect. Written as PNGs plus COCO instance JSONs, one per split.
"""

import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

import cv2
import numpy as np
from mmengine.utils import track_iter_progress

CLASSES = ('square', 'circle', 'triangle')
HUE_BANDS = {'square': 0, 'circle': 60, 'triangle': 120}  # OpenCV hue (0-180)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.integers(60, 200, size=3)
    noise = rng.normal(0, 18, size=(size // 8, size // 8, 3))
    noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + noise + rng.normal(0, 6, size=(size, size, 3)), 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, cls: str, confusing: bool) -> Tuple[int, int, int]:
    hue = rng.integers(0, 180) if confusing else (HUE_BANDS[cls] + rng.integers(-12, 13)) % 180
    hsv = np.uint8([[[hue, rng.integers(150, 256), rng.integers(150, 256)]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _draw(img: np.ndarray, cls: str, box: Tuple[int, int, int, int], colour) -> None:
    x1, y1, x2, y2 = box
    if cls == 'square':
        cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), colour, -1)
    elif cls == 'circle':
        cv2.ellipse(img, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, colour, -1)
    else:
        pts = np.array([[(x1 + x2) // 2, y1], [x1, y2 - 1], [x2 - 1, y2 - 1]], np.int32)
        cv2.fillPoly(img, [pts], colour)


def _iou(a, b) -> float:
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _make_image(rng: np.random.Generator, size: int, confusing_share: float):
    img = _background(rng, size)
    objects: List[Tuple[str, Tuple[int, int, int, int]]] = []
    for _ in range(int(rng.integers(1, 5))):
        side = int(rng.integers(size // 10, size // 3))
        x1, y1 = (int(v) for v in rng.integers(0, size - side, size=2))
        box = (x1, y1, x1 + side, y1 + side)
        if any(_iou(box, other) > 0.1 for _, other in objects):
            continue
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        _draw(img, cls, box, _colour(rng, cls, rng.random() < confusing_share))
        objects.append((cls, box))
    return img, objects


def make_shapes_dataset(
    out_dir: str,
    splits: Dict[str, int] = None,
    image_size: int = 160,
    confusing_share: float = 0.2,
    seed: int = 0,
    progress: bool = False,
) -> Dict[str, str]:
    """Write the dataset (idempotent: same arguments, same bytes; existing files are kept).

    Args:
        out_dir (str): Root; images go to ``<out_dir>/images/<split>/``, annotations to
            ``<out_dir>/annotations/<split>.json``.
        splits (dict): Split name -> number of images. Default ``{'train': 400, 'val': 100}``.
        image_size (int): Square image side in pixels.
        confusing_share (float): Share of objects whose colour does not hint at their class.
        seed (int): Seed; each split draws from its own stream, so the first ``n`` images of a split are
            the same for every split size >= ``n``.
        progress (bool): Show a progress bar (mmengine's) per split that is written.

    Returns:
        dict: Split name -> annotation file path.
    """
    splits = splits or {'train': 400, 'val': 100}
    paths = {}
    for split_idx, (split, num_images) in enumerate(splits.items()):
        ann_path = osp.join(out_dir, 'annotations', f'{split}.json')
        paths[split] = ann_path
        if osp.exists(ann_path):
            continue
        rng = np.random.default_rng([seed, split_idx])
        os.makedirs(osp.join(out_dir, 'images', split), exist_ok=True)
        images, annotations = [], []
        img_ids = range(1, num_images + 1)
        if progress:
            print(f'shapes: writing {num_images} {split} images to {out_dir}', flush=True)
            img_ids = track_iter_progress(list(img_ids), file=sys.stdout)  # the current stdout
        for img_id in img_ids:
            img, objects = _make_image(rng, image_size, confusing_share)
            file_name = f'images/{split}/{img_id:05d}.png'
            cv2.imwrite(osp.join(out_dir, file_name), img)
            images.append(dict(id=img_id, file_name=file_name, width=image_size, height=image_size))
            for cls, (x1, y1, x2, y2) in objects:
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=img_id,
                        category_id=CLASSES.index(cls) + 1,
                        bbox=[x1, y1, x2 - x1, y2 - y1],
                        area=(x2 - x1) * (y2 - y1),
                        iscrowd=0,
                    )
                )
        os.makedirs(osp.dirname(ann_path), exist_ok=True)
        categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
        with open(ann_path + '.tmp', 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
        os.replace(ann_path + '.tmp', ann_path)  # the JSON appears only once every image is written
    return paths
