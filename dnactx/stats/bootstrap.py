"""Stratified genomic-block bootstrap: seeded block draws and vectorised weighted AUROC, AP and F1 per resample.

Neighbouring cytosines are correlated, so a resample draws whole genomic blocks with replacement; blocks that hold
a positive and blocks that hold none are drawn separately, keeping their counts, so every resample has positives.
A resample is a vector of block multiplicities, i.e. integer weights per site. The sites are sorted by score once;
for a chunk of resamples the weighted true/false positives at each tied group of positive scores come from one
sparse-by-dense product, so AUROC (ties averaged) and average precision (scikit-learn's step-wise AP) are exact
and equal ``roc_auc_score`` / ``average_precision_score`` with ``sample_weight`` set to those weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import DnactxError

DEFAULT_BLOCK_BP = 10_000
MIN_BLOCKS = 30  # below this many blocks an interval is flagged approximate
DEFAULT_RESAMPLES = 1000
_CELLS = 2**20  # float64 cells per (tied group x resample) work array: 8 MiB each, ~10 alive at once


def block_ids(chrom: np.ndarray, pos: np.ndarray, block_bp: int = DEFAULT_BLOCK_BP) -> np.ndarray:
    """Genomic block of each site: sites on the same chromosome within the same ``block_bp`` bin share an id.

    Parameters
    ----------
    chrom : array-like of str, shape (n,)
        Chromosome name of each site.
    pos : array-like of int, shape (n,)
        1-based position of each site.
    block_bp : int, default 10,000
        Block length in bp; block ``k`` of a chromosome holds positions ``k * block_bp + 1 ... (k + 1) * block_bp``.

    Returns
    -------
    ids : ndarray of int64, shape (n,)
        Dense ids ``0 .. n_blocks - 1``, numbered in (chromosome name, position) order.
    """
    chrom = np.asarray(chrom).astype(str)
    pos = np.asarray(pos, dtype=np.int64)
    if chrom.shape != pos.shape or pos.ndim != 1:
        raise DnactxError(f"block ids need one chromosome and one position per site, got {chrom.shape} and "
                          f"{pos.shape}")
    if block_bp < 1:
        raise DnactxError(f"--bootstrap-block must be at least 1 bp, got {block_bp}")
    if pos.size and pos.min() < 1:
        raise DnactxError(f"positions are 1-based, got {int(pos.min())}; pass the dataset's pos column")
    if pos.size == 0:
        return np.zeros(0, dtype=np.int64)
    _, chrom_code = np.unique(chrom, return_inverse=True)
    bins = (pos - 1) // block_bp
    _, ids = np.unique(chrom_code.astype(np.int64) * (int(bins.max()) + 1) + bins, return_inverse=True)
    return ids.astype(np.int64).ravel()


def draw_block_counts(has_positive: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicity of every block in each of ``n_resamples`` stratified resamples.

    Blocks with positives are drawn with replacement among themselves as many times as there are such blocks,
    and likewise blocks without positives, so every resample holds positives when the data do.

    Parameters
    ----------
    has_positive : ndarray of bool, shape (n_blocks,)
        Whether each block holds at least one positive site.
    n_resamples : int
        Number of resamples to draw.
    rng : numpy.random.Generator
        Source of randomness; rows are drawn one after another, so drawing 1,000 resamples at once or in chunks
        from the same generator gives the same rows.

    Returns
    -------
    counts : ndarray of int32, shape (n_resamples, n_blocks)
        How often each block is drawn in each resample; every row sums to ``n_blocks``.
    """
    has_positive = np.asarray(has_positive, dtype=bool)
    strata = [s for s in (np.flatnonzero(has_positive), np.flatnonzero(~has_positive)) if s.size]
    counts = np.zeros((n_resamples, has_positive.size), dtype=np.int32)
    for row in counts:
        for stratum in strata:
            row += np.bincount(stratum[rng.integers(0, stratum.size, stratum.size)],
                               minlength=has_positive.size).astype(np.int32)
    return counts


@dataclass(frozen=True)
class _Ranked:
    """One score vector's sites reduced to per-block counts at each tied group that holds positives.

    Column ``j`` is the ``j``-th highest score held by a positive. ``pos``/``tie``: positives/negatives of each
    block at that score; ``seg``: negatives scored below group ``j-1``'s score (or at it) and above group ``j``'s,
    so its cumulative sum counts negatives strictly above group ``j``. All are (K, n_blocks) CSR.
    """

    pos: sp.csr_matrix
    tie: sp.csr_matrix
    seg: sp.csr_matrix
    pos_per_block: np.ndarray  # (n_blocks,)
    neg_per_block: np.ndarray
    pos_called: np.ndarray | None  # positives at or above the threshold, per block
    neg_called: np.ndarray | None


