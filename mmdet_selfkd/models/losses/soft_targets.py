"""Where soft targets are built: every self-KD loss in this package mixes its teacher here.

PS-KD (Kim et al., ICCV 2021) trains on ``(1 - α_t) * onehot(y) + α_t * p_teacher``; label smoothing
and Teacher Correction are the same mix with a uniform or corrected teacher. Rows without a teacher
(first pass, no memory entry) keep the one-hot target. Softmax heads (RoI classifiers, ``num_classes + 1``
logits) train on :func:`soft_cross_entropy`; sigmoid heads (RetinaNet) on per-class targets
(:func:`smooth_sigmoid_targets`) with :func:`soft_focal_loss`.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def mix_soft_targets(
    labels: Tensor,
    num_logits: int,
    teacher_share: float,
    teacher_probs: Optional[Tensor] = None,
    has_teacher: Optional[Tensor] = None,
) -> Tensor:
    """Build ``(1 - s) * onehot(labels) + s * teacher_probs`` row by row, ``s`` the teacher's share.

    Args:
        labels (Tensor): Hard labels, shape (N,), values in [0, num_logits).
        num_logits (int): Logits per row (for a two-stage head ``num_classes + 1``: background included).
        teacher_share (float): ``s``, in [0, 1] (PS-KD's ``α_t``, label smoothing's ``ε``).
        teacher_probs (Tensor, optional): Teacher distribution, shape (N, num_logits); detached here.
        has_teacher (Tensor, optional): Bool (N,): rows whose teacher is valid. Rows without one
            keep the one-hot target. ``None`` means every row has one.

    Returns:
        Tensor: Targets of shape (N, num_logits), each row summing to 1.
    """
    onehot = F.one_hot(labels.long(), num_logits).float()
    if teacher_probs is None or teacher_share == 0:
        return onehot
    mix = torch.full((labels.numel(), 1), float(teacher_share), device=onehot.device)
    if has_teacher is not None:
        mix = mix * has_teacher.reshape(-1, 1).float()
    return (1 - mix) * onehot + mix * teacher_probs.detach().float()


def shape_teacher(
    teacher_probs: Tensor, labels: Tensor, temperature: float = 1.0, foreground_only: bool = False
) -> Tensor:
    """Reshape a softmax head's teacher before it is mixed with the one-hot target.

    * ``temperature`` ``tau``: ``p^(1/tau)`` renormalised; ``tau < 1`` sharpens the teacher (``tau = 1``: as
      is). Against a student that softens its own teacher pass after pass.
    * ``foreground_only``: for positive rows (``labels < K - 1``; background is the last logit, as in mmdet)
      the teacher's background mass is removed and the rest renormalised over the object classes, so
      teaching never moves a positive's mass towards background; background rows keep their teacher.
      A teacher with no object-class mass is left as it is, and so are all-zero rows (the placeholders of
      rows without a teacher).

    Args:
        teacher_probs (Tensor): (N, K) distributions, background last.
        labels (Tensor): (N,) labels, ``K - 1`` is background.
        temperature (float): ``tau`` > 0.
        foreground_only (bool): Drop the background mass of positives' teachers.

    Returns:
        Tensor: (N, K) distributions.
    """
    probs = teacher_probs.detach().float()
    if temperature != 1.0:
        has_mass = probs.sum(1, keepdim=True) > 0
        probs = torch.where(has_mass, F.softmax(probs.log() / temperature, dim=1), probs)
    if foreground_only:
        positive = labels.reshape(-1) < probs.size(1) - 1
        foreground = probs.clone()
        foreground[:, -1] = 0
        mass = foreground.sum(1, keepdim=True)
        use = (positive & (mass.squeeze(1) > 0))[:, None]
        probs = torch.where(use, foreground / mass.clamp(min=1e-12), probs)
    return probs


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-row soft cross-entropy ``-(targets * log_softmax(logits)).sum(1)``.

    Args:
        logits (Tensor): Shape (N, C).
        targets (Tensor): Shape (N, C), rows are distributions.

    Returns:
        Tensor: Shape (N,).
    """
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1)


def smooth_sigmoid_targets(labels: Tensor, num_classes: int, epsilon: float) -> Tensor:
    """Per-class targets of a sigmoid head smoothed on the positive rows: ``(1 - ε)·onehot(labels) + ε/C``.

    A sigmoid head has one score per object class and no background logit: the target of a background
    row (label ``num_classes``) stays all zeros. Computed by masks, without a host sync.

    Args:
        labels (Tensor): Hard labels, shape (N,), values in [0, num_classes] (``num_classes``: background).
        num_classes (int): Object classes ``C`` (the head's ``cls_out_channels``).
        epsilon (float): ``ε``, in [0, 1).

    Returns:
        Tensor: Targets of shape (N, num_classes), values in [0, 1].
    """
    onehot = F.one_hot(labels.long(), num_classes + 1)[:, :num_classes].float()
    positive = (labels < num_classes)[:, None].float()
    return onehot + epsilon * positive * (1.0 / num_classes - onehot)


def soft_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """Element-wise focal loss for soft targets ``y`` in [0, 1], modulated like quality focal loss.

    .. math::
        \\ell(z, y) = -\\big[a\\,y \\log\\sigma(z) + (1-a)(1-y)\\log(1-\\sigma(z))\\big]\\,|y - \\sigma(z)|^\\gamma

    For ``y`` in {0, 1} this is exactly mmdet's ``FocalLoss`` (Lin et al., ICCV 2017: ``a (1-p)^γ (-log p)``
    for positives, ``(1-a) p^γ (-log(1-p))`` for negatives); with ``a = 1/2`` it is half the quality
    focal loss of GFL (Li et al., NeurIPS 2020). ``|y - σ(z)|^γ`` vanishes at ``σ(z) = y``, so a soft
    target is reached rather than pushed towards 0 or 1.

    Args:
        logits (Tensor): Shape (N, C).
        targets (Tensor): Shape (N, C), values in [0, 1].
        alpha (float): Balance ``a`` of positive and negative terms (mmdet's FocalLoss ``alpha``).
        gamma (float): Modulating exponent.

    Returns:
        Tensor: Shape (N, C).
    """
    logits = logits.float()
    bce = -(alpha * targets * F.logsigmoid(logits) + (1 - alpha) * (1 - targets) * F.logsigmoid(-logits))
    return bce * (targets - logits.sigmoid()).abs().pow(gamma)
