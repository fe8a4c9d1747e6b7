"""Where soft targets are built: every self-KD loss in this package mixes its teacher here.

PS-KD (Kim et al., ICCV 2021) trains on ``(1 - alpha) * onehot(y) + alpha * p_teacher``; label smoothing
and Teacher Correction are the same mix with a uniform or corrected teacher. Rows without a teacher
(first pass, no memory entry) keep the one-hot target.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def mix_soft_targets(labels: Tensor,
                     num_classes: int,
                     alpha: float,
                     teacher_probs: Optional[Tensor] = None,
                     has_teacher: Optional[Tensor] = None) -> Tensor:
    """Build ``(1 - alpha) * onehot(labels) + alpha * teacher_probs`` row by row.

    Args:
        labels (Tensor): Hard labels, shape (N,), values in [0, num_classes).
        num_classes (int): Number of logits per row (for a two-stage head this is
            ``num_classes + 1``: the background logit included).
        alpha (float): Share of the teacher, in [0, 1].
        teacher_probs (Tensor, optional): Teacher distribution, shape (N, num_classes); detached here.
        has_teacher (Tensor, optional): Bool (N,): rows whose teacher is valid. Rows without one
            keep the one-hot target. ``None`` means every row has one.

    Returns:
        Tensor: Targets of shape (N, num_classes), each row summing to 1.
    """
    onehot = F.one_hot(labels.long(), num_classes).float()
    if teacher_probs is None or alpha == 0:
        return onehot
    mix = torch.full((labels.numel(), 1), float(alpha), device=onehot.device)
    if has_teacher is not None:
        mix = mix * has_teacher.reshape(-1, 1).float()
    return (1 - mix) * onehot + mix * teacher_probs.detach().float()


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-row soft cross-entropy ``-(targets * log_softmax(logits)).sum(1)``.

    Args:
        logits (Tensor): Shape (N, C).
        targets (Tensor): Shape (N, C), rows are distributions.

    Returns:
        Tensor: Shape (N,).
    """
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
