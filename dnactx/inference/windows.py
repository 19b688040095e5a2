"""Oriented windows for sites straight from a genome, cut by prepare's own code, and their contexts.

A window here is what dataset.parquet's ``seq`` holds: uint8 ASCII of shape (n, window + 1), upper-case
A/C/G/T/N, 5'→3' on the site's strand, the C at ``window // 2``, N beyond a chromosome end. ``Recipe.cut`` turns
windows into model inputs. One chromosome is in memory at a time (2 bytes + 1 bit per base, padded)::

    buffer = chromosome_buffer(genome, recipe.window)
    for name in genome.names:
        chrom = load_chromosome(genome, name, recipe.window, buffer)
        windows = genome_windows(chrom, pos, strand, recipe.window)   # pos 1-based, strand +1/-1 or "+"/"-"
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..io.fasta import FastaGenome
from ..prepare.sites import context_codes, site_bases
from ..prepare.windows import Stranded, load_stranded, site_windows, window_pad
from ..sequence import strand_codes


def chromosome_buffer(genome: FastaGenome, window: int, names: Iterable[str] | None = None) -> np.ndarray:
    """Reusable memory for :func:`load_chromosome`: enough for the largest of ``names`` (default: all)."""
    names = list(genome.names if names is None else names)
    longest = max((genome.length(n) for n in names), default=0)
    return np.empty(2 * (longest + 2 * window_pad(window)), dtype=np.uint8)


def load_chromosome(genome: FastaGenome, name: str, window: int, buffer: np.ndarray | None = None) -> Stranded:
    """Chromosome ``name`` as prepare holds it: padded with N for ``window``, upper-cased, with its reverse
    complement (and the soft-mask bits: ``chrom.masked(chrom.index(pos))``). With ``buffer`` (from
    :func:`chromosome_buffer`) no memory is allocated, and the previous chromosome loaded into it is overwritten."""
    return load_stranded(genome, name, window, buffer)


def genome_windows(chrom: Stranded, pos: np.ndarray, strand: np.ndarray | Iterable, window: int) -> np.ndarray:
    """Windows of the sites at 1-based ``pos`` on ``strand`` of ``chrom`` (from :func:`load_chromosome` with the
    same ``window``): uint8 (n, window + 1), equal to prepare's ``seq`` for the same sites. A fresh array."""
    pos = np.asarray(pos, dtype=np.int64)
    if pos.size and (pos.min() < 1 or pos.max() > chrom.seq.size - 2 * chrom.pad):
        raise ValueError(f"positions must lie within the chromosome (1 … {chrom.seq.size - 2 * chrom.pad})")
    return np.array(site_windows(chrom, pos, strand_codes(strand), window))


def genome_contexts(chrom: Stranded, pos: np.ndarray, strand: np.ndarray | Iterable) -> np.ndarray:
    """The site context of each site as prepare decides it: int8 0 CG, 1 CHG, 2 CHH, -1 where an N decides it
    (prepare skips those sites). A site whose reference base is not a C on its strand still gets a code: check
    ``chrom.seq[chrom.index(pos)]`` (C on +, G on −) when that matters."""
    return context_codes(site_bases(chrom.seq, chrom.index(pos), strand_codes(strand)))
