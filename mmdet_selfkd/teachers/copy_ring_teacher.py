"""MrKD's teacher: a ring of earlier copies of the model that re-score the current proposals.

Each copy is a :class:`~.snapshot_teacher.SnapshotTeacher` (the frozen model copy of PS-KD's
``snapshot`` strategy); the ring decides which one a refresh overwrites. Copies are kept outside the
model's module tree (so outside its ``state_dict``) and travel in the checkpoint through
:meth:`CopyRingTeacher.state_dict`. Cost: ``num_copies`` model copies in memory and one extra no-grad
forward of backbone, neck and RoI head per copy and iteration.
"""

from typing import Dict, List, Optional

import torch
from torch import nn

from .registry import TEACHERS
from .roi_batch import RoIBatch
from .snapshot_teacher import SnapshotTeacher
from .teacher import Teacher, TeacherTargets


@TEACHERS.register_module()
class CopyRingTeacher(Teacher):
    """``num_copies`` model copies, one overwritten after every ``interval``-th iteration, oldest first.

    After the 0-based iteration ``i`` with ``(i + 1) % interval == 0`` the copy in slot
    ``((i + 1) // interval - 1) % num_copies`` takes the model's current weights, so the ring holds the
    weights after iterations ``interval - 1, 2 * interval - 1, ...`` (the latest ``num_copies`` of them).
    The slot follows from the iteration alone, which makes resume exact.

    Args:
        num_copies (int): Ring size, >= 1. Default 2.
        interval (int): Iterations between two refreshes, >= 1. Default 500.
    """

    hook_name = 'MrKDHook'

    def __init__(self, num_copies: int = 2, interval: int = 500) -> None:
        super().__init__()
        if not (isinstance(num_copies, int) and num_copies >= 1):
            raise ValueError(
                f'CopyRingTeacher(num_copies={num_copies!r}): the number of model copies must be an int >= 1.'
            )
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(
                f'CopyRingTeacher(interval={interval!r}): the refresh interval must be an int >= 1 (iterations).'
            )
        self.num_copies = num_copies
        self.interval = interval
        self.slots: List[SnapshotTeacher] = [SnapshotTeacher() for _ in range(num_copies)]

    def bind(self, model: nn.Module, num_logits: int) -> None:
        super().bind(model, num_logits)
        for slot in self.slots:
            slot.bind(model, num_logits)

    def slot_to_refresh(self, iteration: int) -> Optional[int]:
        """The slot overwritten after the 0-based ``iteration``, None if no refresh is due."""
        done = iteration + 1
        if done % self.interval:
            return None
        return (done // self.interval - 1) % self.num_copies

    def after_iter(self, model: nn.Module, iteration: int) -> None:
        """Copy ``model`` into its slot if a refresh is due after ``iteration``."""
        slot = self.slot_to_refresh(iteration)
        if slot is not None:
            self.slots[slot].end_pass(model)

    def filled(self) -> List[SnapshotTeacher]:
        return [slot for slot in self.slots if slot.snapshot is not None]

    def teach(self, batch: RoIBatch) -> TeacherTargets:
        """Every stored copy's softmax on the batch's RoIs, (M, N, K); no teacher before the first copy."""
        copies = self.filled()
        num_rows, device = batch.rois.size(0), batch.rois.device
        if not copies:
            return TeacherTargets(
                torch.zeros(1, num_rows, self.num_logits, device=device),
                torch.zeros(num_rows, dtype=torch.bool, device=device),
            )
        return TeacherTargets(
            torch.stack([copy.teach(batch).probs for copy in copies]),
            torch.ones(num_rows, dtype=torch.bool, device=device),
        )

    def extra_stats(self) -> Dict[str, float]:
        return dict(copies=len(self.filled()))

    def nbytes(self) -> int:
        """Bytes held by the copies' parameters and buffers."""
        return sum(slot.nbytes() for slot in self.slots)

    def settings(self) -> dict:
        return dict(super().settings(), num_copies=self.num_copies, interval=self.interval)

    def state_dict(self) -> dict:
        return dict(self.settings(), slots=[slot.state_dict() for slot in self.slots])

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        """Restore the copies (``model`` is the template of each restored copy)."""
        self.check_settings(dict(state, type=type(self).__name__) if 'type' not in state else state)  # 0.1: no type
        for slot, slot_state in zip(self.slots, state['slots']):
            slot.load_state_dict(slot_state, model)
