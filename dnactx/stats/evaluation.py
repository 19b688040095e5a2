"""Everything metrics.json says about a run's val/test scores: headline metrics at the val-tuned threshold(s),
block-bootstrap intervals, the context-only floor, within-context figures, calibration and per-context thresholds.

Pure functions over arrays; the trainer (``dnactx.train.run``) feeds them one run's predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import CONTEXTS
from ..contracts import MetricsFile, SplitMetrics
from ..errors import DnactxError
from ..metrics import best_f1_threshold, binary_metrics, confusion_at
from .bootstrap import (
    DEFAULT_BLOCK_BP,
    DEFAULT_RESAMPLES,
    block_ids,
    block_summary,
    bootstrap_ci,
    intervals,
    percentile_interval,
    resampled,
)
from .calibration import calibration_effect, fit_calibrator
from .compare import p_value, verdict
from .context import context_floor, floor_scores, within_context
from .thresholds import context_thresholds, evaluate_context_thresholds, site_thresholds

THRESHOLD_POLICIES = ("global", "context")


@dataclass(frozen=True)
class Sites:
    """One split's sites as a run scored them.

    Attributes
    ----------
    labels : ndarray of {0, 1}, shape (n,)
    scores : ndarray of float, shape (n,)
        The model's own outputs (before any calibration).
    context : ndarray of str, shape (n,)
    chrom, pos : ndarray of shape (n,), optional
        Chromosome and 1-based position of each site, for the genomic blocks of the bootstrap; without them the
        split gets no intervals.
    feature : ndarray of str, shape (n,), optional
        Genomic feature class of each site (prepare --annotation); adds metrics.json's ``by_feature``.
    """

    labels: np.ndarray
    scores: np.ndarray
    context: np.ndarray
    chrom: np.ndarray | None = None
    pos: np.ndarray | None = None
    feature: np.ndarray | None = None


@dataclass(frozen=True)
class Settings:
    """How a run is evaluated: ``--bootstrap``, ``--bootstrap-block``, ``--calibrate``, ``--threshold-by``, seed."""

    bootstrap: int = DEFAULT_RESAMPLES
    block_bp: int = DEFAULT_BLOCK_BP
    calibrate: str = "none"
    threshold_by: str = "global"
    seed: int = 0
    level: float = 0.95


@dataclass(frozen=True)
class RunEvaluation:
    """metrics.json's measured part, and the scores it was computed from.

    ``scores`` are the run's final scores per split (calibrated under ``--calibrate``); ``raw`` the model's own
    outputs, kept when they differ (a calibrated run), else None; ``calibration`` the fitted map as calibration.json
    holds it (:meth:`Calibrator.mapping`), None when uncalibrated.
    """

    metrics: MetricsFile
    scores: dict[str, np.ndarray]
    raw: dict[str, np.ndarray] | None
    calibration: dict | None = None


def evaluate_run(val: Sites, test: Sites, train_labels: np.ndarray, train_context: np.ndarray,
                 settings: Settings = Settings()) -> RunEvaluation:
    """Calibrate on val (``settings.calibrate``), tune the global and per-context thresholds on val, then measure
    both splits: headline metrics, calls at both threshold policies, within-context, the context floor (from the
    training labels) and block-bootstrap intervals.

    Parameters
    ----------
    val, test : Sites
    train_labels, train_context : ndarray of shape (m,)
        The training sites used, for the context floor's rates.
    settings : Settings

    Returns
    -------
    RunEvaluation
        ``metrics``: ``{"threshold", "threshold_by", "context_thresholds", ["calibration"], "val", "test",
        "by_context"}`` (see :mod:`dnactx.contracts`).
    """
    if settings.threshold_by not in THRESHOLD_POLICIES:
        raise DnactxError(f"--threshold-by must be global or context, got {settings.threshold_by!r}")
    calibrator = fit_calibrator(val.labels, val.scores, settings.calibrate)
    scores = {"val": calibrator(val.scores), "test": calibrator(test.scores)}
    threshold = best_f1_threshold(val.labels, scores["val"])
    per_context = context_thresholds(val.labels, scores["val"], val.context, fallback=threshold)
    metrics: MetricsFile = {"threshold": threshold, "threshold_by": settings.threshold_by,
                            "context_thresholds": per_context, "by_context": {}}
    if settings.calibrate != "none":
        metrics["calibration"] = {**calibrator.params(), "fitted_on": "val"}
    for name, sites in (("val", val), ("test", test)):
        split = _SplitEvaluation(sites, scores[name], threshold, per_context, settings)
        metrics[name], metrics["by_context"][name] = split.measure(train_labels, train_context)
        if sites.feature is not None:
            metrics.setdefault("by_feature", {})[name] = split.by_feature()  # type: ignore[typeddict-item]
    raw = None if settings.calibrate == "none" else {"val": np.asarray(val.scores), "test": np.asarray(test.scores)}
    mapping = None if settings.calibrate == "none" else {**calibrator.mapping(), "fitted_on": "val"}
    return RunEvaluation(metrics, scores, raw, mapping)


@dataclass(frozen=True)
class _SplitEvaluation:
    sites: Sites
    p: np.ndarray                       # final scores
    threshold: float                    # global, tuned on val
    per_context: dict[str, float]       # tuned on val
    settings: Settings

    @property
    def by_context(self) -> bool:
        return self.settings.threshold_by == "context"

    def site_threshold(self) -> float | np.ndarray:
        """Each site's threshold under the run's policy: one number, or its context's."""
        if self.by_context:
            return site_thresholds(self.sites.context, self.per_context, self.threshold)
        return self.threshold

    def measure(self, train_labels: np.ndarray, train_context: np.ndarray) -> tuple[SplitMetrics, dict]:
        y, p, context = np.asarray(self.sites.labels).astype(int), self.p, np.asarray(self.sites.context).astype(str)
        split = binary_metrics(y, p, self.threshold)
        calls = evaluate_context_thresholds(y, p, context, self.per_context, self.threshold)
        split["at_thresholds"] = {
            "global": {"threshold": self.threshold, **confusion_at(y, p, self.threshold)},
            "context": {k: calls[k] for k in ("thresholds", "precision", "recall", "f1", "pred_pos_rate")}}
        if self.by_context:
            split.update({f"{k}_at_threshold": calls[k] for k in ("precision", "recall", "f1", "pred_pos_rate")})
        contexts = {c: binary_metrics(y[context == c], p[context == c],
                                      self.per_context.get(c, self.threshold) if self.by_context else self.threshold)
                    for c in CONTEXTS if (context == c).any()}
        split["within_context"] = within_context(y, p, context)
        floor_score, _ = floor_scores(context, train_labels, train_context)
        split["context_floor"] = context_floor(y, context, train_labels, train_context)
        if self.settings.calibrate != "none":
            split["calibration"] = {"method": self.settings.calibrate,
                                    **calibration_effect(y, self.sites.scores, p)}
        self._intervals(split, contexts, floor_score)
        return split, contexts

    def by_feature(self) -> dict[str, SplitMetrics]:
        """Every metric per genomic feature class at the run's thresholds, with block-bootstrap intervals: the
        per-context machinery (``binary_metrics``, the stratified bootstrap's subsets) on feature classes."""
        return feature_metrics(self.sites.labels, self.p, np.asarray(self.sites.feature).astype(str),
                               self.sites.chrom, self.sites.pos, self.site_threshold(), self.settings)

    def _intervals(self, split: SplitMetrics, contexts: dict, floor_score: np.ndarray) -> None:
        """``ci`` of the split and of each context, the floor's intervals and the model's paired gain over it."""
        s = self.settings
        if s.bootstrap <= 0:
            return
        if self.sites.chrom is None or self.sites.pos is None:
            split["ci"] = {"skipped": "the dataset has no chrom/pos columns: no genomic blocks to resample"}
            return
        y, context = np.asarray(self.sites.labels).astype(int), np.asarray(self.sites.context).astype(str)
        blocks = block_ids(self.sites.chrom, self.sites.pos, s.block_bp)
        try:
            model, floor = resampled(y, [self.p, floor_score], blocks, thresholds=[self.site_threshold(), None],
                                     context=context, n_resamples=s.bootstrap, seed=s.seed)
        except DnactxError as exc:  # a split without positives has no interval
            split["ci"] = {"skipped": exc.message}
            return
        ci = intervals(model, s.level)
        for c, c_ci in ci.pop("by_context", {}).items():
            if c in contexts:
                contexts[c]["ci"] = c_ci
        split["ci"] = {**ci, "level": s.level, "n_resamples": s.bootstrap, "seed": s.seed, "block_bp": s.block_bp,
                       **block_summary(y, blocks)}
        split["context_floor"]["ci"] = {m: percentile_interval(floor[m], s.level) for m in ("auroc", "auprc")}
        split["context_floor"]["gain"] = {m: _gain(split.get(m), split["context_floor"].get(m), model[m] - floor[m],
                                                   s.level) for m in ("auroc", "auprc")}


