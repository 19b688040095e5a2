"""Pure metric functions over arrays of labels and scores: ranking, thresholds, calibration, per-context.

No I/O and no globals, in the manner of scikit-learn's metric functions. Undefined values (AUROC on a
single-class subset) are ``None`` so they survive JSON round trips.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from .choices import CONTEXTS
from .contracts import MetricsFile, SplitMetrics


def _f(x: float) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def auroc(y: np.ndarray, p: np.ndarray) -> float | None:
    y = np.asarray(y)
    if y.size == 0 or y.min() == y.max():
        return None
    return _f(roc_auc_score(y, p))


def auprc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Average precision (step-wise area under the precision-recall curve)."""
    y = np.asarray(y)
    if y.size == 0 or y.max() == 0:
        return None
    return _f(average_precision_score(y, p))


def confusion_at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall, F1 and predicted-positive rate when calling ``p >= threshold`` positive."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(p) >= threshold
    tp = float(np.sum(pred & y))
    fp = float(np.sum(pred & ~y))
    fn = float(np.sum(~pred & y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pred_pos_rate": float(pred.mean()) if pred.size else 0.0,
    }


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The score threshold that maximises F1 on (y, p); 0.5 when there are no positives."""
    y = np.asarray(y)
    if y.size == 0 or y.max() == 0 or y.min() == 1:
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, p)
    denom = precision[:-1] + recall[:-1]
    f1 = np.divide(2 * precision[:-1] * recall[:-1], denom, out=np.zeros_like(denom), where=denom > 0)
    return float(thresholds[int(np.argmax(f1))])


def threshold_sweep(y: np.ndarray, p: np.ndarray, thresholds: Sequence[float] | None = None) -> dict:
    """Precision, recall, F1 and predicted-positive rate over a grid of thresholds."""
    grid = np.linspace(0.0, 1.0, 101) if thresholds is None else np.asarray(thresholds, dtype=float)
    rows = [confusion_at(y, p, float(t)) for t in grid]
    return {
        "threshold": grid.tolist(),
        **{k: [r[k] for r in rows] for k in ("precision", "recall", "f1", "pred_pos_rate")},
    }


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Equal-width bins over [0, 1]: count, mean predicted probability, observed positive rate."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    count = np.bincount(idx, minlength=bins).astype(float)
    sum_p = np.bincount(idx, weights=p, minlength=bins)
    sum_y = np.bincount(idx, weights=y, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        frac_pos = np.where(count > 0, sum_y / count, np.nan)
    return {"edges": edges.tolist(), "count": count.tolist(), "mean_prob": mean_p.tolist(),
            "frac_pos": frac_pos.tolist()}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float | None:
    """ECE: bin-size-weighted mean |observed rate - mean probability| over equal-width bins."""
    if np.asarray(y).size == 0:
        return None
    curve = reliability_curve(y, p, bins)
    count = np.asarray(curve["count"])
    gap = np.abs(np.nan_to_num(np.asarray(curve["frac_pos"])) - np.nan_to_num(np.asarray(curve["mean_prob"])))
    return float(np.sum(count * gap) / count.sum())


def brier(y: np.ndarray, p: np.ndarray) -> float | None:
    y = np.asarray(y, dtype=float)
    return None if y.size == 0 else float(np.mean((np.asarray(p, dtype=float) - y) ** 2))


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float | None = None) -> SplitMetrics:
    """Every headline number for one split (or subset): ranking, F1 at 0.5 and at a tuned threshold.

    Values that are undefined for this subset (AUROC without both classes) are None, and ``null_reason``
    says why.
    """
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    at_half = confusion_at(y, p, 0.5)
    out: SplitMetrics = {
        "n": int(y.size),
        "n_pos": int(y.sum()),
        "pos_rate": float(y.mean()) if y.size else None,
        "auroc": auroc(y, p),
        "auprc": auprc(y, p),
        "f1_at_0_5": at_half["f1"],
        "precision_at_0_5": at_half["precision"],
        "recall_at_0_5": at_half["recall"],
        "pred_pos_rate_at_0_5": at_half["pred_pos_rate"],
        "mean_prob_pos": float(p[y == 1].mean()) if (y == 1).any() else None,
        "mean_prob_neg": float(p[y == 0].mean()) if (y == 0).any() else None,
        "score_std": float(p.std()) if p.size else None,
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p),
    }
    if threshold is not None:
        tuned = confusion_at(y, p, threshold)
        out.update(f1_at_threshold=tuned["f1"], precision_at_threshold=tuned["precision"],
                   recall_at_threshold=tuned["recall"], pred_pos_rate_at_threshold=tuned["pred_pos_rate"])
    if y.size == 0:
        out["null_reason"] = "no sites"
    elif y.max() == 0:
        out["null_reason"] = "no positives: AUROC and AUPRC are undefined"
    elif y.min() == 1:
        out["null_reason"] = "no negatives: AUROC is undefined"
    return out


def by_context(y: np.ndarray, p: np.ndarray, context: np.ndarray, threshold: float) -> dict[str, SplitMetrics]:
    """``{"CG": M, "CHG": M, "CHH": M}`` for the contexts present in ``context``."""
    context = np.asarray(context).astype(str)
    y, p = np.asarray(y), np.asarray(p)
    return {ctx: binary_metrics(y[context == ctx], p[context == ctx], threshold)
            for ctx in CONTEXTS if (context == ctx).any()}


def evaluate(
    val_y: np.ndarray,
    val_p: np.ndarray,
    test_y: np.ndarray,
    test_p: np.ndarray,
    val_context: np.ndarray | None = None,
    test_context: np.ndarray | None = None,
) -> MetricsFile:
    """The metrics.json core: a threshold that maximises F1 on validation, applied unchanged to test.

    ``{"val": M, "test": M, "threshold": t, "by_context": {"val": {"CG": M, ...}, "test": {...}}}``; the trainer
    adds the run's ``facts`` (see :mod:`dnactx.contracts`).
    """
    threshold = best_f1_threshold(val_y, val_p)
    out: MetricsFile = {
        "val": binary_metrics(val_y, val_p, threshold),
        "test": binary_metrics(test_y, test_p, threshold),
        "threshold": threshold,
        "by_context": {},
    }
    if val_context is not None:
        out["by_context"]["val"] = by_context(val_y, val_p, val_context, threshold)
    if test_context is not None:
        out["by_context"]["test"] = by_context(test_y, test_p, test_context, threshold)
    return out

