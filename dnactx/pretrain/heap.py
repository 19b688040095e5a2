"""Keep a long CPU pretrain's memory flat: pin glibc's mmap threshold.

Each step's masked positions vary in number, so the gathered hidden states and the MLM logits (megabytes each) have
a new size every step. glibc raises its mmap threshold to the size of every large block freed, so after the first
steps those blocks come from the heap, which fragments: the resident size grew by ~8 MB a step on the bench
(bench/RESULTS.md, "Pretraining"). A fixed threshold sends blocks of 1 MB and more to mmap, returned to the system
when freed. A threshold the user set (``MALLOC_MMAP_THRESHOLD_``) is left alone; elsewhere than glibc, nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
THRESHOLD = 1 << 20


def pin_mmap_threshold(nbytes: int = THRESHOLD) -> bool:
    """True when glibc's mmap threshold is now ``nbytes`` (False: not glibc, or the user chose one)."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, int(nbytes)) == 1)
