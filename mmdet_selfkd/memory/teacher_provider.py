"""The teacher-provider interface: what a self-KD RoI head asks, once per stage and batch, for the teacher
of a :class:`~mmdet_selfkd.models.losses.ProvidedTeacherKDLoss`."""

from typing import Tuple

from torch import Tensor

from .roi_batch import RoIBatch


class TeacherProvider:
    """Base class of the per-batch teachers of CS-KD and MrKD.

    A provider is training state that a hook builds and attaches to its loss as a plain attribute, so
    it is never part of the model's ``state_dict``; the hook carries :meth:`state_dict` in the
    checkpoint under its own key. Copies of the model (MrKD's teachers) share the provider rather than
    duplicate it: ``copy.deepcopy`` returns the provider itself.
    """

    def teach(self, batch: RoIBatch, probs: Tensor) -> Tuple[Tensor, Tensor]:
        """The teacher of the batch's RoIs.

        Args:
            batch (RoIBatch): The stage's sampled RoIs, in logits order.
            probs (Tensor): The student's detached softmax for them (N, K), from this forward.

        Returns:
            tuple[Tensor, Tensor]: ``teacher_probs`` (N, K), or (M, N, K) for M teachers per row, and
            ``has_teacher`` (N,) bool.
        """
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Checkpoint state (plain lists, dicts and tensors: loadable with ``weights_only=True``)."""
        raise NotImplementedError

    def __deepcopy__(self, memo: dict) -> 'TeacherProvider':
        return self
