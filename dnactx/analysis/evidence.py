"""The evidence a diagnosis reads: one run's figures gathered from its val/test scores where given, else from
metrics.json alone, with the effects of the remedies that need no retraining (:class:`dnactx.contracts.Evidence`;
the rules over it are in :mod:`dnactx.analysis.diagnose`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contracts import CONTEXTS, FACTS, BaselineRef, Evidence, MetricsFile
from ..metrics import threshold_sweep
from .effects import ece_change_from_calibrating, threshold_effect
from .numbers import figures_from_metrics, gap, split_figures, subset_metrics


@dataclass(frozen=True)
class SplitScores:
    """One split's labels and predicted probabilities, with each site's context, repeat flag and genomic block
    (for the noise of a remedy's effect) where known."""

    labels: np.ndarray
    probs: np.ndarray
    context: np.ndarray | None = None
    repeat: np.ndarray | None = None
    blocks: np.ndarray | None = None


def _from_scores(ev: Evidence, split: str, s: SplitScores) -> None:
    y, p = np.asarray(s.labels), np.asarray(s.probs)
    ev[split] = split_figures(y, p, ev["threshold"])
    ev["sweep"][split] = threshold_sweep(y, p)
    if s.context is not None:
        ctx = np.asarray(s.context).astype(str)
        ev["by_context"][split] = subset_metrics(y, p, {c: ctx == c for c in CONTEXTS}, ev["threshold"])
    if s.repeat is not None:
        rep = np.asarray(s.repeat).astype(bool)
        ev["by_repeat"][split] = subset_metrics(y, p, {"repeat": rep, "non_repeat": ~rep}, ev["threshold"])


def build_evidence(*, threshold: float, scores: dict[str, SplitScores] | None = None,
                   metrics: MetricsFile | None = None, config: dict | None = None,
                   baseline: BaselineRef | None = None, notes: list[str] | None = None) -> Evidence:
    """Figures for the rules: from val/test ``scores`` where given, else from metrics.json alone.

    ``baseline`` is the run to compare against (the lr baseline), or None.
    """
    metrics = metrics or {}
    scores = scores or {}
    ev: Evidence = {"threshold": threshold, "source": "predictions" if scores else "metrics",
                    "config": config or {}, "notes": list(notes or []), "baseline": baseline,
                    "sweep": {}, "by_context": {}, "by_repeat": {}}
    for split in ("val", "test"):
        if split in scores:
            _from_scores(ev, split, scores[split])
        elif isinstance(metrics.get(split), dict):
            ev[split] = figures_from_metrics(metrics[split])
        else:
            ev[split] = None
    if not ev["by_context"]:
        ev["by_context"] = metrics.get("by_context") or {}
    ev["by_feature"] = metrics.get("by_feature") or {}
    ev["train"] = metrics.get("train") if isinstance(metrics.get("train"), dict) else None
    ev["gap"] = gap(ev["val"], ev["test"]) if ev["val"] and ev["test"] else {}
    ev["facts"] = metrics.get(FACTS) or {}
    ev["measured"] = {split: {k: (metrics.get(split) or {}).get(k) for k in ("ci", "within_context", "context_floor")}
                      for split in ("val", "test") if isinstance(metrics.get(split), dict)}
    ev["effects"] = _effects(ev, scores)
    return ev


def _effects(ev: Evidence, scores: dict[str, SplitScores]) -> dict:
    """The test effect of the remedies that need no retraining, with intervals (see analysis.effects)."""
    test, val = scores.get("test"), scores.get("val")
    if test is None or test.blocks is None:
        return {}
    seed = int(ev["config"].get("seed") or 0)
    n = int(ev["config"].get("bootstrap") or 1000)
    out = {"threshold": threshold_effect(test.labels, test.probs, ev["threshold"], test.blocks, n_resamples=n,
                                         seed=seed)}
    if val is not None and ev["config"].get("calibrate", "none") in (None, "none"):
        out["calibrate"] = ece_change_from_calibrating(val.labels, val.probs, test.labels, test.probs, test.blocks,
                                              n_resamples=n, seed=seed)
    return out
