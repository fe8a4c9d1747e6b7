"""``snapshot`` strategy: a frozen copy of the model from the end of the previous pass re-scores the
current proposals, which gives the exact ``p_{t-1}`` of every sampled RoI (negatives included) at the
cost of one extra no-grad forward of backbone, neck and RoI head per iteration."""
import copy
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .roi_batch import RoIBatch


class SnapshotTeacher:
    """Holds the frozen model copy and scores RoI batches with it.

    Args:
        num_classes (int): Logits per RoI, background included.
    """
    strategy = 'snapshot'

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.snapshot: Optional[nn.Module] = None
        self._data_batch: Optional[dict] = None
        self._feats: Optional[Tuple[Tensor, ...]] = None

    def set_batch(self, data_batch: dict) -> None:
        """Remember the iteration's raw batch; its features are computed on first use."""
        self._data_batch, self._feats = data_batch, None

    @torch.no_grad()
    def teach(self, batch: RoIBatch) -> Tuple[Tensor, Tensor]:
        """Softmax of the snapshot's classifier on the batch's RoIs (none before the first pass ends)."""
        num_rows = batch.rois.size(0)
        if self.snapshot is None:
            return torch.zeros(num_rows, self.num_classes), torch.zeros(num_rows, dtype=torch.bool)
        if self._feats is None:
            inputs = self.snapshot.data_preprocessor(self._data_batch, True)['inputs']
            self._feats = self.snapshot.extract_feat(inputs)
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
        """Freeze the model's current weights as the teacher of the next pass."""
        if self.snapshot is None:
            # memo: the copy must point at this teacher, not duplicate it (the model references it)
            self.snapshot = copy.deepcopy(model, memo={id(self): self})
            self.snapshot.requires_grad_(False)
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
        return dict(strategy=self.strategy, num_classes=self.num_classes,
                    snapshot=None if self.snapshot is None else
                    {name: t.cpu() for name, t in self.snapshot.state_dict().items()})

    def load_state_dict(self, state: dict, model: Optional[nn.Module] = None) -> None:
        for name in ('strategy', 'num_classes'):
            if state.get(name) != getattr(self, name):
                raise ValueError(f'PS-KD memory in the checkpoint has {name}={state.get(name)!r} but this run '
                                 f'has {name}={getattr(self, name)!r}: resume with the settings it was saved '
                                 f'with, or start from `load_from` to begin with an empty memory.')
        if state['snapshot'] is not None:
            self.end_pass(model)
            self.snapshot.load_state_dict(state['snapshot'])
