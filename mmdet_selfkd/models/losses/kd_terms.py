"""The pieces the temperature-KD losses share: teachers on probabilities, softening, Teacher Correction,
the ``T^2``-scaled KL term, and the checks of their settings.

Every teacher here is a probability distribution over the ``K = num_classes + 1`` logits of a two-stage
classifier (background last, as in mmdet). LsrKD, Teacher Correction (TC) and MrKD are from Wang et al.,
"Extending Label Smoothing Regularization with Self-Knowledge Distillation", arXiv 2009.05226 (2020); the
LsrKD/TC part was published as "Revisiting Label Smoothing Regularization with Knowledge Distillation",
Appl. Sci. 11(10):4699 (2021), where LsrKD is called LSR-OS ("output smoothing").

What was checked, and what was assumed: the paper's body (its equations and default λ, T, TC share) could
not be read from this workplace (no network; the stored pages hold only the abstracts). The abstracts say TC
"manually sets a constant larger proportion for the right class in the uniform distribution teacher"
(arXiv 2009.05226) and that LSR-OS "applies a softer temperature to the model output softmax layer"
(Appl. Sci. 4699): the temperature softens the student's output, and the hand-made teacher is the
distribution the softened output is distilled against. This package therefore takes the TC share as the
true class's share **of the target at temperature T**, and with no equation number to cite, that is an
assumption stated here (contrast Yuan et al.'s Tf-KD_reg, arXiv 1909.11723, Eq. 8-9, whose reference code
softens its hand-made teacher as ``softmax(p^d / T)``). The order is:

* Softening at temperature ``T`` is ``teacher_T ∝ teacher^(1/T)``. For a softmax teacher this is exactly
  ``softmax(z / T)``; a uniform teacher stays uniform.
* TC then puts ``tc_share`` on the true class of ``teacher_T`` and spreads ``1 - tc_share`` over the other
  classes in proportion to ``teacher_T``'s own probabilities, i.e. evenly for the uniform teacher of LsrKD:
  ``(1 - tc_share) / (K - 1)`` each, at every ``T``. Example: K = 4, T = 4, ``tc_share = 0.6``:
  ``[0.6, 0.1333, 0.1333, 0.1333]``. Softening after correcting (this package before issue 10) would leave
  0.327 on the true class, and with K = 81 (COCO) 0.040, hardly above the uniform 1/81 = 0.012.
* With M teachers per row (MrKD's copies) each copy is softened and corrected, then the M are averaged, so
  the mean keeps exactly ``tc_share`` on the true class. The abstract does not say how TC treats a copy's
  other classes; keeping their proportions (rather than flattening them) is this package's choice, so that
  the copies' knowledge of the non-true classes survives the correction.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .soft_targets import mix_soft_targets, soft_cross_entropy


def uniform_teacher(num_rows: int, num_logits: int, device: torch.device) -> Tensor:
    """The uniform distribution ``1 / K`` for every row, shape (num_rows, num_logits)."""
    return torch.full((num_rows, num_logits), 1.0 / num_logits, device=device)


def correct_teacher(teacher_probs: Tensor, labels: Tensor, tc_share: float) -> Tensor:
    """Teacher Correction: ``tc_share`` on the true class, ``1 - tc_share`` over the others.

    Applied to the teacher at temperature ``T`` (after :func:`soften`), so ``tc_share`` is the true class's
    share of the distillation target itself (module text). The others keep their relative teacher
    probabilities (even split when the teacher gives them nothing, and for the uniform teacher). Built as
    ``mix_soft_targets(labels, K, 1 - tc_share, q)`` with ``q`` the teacher restricted to the non-true
    classes and renormalised.

    Args:
        teacher_probs (Tensor): Teachers, shape (..., N, K): any number of teachers per row.
        labels (Tensor): True classes, shape (N,).
        tc_share (float): Probability given to the true class, in (1/K, 1].

    Returns:
        Tensor: Corrected teachers, same shape as ``teacher_probs``.
    """
    num_logits = teacher_probs.size(-1)
    is_true = F.one_hot(labels.long(), num_logits).bool()
    others = teacher_probs.float().masked_fill(is_true, 0)
    others = torch.where(others.sum(-1, keepdim=True) > 0, others, (~is_true).float().expand_as(others))
    others = others / others.sum(-1, keepdim=True)
    flat_labels = labels.expand(teacher_probs.shape[:-1]).reshape(-1)
    corrected = mix_soft_targets(flat_labels, num_logits, 1 - tc_share, others.reshape(-1, num_logits))
    return corrected.reshape(teacher_probs.shape)


def soften(probs: Tensor, temperature: float) -> Tensor:
    """``probs^(1/T)`` renormalised over the last dim (``softmax(z/T)`` when ``probs = softmax(z)``).

    Zero probabilities stay zero (``log 0 = -inf``), so a one-hot teacher stays one-hot.
    """
    return F.softmax(probs.float().log() / temperature, dim=-1)


def kd_term(logits: Tensor, teacher_T: Tensor, temperature: float) -> Tensor:
    """Per-row ``T^2 * KL(teacher_T || softmax(logits / T))``, shape (N,).

    Written as ``T^2 * (CE(teacher_T, logits / T) - H(teacher_T))``; ``0 * log 0`` counts as 0.
    """
    entropy = -torch.xlogy(teacher_T, teacher_T).sum(dim=1)
    return temperature**2 * (soft_cross_entropy(logits.float() / temperature, teacher_T) - entropy)


# --- setting checks (ValueError naming the setting) -----------------------------------------------
def check_softmax_loss(owner: str, use_sigmoid: bool, reduction: str) -> None:
    """The losses here distil softmax classifiers and reduce like mmdet's ``CrossEntropyLoss``."""
    if use_sigmoid:
        raise ValueError(
            f'{owner}(use_sigmoid=True) is not supported: it is a loss for softmax classifiers '
            '(num_classes + 1 logits, background included); sigmoid one-stage heads (RetinaNet) take '
            'PSKDFocalLoss or LabelSmoothingFocalLoss.'
        )
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"{owner}(reduction={reduction!r}): expected 'none', 'mean' or 'sum'.")


def check_epsilon(owner: str, epsilon: float) -> None:
    if not 0 <= epsilon < 1:
        raise ValueError(f'{owner}(epsilon={epsilon}): the smoothing epsilon must be in [0, 1).')


def check_temperature(owner: str, temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f'{owner}(temperature={temperature}): the temperature T must be > 0.')


def check_kd_weight(owner: str, kd_weight: float) -> None:
    if not kd_weight >= 0:
        raise ValueError(f'{owner}(kd_weight={kd_weight}): the KD weight (lambda) must be >= 0.')


def check_num_classes(owner: str, num_classes: Optional[int]) -> None:
    if num_classes is not None and not num_classes >= 1:
        raise ValueError(
            f'{owner}(num_classes={num_classes}): num_classes (object classes, background '
            'excluded, as in bbox_head.num_classes) must be >= 1.'
        )


def check_tc_share(owner: str, tc_share: Optional[float], num_logits: int) -> None:
    """``tc_share`` in (1/K, 1] for K logits (None: TC off)."""
    if tc_share is not None and not 1 / num_logits < tc_share <= 1:
        raise ValueError(
            f'{owner}(tc_share={tc_share}): with K={num_logits} classes (background included) '
            f'the Teacher Correction share must be in (1/K, 1] = ({1 / num_logits:.4g}, 1], so that '
            'the true class stays above the uniform share 1/K; tc_share=None turns TC off.'
        )
