"""CS-KD's batches: every drawn image comes with a partner image that shares a GT class with it.

The detection counterpart of the reference's ``PairBatchSampler`` (alinlab/cs-kd ``datasets.py``, lines
9-35): there each of the ``batch_size`` drawn samples gets ``random.choice`` of the samples of its class,
and the batch is ``batch_indices + pair_indices``. With it CS-KD's teacher is always the current network
(the partner's prediction in the same forward), never a prediction of an earlier batch.
"""

import math
from collections import Counter
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import RepeatDataset
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from torch.utils.data import BatchSampler, Sampler


@DATA_SAMPLERS.register_module()
class ClassPairBatchSampler(BatchSampler):
    """Batches of ``batch_size`` images: ``batch_size / 2`` drawn by the wrapped sampler, each followed in
    the batch by a partner image that has a GT box of one of its classes.

    Use it in place of mmdet's ``AspectRatioBatchSampler``::

        train_dataloader = dict(batch_size=8, batch_sampler=dict(type='ClassPairBatchSampler'))

    **What a batch holds.** ``batch_size`` (per GPU, as always in mmengine) counts all images: the first
    ``batch_size / 2`` come from the wrapped sampler (mmengine's ``DefaultSampler`` or ``InfiniteSampler``,
    so shuffling, seeding and DDP sharding are theirs and every GPU gets the same number of batches of the
    same size), the last ``batch_size / 2`` are their partners, in the same order, like the reference's
    ``batch_indices + pair_indices``. All of them are trained on (every image gets the cross-entropy and
    distils from, and teaches, the positives of its class in the others), whereas the reference forwards
    the partner half without gradient. ``batch_size`` must therefore be even.

    **Epoch length.** Every image is drawn once per epoch, as in the reference, so an epoch has
    ``ceil(len(sampler) / (batch_size / 2))`` iterations: twice as many as without this sampler at the same
    ``batch_size`` (same memory per iteration, twice the images per epoch). Halve ``max_epochs`` for the
    baseline's number of iterations, or double ``batch_size`` for its number of drawn images per iteration.

    **How a partner is chosen**, with a generator seeded by the wrapped sampler's ``seed``, its ``epoch``
    (``DefaultSampler``; read at the start of every epoch, so mmengine's ``set_epoch`` on the wrapped
    sampler is enough) and the rank, so batches are reproducible given the seed:

    1. a class ``c`` of the drawn image, with probability proportional to its number of GT boxes of ``c``
       (so that, on average, as many of its positive proposals as possible have a partner in the batch),
       among the classes that some other image has;
    2. a partner uniformly among the *other* images with a GT box of class ``c``. "Other" means another
       image file (``img_path``): under ``RepeatDataset`` the copies of an image are the same image, and
       CS-KD pairs proposals of two different images (the reference may draw the sample itself, with
       probability 1 / (its class's size)).

    Images without a GT box (``filter_empty_gt=False``), and images none of whose classes occur in another
    image, get a partner drawn uniformly among the other images. Classes are the GT labels of the
    annotations (``get_data_info(idx)['instances']``, ignored boxes such as COCO crowds left out, as they
    are not GTs in training; datasets without ``instances`` give them through ``get_cat_ids``). A partner
    is an index into the base dataset, which under ``RepeatDataset`` is a valid index of the wrapper too.

    No aspect-ratio grouping is done (``AspectRatioBatchSampler`` groups images of width < height apart),
    so batches may pad more.

    Args:
        sampler (Sampler): The sampler of drawn indices; it must have a ``dataset`` attribute (mmengine's
            samplers have).
        batch_size (int): Images per batch, drawn and partners together; even, >= 2.
        drop_last (bool): Drop the last batch if it has fewer than ``batch_size / 2`` drawn images.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(sampler, Sampler):
            raise TypeError(f'ClassPairBatchSampler: sampler should be a Sampler, got {sampler!r}.')
        if not isinstance(batch_size, int) or batch_size < 2 or batch_size % 2:
            raise ValueError(
                f'ClassPairBatchSampler: train_dataloader.batch_size={batch_size} must be an even '
                'integer >= 2: each batch holds batch_size / 2 drawn images and one same-class '
                'partner for each.'
            )
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None:
            raise ValueError(
                'ClassPairBatchSampler: the wrapped sampler has no `dataset` attribute: use '
                "train_dataloader.sampler=dict(type='DefaultSampler') or 'InfiniteSampler'."
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.num_drawn = batch_size // 2
        self._base, self._base_len = self._unwrap(dataset)
        self._build_index()

    # --- the class index --------------------------------------------------------------------------
    @staticmethod
    def _unwrap(dataset) -> Tuple[object, int]:
        """The dataset whose images are indexed: ``RepeatDataset`` layers are looked through (index ``i`` of
        the wrapper is image ``i % len(base)`` of the base); other datasets are indexed as they are."""
        while isinstance(dataset, RepeatDataset):
            dataset = dataset.dataset
        return dataset, len(dataset)

    def _image_classes(self, idx: int) -> Tuple[str, Counter]:
        """``(image key, Counter of GT labels)`` of base index ``idx``."""
        info = self._base.get_data_info(idx)
        key = str(info.get('img_path', idx))
        instances = info.get('instances')
        if instances is None:
            labels = self._base.get_cat_ids(idx)
        else:
            labels = [inst['bbox_label'] for inst in instances if not inst.get('ignore_flag', 0)]
        return key, Counter(int(label) for label in labels)

    def _build_index(self) -> None:
        keys: List[str] = []
        counts: List[Counter] = []
        for idx in range(self._base_len):
            key, count = self._image_classes(idx)
            keys.append(key)
            counts.append(count)
        first_of_key: Dict[str, int] = {}
        class_images: Dict[int, Dict[int, None]] = {}  # ordered sets of base indices, one per image file
        for idx, (key, count) in enumerate(zip(keys, counts)):
            image = first_of_key.setdefault(key, idx)
            for label in count:
                class_images.setdefault(label, {})[image] = None
        self._keys = keys
        self._images = np.asarray(sorted(first_of_key.values()), dtype=np.int64)
        self._class_images = {label: np.asarray(list(idxs), dtype=np.int64) for label, idxs in class_images.items()}
        # per base index: the classes some other image has, and their box counts (the draw weights)
        self._choices: List[Optional[Tuple[np.ndarray, np.ndarray]]] = []
        num_empty = num_alone = 0
        for count in counts:
            pairable = [(label, n) for label, n in sorted(count.items()) if self._class_images[label].size >= 2]
            if pairable:
                labels, weights = zip(*pairable)
                weights = np.asarray(weights, dtype=np.float64)
                self._choices.append((np.asarray(labels), weights / weights.sum()))
            else:
                self._choices.append(None)
                num_empty += not count
                num_alone += bool(count)
        print_log(
            f'ClassPairBatchSampler: {self._images.size} images ({self._base_len} indices), '
            f'{len(self._class_images)} classes; partners of any class for {num_empty} images '
            f'without GT and {num_alone} images whose classes no other image has.',
            logger='current',
        )

    # --- drawing ------------------------------------------------------------------------------------
    def partner(self, idx: int, rng: np.random.Generator) -> int:
        """A partner of the drawn index ``idx``: a base index of another image sharing a GT class with it
        (any other image when there is none; ``idx``'s own image in a one-image dataset)."""
        base_idx = idx % self._base_len
        key = self._keys[base_idx]
        choice = self._choices[base_idx]
        if choice is None:
            candidates = self._images
        else:
            labels, probs = choice
            candidates = self._class_images[int(labels[rng.choice(len(labels), p=probs)])]
        if candidates.size < 2:
            return base_idx
        while True:  # >= 2 distinct images among the candidates: each try succeeds with probability >= 1/2
            partner = int(candidates[rng.integers(candidates.size)])
            if self._keys[partner] != key:
                return partner

    def _rng(self) -> np.random.Generator:
        seed = getattr(self.sampler, 'seed', None)
        seed = 0 if seed is None else int(seed)
        epoch = int(getattr(self.sampler, 'epoch', 0))
        rank = getattr(self.sampler, 'rank', None)
        rank = get_dist_info()[0] if rank is None else int(rank)
        return np.random.default_rng([seed, epoch, rank])

    def _with_partners(self, drawn: Sequence[int], rng: np.random.Generator) -> List[int]:
        return list(drawn) + [self.partner(idx, rng) for idx in drawn]

    def __iter__(self) -> Iterator[List[int]]:
        rng = self._rng()
        drawn: List[int] = []
        for idx in self.sampler:
            drawn.append(int(idx))
            if len(drawn) == self.num_drawn:
                yield self._with_partners(drawn, rng)
                drawn = []
        if drawn and not self.drop_last:
            yield self._with_partners(drawn, rng)

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.num_drawn
        return math.ceil(len(self.sampler) / self.num_drawn)

    def set_epoch(self, epoch: int) -> None:
        """Set the wrapped sampler's epoch (mmengine sets it there itself; this is for direct use)."""
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
