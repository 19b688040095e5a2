"""Losses on logits: for labels plain BCE, BCE with a positive-class weight and sigmoid focal loss; for levels
(``--target level``) the binomial and beta-binomial likelihoods of the read counts.

A level loss takes ``counts`` of shape (n, 2): methylated reads mc and total reads cov of each site, and is
normalised by the batch's total reads, so a site weighs by its reads (40 reads count more than 3)."""

from __future__ import annotations

import math
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


def binomial_nll(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """-Σ [mc log p + (cov − mc) log(1 − p)] / Σ cov with p = sigmoid(logit): the binomial likelihood of the reads
    without its constant binomial coefficient (equal to BCE on the level mc / cov weighted by cov)."""
    mc, cov = counts[:, 0], counts[:, 1]
    nll = -(mc * F.logsigmoid(logits) + (cov - mc) * F.logsigmoid(-logits))
    return nll.sum() / cov.sum().clamp_min(1.0)


def betabinomial_nll(logits: torch.Tensor, counts: torch.Tensor, rho: float) -> torch.Tensor:
    """The beta-binomial likelihood of the reads with mean p = sigmoid(logit) and intra-site correlation ``rho``
    (Beta(p s, (1 − p) s) with s = (1 − rho) / rho), over-dispersed samples' loss, normalised like binomial_nll."""
    mc, cov = counts[:, 0], counts[:, 1]
    s = (1.0 - rho) / rho
    p = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)
    a, b = p * s, (1 - p) * s
    log_lik = (torch.lgamma(mc + a) - torch.lgamma(a) + torch.lgamma(cov - mc + b) - torch.lgamma(b)
               - torch.lgamma(cov + s) + math.lgamma(s))
    return -log_lik.sum() / cov.sum().clamp_min(1.0)


def default_pos_weight(train_labels: np.ndarray) -> float:
    """negatives / positives on the training split (1.0 when a class is missing)."""
    pos = int(np.sum(train_labels))
    neg = int(np.size(train_labels)) - pos
    return neg / pos if pos and neg else 1.0


def make_loss(name: str, train_labels: np.ndarray, *, pos_weight: float | None = None, focal_gamma: float = 2.0,
              focal_alpha: float | None = 0.25, overdispersion: float = 0.1) -> tuple[LossFn, dict]:
    """The loss function for ``--loss`` and the resolved settings to record (e.g. the pos_weight used). The level
    losses (binomial, betabinomial) take read counts (n, 2) in place of labels."""
    if name == "binomial":
        return binomial_nll, {}
    if name == "betabinomial":
        if not 0 < overdispersion < 1:
            raise DnactxError(f"--overdispersion must be within (0, 1), got {overdispersion}")

        def betabinomial(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
            return betabinomial_nll(logits, counts, overdispersion)

        return betabinomial, {}
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
    raise DnactxError(f"--loss must be bce, weighted, focal, binomial or betabinomial, got {name!r}")
