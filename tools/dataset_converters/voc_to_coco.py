"""Convert a Pascal-VOC-style dataset folder into COCO instance JSON files.

The conversion and its conventions: :mod:`mmdet_selfkd.datasets.converters.voc_to_coco`.

Usage::

    python tools/dataset_converters/voc_to_coco.py VOC_ROOT OUT_DIR \
        [--splits train val test] [--classes RBC WBC Platelets]
"""

import argparse
from typing import Optional, Sequence

from mmdet_selfkd.datasets.converters.voc_to_coco import DEFAULT_SPLITS, VOCFormatError, convert_voc_to_coco


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Convert a VOC-format folder to COCO instance JSONs (OUT_DIR/<split>.json).'
    )
    parser.add_argument('voc_root', help='folder with Annotations/, ImageSets/Main/ and JPEGImages/')
    parser.add_argument('out_dir', help='output folder for <split>.json')
    parser.add_argument(
        '--splits', nargs='+', default=list(DEFAULT_SPLITS), help='splits to convert (default: train val test)'
    )
    parser.add_argument(
        '--classes',
        nargs='+',
        default=None,
        help='class names in category-id order (default: sorted names found in the XMLs)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the converter and print per-split statistics."""
    args = parse_args(argv)
    try:
        stats = convert_voc_to_coco(args.voc_root, args.out_dir, args.splits, args.classes)
    except VOCFormatError as err:
        raise SystemExit(f'error: {err}') from None
    for split, s in stats.items():
        print(
            f'{split}: {s["images"]} images, {s["boxes"]} boxes written, '
            f'{s["dropped_degenerate"]} degenerate boxes dropped '
            f'-> {s["path"]}'
        )


if __name__ == '__main__':
    main()
