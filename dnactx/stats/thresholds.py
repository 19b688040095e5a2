"""Per-context decision thresholds: one F1-maximising threshold per context on validation, applied to test."""

from __future__ import annotations

import numpy as np

from ..errors import DnactxError
from ..metrics import best_f1_threshold, confusion_at


def _contexts(context: np.ndarray, n: int) -> np.ndarray:
    context = np.asarray(context).astype(str)
    if context.shape != (n,):
        raise DnactxError(f"context must hold one entry per site ({n}), got shape {context.shape}")
    return context


def context_thresholds(y: np.ndarray, p: np.ndarray, context: np.ndarray, *,
                       fallback: float | None = None) -> dict[str, float]:
    """The F1-maximising threshold of each context (``metrics.best_f1_threshold`` on that context's sites).

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Validation labels.
    p : array-like of float, shape (n,)
        Validation scores.
    context : array-like of str, shape (n,)
        Site context (CG/CHG/CHH).
    fallback : float, optional
        Threshold for a context whose validation sites are all of one class (F1 has no maximum there);
        default: the global F1-maximising threshold on all of ``(y, p)``.

    Returns
    -------
    thresholds : dict of str to float
        One threshold per context present in ``context``.
    """
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=np.float64)
    context = _contexts(context, y.size)
    if fallback is None:
        fallback = best_f1_threshold(y, p)
    out = {}
    for ctx in np.unique(context):
        mask = context == ctx
        one_class = y[mask].min() == y[mask].max()
        out[str(ctx)] = float(fallback) if one_class else best_f1_threshold(y[mask], p[mask])
    return out


def site_thresholds(context: np.ndarray, thresholds: dict[str, float], default: float) -> np.ndarray:
    """Each site's threshold: its context's, or ``default`` for a context without one. Shape (n,), float64."""
    context = np.asarray(context).astype(str)
    out = np.full(context.shape, float(default))
    for ctx, t in thresholds.items():
        out[context == ctx] = float(t)
    return out


def evaluate_context_thresholds(y: np.ndarray, p: np.ndarray, context: np.ndarray, thresholds: dict[str, float],
                                default: float) -> dict:
    """Precision, recall, F1 and predicted-positive rate when each site is called at its context's threshold.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
    p : array-like of float, shape (n,)
    context : array-like of str, shape (n,)
    thresholds : dict of str to float
        Per-context thresholds, e.g. from :func:`context_thresholds` on validation.
    default : float
        Threshold for contexts missing from ``thresholds`` (e.g. the global tuned threshold).

    Returns
    -------
    result : dict
        ``{"precision", "recall", "f1", "pred_pos_rate"}`` over all sites, ``"thresholds"`` (as given) and
        ``"by_context": {ctx: {"precision", "recall", "f1", "pred_pos_rate"}}``.
    """
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=np.float64)
    context = _contexts(context, y.size)
    per_site = site_thresholds(context, thresholds, default)
    overall = confusion_at(y, (p >= per_site).astype(float), 0.5)  # the calls as 0/1 scores
    by_context = {str(ctx): confusion_at(y[context == ctx], p[context == ctx], float(per_site[context == ctx][0]))
                  for ctx in np.unique(context)}
    return {**overall, "thresholds": {k: float(v) for k, v in thresholds.items()}, "by_context": by_context}
