"""How large the effect of a remedy that needs no retraining is, against its noise, on the run's own test sites
paired by genomic block: F1 at the val-tuned threshold vs at 0.5, and test ECE before vs after a calibration
fitted on val. A diagnosis recommends such a remedy only when the interval of its effect excludes no change."""

from __future__ import annotations

import numpy as np

from ..errors import DnactxError
from ..stats.bootstrap import DEFAULT_RESAMPLES, percentile_interval, resampled
from ..stats.calibration import ece_difference, fit_calibrator


def threshold_effect(y: np.ndarray, p: np.ndarray, threshold: float, blocks: np.ndarray, *,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict | None:
    """F1 at ``threshold`` − F1 at 0.5 on the same sites: ``{"at_0_5", "at_threshold", "difference", "ci"}``,
    or None where it is undefined (no positives)."""
    y = np.asarray(y).astype(int)
    if not y.any():
        return None
    try:
        at_t, at_half = resampled(y, [p, p], blocks, thresholds=[threshold, 0.5], n_resamples=n_resamples,
                                  seed=seed)
        once = resampled(y, [p, p], np.zeros(y.size, dtype=np.int64), thresholds=[threshold, 0.5], n_resamples=1)
    except DnactxError:
        return None
    observed = [float(r["f1"][0]) for r in once]
    return {"at_threshold": observed[0], "at_0_5": observed[1], "difference": observed[0] - observed[1],
            "ci": percentile_interval(at_t["f1"] - at_half["f1"])}


def ece_change_from_calibrating(val_y: np.ndarray, val_p: np.ndarray, y: np.ndarray, p: np.ndarray,
                                blocks: np.ndarray, *, method: str = "platt", n_resamples: int = DEFAULT_RESAMPLES,
                                seed: int = 0) -> dict | None:
    """What ``--calibrate method`` would do (not :func:`dnactx.stats.calibration.calibration_effect`, which reports
    what it did): test ECE after − before ``method`` fitted on val, ``{"method", "before", "after", "difference",
    "ci"}``, or None where val cannot fit it (one class only)."""
    try:
        calibrator = fit_calibrator(val_y, val_p, method)
    except DnactxError:
        return None
    return {"method": method, **ece_difference(y, p, calibrator(p), blocks, n_resamples=n_resamples, seed=seed)}


def real_gain(effect: dict | None, *, lower_is_better: bool = False) -> bool:
    """Whether the effect's interval lies wholly on the side of improvement."""
    if not effect or not effect.get("ci") or None in effect["ci"]:
        return False
    lo, hi = effect["ci"]
    return hi < 0 if lower_is_better else lo > 0
