"""``snapshot`` strategy: the model as it was at the end of the previous pass re-scores the current
proposals.

What it is, exactly: the weights at the end of pass ``t - 1``, run in eval mode on the current
iteration's inputs (the student's own preprocessed batch, current augmentation included) and the
current sampled RoIs (negatives included). It is not the reference PS-KD's ``p_{t-1}`` (the prediction
made *during* pass ``t - 1``, on that pass's augmentation): it is the prediction of the end-of-pass model
on what the student sees now, which for detection, where proposals change every pass, is the closest
available teacher for every RoI.

BN mode: eval (running statistics). A teacher in train mode would normalise with the statistics of the
current batch and update the copy's running statistics on every call; in eval mode its prediction of a
RoI does not depend on the rest of the batch, is deterministic, and is what the end-of-pass model would
predict at test time. mmdet's detectors usually freeze the backbone's BN (``norm_eval=True``), so for
them the two modes differ only in norm layers of the neck and heads, if any.

Inputs: the student's preprocessed inputs, taken by a forward pre-hook on the student's backbone, so
random batch augmentations of the data preprocessor (``BatchSyncRandomResize``, ...) are not drawn a
second time and the teacher's RoIs line up with the student's. Cost: one extra no-grad forward of
backbone, neck and RoI head per iteration.
"""

import copy
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .roi_batch import RoIBatch


class SnapshotTeacher:
    """Holds the frozen model copy and scores RoI batches with it.

    The model it copies references it (through the PS-KD head or a loss); copies of that model share
    the teacher rather than duplicate it: ``copy.deepcopy`` returns the teacher itself.

    Args:
        num_classes (int): Logits per RoI, background included.
    """

    strategy = 'snapshot'

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.snapshot: Optional[nn.Module] = None
        self._student_backbone: Optional[nn.Module] = None
        self._inputs: Optional[Tensor] = None
        self._feats: Optional[Tuple[Tensor, ...]] = None

    def __deepcopy__(self, memo: dict) -> 'SnapshotTeacher':
        return self

    def _keep_inputs(self, module: nn.Module, args: tuple) -> None:
        """Forward pre-hook of the student's backbone: the batch it is about to see (copies of the backbone
        carry the hook too, and are ignored)."""
        if module is self._student_backbone:
            self._inputs, self._feats = args[0].detach(), None

    @torch.no_grad()
    def teach(self, batch: RoIBatch) -> Tuple[Tensor, Tensor]:
        """Softmax of the snapshot's classifier on the batch's RoIs (none before the first pass ends)."""
        num_rows = batch.rois.size(0)
        if self.snapshot is None:
            return torch.zeros(num_rows, self.num_classes), torch.zeros(num_rows, dtype=torch.bool)
        if self._feats is None:
            self._feats = self.snapshot.extract_feat(self._inputs)
        roi_head = self.snapshot.roi_head
        if hasattr(roi_head, 'num_stages'):  # cascade heads take the stage
            bbox_results = roi_head._bbox_forward(batch.stage, self._feats, batch.rois)
        else:
            bbox_results = roi_head._bbox_forward(self._feats, batch.rois)
        probs = bbox_results['cls_score'].float().softmax(1)
        return probs, torch.ones(num_rows, dtype=torch.bool, device=probs.device)

    def record(self, batch: RoIBatch, probs: Tensor) -> None:
        """Nothing to store: the snapshot itself is the memory."""

    def sync(self) -> None:
        """Nothing to gather: every rank holds the same weights."""

    def end_pass(self, model: nn.Module) -> None:
        """Freeze the model's current weights as the teacher of the next pass (the first call also starts
        watching the model's backbone inputs)."""
        if self.snapshot is None:
            self.snapshot = copy.deepcopy(model)
            self.snapshot.requires_grad_(False)
            self._student_backbone = model.backbone
            model.backbone.register_forward_pre_hook(self._keep_inputs)
        else:
            self.snapshot.load_state_dict(model.state_dict())
        self.snapshot.eval()
        self._feats = None

    def nbytes(self) -> int:
        if self.snapshot is None:
            return 0
        return sum(t.numel() * t.element_size() for t in self.snapshot.state_dict().values())

    def image_keys(self) -> set:
        return set()

    def state_dict(self) -> dict:
        return dict(
            strategy=self.strategy,
            num_classes=self.num_classes,
            snapshot=None
            if self.snapshot is None
            else {name: t.cpu() for name, t in self.snapshot.state_dict().items()},
        )

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        for name in ('strategy', 'num_classes'):
            if state.get(name) != getattr(self, name):
                raise ValueError(
                    f'PS-KD memory in the checkpoint has {name}={state.get(name)!r} but this run '
                    f'has {name}={getattr(self, name)!r}: resume with the settings it was saved '
                    f'with, or start from `load_from` to begin with an empty memory.'
                )
        if state['snapshot'] is not None:
            self.end_pass(model)
            self.snapshot.load_state_dict(state['snapshot'])
