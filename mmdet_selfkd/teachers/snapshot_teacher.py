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

from .prediction_memory import convert_old_state
from .registry import TEACHERS
from .roi_batch import RoIBatch
from .teacher import Teacher, TeacherTargets, no_teacher


@TEACHERS.register_module()
class SnapshotTeacher(Teacher):
    """Holds the frozen model copy and scores RoI batches with it, on the model's device (no host copy).

    ``end_pass`` takes the copy; until then no row has a teacher.
    """

    hook_name = 'PSKDHook'
    strategy = 'snapshot'

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Optional[nn.Module] = None
        self._student_backbone: Optional[nn.Module] = None
        self._inputs: Optional[Tensor] = None
        self._feats: Optional[Tuple[Tensor, ...]] = None

    def _keep_inputs(self, module: nn.Module, args: tuple) -> None:
        """Forward pre-hook of the student's backbone: the batch it is about to see (copies of the backbone
        carry the hook too, and are ignored)."""
        if module is self._student_backbone:
            self._inputs, self._feats = args[0].detach(), None

    @torch.no_grad()
    def teach(self, batch: RoIBatch) -> TeacherTargets:
        """Softmax of the snapshot's classifier on the batch's RoIs (none before the first pass ends)."""
        num_rows = batch.rois.size(0)
        if self.snapshot is None:
            return no_teacher(num_rows, self.num_logits, batch.rois.device)
        if self._feats is None:
            self._feats = self.snapshot.extract_feat(self._inputs)
        roi_head = self.snapshot.roi_head
        if hasattr(roi_head, 'num_stages'):  # cascade heads take the stage
            bbox_results = roi_head._bbox_forward(batch.stage, self._feats, batch.rois)
        else:
            bbox_results = roi_head._bbox_forward(self._feats, batch.rois)
        probs = bbox_results['cls_score'].float().softmax(1)
        return TeacherTargets(probs, torch.ones(num_rows, dtype=torch.bool, device=probs.device))

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

    def state_dict(self) -> dict:
        snapshot = self.snapshot
        return dict(
            self.settings(),
            snapshot=None if snapshot is None else {name: t.cpu() for name, t in snapshot.state_dict().items()},
        )

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        state = convert_old_state(state)
        self.check_settings(state)
        if state['snapshot'] is not None:
            self.end_pass(model)
            self.snapshot.load_state_dict(state['snapshot'])
