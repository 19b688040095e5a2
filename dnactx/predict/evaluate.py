"""How well predictions match measured methylation on new data: per-context ranking with block-bootstrap
intervals, and observed vs predicted mean methylation in genomic bins. Pure functions of arrays."""

from __future__ import annotations

import numpy as np

from ..choices import CONTEXTS
from ..errors import DnactxError
from ..metrics import auprc, auroc
from ..stats.bootstrap import DEFAULT_BLOCK_BP, block_ids, bootstrap_ci

BIN_SIZES = (1_000, 10_000)


def _ranking(y: np.ndarray, p: np.ndarray) -> dict:
    n = int(y.size)
    return {"n": n, "positives": int(y.sum()), "pos_rate": float(y.mean()) if n else None,
            "mean_prob": float(p.mean()) if n else None, "auroc": auroc(y, p), "auprc": auprc(y, p)}


def discrimination(y: np.ndarray, p: np.ndarray, context: np.ndarray, chrom: np.ndarray, pos: np.ndarray, *,
                   n_resamples: int = 1000, block_bp: int = DEFAULT_BLOCK_BP, seed: int = 0) -> dict:
    """AUROC and AUPRC of ``p`` against labels ``y``, for all sites and per context, with 95% intervals from a
    stratified block bootstrap (``dnactx.stats``; blocks of ``block_bp`` on ``chrom``/``pos``).

    Parameters
    ----------
    y : int (n,) labels 0/1; p : float (n,) predicted P(methylated); context : int (n,) 0 CG / 1 CHG / 2 CHH;
    chrom : (n,) chromosome of each site (names or codes); pos : int (n,) 1-based positions
    n_resamples : bootstrap resamples (0: no intervals)

    Returns
    -------
    ``{"all": {...}, "CG": {...}, "CHG": {...}, "CHH": {...}, "bootstrap": {...} | None}``; each with n, positives,
    pos_rate, mean_prob, auroc, auprc, auroc_ci, auprc_ci (None where undefined).
    """
    y, p, context = np.asarray(y).astype(np.int8), np.asarray(p, dtype=np.float64), np.asarray(context)
    names = np.array(CONTEXTS)[context] if context.size else np.array([], dtype=str)
    out: dict = {"all": _ranking(y, p)}
    out.update({c: _ranking(y[names == c], p[names == c]) for c in CONTEXTS if (names == c).any()})
    for entry in out.values():
        entry.update(auroc_ci=None, auprc_ci=None)
    out["bootstrap"] = None
    if not n_resamples or not y.any():
        return out
    blocks = block_ids(chrom, pos, block_bp)
    try:
        ci = bootstrap_ci(y, p, blocks, context=names, n_resamples=n_resamples, seed=seed)
    except DnactxError:
        return out
    for key, entry in out.items():
        source = ci if key == "all" else (ci.get("by_context") or {}).get(key)
        if entry is not None and source:
            entry.update(auroc_ci=source.get("auroc"), auprc_ci=source.get("auprc"))
    out["bootstrap"] = {"n_resamples": n_resamples, "block_bp": block_bp, "level": ci["level"], "seed": seed,
                        "n_blocks": ci["n_blocks"], "n_blocks_with_positives": ci["n_blocks_with_positives"],
                        "approximate": ci["approximate"]}
    return out


def binned(chrom: np.ndarray, pos: np.ndarray, values: list[np.ndarray], bin_bp: int) -> tuple[np.ndarray, ...]:
    """(bin key, n, mean of each of ``values``): sites grouped into ``bin_bp`` bins per chromosome (integer
    codes), bins with sites only, in genome order of the codes."""
    key = np.asarray(chrom, dtype=np.int64) * (1 << 40) + (np.asarray(pos, dtype=np.int64) - 1) // bin_bp
    bins, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    means = [np.bincount(inverse.ravel(), weights=v, minlength=bins.size) / counts for v in values]
    return bins, counts, *means


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def binned_correlation(chrom: np.ndarray, pos: np.ndarray, level: np.ndarray, p: np.ndarray, context: np.ndarray,
                       bin_sizes: tuple[int, ...] = BIN_SIZES) -> dict:
    """Observed mean methylation level vs mean predicted P(methylated) of the same sites, per ``bin_bp`` bin:
    Pearson r and the number of bins, for all sites and per context, at each bin size.

    ``chrom`` are integer codes; the sites are those with a label (prepare's coverage and filters)."""
    out: dict = {}
    context = np.asarray(context)
    for size in bin_sizes:
        entry = {}
        for name, mask in [("all", np.ones(context.size, dtype=bool))] + [
                (c, context == i) for i, c in enumerate(CONTEXTS)]:
            if not mask.any():
                continue
            _, _, observed, predicted = binned(chrom[mask], pos[mask], [level[mask], p[mask]], size)
            entry[name] = {"pearson_r": _pearson(observed, predicted), "bins": int(observed.size)}
        out[f"{size // 1000}kb"] = entry
    return out
