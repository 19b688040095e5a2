"""Paired comparison of two runs on the same sites: the difference A − B under shared block draws, and a verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import DnactxError
from .bootstrap import DEFAULT_RESAMPLES, block_summary, observed, percentile_interval, resampled

METRICS = ("auprc", "auroc", "f1", "within_auprc", "within_auroc")
A_BETTER, B_BETTER, NO_DIFFERENCE = "A better", "B better", "no detectable difference"


@dataclass(frozen=True)
class RunScores:
    """One run's predictions on one split.

    Attributes
    ----------
    labels : ndarray of {0, 1}, shape (n,)
    scores : ndarray of float, shape (n,)
    threshold : float or ndarray of shape (n,), optional
        The run's tuned threshold (global, or per site for per-context thresholds); needed for ``f1``.
    index : ndarray of int, shape (n,), optional
        The sites' rows in the dataset, to check (and align) that two runs scored the same sites.
    """

    labels: np.ndarray
    scores: np.ndarray
    threshold: float | np.ndarray | None = None
    index: np.ndarray | None = None


def align_sites(a: RunScores, b: RunScores) -> RunScores:
    """``b`` in ``a``'s site order; a DnactxError when the two runs did not score the same sites with one labelling."""
    how = "compare runs trained on the same dataset and split"
    if np.shape(a.labels) != np.shape(b.labels):
        raise DnactxError(f"the runs scored different sites: A has {np.size(a.labels):,}, B has "
                          f"{np.size(b.labels):,}; {how}")
    if a.index is not None and b.index is not None and not np.array_equal(a.index, b.index):
        order_a, order_b = np.argsort(a.index, kind="stable"), np.argsort(b.index, kind="stable")
        if not np.array_equal(np.asarray(a.index)[order_a], np.asarray(b.index)[order_b]):
            raise DnactxError(f"the runs scored different sites (dataset rows differ); {how}")
        take = order_b[np.argsort(order_a, kind="stable")]
        thr = b.threshold[take] if isinstance(b.threshold, np.ndarray) and b.threshold.ndim else b.threshold
        b = replace(b, labels=np.asarray(b.labels)[take], scores=np.asarray(b.scores)[take], threshold=thr,
                    index=np.asarray(b.index)[take])
    differ = int(np.sum(np.asarray(a.labels) != np.asarray(b.labels)))
    if differ:
        raise DnactxError(f"the runs' labels differ at {differ:,} of {np.size(a.labels):,} sites (another dataset, "
                          f"threshold or coverage filter); {how}")
    return b


def p_value(differences: np.ndarray) -> float | None:
    """Two-sided bootstrap p-value of ``difference = 0``: twice the smaller tail, with the +1 correction.

    Parameters
    ----------
    differences : ndarray of float, shape (n_resamples,)
        The resampled differences A − B; NaN entries (metric undefined in that resample) are left out.

    Returns
    -------
    p : float in (0, 1], or None when no difference is defined
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return None
    tail = min(np.sum(d <= 0), np.sum(d >= 0))
    return float(min(1.0, 2 * (tail + 1) / (d.size + 1)))


# A difference measured on fewer methylated sites than this is not evidence either way (one positive can move AUROC
# from 0 to 1): such a comparison gets no interval, p-value or winner, only the words below.
MIN_POSITIVES = 10
TOO_FEW = "too few positives"


def too_few_positives(comparison: dict, n_positives: int) -> dict:
    """``comparison`` (a :func:`group_difference` dict) stripped of its interval, p-value and winner when it rests
    on fewer than :data:`MIN_POSITIVES` methylated sites; the point values stay, for reference."""
    if n_positives >= MIN_POSITIVES:
        return comparison
    return {**comparison, "ci": None, "p_value": None, "verdict": f"{TOO_FEW} ({n_positives})",
            "n_positives": n_positives}


def verdict(interval: list[float] | None) -> str:
    """``"A better"`` when the interval of A − B lies above 0, ``"B better"`` below, else no detectable difference."""
    if interval is None:
        return NO_DIFFERENCE
    lo, hi = interval
    return A_BETTER if lo > 0 else B_BETTER if hi < 0 else NO_DIFFERENCE


def _pick(metrics: dict, metric: str) -> Any:
    if metric.startswith("within_"):
        return metrics["within_context"][metric.removeprefix("within_")]
    return metrics[metric]


def _check_metric(runs: Sequence[RunScores], metric: str, context: np.ndarray | None) -> None:
    if metric not in METRICS:
        raise DnactxError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if metric.startswith("within_") and context is None:
        raise DnactxError(f"--metric {metric} needs the sites' contexts")
    if metric == "f1" and any(r.threshold is None for r in runs):
        raise DnactxError("--metric f1 needs both runs' thresholds")


@dataclass(frozen=True)
class Draws:
    """Several runs' metrics on the same sites: as they are (``observed``) and under one set of block draws
    (``resampled``: arrays of shape (n_resamples,)), one dict per run in the order given (see
    :func:`dnactx.stats.bootstrap.resampled`), with the draws' description in ``summary``."""

    observed: list[dict]
    resampled: list[dict]
    summary: dict


