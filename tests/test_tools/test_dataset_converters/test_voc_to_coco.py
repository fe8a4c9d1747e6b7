"""Tests for the VOC converter: the library's conversion (mmdet_selfkd.datasets.converters.voc_to_coco) and its
command line, tools/dataset_converters/voc_to_coco.py."""

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet_selfkd.datasets.converters import voc_to_coco as v2c

from conftest import BCCD_VOC_ROOT, REPO, needs_bccd

SCRIPT = REPO / 'tools' / 'dataset_converters' / 'voc_to_coco.py'


# (name, (xmin, ymin, xmax, ymax), difficult)
Obj = Tuple[str, Tuple[int, int, int, int], int]


def _object_xml(name: str, box: Sequence[int], difficult: int) -> str:
    coords = ''.join(f'<{tag}>{val}</{tag}>' for tag, val in zip(v2c.BOX_FIELDS, box))
    return f'<object><name>{name}</name><difficult>{difficult}</difficult><bndbox>{coords}</bndbox></object>'


def write_image(root: Path, img_id: str, size: Tuple[int, int], objects: List[Obj], with_size: bool = True) -> Path:
    """Write a tiny JPEG and its VOC XML; return the XML path."""
    (root / 'JPEGImages').mkdir(parents=True, exist_ok=True)
    (root / 'Annotations').mkdir(parents=True, exist_ok=True)
    Image.new('RGB', size, (128, 64, 32)).save(root / 'JPEGImages' / f'{img_id}.jpg')
    size_xml = (f'<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>') if with_size else ''
    body = ''.join(_object_xml(*obj) for obj in objects)
    xml_path = root / 'Annotations' / f'{img_id}.xml'
    xml_path.write_text(f'<annotation><filename>{img_id}.jpg</filename>{size_xml}{body}</annotation>')
    return xml_path


def write_split(root: Path, split: str, ids: Sequence[str]) -> None:
    """Write ImageSets/Main/<split>.txt."""
    (root / 'ImageSets' / 'Main').mkdir(parents=True, exist_ok=True)
    (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text(''.join(f'{i}\n' for i in ids))


@pytest.fixture
def voc_root(tmp_path: Path) -> Path:
    """A small VOC folder: train = [img_a, img_b], val = [img_c]."""
    root = tmp_path / 'voc'
    write_image(
        root,
        'img_a',
        (20, 10),
        [
            ('cat', (1, 1, 10, 5), 0),  # -> [0, 0, 9, 4]
            ('dog', (5, 3, 20, 10), 1),  # difficult -> [4, 2, 15, 7], iscrowd
            ('cat', (7, 7, 7, 9), 0),  # zero width -> dropped
            ('dog', (15, 0, 30, 12), 0),  # clipped -> [14, 0, 6, 10]
        ],
    )
    # No <size>: width/height must come from the JPEG.
    write_image(root, 'img_b', (16, 12), [('cat', (2, 3, 8, 12), 0)], with_size=False)  # -> [1, 2, 6, 9]
    write_image(root, 'img_c', (8, 8), [])
    write_split(root, 'train', ['img_a', 'img_b'])
    write_split(root, 'val', ['img_c'])
    return root


def convert(root: Path, out: Path, classes: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    return v2c.convert_voc_to_coco(root, out, ['train', 'val'], classes)


def test_exact_coco_output(voc_root: Path, tmp_path: Path):
    out = tmp_path / 'out'
    stats = convert(voc_root, out)

    assert stats == {
        'train': dict(images=2, boxes=4, dropped_degenerate=1, path=str(out / 'train.json')),
        'val': dict(images=1, boxes=0, dropped_degenerate=0, path=str(out / 'val.json')),
    }
    train = json.loads((out / 'train.json').read_text())
    assert train['categories'] == [
        dict(id=1, name='cat', supercategory='none'),
        dict(id=2, name='dog', supercategory='none'),
    ]
    assert train['images'] == [
        dict(id=1, file_name='JPEGImages/img_a.jpg', width=20, height=10),
        dict(id=2, file_name='JPEGImages/img_b.jpg', width=16, height=12),
    ]
    got = [(a['id'], a['image_id'], a['category_id'], a['bbox'], a['area'], a['iscrowd']) for a in train['annotations']]
    assert got == [
        (1, 1, 1, [0, 0, 9, 4], 36, 0),
        (2, 1, 2, [4, 2, 15, 7], 105, 1),
        (3, 1, 2, [14, 0, 6, 10], 60, 0),
        (4, 2, 1, [1, 2, 6, 9], 54, 0),
    ]
    assert train['annotations'][0]['segmentation'] == [[0, 0, 0, 4, 9, 4, 9, 0]]

    val = json.loads((out / 'val.json').read_text())
    assert val['images'] == [dict(id=1, file_name='JPEGImages/img_c.jpg', width=8, height=8)]
    assert val['annotations'] == []
    assert val['categories'] == train['categories']


def test_given_classes_set_category_ids(voc_root: Path, tmp_path: Path):
    convert(voc_root, tmp_path / 'out', classes=['dog', 'cat'])
    train = json.loads((tmp_path / 'out' / 'train.json').read_text())
    assert [(c['id'], c['name']) for c in train['categories']] == [(1, 'dog'), (2, 'cat')]
    assert [a['category_id'] for a in train['annotations']] == [2, 1, 1, 2]


def test_unknown_class_names_file_and_class(voc_root: Path, tmp_path: Path):
    with pytest.raises(v2c.VOCFormatError) as exc:
        convert(voc_root, tmp_path / 'out', classes=['cat'])
    assert str(voc_root / 'Annotations' / 'img_a.xml') in str(exc.value)
    assert "'dog'" in str(exc.value)


def test_pycocotools_gt_as_detections_ap_is_one(voc_root: Path, tmp_path: Path):
    convert(voc_root, tmp_path / 'out')
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / 'out' / 'train.json'))
        dets = [
            dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=1.0)
            for a in gt.dataset['annotations']
            if not a['iscrowd']
        ]
        coco_eval = COCOeval(gt, gt.loadRes(dets), 'bbox')
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    assert coco_eval.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]
    assert coco_eval.stats[1] == pytest.approx(1.0)  # AP@.5


