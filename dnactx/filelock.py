"""An exclusive lock among processes that share a folder (registry writers, SLURM array tasks), through flock.

Where flock is unavailable (Windows, some network filesystems) the block runs without the lock: the callers'
writes are atomic renames, so a missing lock can cost repeated work but never a half-written file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the block; wait for another holder."""
    if fcntl is None:
        yield
        return
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except OSError:
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
