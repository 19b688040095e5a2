"""One chromosome ready for per-site lookups, its windows cut with one fancy-index, rows as Arrow strings.

``prepare`` cuts every dataset window here, and so does ``dnactx.inference`` for sites scored straight from a
genome: the padding with N at chromosome ends, the upper-casing and the reverse complement are one code path.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from ..io.fasta import FastaGenome
from ..sequence import CANON, COMPLEMENT

_SLAB = 1 << 23  # bases converted at a time (a LUT over a uint8 array makes an 8-byte index per element)


class Stranded:
    """A padded chromosome as upper-case A/C/G/T/N followed by its reverse complement, so that a window on
    either strand is a plain slice, and a packed soft-mask bitmap.

    Built slab by slab from ``FastaGenome.chromosome(name, pad)``; holds 2 bytes + 1 bit per base. When
    ``raw`` is the start of ``buffer`` (≥ 2 × its size), the conversion happens in place there. ``pad`` is the
    number of N bytes ``raw`` carries on each side, so that 1-based position ``pos`` is at ``pad + pos - 1``.
    """

    def __init__(self, raw: np.ndarray, buffer: np.ndarray | None = None, *, pad: int = 0) -> None:
        n = raw.size
        self.pad = pad
        if buffer is None:
            buffer = np.empty(2 * n, dtype=np.uint8)
            buffer[:n] = raw
        elif not (np.shares_memory(raw, buffer) and buffer.size >= 2 * n):
            raise ValueError("raw must be the start of a buffer twice its size")
        self.both = buffer[:2 * n]
        self._mask = np.zeros((n + 7) // 8, dtype=np.uint8)
        for start in range(0, n, _SLAB):
            part = self.both[start:min(start + _SLAB, n)]
            self._mask[start // 8:(start + part.size + 7) // 8] = np.packbits(part >= ord("a"))
            part[:] = CANON[part]
            self.both[2 * n - start - part.size:2 * n - start] = COMPLEMENT[part][::-1]
        self.seq = self.both[:n]

    def index(self, pos: np.ndarray) -> np.ndarray:
        """Index into ``seq`` of 1-based chromosome positions."""
        return self.pad + np.asarray(pos, dtype=np.int64) - 1

    def masked(self, idx: np.ndarray) -> np.ndarray:
        """Whether each base at ``idx`` is soft-masked (lower case in the FASTA)."""
        return ((self._mask[idx >> 3] >> (7 - (idx & 7))) & 1).astype(bool)


def cut_windows(chrom: Stranded, idx: np.ndarray, strand: np.ndarray, window: int) -> np.ndarray:
    """(n, window+1) uint8, 5'→3' on each site's strand, the cytosine at column window//2.

    One fancy-index of a sliding-window view over the chromosome followed by its reverse complement (no
    n × window index matrix): a minus-strand site at ``idx`` sits at ``2 * size - 1 - idx`` in the second half.
    Positions past a chromosome end read the padding N (the chromosome must be padded by ≥ window//2).
    """
    half = window // 2
    both = chrom.both
    centre = np.where(strand < 0, both.size - 1 - idx, idx)
    return sliding_window_view(both, window + 1)[centre - half]


def window_pad(window: int) -> int:
    """N bases added at each chromosome end so that every window (``window // 2`` each side of its C) and every
    trinucleotide (2 bases after it) is a plain slice."""
    return max(window // 2, 2)


def load_stranded(genome: FastaGenome, name: str, window: int, buffer: np.ndarray | None = None) -> Stranded:
    """Chromosome ``name`` padded for ``window`` (:func:`window_pad`), ready for :func:`site_windows`.

    ``buffer``: reused uint8 memory of at least 2 × (length + 2 × pad) bytes (one per genome walk), or None.
    """
    pad = window_pad(window)
    raw = genome.chromosome(name, pad, buffer)
    return Stranded(raw, buffer, pad=pad)


def site_windows(chrom: Stranded, pos: np.ndarray, strand: np.ndarray, window: int) -> np.ndarray:
    """(n, window+1) uint8 windows of sites given by 1-based position and strand (+1 / -1), as prepare cuts them.

    A view into a sliding window over ``chrom`` (copy it before writing to it).
    """
    if window // 2 > chrom.pad:
        raise ValueError(f"window {window} needs the chromosome padded by {window // 2}, it has {chrom.pad}")
    return cut_windows(chrom, chrom.index(pos), np.asarray(strand), window)


def rows_to_strings(rows: np.ndarray) -> pa.Array:
    """An Arrow string array with one ASCII string per row of a (n, k) uint8 array, without Python loops."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    n, k = rows.shape
    if n * k >= 2**31:
        raise ValueError(f"{n} rows of {k} bytes exceed one Arrow string array; use smaller chunks")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(k)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(rows))
