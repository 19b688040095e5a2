"""glibc's malloc settings for two memory patterns: long CPU pretraining, and genome-scale scoring.

glibc raises its mmap threshold to the size of every large block freed, and returns memory above its trim threshold
to the system. Two commands need other choices:

- pretrain (``pin_mmap_threshold``): each step's masked positions vary in number, so the gathered hidden states
  and MLM logits (megabytes each) have a new size every step; served from the heap they fragment it, and the
  resident size grew by ~8 MB a step on the bench (bench/RESULTS.md, "Pretraining"). A fixed 1 MB threshold sends
  those blocks to mmap, returned when freed.
- predict and explain (``reuse_freed_memory``): every stretch of sequence allocates and frees the same few tens of
  megabytes of maps; returned to the system and mapped again, each page is faulted in and zeroed afresh, which
  cost more than the convolutions themselves on this bench (11.7k page faults per 64 kb stretch; scoring 2-3x
  slower, bench/RESULTS.md, "cnn sliding prediction"). Blocks up to 32 MB from the heap, kept when freed, are
  reused instead; peak memory moves by a few percent.

A setting the user made (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``) is left alone; elsewhere than glibc,
nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # mallopt's parameter numbers (malloc.h)
THRESHOLD = 1 << 20
MAX_MMAP_THRESHOLD = 1 << 25  # glibc's ceiling on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)


def _mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(libc, "mallopt", None)


def pin_mmap_threshold(nbytes: int = THRESHOLD) -> bool:
    """True when glibc's mmap threshold is now ``nbytes`` (False: not glibc, or the user chose one)."""
    mallopt = _mallopt()
    if mallopt is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(nbytes)) == 1)


def reuse_freed_memory() -> bool:
    """True when glibc now serves blocks up to 32 MB from its heap and keeps what is freed for reuse (False: not
    glibc, or the user chose a threshold)."""
    mallopt = _mallopt()
    if mallopt is None or {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & os.environ.keys():
        return False
    return all(mallopt(param, value) == 1 for param, value in (
        (M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD), (M_TRIM_THRESHOLD, 1 << 30), (M_TOP_PAD, 1 << 26)))
