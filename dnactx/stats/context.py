"""What the site context alone explains: the context-only floor and the macro-averaged within-context figures."""

from __future__ import annotations

import numpy as np

from ..errors import DnactxError
from ..metrics import auprc, auroc


def _pair(y: np.ndarray, context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, context = np.asarray(y).astype(int), np.asarray(context).astype(str)
    if y.shape != context.shape or y.ndim != 1:
        raise DnactxError(f"one context per label is needed, got {y.shape} and {context.shape}")
    return y, context


def context_rates(y: np.ndarray, context: np.ndarray) -> dict[str, float]:
    """Methylation rate of each context among (training) sites.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
    context : array-like of str, shape (n,)

    Returns
    -------
    rates : dict of str to float
        ``{"CG": 0.145, "CHG": 0.0076, ...}`` for the contexts present.
    """
    y, context = _pair(y, context)
    return {str(c): float(y[context == c].mean()) for c in np.unique(context)}


def context_floor(y: np.ndarray, context: np.ndarray, train_y: np.ndarray, train_context: np.ndarray) -> dict:
    """AUROC and AUPRC of the context-only score: each site scored by its context's training methylation rate.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Labels of the evaluated sites (e.g. test).
    context : array-like of str, shape (n,)
        Their contexts.
    train_y : array-like of {0, 1}, shape (m,)
        Training labels (never the evaluated split's: that would leak its labels into the floor).
    train_context : array-like of str, shape (m,)
        Training contexts; a context absent from training scores the overall training rate.

    Returns
    -------
    floor : dict
        ``{"auroc": x, "auprc": x, "rates": {ctx: rate}}``; a value is None where undefined (one class only).
    """
    y, context = _pair(y, context)
    score, rates = floor_scores(context, train_y, train_context)
    return {"auroc": auroc(y, score), "auprc": auprc(y, score), "rates": rates}


def floor_scores(context: np.ndarray, train_y: np.ndarray, train_context: np.ndarray) -> tuple[np.ndarray, dict]:
    """The context-only score of each site (its context's training methylation rate) and the rates.

    Parameters
    ----------
    context : array-like of str, shape (n,)
    train_y, train_context : array-like, shape (m,)
        Training labels and contexts; a context absent from training scores the overall training rate.

    Returns
    -------
    scores : ndarray of float64, shape (n,)
    rates : dict of str to float
    """
    context = np.asarray(context).astype(str)
    train_y, train_context = _pair(train_y, train_context)
    if train_y.size == 0:
        raise DnactxError("the context floor needs training sites")
    rates = context_rates(train_y, train_context)
    score = np.full(context.shape, float(train_y.mean()))
    for ctx, rate in rates.items():
        score[context == ctx] = rate
    return score, rates


def within_context(y: np.ndarray, p: np.ndarray, context: np.ndarray) -> dict:
    """Macro average over contexts of the AUROC and AUPRC computed within each context.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
    p : array-like of float, shape (n,)
    context : array-like of str, shape (n,)

    Returns
    -------
    within : dict
        ``{"auroc": x, "auprc": x}``: each the mean over the contexts where it is defined (AUROC needs both
        classes, AUPRC a positive), None when it is defined in none.
    """
    y, context = _pair(y, context)
    p = np.asarray(p, dtype=np.float64)
    out: dict[str, float | None] = {}
    for name, metric in (("auroc", auroc), ("auprc", auprc)):
        values = [v for c in np.unique(context) if (v := metric(y[context == c], p[context == c])) is not None]
        out[name] = float(np.mean(values)) if values else None
    return out
