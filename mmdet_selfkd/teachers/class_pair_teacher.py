"""CS-KD's teacher: for each positive proposal, the prediction of a positive proposal of the same class
from another image, from the batch when it has one, else from a class-wise memory of earlier batches."""

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .roi_batch import RoIBatch
from .teacher_provider import TeacherProvider

BankEntry = Tuple[str, Tensor]  # (image key, detached softmax (K,))


class ClassPairTeacher(TeacherProvider):
    """Pairs every positive RoI with a positive RoI of the same class from another image.

    In-batch partners are drawn uniformly among the positives of the same class whose image key
    (``img_path``) differs; :class:`~mmdet_selfkd.datasets.ClassPairBatchSampler` makes them the normal
    case. With ``use_memory`` (default), positives without one take the class memory: the latest
    prediction of their class seen in an earlier batch from an image other than theirs. The memory keeps,
    per (stage, class), the two latest predictions from distinct images, which is enough to always answer
    that question; it is filled whether or not it is used. Negatives never get a teacher. Counts of pairs
    found are kept until :meth:`pop_stats`.

    Args:
        use_memory (bool): Whether positives without an in-batch partner take the class memory (True) or
            the cross-entropy only (False, as in the reference, where every sample has a partner).
    """

    def __init__(self, use_memory: bool = True) -> None:
        self.use_memory = use_memory
        self.bank: Dict[Tuple[int, int], List[BankEntry]] = {}
        self._counts = dict(positives=0, in_batch=0, from_memory=0)

    def teach(self, batch: RoIBatch, probs: Tensor) -> Tuple[Tensor, Tensor]:
        probs = probs.detach().float().cpu()
        rows, labels, keys = self.positives(batch)
        teacher_probs = torch.zeros_like(probs)
        has_teacher = torch.zeros(probs.size(0), dtype=torch.bool)
        partners = self.pair_in_batch(labels, keys)
        paired = partners >= 0
        teacher_probs[rows[paired]] = probs[rows[partners[paired]]]
        has_teacher[rows[paired]] = True
        num_from_memory = 0
        for i in torch.nonzero(~paired).flatten().tolist() if self.use_memory else []:
            recalled = self.recall(batch.stage, int(labels[i]), keys[i])
            if recalled is not None:
                teacher_probs[rows[i]], has_teacher[rows[i]] = recalled, True
                num_from_memory += 1
        self._remember(batch.stage, rows, labels, keys, probs)
        self._counts['positives'] += rows.numel()
        self._counts['in_batch'] += int(paired.sum())
        self._counts['from_memory'] += num_from_memory
        return teacher_probs, has_teacher

    @staticmethod
    def positives(batch: RoIBatch) -> Tuple[Tensor, Tensor, List[str]]:
        """Row indices (in logits order), classes and image keys of the batch's positive RoIs."""
        rows, labels, keys, offset = [], [], [], 0
        for img in batch.images:
            num_pos = img.pos_boxes.size(0)
            rows.append(torch.arange(offset, offset + num_pos))
            labels.append(img.gt_labels[img.pos_gt_inds].long())
            keys += [img.key] * num_pos
            offset += img.num_rois
        return torch.cat(rows), torch.cat(labels), keys

    @staticmethod
    def pair_in_batch(labels: Tensor, keys: List[str]) -> Tensor:
        """For each positive, a random positive of the same class from another image; -1 where none."""
        if labels.numel() == 0:
            return labels.new_full((0,), -1)
        id_of_key = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        image_ids = torch.tensor([id_of_key[key] for key in keys])
        allowed = (labels[:, None] == labels[None, :]) & (image_ids[:, None] != image_ids[None, :])
        best_draw, partners = torch.rand(allowed.shape).masked_fill(~allowed, -1).max(1)
        return partners.masked_fill(best_draw < 0, -1)

    def recall(self, stage: int, label: int, key: str) -> Optional[Tensor]:
        """The latest remembered prediction of class ``label`` from an image other than ``key``."""
        return next((probs for entry_key, probs in self.bank.get((stage, label), []) if entry_key != key), None)

    def _remember(self, stage: int, rows: Tensor, labels: Tensor, keys: List[str], probs: Tensor) -> None:
        """Push each positive's prediction, in batch order (the last one of a class is the newest)."""
        for row, label, key in zip(rows.tolist(), labels.tolist(), keys):
            entries = self.bank.get((stage, label), [])
            self.bank[(stage, label)] = [(key, probs[row].clone())] + [e for e in entries if e[0] != key][:1]

    def pop_stats(self) -> Dict[str, float]:
        """Shares of positives paired (in all, and from the memory) since the last call; empty if none."""
        counts, self._counts = self._counts, dict(positives=0, in_batch=0, from_memory=0)
        if not counts['positives']:
            return {}
        return dict(
            pair_rate=(counts['in_batch'] + counts['from_memory']) / counts['positives'],
            memory_pair_rate=counts['from_memory'] / counts['positives'],
        )

    def state_dict(self) -> dict:
        slots = [(stage, label, key, probs) for (stage, label), entries in self.bank.items() for key, probs in entries]
        return dict(
            stages=[s[0] for s in slots],
            labels=[s[1] for s in slots],
            keys=[s[2] for s in slots],
            probs=[s[3] for s in slots],
        )

    def load_state_dict(self, state: dict) -> None:
        self.bank = {}
        for stage, label, key, probs in zip(state['stages'], state['labels'], state['keys'], state['probs']):
            self.bank.setdefault((stage, label), []).append((key, probs))