def test_unparseable_xml_names_file(voc_root: Path, tmp_path: Path):
    bad = voc_root / 'Annotations' / 'img_b.xml'
    bad.write_text('<annotation><object><name>cat</name>')
    with pytest.raises(v2c.VOCFormatError, match='malformed XML') as exc:
        convert(voc_root, tmp_path / 'out')
    assert str(bad) in str(exc.value)
    assert not (tmp_path / 'out').exists()  # nothing written on error


def test_missing_bndbox_field_names_file_and_field(voc_root: Path, tmp_path: Path):
    bad = voc_root / 'Annotations' / 'img_b.xml'
    bad.write_text(bad.read_text().replace('<xmax>8</xmax>', ''))
    with pytest.raises(v2c.VOCFormatError, match='<xmax>') as exc:
        convert(voc_root, tmp_path / 'out')
    assert str(bad) in str(exc.value)


def test_missing_bndbox_names_file(voc_root: Path, tmp_path: Path):
    xml = voc_root / 'Annotations' / 'img_c.xml'
    xml.write_text('<annotation><object><name>cat</name></object></annotation>')
    with pytest.raises(v2c.VOCFormatError, match='<bndbox>') as exc:
        convert(voc_root, tmp_path / 'out')
    assert str(xml) in str(exc.value)


def test_missing_xml_names_file(voc_root: Path, tmp_path: Path):
    missing = voc_root / 'Annotations' / 'img_b.xml'
    missing.unlink()
    with pytest.raises(v2c.VOCFormatError) as exc:
        convert(voc_root, tmp_path / 'out')
    assert str(missing) in str(exc.value)


def test_missing_split_file_names_it(voc_root: Path, tmp_path: Path):
    with pytest.raises(v2c.VOCFormatError) as exc:
        v2c.convert_voc_to_coco(voc_root, tmp_path / 'out', ['test'])
    assert str(voc_root / 'ImageSets' / 'Main' / 'test.txt') in str(exc.value)


def test_error_is_a_value_error():
    assert issubclass(v2c.VOCFormatError, ValueError)


def test_cli_prints_stats(voc_root: Path, tmp_path: Path):
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(voc_root), str(out), '--splits', 'train', 'val', '--classes', 'cat', 'dog'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.splitlines() == [
        f'train: 2 images, 4 boxes written, 1 degenerate boxes dropped -> {out / "train.json"}',
        f'val: 1 images, 0 boxes written, 0 degenerate boxes dropped -> {out / "val.json"}',
    ]


def test_cli_error_exits_nonzero(voc_root: Path, tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(voc_root), str(tmp_path / 'out'), '--splits', 'test'],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert 'test.txt' in proc.stderr


@needs_bccd
def test_real_bccd(tmp_path: Path):
    stats = v2c.convert_voc_to_coco(BCCD_VOC_ROOT, tmp_path, ['train', 'val', 'test'])
    assert {s: v['images'] for s, v in stats.items()} == dict(train=205, val=87, test=72)
    # The zero-size boxes of BloodImage_00343 (train) and 00338 (val).
    assert {s: v['dropped_degenerate'] for s, v in stats.items()} == dict(train=1, val=1, test=0)
    assert sum(v['boxes'] for v in stats.values()) == 4886  # 4888 - 2
    train = json.loads((tmp_path / 'train.json').read_text())
    assert [c['name'] for c in train['categories']] == ['Platelets', 'RBC', 'WBC']
    assert train['images'][0]['file_name'].startswith('JPEGImages/')
    assert all(a['bbox'][2] > 0 and a['bbox'][3] > 0 for a in train['annotations'])
