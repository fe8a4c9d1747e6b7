"""Tests for the YOLO converter: the library's conversion (mmdet_selfkd.datasets.converters.yolo_to_coco) and its
command line, tools/dataset_converters/yolo_to_coco.py."""

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import pytest
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet_selfkd.datasets.converters import yolo_to_coco as y2c

from conftest import AQUARIUM_ROOT, REPO, needs_aquarium

SCRIPT = REPO / 'tools' / 'dataset_converters' / 'yolo_to_coco.py'


NAMES = ['cat', 'dog', 'bird']


def write_image(
    root: Path, split: str, name: str, size: Tuple[int, int], labels: Optional[str], orientation: int = 0
) -> Path:
    """Write a small image and (unless ``labels`` is None) its label file.

    Returns:
        The label file's path (which may not exist).
    """
    img_dir, label_dir = root / split / 'images', root / split / 'labels'
    img_dir.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    img = Image.new('RGB', size, (128, 64, 32))
    if orientation:
        exif = Image.Exif()
        exif[y2c.EXIF_ORIENTATION] = orientation
        img.save(img_dir / name, exif=exif)
    else:
        img.save(img_dir / name)
    label_path = label_dir / f'{Path(name).stem}.txt'
    if labels is not None:
        label_path.write_text(labels)
    return label_path


def write_yaml(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / 'data.yaml').write_text(text)
    return root / 'data.yaml'


@pytest.fixture
def yolo_root(tmp_path: Path) -> Path:
    """train = [img_a, img_b (no label file), img_c (empty), img_e (EXIF)];
    valid = [img_d]. File names sort as a, b, c, e."""
    root = tmp_path / 'yolo'
    write_yaml(root, f'train: ../train/images\nval: ../valid/images\nnc: 3\nnames: {NAMES}\n')
    write_image(
        root,
        'train',
        'img_a.png',
        (100, 50),
        '\n'.join(
            [
                '0 0.5 0.5 0.2 0.4',  # -> [40, 15, 20, 20]
                '1 0.95 0.1 0.2 0.4',  # clipped -> [85, 0, 15, 15]
                '',  # blank line: skipped
                '1 0.3 0.6 0 0.2',  # zero width -> dropped
                '0 0.125 0.5 0.0625 0.5',  # -> [9.375, 12.5, 6.25, 25]
                '2 0.1 0.2 0.3 0.2 0.2 0.8',  # polygon -> [10, 10, 20, 30]
            ]
        )
        + '\n',
    )
    write_image(root, 'train', 'img_b.jpg', (40, 30), None)
    write_image(root, 'train', 'img_c.png', (8, 8), '')
    # Stored 40x20, EXIF orientation 6 (rotate 90): loaded as 20 wide, 40 high.
    write_image(root, 'train', 'img_e.jpg', (40, 20), '2 0.5 0.25 1 0.5', orientation=6)  # -> [0, 0, 20, 20]
    write_image(root, 'valid', 'img_d.png', (16, 16), '2 0.5 0.5 0.5 0.5')  # -> [4, 4, 8, 8], no final newline
    return root


def convert(root: Path, out: Path, splits: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    return y2c.convert_yolo_to_coco(root, out, splits)


def test_exact_coco_output(yolo_root: Path, tmp_path: Path):
    out = tmp_path / 'out'
    stats = convert(yolo_root, out)  # splits found: train, valid

    assert stats == {
        'train': dict(
            images=4, boxes=5, dropped_degenerate=1, without_labels=1, without_boxes=2, path=str(out / 'train.json')
        ),
        'valid': dict(
            images=1, boxes=1, dropped_degenerate=0, without_labels=0, without_boxes=0, path=str(out / 'valid.json')
        ),
    }
    train = json.loads((out / 'train.json').read_text())
    assert train['categories'] == [
        dict(id=1, name='cat', supercategory='none'),
        dict(id=2, name='dog', supercategory='none'),
        dict(id=3, name='bird', supercategory='none'),
    ]
    assert train['images'] == [
        dict(id=1, file_name='train/images/img_a.png', width=100, height=50),
        dict(id=2, file_name='train/images/img_b.jpg', width=40, height=30),
        dict(id=3, file_name='train/images/img_c.png', width=8, height=8),
        dict(id=4, file_name='train/images/img_e.jpg', width=20, height=40),
    ]
    got = [(a['id'], a['image_id'], a['category_id'], a['bbox'], a['area'], a['iscrowd']) for a in train['annotations']]
    assert got == [
        (1, 1, 1, [40, 15, 20, 20], 400, 0),
        (2, 1, 2, [85, 0, 15, 15], 225, 0),
        (3, 1, 1, [9.375, 12.5, 6.25, 25], 156.25, 0),
        (4, 1, 3, [10, 10, 20, 30], 600, 0),
        (5, 4, 3, [0, 0, 20, 20], 400, 0),
    ]
    assert train['annotations'][2]['segmentation'] == [[9.375, 12.5, 9.375, 37.5, 15.625, 37.5, 15.625, 12.5]]

    valid = json.loads((out / 'valid.json').read_text())
    assert valid['images'] == [dict(id=1, file_name='valid/images/img_d.png', width=16, height=16)]
    assert [(a['category_id'], a['bbox']) for a in valid['annotations']] == [(3, [4, 4, 8, 8])]
    assert valid['categories'] == train['categories']


def test_explicit_splits(yolo_root: Path, tmp_path: Path):
    stats = convert(yolo_root, tmp_path / 'out', ['valid'])
    assert list(stats) == ['valid']
    assert not (tmp_path / 'out' / 'train.json').exists()


def test_names_as_dict_and_without_nc(yolo_root: Path, tmp_path: Path):
    write_yaml(yolo_root, 'names:\n  1: dog\n  0: cat\n  2: bird\n')
    convert(yolo_root, tmp_path / 'out')
    train = json.loads((tmp_path / 'out' / 'train.json').read_text())
    assert [c['name'] for c in train['categories']] == NAMES


def test_pycocotools_gt_as_detections_ap_is_one(yolo_root: Path, tmp_path: Path):
    convert(yolo_root, tmp_path / 'out')
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / 'out' / 'train.json'))
        dets = [
            dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=1.0)
            for a in gt.dataset['annotations']
        ]
        coco_eval = COCOeval(gt, gt.loadRes(dets), 'bbox')
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    assert coco_eval.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]
    assert coco_eval.stats[1] == pytest.approx(1.0)  # AP@.5


