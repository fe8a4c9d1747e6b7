"""Which train pipelines the ``gt`` and ``iou`` memories can follow across passes.

The memories compare boxes of different passes in original-image coordinates, so every geometric
transform of the train pipeline must be undone (:func:`~.roi_batch.to_original_coords`):

* with ``homography_matrix`` in ``PackDetInputs(meta_keys=...)``, any transform that records it: mmdet's
  ``Resize`` (also inside ``RandomResize``/``RandomChoiceResize``), ``RandomFlip``, ``RandomCrop``, and the
  geometric ``ShearX/Y``, ``Rotate``, ``TranslateX/Y``, in any number and order;
* without it, one resize and flips only (the flip and the last ``scale_factor`` are undone).

Transforms that move boxes without recording the homography (``Expand``, ``MinIoURandomCrop``,
``RandomAffine``, ``Mosaic``, ...) cannot be followed: :func:`check_train_pipeline` refuses them at
start, by name. Transforms it does not know are refused too, unless the user lists them as not moving
boxes (``PSKDHook(trusted_transforms=[...])``).
"""

from typing import Iterable, List, Sequence

from mmcv.transforms import (
    ImageToTensor,
    LoadAnnotations,
    LoadImageFromFile,
    Normalize,
    Pad,
    RandomChoiceResize,
    RandomGrayscale,
    RandomResize,
    ToTensor,
)
from mmdet.datasets.transforms import (
    ColorTransform,
    CutOut,
    FilterAnnotations,
    GeomTransform,
    LoadEmptyAnnotations,
    PackDetInputs,
    PhotoMetricDistortion,
    RandomCrop,
    RandomErasing,
    RandomFlip,
    Resize,
    Transpose,
    YOLOXHSVRandomAug,
)

# transforms that never move a box (Pad pads bottom and right only)
BOX_PRESERVING = (
    LoadImageFromFile,
    LoadAnnotations,
    LoadEmptyAnnotations,
    FilterAnnotations,
    PackDetInputs,
    Normalize,
    Pad,
    PhotoMetricDistortion,
    ColorTransform,
    YOLOXHSVRandomAug,
    CutOut,
    RandomErasing,
    RandomGrayscale,
    ToTensor,
    ImageToTensor,
    Transpose,
)
RECORDS_HOMOGRAPHY = (Resize, RandomFlip, RandomCrop, GeomTransform)
HOMOGRAPHY_KEY = 'homography_matrix'


def check_train_pipeline(dataset, owner: str, trusted: Sequence[str] = ()) -> None:
    """Raise ValueError, naming the transform and the fix, if the boxes of ``dataset``'s train pipeline
    cannot be mapped back to the original image.

    Args:
        dataset: The runner's train dataset (``RepeatDataset``/``ConcatDataset`` wrappers are followed).
        owner (str): The setting to name in the message, e.g. ``"PSKDHook(memory=dict(strategy='gt'))"``.
        trusted (Sequence[str]): Class names of transforms the user declares box-preserving.
    """
    for pipeline in _pipelines(dataset):
        transforms = list(_flatten(pipeline.transforms))
        unknown = [
            t
            for t in transforms
            if not isinstance(t, BOX_PRESERVING + RECORDS_HOMOGRAPHY) and type(t).__name__ not in trusted
        ]
        if unknown:
            name = type(unknown[0]).__name__
            raise ValueError(
                f'{owner}: the train pipeline has {name}, which moves boxes without recording the '
                f'homography_matrix (or is unknown to PS-KD), so a memory entry could not find its box a pass '
                f"later. Remove it from the train pipeline, use strategy='snapshot' (it re-scores the current "
                f'RoIs and maps nothing), or, if {name} never moves boxes, declare it: '
                f"PSKDHook(trusted_transforms=['{name}'])."
            )
        geometric = [t for t in transforms if isinstance(t, RECORDS_HOMOGRAPHY)]
        resizes = [t for t in geometric if isinstance(t, Resize)]
        others = [t for t in geometric if not isinstance(t, (Resize, RandomFlip))]
        if (len(resizes) > 1 or others) and HOMOGRAPHY_KEY not in _packed_meta_keys(transforms):
            what = type(others[0]).__name__ if others else f'{len(resizes)} resizes'
            raise ValueError(
                f'{owner}: the train pipeline has {what}; PS-KD maps boxes back to the original image with '
                'the homography_matrix mmdet records over them, which PackDetInputs drops by default. Add it: '
                "dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', "
                "'scale_factor', 'flip', 'flip_direction', 'homography_matrix'))."
            )


def _pipelines(dataset) -> Iterable:
    """The pipelines of a dataset and of the datasets it wraps."""
    for child in [getattr(dataset, 'dataset', None), *getattr(dataset, 'datasets', [])]:
        if child is not None:
            yield from _pipelines(child)
    if getattr(dataset, 'pipeline', None) is not None:
        yield dataset.pipeline


def _flatten(transforms) -> Iterable:
    """Every leaf transform, through Compose/RandomChoice/RandomApply/AutoAugment wrappers and the resize
    wrappers (whose ``resize`` is the transform that runs)."""
    for transform in transforms:
        if isinstance(transform, (RandomResize, RandomChoiceResize)):
            yield from _flatten([transform.resize])
        elif hasattr(transform, 'transforms'):  # Compose, RandomChoice, RandomApply, AutoAugment, ...
            inner = transform.transforms
            yield from _flatten(inner if isinstance(inner, (list, tuple)) else [inner])
        else:
            yield transform


def _packed_meta_keys(transforms: List) -> tuple:
    return next((tuple(t.meta_keys) for t in transforms if isinstance(t, PackDetInputs)), ())
