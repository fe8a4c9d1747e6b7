"""A distillation term as a self-KD head adds it to mmdet's ``loss_cls``: the whole loss of a method, for the
tests that check it against numbers worked by hand."""

import torch
from mmdet.models.losses import CrossEntropyLoss

from mmdet_selfkd.teachers import TeacherTargets


def with_teacher(loss, teacher_probs, has_teacher, alpha_t=1.0):
    """``loss_cls + distill_loss`` of a batch with the given teacher, as ``SelfKDRoIHead`` computes them:
    mmdet's ``CrossEntropyLoss`` with the term's ``loss_weight`` and ``reduction`` plus the term."""
    teacher = TeacherTargets(torch.as_tensor(teacher_probs, dtype=torch.float), torch.as_tensor(has_teacher))
    loss_cls = CrossEntropyLoss(reduction=loss.reduction, loss_weight=loss.loss_weight)

    def full_loss(cls_score, label, weight=None, avg_factor=None, reduction_override=None):
        ce = loss_cls(cls_score, label, weight, avg_factor=avg_factor, reduction_override=reduction_override)
        term = loss(cls_score, label, teacher, alpha_t, weight, avg_factor, reduction_override)
        return ce + term

    return full_loss
