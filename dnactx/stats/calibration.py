"""Post-hoc calibration fitted on validation predictions (Platt or isotonic) and its effect on ECE and Brier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ..errors import DnactxError
from ..metrics import brier, expected_calibration_error

METHODS = ("none", "platt", "isotonic")
_EPS = 1e-7  # scores are clipped to [eps, 1 - eps] before the logit
_PLATT_C = 1e4  # effectively unpenalised: two parameters fitted on thousands of sites


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    """A fitted map from a run's scores to calibrated probabilities; call it on scores of shape (n,)."""

    method: str
    model: Any = None  # LogisticRegression (platt), IsotonicRegression (isotonic) or None

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.method == "platt":
            return self.model.predict_proba(_logit(p)[:, None])[:, 1]
        if self.method == "isotonic":
            return np.asarray(self.model.predict(p), dtype=np.float64)
        return p

    def params(self) -> dict:
        """What was fitted, JSON-ready: Platt's slope and intercept on the logit, or isotonic's breakpoints."""
        if self.method == "platt":
            return {"method": "platt", "slope": float(self.model.coef_[0, 0]),
                    "intercept": float(self.model.intercept_[0])}
        if self.method == "isotonic":
            return {"method": "isotonic", "n_breakpoints": int(self.model.X_thresholds_.size)}
        return {"method": "none"}

    def mapping(self) -> dict:
        """The fitted map itself, as calibration.json holds it (``dnactx.inference.calibration``): Platt's slope and
        intercept on the logit, or isotonic's breakpoints ``x`` (``X_thresholds_``) and values ``y``
        (``y_thresholds_``), from which numpy alone reproduces this calibrator."""
        if self.method == "isotonic":
            return {"method": "isotonic", "x": [float(v) for v in self.model.X_thresholds_],
                    "y": [float(v) for v in self.model.y_thresholds_]}
        return self.params()


def fit_calibrator(y: np.ndarray, p: np.ndarray, method: str) -> Calibrator:
    """Fit a calibration map on validation labels and scores.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Validation labels; both classes must be present for ``platt`` and ``isotonic``.
    p : array-like of float, shape (n,)
        Validation scores in [0, 1].
    method : {"none", "platt", "isotonic"}
        ``platt``: a logistic regression on ``logit(p)``; ``isotonic``: scikit-learn's IsotonicRegression,
        increasing, clipped to [0, 1] and to the fitted range (``out_of_bounds="clip"``).

    Returns
    -------
    calibrator : Calibrator
        Callable on scores of shape (m,), returning calibrated probabilities of shape (m,).
    """
    if method not in METHODS:
        raise DnactxError(f"--calibrate must be one of {', '.join(METHODS)}, got {method!r}")
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise DnactxError(f"calibration needs one label per score, got {y.shape} and {p.shape}")
    if method == "none":
        return Calibrator("none")
    if y.size == 0 or y.min() == y.max():
        raise DnactxError(f"--calibrate {method} needs both methylated and unmethylated validation sites; "
                          "use --calibrate none or a larger validation split")
    if method == "platt":
        model = LogisticRegression(C=_PLATT_C, max_iter=1000).fit(_logit(p)[:, None], y)
    else:
        model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(p, y)
    return Calibrator(method, model)


def calibration_effect(y: np.ndarray, before: np.ndarray, after: np.ndarray, bins: int = 10) -> dict:
    """ECE and Brier score of the same sites' scores before and after calibration.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
    before, after : array-like of float, shape (n,)
        Scores before calibration and the calibrated probabilities.
    bins : int, default 10
        Equal-width bins for ECE (as :func:`dnactx.metrics.expected_calibration_error`).

    Returns
    -------
    effect : dict
        ``{"ece": {"before": x, "after": x}, "brier": {"before": x, "after": x}}``, None on an empty split.
    """
    return {"ece": {"before": expected_calibration_error(y, before, bins),
                    "after": expected_calibration_error(y, after, bins)},
            "brier": {"before": brier(y, before), "after": brier(y, after)}}


def _ece_parts(y: np.ndarray, p: np.ndarray, blocks: np.ndarray, n_blocks: int, bins: int) -> np.ndarray:
    """(bins, n_blocks): the sum of label − score of each block's sites in each equal-width score bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    return np.bincount(idx * n_blocks + blocks, weights=y - p, minlength=bins * n_blocks).reshape(bins, n_blocks)


def ece_difference(y: np.ndarray, before: np.ndarray, after: np.ndarray, blocks: np.ndarray, *, bins: int = 10,
                   n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """ECE after − before calibration on the same sites, with its interval from stratified genomic-block resamples.

    ECE under block weights is ``sum over bins |sum of w (y − p)| / sum of w``, so each resample needs only the
    per-block, per-bin sums: one (bins x blocks) by (blocks x resamples) product per score vector.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
    before, after : array-like of float, shape (n,)
        Scores before calibration and the calibrated probabilities.
    blocks : array-like of int, shape (n,)
        Genomic block of each site (see :func:`dnactx.stats.bootstrap.block_ids`).
    bins, n_resamples, seed, level
        ECE's equal-width bins (as :func:`dnactx.metrics.expected_calibration_error`), and the bootstrap's.

    Returns
    -------
    effect : dict
        ``{"before", "after", "difference", "ci": [lo, hi]}`` (difference = after − before: negative is better).
    """
    from .bootstrap import draw_block_counts, percentile_interval

    y = np.asarray(y, dtype=np.float64)
    _, blocks = np.unique(np.asarray(blocks), return_inverse=True)
    n_blocks = int(blocks.max()) + 1 if blocks.size else 0
    if y.size == 0 or n_resamples < 1:
        raise DnactxError("the calibration effect needs sites and at least one resample")
    parts = [_ece_parts(y, np.asarray(p, dtype=np.float64), blocks, n_blocks, bins) for p in (before, after)]
    sites = np.bincount(blocks, minlength=n_blocks).astype(np.float64)
    counts = draw_block_counts(np.bincount(blocks, weights=y, minlength=n_blocks) > 0, n_resamples,
                               np.random.default_rng(seed)).T.astype(np.float64)  # (n_blocks, n_resamples)
    total = sites @ counts
    ece = [np.abs(part @ counts).sum(axis=0) / total for part in parts]
    observed = [expected_calibration_error(y, p, bins) for p in (before, after)]
    return {"before": observed[0], "after": observed[1], "difference": observed[1] - observed[0],
            "ci": percentile_interval(ece[1] - ece[0], level)}