def feature_metrics(labels: np.ndarray, p: np.ndarray, feature: np.ndarray, chrom: np.ndarray | None,
                    pos: np.ndarray | None, threshold: float | np.ndarray | None,
                    settings: Settings) -> dict[str, SplitMetrics]:
    """``{feature: binary_metrics + {"ci": {"auroc": [lo, hi], "auprc": [...], "f1": [...]}}}`` for each class
    present; ``threshold`` is one number or each site's own. Intervals need chrom/pos and a positive in the split;
    a class with no interval says why under ``ci.skipped``."""
    y, p, feature = np.asarray(labels).astype(int), np.asarray(p, dtype=float), np.asarray(feature).astype(str)
    site_t = np.broadcast_to(np.asarray(0.5 if threshold is None else threshold, dtype=float), y.shape)
    out: dict[str, SplitMetrics] = {}
    for f in sorted(set(feature.tolist()), key=_feature_order):
        mask = feature == f
        cut = site_t[mask]
        if threshold is None:  # no tuned threshold (predict): the figures at 0.5 only
            out[f] = binary_metrics(y[mask], p[mask])
            continue
        out[f] = binary_metrics(y[mask], p[mask], float(cut[0]) if np.all(cut == cut[0]) else None)
        if not np.all(cut == cut[0]):  # per-context thresholds: the calls at each site's own
            out[f].update({f"{k}_at_threshold": v for k, v in confusion_at(y[mask], p[mask], cut).items()})
    if settings.bootstrap <= 0:
        return out
    if chrom is None or pos is None:
        for entry in out.values():
            entry["ci"] = {"skipped": "the dataset has no chrom/pos columns: no genomic blocks to resample"}
        return out
    blocks = block_ids(chrom, pos, settings.block_bp)
    try:
        cut_at = None if threshold is None else np.array(site_t)
        ci = bootstrap_ci(y, p, blocks, threshold=cut_at, context=feature, n_resamples=settings.bootstrap,
                          seed=settings.seed, level=settings.level)
    except DnactxError as exc:
        for entry in out.values():
            entry["ci"] = {"skipped": exc.message}
        return out
    for f, entry in out.items():
        entry["ci"] = {**(ci.get("by_context") or {}).get(f, {}), "level": settings.level,
                       **block_summary(y[feature == f], blocks[feature == f])}
    return out


def _feature_order(name: str) -> int:
    from ..io.annotation import FEATURES

    return FEATURES.index(name) if name in FEATURES else len(FEATURES)


def _gain(model: float | None, floor: float | None, differences: np.ndarray, level: float) -> dict:
    interval = percentile_interval(differences, level)
    return {"difference": None if model is None or floor is None else model - floor, "ci": interval,
            "p_value": p_value(differences), "verdict": verdict(interval)}
