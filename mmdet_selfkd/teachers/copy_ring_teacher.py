"""MrKD's teacher: a ring of earlier copies of the model that re-score the current proposals.

Each copy is a :class:`~.snapshot_teacher.SnapshotTeacher` (the frozen model copy of PS-KD's
``snapshot`` strategy); the ring decides which one a refresh overwrites. Copies are kept outside the
model's module tree (so outside its ``state_dict``) and travel in the checkpoint through
:meth:`CopyRingTeacher.state_dict`. Cost: ``num_copies`` model copies in memory and one extra no-grad
forward of backbone, neck and RoI head per copy and iteration.
"""

from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn

from .roi_batch import RoIBatch
from .snapshot_teacher import SnapshotTeacher
from .teacher_provider import TeacherProvider


class CopyRingTeacher(TeacherProvider):
    """``num_copies`` model copies, one overwritten after every ``interval``-th iteration, oldest first.

    After the 0-based iteration ``i`` with ``(i + 1) % interval == 0`` the copy in slot
    ``((i + 1) // interval - 1) % num_copies`` takes the model's current weights, so the ring holds the
    weights after iterations ``interval - 1, 2 * interval - 1, ...`` (the latest ``num_copies`` of them).
    The slot follows from the iteration alone, which makes resume exact.

    Args:
        num_logits (int): Logits per RoI, background included.
        num_copies (int): Ring size, >= 1.
        interval (int): Iterations between two refreshes, >= 1.
    """

    def __init__(self, num_logits: int, num_copies: int, interval: int) -> None:
        self.num_logits = num_logits
        self.num_copies = num_copies
        self.interval = interval
        self.slots: List[SnapshotTeacher] = [SnapshotTeacher(num_logits) for _ in range(num_copies)]

    def slot_to_refresh(self, iteration: int) -> Optional[int]:
        """The slot overwritten after the 0-based ``iteration``, None if no refresh is due."""
        done = iteration + 1
        if done % self.interval:
            return None
        return (done // self.interval - 1) % self.num_copies

    def refresh(self, model: nn.Module, iteration: int) -> Optional[int]:
        """Copy ``model`` into its slot if a refresh is due after ``iteration``; returns the slot."""
        slot = self.slot_to_refresh(iteration)
        if slot is not None:
            self.slots[slot].end_pass(model)
        return slot

    def filled(self) -> List[SnapshotTeacher]:
        return [slot for slot in self.slots if slot.snapshot is not None]

    def teach(self, batch: RoIBatch, probs: Tensor) -> Tuple[Tensor, Tensor]:
        """Every stored copy's softmax on the batch's RoIs, (M, N, K); no teacher before the first copy."""
        copies = self.filled()
        num_rows = batch.rois.size(0)
        if not copies:
            return probs.new_zeros(1, num_rows, self.num_logits), torch.zeros(num_rows, dtype=torch.bool)
        return torch.stack([copy.teach(batch)[0] for copy in copies]), torch.ones(num_rows, dtype=torch.bool)

    def nbytes(self) -> int:
        """Bytes held by the copies' parameters and buffers."""
        return sum(slot.nbytes() for slot in self.slots)

    def state_dict(self) -> dict:
        return dict(
            num_logits=self.num_logits,
            num_copies=self.num_copies,
            interval=self.interval,
            slots=[slot.state_dict() for slot in self.slots],
        )

    def load_state_dict(self, state: dict, model: nn.Module) -> None:
        """Restore the copies (``model`` is the template of each restored copy)."""
        for name in ('num_logits', 'num_copies', 'interval'):
            if state.get(name) != getattr(self, name):
                raise ValueError(
                    f'MrKD copies in the checkpoint have {name}={state.get(name)!r} but this run has '
                    f'{name}={getattr(self, name)!r}: resume with the settings they were saved with, '
                    'or start from `load_from` to begin without copies.'
                )
        for slot, slot_state in zip(self.slots, state['slots']):
            slot.load_state_dict(slot_state, model)
