"""Sites of a genome → P(methylated), chunk by chunk, with the run's own recipe; shared among launched processes."""

from __future__ import annotations

import numpy as np

from ..distributed import all_gather_objects, rank, world_size
from ..inference import Scorer, genome_windows
from ..prepare.windows import Stranded

CHUNK_SITES = 1 << 15  # windows cut at a time: 26 MB at the default 800 bp window


METHODS = ("sliding", "windows")


def score_sites(scorer: Scorer, chrom: Stranded, pos: np.ndarray, strand: np.ndarray,
                ctx: np.ndarray, method: str = "windows") -> np.ndarray:
    """P(methylated), float64 (n,), of the sites at 1-based ``pos`` on ``strand`` (+1/-1) with context ids ``ctx``
    of ``chrom`` (``inference.load_chromosome`` with the recipe's window). ``windows``: windows cut as prepare
    cuts them, then the recipe's cut, then ``scorer.probs``; ``sliding`` (a cnn): the same inputs as slices of the
    chromosome and its reverse complement, scored by ``scorer.probs_along`` from one convolution of each stretch.
    Under a launcher every process scores its share of each chunk and all get the whole chunk back (in order)."""
    out = np.empty(pos.size, dtype=np.float64)
    k, r = world_size(), rank()
    for i in range(0, pos.size, CHUNK_SITES):
        j = min(i + CHUNK_SITES, pos.size)
        lo, hi = i + (j - i) * r // k, i + (j - i) * (r + 1) // k
        mine = _probs(scorer, chrom, pos[lo:hi], strand[lo:hi], ctx[lo:hi], method)
        out[i:j] = np.concatenate(all_gather_objects(mine)) if k > 1 else mine
    return out


def input_starts(chrom: Stranded, pos: np.ndarray, strand: np.ndarray, window: int, start: int) -> np.ndarray:
    """Where each site's model input begins in ``chrom.both`` (the chromosome, then its reverse complement): the
    input is ``both[s:s + recipe.length]``, the same bases as ``recipe.cut(genome_windows(...))`` (``start``:
    ``recipe.start``, the cut's first column of a window)."""
    idx = chrom.index(pos)
    centre = np.where(np.asarray(strand) < 0, chrom.both.size - 1 - idx, idx)
    return centre - window // 2 + start


def _probs(scorer: Scorer, chrom: Stranded, pos: np.ndarray, strand: np.ndarray, ctx: np.ndarray,
           method: str) -> np.ndarray:
    r = scorer.recipe
    if not pos.size:
        return np.zeros(0, dtype=np.float64)
    if method == "sliding":
        return scorer.probs_along(chrom.both, input_starts(chrom, pos, strand, r.window, r.start),
                                  ctx if r.site_context else None)
    windows = genome_windows(chrom, pos, strand, r.window)
    return scorer.probs(r.cut(windows), ctx if r.site_context else None)
