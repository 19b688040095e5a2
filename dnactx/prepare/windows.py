"""Cut each site's window from the in-memory genome with one fancy-index and turn rows into Arrow strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from ..io.fasta import Genome


def cut_windows(genome: Genome, gidx: np.ndarray, strand: np.ndarray, window: int) -> np.ndarray:
    """(n, window+1) uint8, 5'→3' on each site's strand, the cytosine at column window//2.

    Rows are copied out of a sliding-window view (no n × window index matrix); minus-strand rows come from
    the reverse-complemented genome, where the same site sits at ``size - 1 - gidx``. Positions past a
    chromosome end read the padding N.
    """
    half = window // 2
    if genome.pad < half:
        raise ValueError(f"genome padded by {genome.pad} < window/2 = {half}")
    out = np.empty((gidx.size, window + 1), dtype=np.uint8)
    minus = strand < 0
    plus = ~minus
    out[plus] = sliding_window_view(genome.seq, window + 1)[gidx[plus] - half]
    if minus.any():
        rc = genome.revcomp
        out[minus] = sliding_window_view(rc, window + 1)[rc.size - 1 - gidx[minus] - half]
    return out


def rows_to_strings(rows: np.ndarray) -> pa.Array:
    """An Arrow string array with one ASCII string per row of a (n, k) uint8 array, without Python loops."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    n, k = rows.shape
    if n * k >= 2**31:
        raise ValueError(f"{n} rows of {k} bytes exceed one Arrow string array; use smaller chunks")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(k)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(rows))