def _per_block(columns: np.ndarray, blocks: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    keep = columns < shape[0]
    return sp.csr_matrix((np.ones(int(keep.sum())), (columns[keep], blocks[keep])), shape=shape)


def _rank(y: np.ndarray, p: np.ndarray, blocks: np.ndarray, n_blocks: int,
          threshold: float | np.ndarray | None) -> _Ranked:
    order = np.argsort(-p, kind="stable")
    ps, ys, bs = p[order], y[order], blocks[order]
    group = np.concatenate([[0], np.cumsum(ps[1:] != ps[:-1])]) if ps.size else np.zeros(0, dtype=np.int64)
    pos_groups = np.unique(group[ys])
    shape = (pos_groups.size, n_blocks)
    neg_group, neg_block = group[~ys], bs[~ys]
    tie_col = np.searchsorted(pos_groups, neg_group)
    is_tie = tie_col < pos_groups.size
    is_tie[is_tie] = pos_groups[tie_col[is_tie]] == neg_group[is_tie]
    called = None if threshold is None else p >= threshold
    return _Ranked(
        pos=_per_block(np.searchsorted(pos_groups, group[ys]), bs[ys], shape),
        tie=_per_block(np.where(is_tie, tie_col, shape[0]), neg_block, shape),
        seg=_per_block(np.searchsorted(pos_groups, neg_group, side="right"), neg_block, shape),
        pos_per_block=np.bincount(blocks[y], minlength=n_blocks).astype(float),
        neg_per_block=np.bincount(blocks[~y], minlength=n_blocks).astype(float),
        pos_called=None if called is None else np.bincount(blocks[y & called], minlength=n_blocks).astype(float),
        neg_called=None if called is None else np.bincount(blocks[~y & called], minlength=n_blocks).astype(float))


def _evaluate(r: _Ranked, counts: np.ndarray) -> dict[str, np.ndarray]:
    """AUROC, AP (and F1) for each row of ``counts``, NaN where undefined (no positive or no negative weight)."""
    w = np.ascontiguousarray(counts.T, dtype=np.float64)  # (n_blocks, b)
    n_pos, n_neg = r.pos_per_block @ w, r.neg_per_block @ w
    tp, tie = r.pos @ w, r.tie @ w  # (K, b)
    above = np.cumsum(r.seg @ w, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = np.sum(tp * (n_neg - above - tie / 2), axis=0) / (n_pos * n_neg)
        tp_cum = np.cumsum(tp, axis=0)
        called = tp_cum + above + tie
        precision = np.divide(tp_cum, called, out=np.zeros_like(tp_cum), where=called > 0)
        out = {"auroc": np.where(n_pos * n_neg > 0, auroc, np.nan),
               "auprc": np.where(n_pos > 0, np.sum(tp * precision, axis=0) / n_pos, np.nan)}
    if r.pos_called is not None:
        true_pos, false_pos = r.pos_called @ w, r.neg_called @ w
        denom = true_pos + false_pos + n_pos  # 2 TP + FP + FN
        out["f1"] = np.divide(2 * true_pos, denom, out=np.zeros_like(denom), where=denom > 0)
    return out


def resample_metrics(y: np.ndarray, p: np.ndarray, blocks: np.ndarray, counts: np.ndarray, *,
                     threshold: float | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """AUROC, average precision and (with a threshold) F1 of ``p`` under each resample's block weights.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Labels.
    p : array-like of float, shape (n,)
        Scores; ties are grouped as scikit-learn does.
    blocks : array-like of int, shape (n,)
        Block of each site, in ``0 .. n_blocks - 1``.
    counts : ndarray of int, shape (n_resamples, n_blocks)
        Block multiplicities (e.g. from :func:`draw_block_counts`); site ``i`` weighs ``counts[:, blocks[i]]``.
    threshold : float or ndarray of shape (n,), optional
        Sites with ``p >= threshold`` are called positive for F1 (one threshold per site allows per-context ones).

    Returns
    -------
    metrics : dict of str to ndarray of shape (n_resamples,)
        ``auroc``, ``auprc`` and, with a threshold, ``f1``; NaN where a resample has no positive (or, for AUROC,
        no negative) weight. Equal to ``roc_auc_score``, ``average_precision_score`` and ``f1_score`` with
        ``sample_weight = counts[r, blocks]``.
    """
    y, p, blocks = _check_sites(y, p, blocks)
    counts = np.atleast_2d(np.asarray(counts))
    if blocks.size and blocks.max() >= counts.shape[1]:
        raise DnactxError(f"block id {int(blocks.max())} is outside the {counts.shape[1]} blocks of counts")
    return _evaluate_chunks(_rank(y, p, blocks, counts.shape[1], threshold), counts)


def _evaluate_chunks(ranked: _Ranked, counts: np.ndarray) -> dict[str, np.ndarray]:
    rows = max(1, _CELLS // max(ranked.pos.shape[0], counts.shape[1], 1))
    parts = [_evaluate(ranked, counts[i:i + rows]) for i in range(0, counts.shape[0], rows)]
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]} if parts else {}


def _check_sites(y: np.ndarray, p: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, p, blocks = np.asarray(y), np.asarray(p, dtype=np.float64), np.asarray(blocks)
    if not (y.shape == p.shape == blocks.shape) or y.ndim != 1:
        raise DnactxError(f"labels, scores and block ids must be 1-d and of one length, got {y.shape}, {p.shape} "
                          f"and {blocks.shape}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise DnactxError("labels must be 0 or 1")
    if np.isnan(p).any():
        raise DnactxError(f"{int(np.isnan(p).sum())} scores are NaN; the run's predictions are unusable")
    if blocks.size and (not np.issubdtype(blocks.dtype, np.integer) or blocks.min() < 0):
        raise DnactxError("block ids must be non-negative integers (see dnactx.stats.bootstrap.block_ids)")
    return y.astype(bool), p, blocks.astype(np.int64)


def resampled(y: np.ndarray, scores: Sequence[np.ndarray], blocks: np.ndarray, *,
              thresholds: Sequence[float | np.ndarray | None] | None = None, context: np.ndarray | None = None,
              n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> list[dict]:
    """Metrics of one or more score vectors on the same sites under the same stratified block resamples.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Labels; must hold at least one positive.
    scores : sequence of array-like of float, each of shape (n,)
        One score vector per run; all are evaluated under the same draws (a paired bootstrap).
    blocks : array-like of int, shape (n,)
        Block of each site (any non-negative ids, e.g. from :func:`block_ids`).
    thresholds : sequence of (float, ndarray of shape (n,) or None), optional
        Per score vector, the threshold for F1; F1 is left out where None.
    context : array-like of str, shape (n,), optional
        Site context (CG/CHG/CHH); adds ``by_context`` and the macro-averaged ``within_context``.
    n_resamples : int, default 1000
    seed : int, default 0
        Seeds ``numpy.random.default_rng``; the draws depend on the seed and the blocks' positives only.

    Returns
    -------
    per_run : list of dict, one per score vector
        ``{"auroc": (B,), "auprc": (B,), ["f1": (B,)], ["by_context": {ctx: {...}},
        "within_context": {"auroc": (B,), "auprc": (B,)}]}``, arrays of one value per resample.
    """
    if n_resamples < 1:
        raise DnactxError(f"--bootstrap needs at least 1 resample, got {n_resamples}")
    thresholds = list(thresholds) if thresholds is not None else [None] * len(scores)
    if len(thresholds) != len(scores):
        raise DnactxError(f"{len(scores)} score vectors but {len(thresholds)} thresholds")
    checked = [_check_sites(y, p, blocks) for p in scores]
    yb, _, blocks = checked[0]
    if not yb.any():
        raise DnactxError("the split has no positive sites: AUROC and AUPRC have no interval")
    _, blocks = np.unique(blocks, return_inverse=True)
    has_positive = np.bincount(blocks, weights=yb) > 0
    subsets = _subsets(context, yb.size)
    ranked = [{name: _rank(yb[mask], p[mask], blocks[mask], has_positive.size,
                           threshold[mask] if isinstance(threshold, np.ndarray) and threshold.ndim else threshold)
               for name, mask in subsets.items()} for (_, p, _), threshold in zip(checked, thresholds, strict=True)]
    rng, rows = np.random.default_rng(seed), max(1, _CELLS // has_positive.size)
    parts: list[list[dict]] = [[] for _ in ranked]
    for start in range(0, n_resamples, rows):  # draws row by row, so chunking never changes them
        counts = draw_block_counts(has_positive, min(rows, n_resamples - start), rng)
        for run, part in zip(ranked, parts, strict=True):
            part.append({name: _evaluate_chunks(r, counts) for name, r in run.items()})
    return [_assemble({name: {k: np.concatenate([c[name][k] for c in part]) for k in part[0][name]}
                       for name in part[0]}) for part in parts]


def _subsets(context: np.ndarray | None, n: int) -> dict[str | None, np.ndarray]:
    subsets: dict[str | None, np.ndarray] = {None: np.ones(n, dtype=bool)}
    if context is not None:
        context = np.asarray(context).astype(str)
        if context.shape != (n,):
            raise DnactxError(f"context must hold one entry per site ({n}), got shape {context.shape}")
        subsets.update({str(c): context == c for c in np.unique(context)})
    return subsets


def _assemble(per_subset: dict[str | None, dict[str, np.ndarray]]) -> dict:
    out: dict = dict(per_subset[None])
    contexts = {k: v for k, v in per_subset.items() if k is not None}
    if contexts:
        out["by_context"] = contexts
        out["within_context"] = {m: _nanmean_rows([v[m] for v in contexts.values()]) for m in ("auroc", "auprc")}
    return out


def _nanmean_rows(rows: list[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmean(np.vstack(rows), axis=0)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> list[float] | None:
    """``[lo, hi]``: the central ``level`` percentile interval of the finite values, None when there are none."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]


def block_summary(y: np.ndarray, blocks: np.ndarray) -> dict:
    """``n_blocks``, ``n_blocks_with_positives`` and ``approximate`` (fewer than 30 blocks) for a set of sites."""
    y, blocks = np.asarray(y).astype(bool), np.asarray(blocks)
    n_blocks = int(np.unique(blocks).size)
    return {"n_blocks": n_blocks, "n_blocks_with_positives": int(np.unique(blocks[y]).size),
            "approximate": n_blocks < MIN_BLOCKS}


def bootstrap_ci(y: np.ndarray, p: np.ndarray, blocks: np.ndarray, *, threshold: float | np.ndarray | None = None,
                 context: np.ndarray | None = None, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                 level: float = 0.95) -> dict:
    """Percentile intervals of AUROC, AUPRC and F1 at ``threshold`` from a stratified block bootstrap.

    Parameters are those of :func:`resampled` for a single score vector ``p`` of shape (n,), plus ``level``.

    Returns
    -------
    ci : dict
        ``{"auroc": [lo, hi], "auprc": [lo, hi], "f1": [lo, hi] (with a threshold), "by_context": {"CG": {...}},
        "within_context": {"auroc": [lo, hi], "auprc": [lo, hi]} (with a context), "level", "n_resamples", "seed",
        "n_blocks", "n_blocks_with_positives", "approximate"}``; ``approximate`` is true when the sites span fewer
        than 30 blocks. An interval over the resamples where a metric is defined; None when it never is.
    """
    runs = resampled(y, [p], blocks, thresholds=[threshold], context=context, n_resamples=n_resamples, seed=seed)
    return {**intervals(runs[0], level), "level": level, "n_resamples": n_resamples, "seed": seed,
            **block_summary(y, blocks)}


def observed(y: np.ndarray, scores: Sequence[np.ndarray], *,
             thresholds: Sequence[float | np.ndarray | None] | None = None,
             context: np.ndarray | None = None) -> list[dict]:
    """:func:`resampled`'s metrics on the sites as they are (every weight 1): floats, None where undefined."""
    runs = resampled(y, scores, np.zeros(np.size(y), dtype=np.int64), thresholds=thresholds, context=context,
                     n_resamples=1)
    return [_first(run) for run in runs]


def _first(metrics: dict) -> dict:
    return {k: _first(v) if isinstance(v, dict) else (None if np.isnan(v[0]) else float(v[0]))
            for k, v in metrics.items()}


def intervals(metrics: dict, level: float = 0.95) -> dict:
    """The same nested layout as ``metrics`` (from :func:`resampled`) with each array replaced by its interval."""
    return {k: intervals(v, level) if isinstance(v, dict) else percentile_interval(v, level)
            for k, v in metrics.items()}
