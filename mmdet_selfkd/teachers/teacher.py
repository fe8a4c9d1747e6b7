"""What a teacher is: the one protocol every self-KD method's teacher follows (PS-KD's memories and snapshot,
CS-KD's class pairs, MrKD's model copies).

Once per head stage and batch a self-KD head shows its teacher a :class:`~.roi_batch.RoIBatch` (the rows of
its logits, their images and GTs, and the student's own detached probabilities for them) and gets
:class:`TeacherTargets` back, which it passes, with ``alpha_t``, to its distillation loss in the same call.
Between iterations the hook that owns the teacher calls :meth:`Teacher.sync` (once per iteration),
:meth:`Teacher.end_pass` (when a pass over the data ends), :meth:`Teacher.after_iter`, :meth:`Teacher.pop_stats`
(what it logs) and carries :meth:`Teacher.state_dict` in the checkpoint, outside the model's ``state_dict``.
"""

from typing import Dict, NamedTuple, Optional

import torch
from torch import Tensor, nn

from .roi_batch import RoIBatch


class TeacherTargets(NamedTuple):
    """A batch's teacher: ``probs`` (N, K), or (M, N, K) for M teachers per row, and ``has_teacher`` (N,) bool.

    Rows are the batch's rows in logits order; rows without a teacher hold placeholders that are never read.
    """

    probs: Tensor
    has_teacher: Tensor


class Teacher:
    """Base class of every teacher.

    Subclasses implement :meth:`teach`, and where they need it :meth:`record`, :meth:`end_pass`,
    :meth:`after_iter`, :meth:`sync`, :meth:`extra_stats`, :meth:`nbytes` and the checkpoint pair; the
    settings returned by :meth:`settings` are saved with the state and checked on load (:meth:`check_settings`).

    A teacher is training state, never part of the model's ``state_dict``: copies of the model (the
    snapshots of ``SnapshotTeacher`` and ``CopyRingTeacher``) share it, ``copy.deepcopy`` returns the teacher
    itself.
    """

    #: the hook that builds this teacher (named in error messages)
    hook_name = ''

    def __init__(self) -> None:
        self.num_logits: Optional[int] = None
        self._taught = self._rows = self._confidence = 0

    def __deepcopy__(self, memo: dict) -> 'Teacher':
        return self

    # --- set up ---------------------------------------------------------------------------------------
    def bind(self, model: nn.Module, num_logits: int) -> None:
        """Learn the model it teaches (called by the hook in ``before_train``, before any restore).

        Args:
            model (nn.Module): The detector, unwrapped.
            num_logits (int): Probabilities per row: ``num_classes + 1`` for a softmax RoI head, ``num_classes``
                for a sigmoid dense head (its ``cls_out_channels``).
        """
        self.num_logits = num_logits

    # --- every batch ----------------------------------------------------------------------------------
    def __call__(self, batch: RoIBatch) -> TeacherTargets:
        """What a head calls once per stage and batch: :meth:`teach`, then :meth:`record`; the taught rows
        are counted for :meth:`pop_stats` (on the targets' device: no sync here)."""
        targets = self.teach(batch)
        self.record(batch)
        has = targets.has_teacher
        confidence = targets.probs.detach().float().amax(-1)
        if confidence.dim() == 2:  # M teachers per row: their mean top probability
            confidence = confidence.mean(0)
        self._taught = self._taught + has.sum()
        self._rows += has.numel()
        self._confidence = self._confidence + (confidence * has).sum()
        return targets

    def teach(self, batch: RoIBatch) -> TeacherTargets:
        """The teacher of the batch's rows."""
        raise NotImplementedError

    def record(self, batch: RoIBatch) -> None:
        """Keep what the batch shows for later teaching (nothing by default)."""

    # --- between iterations ---------------------------------------------------------------------------
    def sync(self) -> None:
        """Share this iteration's records across ranks (a collective call under DDP; nothing by default)."""

    def end_pass(self, model: nn.Module) -> None:
        """A pass over the data has ended (nothing by default)."""

    def after_iter(self, model: nn.Module, iteration: int) -> None:
        """The 0-based ``iteration`` has ended (nothing by default)."""

    def pop_stats(self) -> Dict[str, float]:
        """What to log since the last call: ``coverage`` (share of rows taught), ``teacher_conf`` (mean top
        probability of their teachers) and the subclass's :meth:`extra_stats`."""
        stats = {}
        if self._rows:
            taught = float(self._taught)
            stats = dict(coverage=taught / self._rows, teacher_conf=float(self._confidence) / taught if taught else 0.0)
        self._taught = self._rows = self._confidence = 0
        return {**stats, **self.extra_stats()}

    def extra_stats(self) -> Dict[str, float]:
        """A subclass's own statistics, popped with :meth:`pop_stats`."""
        return {}

    def nbytes(self) -> int:
        """Bytes the teacher holds (logged as ``memory_mb``)."""
        return 0

    # --- checkpoint -----------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The options a checkpoint's state depends on: saved with it, checked on load."""
        return dict(type=type(self).__name__, num_logits=self.num_logits)

    def state_dict(self) -> dict:
        """Checkpoint state (plain lists, dicts and tensors: loadable with ``weights_only=True``)."""
        return self.settings()

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        """Restore :meth:`state_dict` (``model``: the template of restored model copies)."""
        self.check_settings(state)

    def check_settings(self, state: dict) -> None:
        """ValueError naming the first setting of ``state`` that differs from this teacher's."""
        for name, value in self.settings().items():
            if state.get(name) != value:
                raise ValueError(
                    f'{type(self).__name__} state in the checkpoint has {name}={state.get(name)!r} but this run '
                    f'has {name}={value!r}: resume with the settings it was saved with, or start from '
                    '`load_from` to begin with a fresh teacher.'
                )


def no_teacher(num_rows: int, num_logits: int, device: torch.device = None) -> TeacherTargets:
    """Targets of a batch no row of which has a teacher."""
    return TeacherTargets(
        torch.zeros(num_rows, num_logits, device=device), torch.zeros(num_rows, dtype=torch.bool, device=device)
    )
