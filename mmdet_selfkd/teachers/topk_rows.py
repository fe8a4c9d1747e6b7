"""How a prediction memory stores rows: a box, its label and its top-k class probabilities.

A stored entry (one image, one kind of rows) is a :class:`TopKRows` of two tensors:

* ``values``, fp16 ``(R, 4 + k)``: ``[x1, y1, x2, y2, p_1..p_k]``, a box in original-image pixels and its
  top-k probabilities;
* ``ids``, integer ``(R, 1 + k)``: ``[label, c_1..c_k]``, the box's label and the classes of ``p_1..p_k``.

Class ids are integers, so they are exact for any number of classes (an fp16 id would be exact only up
to 2048; V3Det has 13,204 classes); they take int16 where every id fits (ids up to 32,767, i.e. up to
32,768 logits), else int32.
:func:`decode_topk` spreads the remaining mass ``1 - sum(p)`` evenly over the other classes.
"""

from typing import NamedTuple

import torch
from torch import Tensor

INT16_MAX = torch.iinfo(torch.int16).max


class TopKRows(NamedTuple):
    """One stored entry: ``values`` fp16 (R, 4 + k) boxes and probabilities, ``ids`` (R, 1 + k) label and
    classes."""

    values: Tensor
    ids: Tensor

    @property
    def boxes(self) -> Tensor:
        """(R, 4) float boxes in original-image pixels."""
        return self.values[:, :4].float()

    @property
    def labels(self) -> Tensor:
        """(R,) long labels."""
        return self.ids[:, 0].long()

    def select(self, index: Tensor) -> 'TopKRows':
        """The rows ``index`` (a long or bool tensor)."""
        return TopKRows(self.values[index], self.ids[index])

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self)


def id_dtype(num_logits: int) -> torch.dtype:
    """The narrowest integer type that holds every class id of ``num_logits`` logits exactly."""
    return torch.int16 if num_logits - 1 <= INT16_MAX else torch.int32


def encode_topk(boxes: Tensor, labels: Tensor, probs: Tensor, topk: int) -> TopKRows:
    """Pack boxes, labels and the top-k of each probability row (probs: (R, num_logits))."""
    top_probs, top_classes = probs.float().topk(min(topk, probs.size(1)), dim=1)
    ids = torch.cat([labels.long()[:, None], top_classes], 1).to(id_dtype(probs.size(1)))
    return TopKRows(torch.cat([boxes.float(), top_probs], 1).half(), ids)


def decode_topk(rows: TopKRows, num_logits: int) -> Tensor:
    """Rebuild full (R, num_logits) distributions from :func:`encode_topk` rows."""
    top_probs, top_classes = rows.values[:, 4:].float(), rows.ids[:, 1:].long()
    k = top_classes.size(1)
    rest = (1 - top_probs.sum(1, keepdim=True)).clamp(min=0) / max(num_logits - k, 1)
    probs = rest.expand(rows.values.size(0), num_logits).clone()
    return probs.scatter_(1, top_classes, top_probs)


def from_packed_fp16(rows: Tensor) -> TopKRows:
    """An entry of the earlier one-tensor format (fp16 ``[box, label, p_1..p_k, c_1..c_k]``, written by
    checkpoints of mmdet_selfkd 0.1), converted exactly: those ids were exact up to 2048 classes."""
    k = (rows.size(1) - 5) // 2
    ids = torch.cat([rows[:, 4:5], rows[:, 5 + k :]], 1)
    return TopKRows(torch.cat([rows[:, :4], rows[:, 5 : 5 + k]], 1), ids.long().to(torch.int16))
