"""Sites of a genome → P(methylated), chunk by chunk, with the run's own recipe; shared among launched processes."""

from __future__ import annotations

import numpy as np

from ..distributed import all_gather_objects, rank, world_size
from ..inference import Scorer, genome_windows
from ..prepare.windows import Stranded

CHUNK_SITES = 1 << 15  # windows cut at a time: 26 MB at the default 800 bp window


def score_sites(scorer: Scorer, chrom: Stranded, pos: np.ndarray, strand: np.ndarray,
                ctx: np.ndarray) -> np.ndarray:
    """P(methylated), float64 (n,), of the sites at 1-based ``pos`` on ``strand`` (+1/-1) with context ids ``ctx``
    of ``chrom`` (``inference.load_chromosome`` with the recipe's window): windows cut as prepare cuts them, then
    the recipe's cut, then ``scorer.probs``. Under a launcher every process scores its share of each chunk and
    all get the whole chunk back (in order)."""
    out = np.empty(pos.size, dtype=np.float64)
    k, r = world_size(), rank()
    for i in range(0, pos.size, CHUNK_SITES):
        j = min(i + CHUNK_SITES, pos.size)
        lo, hi = i + (j - i) * r // k, i + (j - i) * (r + 1) // k
        mine = _probs(scorer, chrom, pos[lo:hi], strand[lo:hi], ctx[lo:hi])
        out[i:j] = np.concatenate(all_gather_objects(mine)) if k > 1 else mine
    return out


def _probs(scorer: Scorer, chrom: Stranded, pos: np.ndarray, strand: np.ndarray, ctx: np.ndarray) -> np.ndarray:
    r = scorer.recipe
    if not pos.size:
        return np.zeros(0, dtype=np.float64)
    windows = genome_windows(chrom, pos, strand, r.window)
    return scorer.probs(r.cut(windows), ctx if r.site_context else None)
