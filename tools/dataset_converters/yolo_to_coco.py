"""Convert a YOLO-format dataset folder into COCO instance JSON files.

The conversion and its conventions: :mod:`mmdet_selfkd.datasets.converters.yolo_to_coco`.

Usage::

    python tools/dataset_converters/yolo_to_coco.py YOLO_ROOT OUT_DIR \
        [--splits train valid test]
"""

import argparse
from typing import Optional, Sequence

from mmdet_selfkd.datasets.converters.yolo_to_coco import DEFAULT_SPLITS, YOLOFormatError, convert_yolo_to_coco


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Convert a YOLO-format folder (data.yaml, '
        '<split>/images, <split>/labels) to COCO instance JSONs '
        '(OUT_DIR/<split>.json).'
    )
    parser.add_argument('yolo_root', help='folder with data.yaml and <split>/images, <split>/labels')
    parser.add_argument('out_dir', help='output folder for <split>.json')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=None,
        help=f'split folders to convert (default: those of {" ".join(DEFAULT_SPLITS)} that exist)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the converter and print per-split statistics."""
    args = parse_args(argv)
    try:
        stats = convert_yolo_to_coco(args.yolo_root, args.out_dir, args.splits)
    except YOLOFormatError as err:
        raise SystemExit(f'error: {err}') from None
    for split, s in stats.items():
        print(
            f'{split}: {s["images"]} images ({s["without_labels"]} without '
            f'a label file, {s["without_boxes"]} with no boxes), '
            f'{s["boxes"]} boxes written, '
            f'{s["dropped_degenerate"]} degenerate boxes dropped '
            f'-> {s["path"]}'
        )


if __name__ == '__main__':
    main()
