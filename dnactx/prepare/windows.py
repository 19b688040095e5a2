"""Cut each site's window from the in-memory genome with one fancy-index and turn rows into Arrow strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from ..io.fasta import Genome


def cut_windows(genome: Genome, gidx: np.ndarray, strand: np.ndarray, window: int) -> np.ndarray:
    """(n, window+1) uint8, 5'→3' on each site's strand, the cytosine at column window//2.

    One fancy-index of a sliding-window view over the genome followed by its reverse complement (no
    n × window index matrix): a minus-strand site at ``gidx`` sits at ``2 * size - 1 - gidx`` in the second
    half. Positions past a chromosome end read the padding N.
    """
    half = window // 2
    if genome.pad < half:
        raise ValueError(f"genome padded by {genome.pad} < window/2 = {half}")
    both = genome.stranded
    centre = np.where(strand < 0, both.size - 1 - gidx, gidx)
    return sliding_window_view(both, window + 1)[centre - half]


def rows_to_strings(rows: np.ndarray) -> pa.Array:
    """An Arrow string array with one ASCII string per row of a (n, k) uint8 array, without Python loops."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    n, k = rows.shape
    if n * k >= 2**31:
        raise ValueError(f"{n} rows of {k} bytes exceed one Arrow string array; use smaller chunks")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(k)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(rows))