def test_mmdet_coco_dataset_loads_images_and_boxes(yolo_root: Path, tmp_path: Path):
    """``data_root=YOLO_ROOT, data_prefix=dict(img='')`` finds the images,
    and the JSON sizes match what mmcv loads (EXIF-rotated image included)."""
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules

    register_all_modules()
    convert(yolo_root, tmp_path / 'out')
    dataset = CocoDataset(
        data_root=str(yolo_root),
        ann_file=str(tmp_path / 'out' / 'train.json'),
        data_prefix=dict(img=''),
        metainfo=dict(classes=tuple(NAMES)),
        filter_cfg=None,
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)],
    )
    assert len(dataset) == 4
    train = json.loads((tmp_path / 'out' / 'train.json').read_text())
    images = train['images']
    for i, info in enumerate(images):
        sample = dataset[i]
        assert sample['img'].shape[:2] == (info['height'], info['width'])
    sample = dataset[3]  # img_e: bird [0, 0, 20, 20] -> xyxy
    assert sample['gt_bboxes'].tensor.tolist() == [[0, 0, 20, 20]]
    assert sample['gt_bboxes_labels'].tolist() == [2]


@pytest.mark.parametrize(
    'line, match',
    [
        ('0 0.5 0.5 0.2', '4 fields'),
        ('0 0.5 0.5 0.2 0.2 0.3', '6 fields'),
        ('0 0.5 0.5 0.2 zero', r"field 5: not a number: 'zero'"),
        ('0 0.5 nan 0.2 0.2', 'not a finite number'),
        ('3 0.5 0.5 0.2 0.2', r'class id 3 out of range \[0, 3\)'),
        ('-1 0.5 0.5 0.2 0.2', 'class id -1 out of range'),
        ('1.5 0.5 0.5 0.2 0.2', 'class id is not an integer'),
        ('0 50 25 20 10', r"field 2 is '50', outside \[0, 1\]"),
    ],
)
def test_bad_label_line_names_file_and_line(yolo_root: Path, tmp_path: Path, line: str, match: str):
    bad = yolo_root / 'valid' / 'labels' / 'img_d.txt'
    bad.write_text(f'2 0.5 0.5 0.5 0.5\n{line}\n')
    with pytest.raises(y2c.YOLOFormatError, match=match) as exc:
        convert(yolo_root, tmp_path / 'out')
    assert f'{bad}:2:' in str(exc.value)
    assert not (tmp_path / 'out').exists()  # nothing written on error


def test_integer_valued_float_class_id_is_accepted(yolo_root: Path, tmp_path: Path):
    (yolo_root / 'valid' / 'labels' / 'img_d.txt').write_text('1.0 0.5 0.5 0.5 0.5\n')
    convert(yolo_root, tmp_path / 'out')
    valid = json.loads((tmp_path / 'out' / 'valid.json').read_text())
    assert [a['category_id'] for a in valid['annotations']] == [2]


def test_label_without_image_names_file(yolo_root: Path, tmp_path: Path):
    orphan = yolo_root / 'train' / 'labels' / 'img_z.txt'
    orphan.write_text('0 0.5 0.5 0.1 0.1\n')
    with pytest.raises(y2c.YOLOFormatError, match='no image img_z') as exc:
        convert(yolo_root, tmp_path / 'out')
    assert str(orphan) in str(exc.value)


