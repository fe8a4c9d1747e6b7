"""Each family's data, prepared under the benchmark's directory: the synthetic shapes written, BCCD's VOC folder
and Aquarium's YOLO folder converted to COCO JSONs (the images stay where they are), and the config options
that point a family's configs at it."""

import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from mmdet_selfkd.apis import load_config
from mmdet_selfkd.datasets import make_shapes_dataset
from mmdet_selfkd.datasets.converters import convert_voc_to_coco, convert_yolo_to_coco

from .modes import ModeSettings
from .paths import REPO

DATA_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# The configs that say where each real dataset is (their train data_root: the default --data-root) and, for
# BCCD, its class order.
BCCD_BASE_CONFIG = 'configs/bccd/faster-rcnn_mobilenetv2_fpn_1x_bccd.py'
AQUARIUM_BASE_CONFIG = 'configs/aquarium/faster-rcnn_mobilenetv2_fpn_1x_aquarium.py'
BCCD_SPLITS = ('train', 'val', 'test')  # of DATA_LOADERS, in order
AQUARIUM_SPLITS = ('train', 'valid', 'test')  # of DATA_LOADERS, in order (Roboflow names its val split 'valid')


@dataclass(frozen=True)
class PreparedData:
    """A family's data, ready for its configs.

    Attributes:
        options (dict): Config options pointing every config of the family at the data, the held-out split
            in ``test_dataloader`` and ``test_evaluator``.
        train_images (int): Images of the training split.
        test_images (int): Images of the held-out split.
    """

    options: Dict[str, Any]
    train_images: int
    test_images: int


def config_data_root(config: str) -> str:
    """The dataset folder a config trains on (its ``train_dataloader.dataset.data_root``, with a trailing ``/``);
    ``config`` is relative to the repository root."""
    cfg = load_config(osp.join(REPO, config))
    return osp.normpath(cfg.train_dataloader.dataset.data_root) + '/'


def prepare_shapes(data_dir: str, settings: ModeSettings, data_root: Optional[str] = None) -> PreparedData:
    """Write the synthetic shapes dataset (train / val) and point the shapes configs at it.

    Args:
        data_dir (str): Directory for the dataset.
        settings (ModeSettings): Gives the train and val image counts.
        data_root (str, optional): Must be None: the dataset is generated, at the mode's sizes, into
            ``data_dir``.

    Returns:
        PreparedData: val is the held-out split.

    Raises:
        ValueError: If ``data_root`` is given.
    """
    if data_root is not None:
        raise ValueError(
            f'data_root={data_root!r}: the shapes family generates its data into the benchmark directory; '
            'give no data root (no --data-root)'
        )
    root = osp.join(data_dir, 'shapes') + '/'
    make_shapes_dataset(root, splits={'train': settings.train_images, 'val': settings.val_images})
    options: Dict[str, Any] = {f'{loader}.dataset.data_root': root for loader in DATA_LOADERS}
    options.update(
        {
            'val_evaluator.ann_file': root + 'annotations/val.json',
            'test_evaluator.ann_file': root + 'annotations/val.json',
        }
    )
    return PreparedData(options, train_images=settings.train_images, test_images=settings.val_images)


def converted_splits(image_root: str, splits: Sequence[str], stats: Dict[str, dict]) -> PreparedData:
    """Point the train, val and test loaders and evaluators at the converted ``splits`` (in that order; the
    last is held out), images under ``image_root``; ``stats`` is a converter's ``{split: {'path', 'images'}}``."""
    options: Dict[str, Any] = {}
    for loader, split in zip(DATA_LOADERS, splits):
        options[f'{loader}.dataset.data_root'] = image_root
        options[f'{loader}.dataset.ann_file'] = stats[split]['path']
    train, val, test = splits
    options.update({'val_evaluator.ann_file': stats[val]['path'], 'test_evaluator.ann_file': stats[test]['path']})
    return PreparedData(options, train_images=stats[train]['images'], test_images=stats[test]['images'])


def prepare_bccd(data_dir: str, settings: ModeSettings, data_root: str) -> PreparedData:
    """Convert BCCD's VOC splits to COCO JSONs (:func:`~mmdet_selfkd.datasets.converters.convert_voc_to_coco`)
    and point the BCCD configs at them.

    The class order (category ids) is the base config's; images stay in the VOC folder.

    Args:
        data_dir (str): The JSONs go to ``<data_dir>/bccd_coco/<split>.json``.
        settings (ModeSettings): Unused: BCCD's splits are fixed.
        data_root (str): BCCD's VOC folder (``Annotations/``, ``ImageSets/Main/``, ``JPEGImages/``), e.g.
            :func:`config_data_root` of :data:`BCCD_BASE_CONFIG`.

    Returns:
        PreparedData: train, val and test loaders on their splits; test is the held-out split.
    """
    voc_root = osp.normpath(data_root) + '/'
    classes = load_config(osp.join(REPO, BCCD_BASE_CONFIG)).metainfo.classes
    stats = convert_voc_to_coco(voc_root, osp.join(data_dir, 'bccd_coco'), splits=BCCD_SPLITS, classes=classes)
    return converted_splits(voc_root, BCCD_SPLITS, stats)


def prepare_aquarium(data_dir: str, settings: ModeSettings, data_root: str) -> PreparedData:
    """Convert Aquarium's YOLO splits to COCO JSONs (:func:`~mmdet_selfkd.datasets.converters.convert_yolo_to_coco`)
    and point the Aquarium configs at them; images stay in the YOLO folder.

    Args:
        data_dir (str): The JSONs go to ``<data_dir>/aquarium_coco/<split>.json``.
        settings (ModeSettings): Unused: Aquarium's splits are fixed.
        data_root (str): Aquarium's YOLO folder (``data.yaml``, ``<split>/images``, ``<split>/labels``), e.g.
            :func:`config_data_root` of :data:`AQUARIUM_BASE_CONFIG`.

    Returns:
        PreparedData: train, valid and test loaders on their splits; test is the held-out split.
    """
    yolo_root = osp.normpath(data_root) + '/'
    stats = convert_yolo_to_coco(yolo_root, osp.join(data_dir, 'aquarium_coco'), splits=AQUARIUM_SPLITS)
    return converted_splits(yolo_root, AQUARIUM_SPLITS, stats)