def draw(runs: Sequence[RunScores], blocks: np.ndarray, *, context: np.ndarray | None = None,
         n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Draws:
    """Align every run to the first one's sites and resample them all with the same stratified block draws.

    Parameters
    ----------
    runs : sequence of RunScores
        Predictions on one split; each is aligned to ``runs[0]`` by ``index`` (a DnactxError when they did not
        score the same sites with one labelling). F1 is computed for the runs that carry a threshold.
    blocks : array-like of int, shape (n,)
        Block of each site in ``runs[0]``'s order.
    context : array-like of str, shape (n,), optional
        Site context in ``runs[0]``'s order; adds the per-context and within-context figures.
    n_resamples, seed
        As in :func:`dnactx.stats.bootstrap.bootstrap_ci`.
    """
    first = runs[0]
    aligned = [first] + [align_sites(first, r) for r in runs[1:]]
    thresholds = [r.threshold for r in aligned] if all(r.threshold is not None for r in aligned) else None
    scores = [r.scores for r in aligned]
    kwargs = {"thresholds": thresholds, "context": context}
    return Draws(observed(first.labels, scores, **kwargs),
                 resampled(first.labels, scores, blocks, n_resamples=n_resamples, seed=seed, **kwargs),
                 {"n_resamples": n_resamples, "seed": seed, **block_summary(first.labels, blocks)})


def has_metric(draws: Draws, metric: str) -> bool:
    """Whether every run of ``draws`` has ``metric`` (F1 needs thresholds, ``within_*`` contexts)."""
    try:
        return all(_pick(r, metric) is not None for r in draws.resampled)
    except KeyError:
        return False


def _mean(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else float(np.mean(values))


def group_difference(draws: Draws, a: Sequence[int], b: Sequence[int], metric: str = "auprc",
                     level: float = 0.95) -> dict:
    """Mean of runs ``a`` − mean of runs ``b`` (indices into ``draws``) for one metric, with its interval, p-value
    and verdict: the per-resample differences of the two means, so every run is judged on the same draws.

    Returns
    -------
    comparison : dict
        ``{"metric", "a", "b", "difference", "ci": [lo, hi], "p_value", "verdict", "level", **draws.summary}``.
    """
    value_a = _mean([_pick(draws.observed[i], metric) for i in a])
    value_b = _mean([_pick(draws.observed[i], metric) for i in b])
    differences = (np.mean([_pick(draws.resampled[i], metric) for i in a], axis=0)
                   - np.mean([_pick(draws.resampled[i], metric) for i in b], axis=0))
    interval = percentile_interval(differences, level)
    return {"metric": metric, "a": value_a, "b": value_b,
            "difference": None if value_a is None or value_b is None else value_a - value_b, "ci": interval,
            "p_value": p_value(differences), "verdict": verdict(interval), "level": level, **draws.summary}


def group_interval(draws: Draws, group: Sequence[int], metric: str = "auprc", level: float = 0.95) -> dict:
    """The mean of runs ``group`` for one metric and its interval over the draws: ``{"mean", "ci"}``."""
    means = np.mean([_pick(draws.resampled[i], metric) for i in group], axis=0)
    return {"mean": _mean([_pick(draws.observed[i], metric) for i in group]),
            "ci": percentile_interval(means, level)}


def paired_difference(a: RunScores, b: RunScores, blocks: np.ndarray, *, metric: str = "auprc",
                      context: np.ndarray | None = None, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                      level: float = 0.95) -> dict:
    """A − B for one metric, with its interval, p-value and verdict, from one set of block draws for both runs.

    Parameters
    ----------
    a, b : RunScores
        The two runs' predictions on the same split; ``b`` is aligned to ``a`` by ``index`` when both carry one.
    blocks : array-like of int, shape (n,)
        Block of each site in ``a``'s order (see :func:`dnactx.stats.bootstrap.block_ids`).
    metric : {"auprc", "auroc", "f1", "within_auprc", "within_auroc"}, default "auprc"
        ``f1`` is at each run's own threshold; ``within_*`` is the macro average over contexts (needs ``context``).
    context : array-like of str, shape (n,), optional
        Site context in ``a``'s order.
    n_resamples, seed, level
        As in :func:`dnactx.stats.bootstrap.bootstrap_ci`.

    Returns
    -------
    comparison : dict
        ``{"metric", "a", "b", "difference", "ci": [lo, hi], "p_value", "verdict", "level", "n_resamples", "seed",
        "n_blocks", "n_blocks_with_positives", "approximate"}``; ``a``/``b``/``difference`` are on the sites as
        they are, the interval and p-value from the resampled differences.
    """
    _check_metric([a, b], metric, context)
    if metric != "f1":
        a, b = replace(a, threshold=None), replace(b, threshold=None)
    return group_difference(draw([a, b], blocks, context=context, n_resamples=n_resamples, seed=seed), [0], [1],
                            metric, level)
