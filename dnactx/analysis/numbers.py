"""The numbers a diagnosis reasons over, computed from prediction arrays or read back from metrics.json."""

from __future__ import annotations

import numpy as np

from .. import metrics as M
from ..contracts import SplitMetrics

ECE_BINS = 10


def split_figures(y: np.ndarray, p: np.ndarray, threshold: float, *, bins: int = ECE_BINS) -> dict:
    """Base rate, score spread, F1/precision/recall at 0.5 and at the tuned threshold, calibration."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    out = M.binary_metrics(y, p, threshold)
    out["base_rate"] = out.pop("pos_rate")
    if p.size:
        q05, q25, q50, q75, q95 = np.quantile(p, [0.05, 0.25, 0.5, 0.75, 0.95]).tolist()
        out.update(score_q05=q05, score_q25=q25, score_median=q50, score_q75=q75, score_q95=q95,
                   score_iqr=q75 - q25)
    out["ece"] = M.expected_calibration_error(y, p, bins)
    out["ece_bins"] = bins
    out["reliability"] = M.reliability_curve(y, p, bins) if p.size else None
    _derive(out)
    return out


def figures_from_metrics(m: SplitMetrics) -> dict:
    """The same keys as :func:`split_figures` where metrics.json has them (no quantiles, no curve)."""
    out = dict(m)
    out["base_rate"] = out.pop("pos_rate", None)
    out.setdefault("ece_bins", ECE_BINS)
    out["reliability"] = None
    _derive(out)
    return out


def _derive(f: dict) -> None:
    pos, neg = f.get("mean_prob_pos"), f.get("mean_prob_neg")
    f["separation"] = pos - neg if pos is not None and neg is not None else None
    f05, ft = f.get("f1_at_0_5"), f.get("f1_at_threshold")
    f["f1_lift"] = ft - f05 if f05 is not None and ft is not None else None
    auprc, base = f.get("auprc"), f.get("base_rate")
    f["auprc_lift"] = auprc / base if auprc is not None and base else None


def subset_metrics(y: np.ndarray, p: np.ndarray, mask_by_name: dict[str, np.ndarray],
                   threshold: float) -> dict[str, SplitMetrics]:
    """``binary_metrics`` for each named boolean subset that holds at least one site."""
    y, p = np.asarray(y), np.asarray(p)
    return {name: M.binary_metrics(y[mask], p[mask], threshold)
            for name, mask in mask_by_name.items() if np.asarray(mask).any()}


def gap(val: dict, test: dict, names: tuple[str, ...] = ("auprc", "auroc", "f1_at_threshold")) -> dict:
    """Validation minus test for each metric both splits define (positive: test is worse)."""
    return {k: val[k] - test[k] for k in names if val.get(k) is not None and test.get(k) is not None}
