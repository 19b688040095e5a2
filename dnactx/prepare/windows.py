"""Cut each site's window from a padded chromosome with one fancy-index and turn rows into Arrow strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from ..io.fasta import CANON, COMPLEMENT


def cut_windows(bases: np.ndarray, idx: np.ndarray, strand: np.ndarray, window: int) -> np.ndarray:
    """(n, window+1) uint8 upper-case, 5'→3' on each site's strand, the cytosine at column window//2.

    ``bases`` is a chromosome padded by at least window//2 N on each side and ``idx`` each site's index in it;
    one fancy-index of a sliding-window view (no n × window index matrix), then minus-strand rows are reversed
    and complemented in place. Positions past a chromosome end read the padding N.
    """
    half = window // 2
    rows = CANON[sliding_window_view(bases, window + 1)[idx - half]]
    minus = strand < 0
    if minus.any():
        rows[minus] = COMPLEMENT[rows[minus, ::-1]]
    return rows


def rows_to_strings(rows: np.ndarray) -> pa.Array:
    """An Arrow string array with one ASCII string per row of a (n, k) uint8 array, without Python loops."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    n, k = rows.shape
    if n * k >= 2**31:
        raise ValueError(f"{n} rows of {k} bytes exceed one Arrow string array; use smaller chunks")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(k)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(rows))
