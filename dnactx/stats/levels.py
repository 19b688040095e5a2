"""How well predicted methylation levels match the measured ones (``--target level``): Pearson and Spearman r, MAE
and coverage-weighted R², per split and per context, with genomic-block bootstrap intervals, and the paired
difference of two level runs on the same sites.

Every metric is a function of per-site sums (x, y, x², y², xy, |x − y|, cov-weighted moments), so a resample is
one product of block multiplicities with per-block sums: 1,000 resamples of 100k sites cost milliseconds. Spearman
r under a resample is the Pearson r of the ranks in the full split (the ranks are not recomputed per resample).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from ..choices import CONTEXTS
from ..errors import DnactxError
from .bootstrap import percentile_interval

LEVEL_METRICS = ("pearson", "spearman", "mae", "r2_weighted")
LOWER_IS_BETTER = frozenset({"mae"})
# The per-site columns the metrics are computed from (see _columns).
_N, _X, _Y, _XX, _YY, _XY, _RX, _RY, _RXX, _RYY, _RXY, _ABS, _W, _WY, _WYY, _WSQ = range(16)


def _columns(level: np.ndarray, pred: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(n, 16) per-site terms: count, moments of prediction x and level y, of their ranks, |x − y|, and the
    coverage-weighted moments of y and of (y − x)²."""
    y, x, w = (np.asarray(a, dtype=np.float64) for a in (level, pred, cov))
    rx, ry = rankdata(x), rankdata(y)
    return np.stack([np.ones_like(x), x, y, x * x, y * y, x * y, rx, ry, rx * rx, ry * ry, rx * ry, np.abs(x - y),
                     w, w * y, w * y * y, w * (y - x) ** 2], axis=1)


def _r(s: np.ndarray, a: int, b: int, aa: int, bb: int, ab: int) -> np.ndarray:
    n = s[..., _N]
    cov = s[..., ab] - s[..., a] * s[..., b] / n
    var = (s[..., aa] - s[..., a] ** 2 / n) * (s[..., bb] - s[..., b] ** 2 / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)


def _metrics(s: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric from summed columns (the last axis); NaN where undefined (no variance, no sites)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        total = s[..., _WYY] - s[..., _WY] ** 2 / s[..., _W]
        return {"pearson": _r(s, _X, _Y, _XX, _YY, _XY), "spearman": _r(s, _RX, _RY, _RXX, _RYY, _RXY),
                "mae": s[..., _ABS] / s[..., _N],
                "r2_weighted": np.where(total > 0, 1 - s[..., _WSQ] / total, np.nan)}


def _value(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def level_metrics(level: np.ndarray, pred: np.ndarray, cov: np.ndarray) -> dict:
    """``{"pearson", "spearman", "mae", "r2_weighted", "n", "reads"}`` of predicted against measured levels on these
    sites (``r2_weighted`` weighs each site by its reads: 1 − Σ cov (y − x)² / Σ cov (y − ȳ_cov)²)."""
    if np.size(level) == 0:
        return {**dict.fromkeys(LEVEL_METRICS), "n": 0, "reads": 0}
    s = _columns(level, pred, cov).sum(axis=0)
    return {**{m: _value(v) for m, v in _metrics(s).items()}, "n": int(np.size(level)),
            "reads": int(np.sum(cov))}


def draw_blocks(blocks: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n_blocks) multiplicities: each resample draws as many blocks as there are, with replacement."""
    n_blocks = int(blocks.max()) + 1 if blocks.size else 0
    if n_blocks == 0:
        raise DnactxError("no sites to resample; level intervals need sites with genomic positions")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_blocks, np.full(n_blocks, 1.0 / n_blocks), size=n_resamples).astype(np.float64)


def _resampled(columns: np.ndarray, blocks: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    per_block = np.zeros((counts.shape[1], columns.shape[1]))
    np.add.at(per_block, blocks, columns)
    return _metrics(counts @ per_block)


def level_evaluation(level: np.ndarray, pred: np.ndarray, cov: np.ndarray, context: np.ndarray,
                     blocks: np.ndarray | None, *, n_resamples: int, seed: int, block_bp: int,
                     level_ci: float = 0.95) -> dict:
    """metrics.json's ``level`` entry of one split: :func:`level_metrics` of all sites, ``by_context`` the same per
    CG/CHG/CHH, and (with ``blocks`` and resamples) ``ci``: each metric's percentile interval under one set of
    genomic-block resamples shared by the split and its contexts."""
    context = np.asarray(context).astype(str)
    level, pred, cov = (np.asarray(a, dtype=np.float64) for a in (level, pred, cov))
    out = level_metrics(level, pred, cov)
    out["by_context"] = {c: level_metrics(level[context == c], pred[context == c], cov[context == c])
                         for c in CONTEXTS if (context == c).any()}
    if n_resamples <= 0:
        return out
    if blocks is None:
        out["ci"] = {"skipped": "the dataset has no chrom/pos columns: no genomic blocks to resample"}
        return out
    counts = draw_blocks(blocks, n_resamples, seed)
    settings = {"level": level_ci, "n_resamples": n_resamples, "seed": seed, "block_bp": block_bp}
    out["ci"] = {**_intervals(_resampled(_columns(level, pred, cov), blocks, counts), level_ci), **settings,
                 "n_blocks": int(np.unique(blocks).size)}
    for c, entry in out["by_context"].items():
        mask = context == c
        entry["ci"] = _intervals(_resampled(_columns(level[mask], pred[mask], cov[mask]), blocks[mask], counts),
                                 level_ci)
    return out


def _intervals(resampled: dict[str, np.ndarray], level: float) -> dict[str, list[float] | None]:
    return {m: percentile_interval(resampled[m], level) for m in LEVEL_METRICS}


def paired_level_draws(level: np.ndarray, cov: np.ndarray, preds: Sequence[np.ndarray], blocks: np.ndarray,
                       context: np.ndarray | None, *, n_resamples: int, seed: int
                       ) -> dict[str | None, list[dict[str, np.ndarray]]]:
    """Each prediction's level metrics under one set of block resamples, for all sites (key None) and per context:
    ``{None: [metrics of preds[0], metrics of preds[1], ...], "CG": [...], ...}``; the observed value of each
    metric is in :func:`level_metrics`."""
    counts = draw_blocks(blocks, n_resamples, seed)
    subsets: dict[str | None, np.ndarray] = {None: np.ones(np.size(level), dtype=bool)}
    if context is not None:
        context = np.asarray(context).astype(str)
        subsets.update({c: context == c for c in CONTEXTS if (context == c).any()})
    return {key: [_resampled(_columns(level[m], np.asarray(p)[m], cov[m]), blocks[m], counts) for p in preds]
            for key, m in subsets.items()}