def test_two_images_sharing_a_stem(yolo_root: Path, tmp_path: Path):
    write_image(yolo_root, 'train', 'img_a.jpg', (10, 10), None)
    with pytest.raises(y2c.YOLOFormatError, match='share the label file'):
        convert(yolo_root, tmp_path / 'out')


def test_unreadable_image_names_file(yolo_root: Path, tmp_path: Path):
    bad = yolo_root / 'valid' / 'images' / 'img_d.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(y2c.YOLOFormatError, match='cannot read image') as exc:
        convert(yolo_root, tmp_path / 'out')
    assert str(bad) in str(exc.value)


def test_missing_labels_folder_names_it(yolo_root: Path, tmp_path: Path):
    label_dir = yolo_root / 'valid' / 'labels'
    for p in label_dir.iterdir():
        p.unlink()
    label_dir.rmdir()
    with pytest.raises(y2c.YOLOFormatError) as exc:
        convert(yolo_root, tmp_path / 'out')
    assert str(label_dir) in str(exc.value)


def test_missing_split_names_folder(yolo_root: Path, tmp_path: Path):
    with pytest.raises(y2c.YOLOFormatError) as exc:
        convert(yolo_root, tmp_path / 'out', ['test'])
    assert str(yolo_root / 'test' / 'images') in str(exc.value)


def test_no_split_folders(tmp_path: Path):
    root = tmp_path / 'yolo'
    write_yaml(root, 'names: [a]\n')
    with pytest.raises(y2c.YOLOFormatError, match='no split folder'):
        convert(root, tmp_path / 'out')


@pytest.mark.parametrize(
    'text, match',
    [
        ('nc: 2\n', 'no "names" entry'),
        ('names: [a, b\n', 'malformed YAML'),
        ('names: a\n', 'must be a list or a dict'),
        ('names: []\n', 'is empty'),
        ('nc: 3\nnames: [a, b]\n', 'nc is 3 but "names" has 2'),
        ('names: [a, b, a]\n', 'duplicate class names'),
        ('names: {0: a, 2: b}\n', r'keys must be the integers 0\.\.1'),
        ("names: {'0': a}\n", 'keys must be the integers'),
    ],
)
def test_bad_data_yaml_names_file(yolo_root: Path, tmp_path: Path, text: str, match: str):
    yaml_path = write_yaml(yolo_root, text)
    with pytest.raises(y2c.YOLOFormatError, match=match) as exc:
        convert(yolo_root, tmp_path / 'out')
    assert str(yaml_path) in str(exc.value)


def test_missing_data_yaml_names_file(yolo_root: Path, tmp_path: Path):
    (yolo_root / 'data.yaml').unlink()
    with pytest.raises(y2c.YOLOFormatError) as exc:
        convert(yolo_root, tmp_path / 'out')
    assert str(yolo_root / 'data.yaml') in str(exc.value)


def test_error_is_a_value_error():
    assert issubclass(y2c.YOLOFormatError, ValueError)


def test_cli_prints_stats(yolo_root: Path, tmp_path: Path):
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(yolo_root), str(out)], capture_output=True, text=True, check=True
    )
    assert proc.stdout.splitlines() == [
        f'train: 4 images (1 without a label file, 2 with no boxes), '
        f'5 boxes written, 1 degenerate boxes dropped -> {out / "train.json"}',
        f'valid: 1 images (0 without a label file, 0 with no boxes), '
        f'1 boxes written, 0 degenerate boxes dropped -> {out / "valid.json"}',
    ]


def test_cli_error_exits_nonzero(yolo_root: Path, tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(yolo_root), str(tmp_path / 'out'), '--splits', 'test'],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert str(yolo_root / 'test' / 'images') in proc.stderr


@needs_aquarium
def test_real_aquarium(tmp_path: Path):
    stats = y2c.convert_yolo_to_coco(AQUARIUM_ROOT, tmp_path)
    assert {s: v['images'] for s, v in stats.items()} == dict(train=448, valid=127, test=63)
    assert {s: v['without_labels'] for s, v in stats.items()} == dict(train=0, valid=0, test=0)
    # Two zero-size boxes in test (IMG_2423 line 17, IMG_2570 line 15).
    assert {s: v['dropped_degenerate'] for s, v in stats.items()} == dict(train=0, valid=0, test=2)
    assert sum(v['boxes'] for v in stats.values()) == 4817 - 2
    assert stats['train']['without_boxes'] == 1  # its one empty label file
    for split in stats:
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(tmp_path / f'{split}.json'))
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == [
            'fish',
            'jellyfish',
            'penguin',
            'puffin',
            'shark',
            'starfish',
            'stingray',
        ]
        assert len(coco.getImgIds()) == stats[split]['images']
        for img in coco.dataset['images']:
            assert (AQUARIUM_ROOT / img['file_name']).is_file()
            assert max(img['width'], img['height']) == 512
        for ann in coco.dataset['annotations']:
            img = coco.imgs[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0
            assert x >= 0 and y >= 0
            assert x + w <= img['width'] and y + h <= img['height']
