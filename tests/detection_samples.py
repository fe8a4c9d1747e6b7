"""Small detection fixtures shared by the metric and calibration tests: boxes, evaluator data samples, a
one-image COCO dataset, calibration-set images and a noisy 20-image COCO world."""

import json

import mmcv
import numpy as np
import torch


def box(x: float, y: float, size: float = 10.0) -> list:
    """An xyxy box of side ``size`` with top-left corner (x, y)."""
    return [x, y, x + size, y + size]


def sample(dets, gts=(), ignored=()) -> dict:
    """A data sample as mmengine's Evaluator hands it to ``process``.

    Args:
        dets: ``(bbox, score, label)`` triples.
        gts: ``(bbox, label)`` pairs of ground truth.
        ignored: ``(bbox, label)`` pairs of ignored (crowd) ground truth.
    """

    def instances(pairs) -> dict:
        return dict(
            bboxes=torch.tensor([p[0] for p in pairs], dtype=torch.float32).reshape(-1, 4),
            labels=torch.tensor([p[1] for p in pairs], dtype=torch.int64),
        )

    return dict(
        pred_instances=dict(
            bboxes=torch.tensor([d[0] for d in dets], dtype=torch.float32).reshape(-1, 4),
            scores=torch.tensor([d[1] for d in dets], dtype=torch.float32),
            labels=torch.tensor([d[2] for d in dets], dtype=torch.int64),
        ),
        gt_instances=instances(gts),
        ignored_instances=instances(ignored),
    )


def write_tiny_coco(root) -> None:
    """One 100x80 image with a cat, a dog and a crowd of cats."""
    (root / 'imgs').mkdir()
    mmcv.imwrite(np.zeros((80, 100, 3), np.uint8), str(root / 'imgs/0.jpg'))
    anns = [  # xywh
        dict(bbox=[10, 10, 30, 30], category_id=1, iscrowd=0),
        dict(bbox=[50, 20, 40, 40], category_id=2, iscrowd=0),
        dict(bbox=[0, 50, 40, 30], category_id=1, iscrowd=1),
    ]
    for i, ann in enumerate(anns):
        ann.update(id=i + 1, image_id=0, area=ann['bbox'][2] * ann['bbox'][3])
    coco = dict(
        images=[dict(id=0, file_name='0.jpg', width=100, height=80)],
        annotations=anns,
        categories=[dict(id=1, name='cat'), dict(id=2, name='dog')],
    )
    (root / 'ann.json').write_text(json.dumps(coco))


def image(dets, gts):
    return dict(
        bboxes=np.array([d[0] for d in dets], np.float32).reshape(-1, 4),
        scores=np.array([d[1] for d in dets]),
        labels=np.array([d[2] for d in dets], np.int64),
        gt_bboxes=np.array([g[0] for g in gts], np.float32).reshape(-1, 4),
        gt_labels=np.array([g[1] for g in gts], np.int64),
        gt_ignore=np.zeros(len(gts), bool),
    )


def coco_world(tmp_path, rng):
    """20 images, 2 classes, ~3 objects each; ~8 noisy detections per image with random scores."""
    images, anns, samples = [], [], []
    for i in range(20):
        images.append(dict(id=i, file_name=f'{i}.jpg', width=200, height=200))
        gts, dets = [], []
        for _ in range(3):
            x, y = rng.uniform(0, 150, 2)
            label = int(rng.integers(2))
            gts.append(([x, y, x + 40, y + 40], label))
            anns.append(
                dict(id=len(anns) + 1, image_id=i, category_id=label + 1, bbox=[x, y, 40, 40], area=1600, iscrowd=0)
            )
            for _ in range(2):
                dx, dy = rng.normal(0, 6, 2)
                dets.append(([x + dx, y + dy, x + dx + 40, y + dy + 40], label if rng.uniform() < 0.8 else 1 - label))
        for _ in range(2):
            x, y = rng.uniform(0, 150, 2)
            dets.append(([x, y, x + 30, y + 30], int(rng.integers(2))))
        scores = rng.uniform(0.05, 1.0, len(dets))
        samples.append(
            dict(
                img_id=i,
                ori_shape=(200, 200),
                pred_instances=dict(
                    bboxes=torch.tensor([d[0] for d in dets], dtype=torch.float32),
                    scores=torch.tensor(scores, dtype=torch.float32),
                    labels=torch.tensor([d[1] for d in dets]),
                ),
                gt_instances=dict(
                    bboxes=torch.tensor([g[0] for g in gts], dtype=torch.float32),
                    labels=torch.tensor([g[1] for g in gts]),
                ),
                ignored_instances=dict(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.int64)),
            )
        )
    coco = dict(images=images, annotations=anns, categories=[dict(id=1, name='a'), dict(id=2, name='b')])
    (tmp_path / 'ann.json').write_text(json.dumps(coco))
    return samples
