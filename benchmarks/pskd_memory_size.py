"""Host memory of the ``gt`` and ``iou`` PS-KD memories at COCO train2017 scale, measured on the real classes.

Fills a :class:`~mmdet_selfkd.teachers.GTMemory` or :class:`~mmdet_selfkd.teachers.IoUMemory` through its own
``record`` / ``sync`` / ``end_pass`` calls with one pass over ``--images`` images, then records a second
pass: the memory then holds its bound, two entries per image (the teacher and the current pass). Each
image has ``--gts`` GTs and ``--positives`` positive proposals (mmdet's Faster R-CNN samples 512 RoIs at
a 0.25 positive fraction: at most 128 positives). Prints the tensor bytes the memory counts
(``nbytes()``) and the growth of the process's resident memory (tensor payload plus Python objects).

    python benchmarks/pskd_memory_size.py --strategy gt
    python benchmarks/pskd_memory_size.py --strategy iou --positives 128
"""

import argparse
import resource
import time

import torch

from mmdet_selfkd.teachers import TEACHERS, ImageRoIs, RoIBatch

COCO_IMAGES = 118_287
COCO_GTS_PER_IMAGE = 7.3  # 860,001 boxes / 118,287 images


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--strategy', choices=['gt', 'iou'], default='gt')
    parser.add_argument('--images', type=int, default=COCO_IMAGES)
    parser.add_argument('--gts', type=int, default=round(COCO_GTS_PER_IMAGE), help='GTs per image')
    parser.add_argument('--positives', type=int, default=128, help='positive proposals per image')
    parser.add_argument('--num-classes', type=int, default=80, help='object classes (logits: + 1)')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--batch', type=int, default=16, help='images per record/sync call')
    return parser.parse_args()


def synthetic_batch(first: int, count: int, args: argparse.Namespace, probs: torch.Tensor) -> RoIBatch:
    """``count`` images with ``args.gts`` GTs and ``args.positives`` positives each (probabilities ``probs``), no
    negatives."""
    images = []
    for index in range(first, first + count):
        gt_boxes = torch.rand(args.gts, 4).sort(1).values * 600
        pos_gt_inds = torch.arange(args.positives) % args.gts
        images.append(
            ImageRoIs(
                key=f'train2017/{index:012d}.jpg',
                gt_boxes=gt_boxes,
                gt_labels=torch.randint(args.num_classes, (args.gts,)),
                pos_boxes=gt_boxes[pos_gt_inds] + torch.rand(args.positives, 4),
                pos_gt_inds=pos_gt_inds,
                num_neg=0,
                pos_probs=probs[: args.positives],
            )
        )
    return RoIBatch(0, images)


def rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    args = parse_args()
    memory = TEACHERS.build(dict(type={'gt': 'GTMemory', 'iou': 'IoUMemory'}[args.strategy], topk=args.topk))
    memory.bind(None, args.num_classes + 1)
    probs = torch.rand(args.positives, args.num_classes + 1).softmax(1)
    start_rss, start = rss_mib(), time.perf_counter()
    for pass_ in range(2):
        for first in range(0, args.images, args.batch):
            memory.record(synthetic_batch(first, min(args.batch, args.images - first), args, probs))
            memory.sync()
        if pass_ == 0:
            memory.end_pass()
    entries = len(memory.prev_preds) + len(memory.cur_preds)
    print(
        f'strategy={args.strategy} images={args.images} gts/image={args.gts} positives/image={args.positives} '
        f'logits={args.num_classes + 1} topk={args.topk}'
    )
    print(f'entries: {entries} ({entries / args.images:.1f} per image, teacher + current pass)')
    print(
        f'tensor bytes (nbytes): {memory.nbytes() / 2**20:.1f} MiB '
        f'({memory.nbytes() / args.images / 1024:.2f} KiB per image)'
    )
    print(f'resident memory growth: {rss_mib() - start_rss:.1f} MiB  ({time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
