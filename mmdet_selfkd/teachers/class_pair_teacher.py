"""CS-KD's teacher: for each positive proposal, the prediction of a positive proposal of the same class
from another image, from the batch when it has one, else from a class-wise memory of earlier batches."""

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .registry import TEACHERS
from .roi_batch import RoIBatch
from .teacher import Teacher, TeacherTargets

BankEntry = Tuple[str, Tensor]  # (image key, detached softmax (K,))


@TEACHERS.register_module()
class ClassPairTeacher(Teacher):
    """Pairs every positive RoI with a positive RoI of the same class from another image.

    In-batch partners are drawn uniformly among the positives of the same class whose image key
    (``img_path``) differs; :class:`~mmdet_selfkd.datasets.ClassPairBatchSampler` makes them the normal
    case. With ``use_memory`` (default), positives without one take the class memory: the latest
    prediction of their class seen in an earlier batch from an image other than theirs. The memory keeps,
    per (stage, class), the two latest predictions from distinct images, which is enough to always answer
    that question; it is filled (:meth:`record`) whether or not it is used. Negatives never get a teacher.
    Counts of pairs found are logged as ``pair_rate`` and ``memory_pair_rate``.

    Args:
        use_memory (bool): Whether positives without an in-batch partner take the class memory (True) or
            the cross-entropy only (False, as in the reference, where every sample has a partner).
    """

    hook_name = 'CSKDHook'

    def __init__(self, use_memory: bool = True) -> None:
        super().__init__()
        self.use_memory = use_memory
        self.bank: Dict[Tuple[int, int], List[BankEntry]] = {}
        self._counts = dict(positives=0, in_batch=0, from_memory=0)

    def teach(self, batch: RoIBatch) -> TeacherTargets:
        rows, labels, keys, probs = self.positives(batch)
        teacher_probs = torch.zeros(batch.num_rows, self.num_logits)
        has_teacher = torch.zeros(batch.num_rows, dtype=torch.bool)
        partners = self.pair_in_batch(labels, keys)
        paired = partners >= 0
        teacher_probs[rows[paired]] = probs[partners[paired]]
        has_teacher[rows[paired]] = True
        num_from_memory = 0
        for i in torch.nonzero(~paired).flatten().tolist() if self.use_memory else []:
            recalled = self.recall(batch.stage, int(labels[i]), keys[i])
            if recalled is not None:
                teacher_probs[rows[i]], has_teacher[rows[i]] = recalled, True
                num_from_memory += 1
        self._counts['positives'] += rows.numel()
        self._counts['in_batch'] += int(paired.sum())
        self._counts['from_memory'] += num_from_memory
        return TeacherTargets(teacher_probs, has_teacher)

    def record(self, batch: RoIBatch) -> None:
        """Push each positive's prediction into the class memory, in batch order (the last one of a class is
        the newest)."""
        _, labels, keys, probs = self.positives(batch)
        for label, key, row_probs in zip(labels.tolist(), keys, probs):
            entries = self.bank.get((batch.stage, label), [])
            self.bank[(batch.stage, label)] = [(key, row_probs.clone())] + [e for e in entries if e[0] != key][:1]

    @staticmethod
    def positives(batch: RoIBatch) -> Tuple[Tensor, Tensor, List[str], Tensor]:
        """Row indices (in logits order), classes, image keys and the student's probabilities of the batch's
        positive RoIs, on the host."""
        labels, keys, probs = [], [], []
        for img in batch.images:
            labels.append(img.pos_labels.long())
            keys += [img.key] * img.pos_boxes.size(0)
            probs.append(img.pos_probs)
        return batch.positive_rows(), torch.cat(labels), keys, torch.cat(probs)

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

    def extra_stats(self) -> Dict[str, float]:
        """Shares of positives paired (in all, and from the memory) since the last call; empty if none."""
        counts, self._counts = self._counts, dict(positives=0, in_batch=0, from_memory=0)
        if not counts['positives']:
            return {}
        return dict(
            pair_rate=(counts['in_batch'] + counts['from_memory']) / counts['positives'],
            memory_pair_rate=counts['from_memory'] / counts['positives'],
        )

    def nbytes(self) -> int:
        """Bytes of the class memory's predictions (at most two per class and stage)."""
        return sum(probs.nbytes for entries in self.bank.values() for _, probs in entries)

    def state_dict(self) -> dict:
        slots = [(stage, label, key, probs) for (stage, label), entries in self.bank.items() for key, probs in entries]
        return dict(
            self.settings(),
            stages=[s[0] for s in slots],
            labels=[s[1] for s in slots],
            keys=[s[2] for s in slots],
            probs=[s[3] for s in slots],
        )

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        # the state of mmdet_selfkd 0.1 has the bank only
        self.check_settings({**self.settings(), **state} if 'type' not in state else state)
        self.bank = {}
        for stage, label, key, probs in zip(state['stages'], state['labels'], state['keys'], state['probs']):
            self.bank.setdefault((stage, label), []).append((key, probs))
