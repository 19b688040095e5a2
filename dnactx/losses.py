"""Binary losses on logits: plain BCE, BCE with a positive-class weight, and sigmoid focal loss."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .errors import DnactxError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: float = 2.0,
               alpha: float | None = 0.25) -> torch.Tensor:
    """Lin et al. 2017: BCE scaled by (1 - p_t)^gamma, positives weighted by alpha (negatives 1 - alpha)."""
    ce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * labels + (1 - p) * (1 - labels)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = loss * (alpha * labels + (1 - alpha) * (1 - labels))
    return loss.mean()


def default_pos_weight(train_labels: np.ndarray) -> float:
    """negatives / positives on the training split (1.0 when a class is missing)."""
    pos = int(np.sum(train_labels))
    neg = int(np.size(train_labels)) - pos
    return neg / pos if pos and neg else 1.0


def make_loss(name: str, train_labels: np.ndarray, *, pos_weight: float | None = None, focal_gamma: float = 2.0,
              focal_alpha: float | None = 0.25) -> tuple[LossFn, dict]:
    """The loss function for ``--loss`` and the resolved settings to record (e.g. the pos_weight used)."""
    if name == "bce":
        return F.binary_cross_entropy_with_logits, {}
    if name == "weighted":
        w = float(pos_weight) if pos_weight is not None else default_pos_weight(train_labels)
        if w <= 0:
            raise DnactxError(f"--pos-weight must be positive, got {w}")
        weight = torch.tensor(w)

        def weighted(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight.to(logits.device))

        return weighted, {"pos_weight_used": w}
    if name == "focal":
        if focal_alpha is not None and not 0 <= focal_alpha <= 1:
            raise DnactxError(f"--focal-alpha must be within [0, 1], got {focal_alpha}")

        def focal(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            return focal_loss(logits, labels, focal_gamma, focal_alpha)

        return focal, {}
    raise DnactxError(f"--loss must be bce, weighted or focal, got {name!r}")
