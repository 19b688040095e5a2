"""A full or read-only filesystem, told in one line: which path, how much space is free, what to do.

Scratch quotas fill up on clusters. Any write of dnactx (a run folder, the registry, a dataset, a report) that
fails with "no space left", "quota exceeded" or "read-only filesystem" becomes a :class:`StorageError` (exit code
``ExitCode.STORAGE``) whose message names the path and the free space, instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from .atomic import temporary_target
from .errors import DnactxError, ExitCode

FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY = {errno.EROFS}
# SQLite's words for the same conditions (SQLITE_FULL, SQLITE_READONLY); "disk I/O error" counts when space is low.
_SQLITE_FULL = "database or disk is full"
_SQLITE_READ_ONLY = ("readonly database", "read-only database")
LOW_SPACE_BYTES = 1 << 20  # below this much free space an I/O error is taken as a full filesystem


class StorageError(DnactxError):
    """A write failed because the filesystem is full or read-only (exit code ``ExitCode.STORAGE``)."""

    exit_code = ExitCode.STORAGE


def size_text(n: float) -> str:
    """``0 B``, ``48 kB``, ``1.5 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "kB") or n >= 100 else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_space(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(free, total) bytes of the filesystem holding ``path`` (its nearest existing parent), or None if unknown."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        usage = shutil.disk_usage(p)
    except OSError:
        return None
    return usage.free, usage.total


# How libraries that wrap the OS error in their own exception (safetensors, torch, pyarrow) still say it.
_FULL_TEXTS = tuple(os.strerror(code) for code in FULL) + ("os error 28", "file write failed")
_READ_ONLY_TEXTS = (os.strerror(errno.EROFS), "os error 30")


def read_only_fs(path: str | os.PathLike[str]) -> bool:
    """Whether the filesystem holding ``path`` (its nearest existing parent) is mounted read-only."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return bool(os.statvfs(p).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that found its filesystem full or read-only (an OSError with that errno, or a
    library's own exception whose message carries the OS's words for it)."""
    if isinstance(exc, StorageError):
        return True
    if isinstance(exc, OSError) and exc.errno in FULL | READ_ONLY:
        return True
    text = str(exc)
    return isinstance(exc, Exception) and any(words in text for words in _FULL_TEXTS + _READ_ONLY_TEXTS)


def storage_error(path: str | os.PathLike[str], *, read_only: bool = False, needed: int | None = None) -> StorageError:
    """The one line for a write to ``path`` that found its filesystem full (or read-only)."""
    where = Path(os.path.abspath(path))
    if read_only:
        return StorageError(f"cannot write {where}: it is read-only (a read-only filesystem, or no permission to "
                            "write there); choose a writable folder (--home or DNACTX_HOME, --out), then run the same "
                            "command again")
    space = free_space(where)
    free = "" if space is None else f" ({size_text(space[0])} free of {size_text(space[1])}"
    free += "" if space is None else (f", {size_text(needed)} needed)" if needed else ")")
    return StorageError(f"no space left to write {where}{free}: free space there, or choose another folder (--home or "
                        "DNACTX_HOME, --out), then run the same command again")


def from_os_error(exc: BaseException, fallback: str | os.PathLike[str] | None = None) -> StorageError:
    """A StorageError for an error of the full/read-only kind, naming the file it was writing (or ``fallback``)."""
    if isinstance(exc, StorageError):
        return exc
    path = Path(os.path.abspath(getattr(exc, "filename", None) or fallback or os.getcwd()))
    for part in path.parents if _temporary(path) else ():
        if not _temporary(part):  # an atomic write's temporary file or folder: name where it was going
            path = part
            break
    read_only = getattr(exc, "errno", None) in READ_ONLY or any(words in str(exc) for words in _READ_ONLY_TEXTS)
    return storage_error(path, read_only=read_only)


def _temporary(path: Path) -> bool:
    """Whether ``path`` is, or is inside, a temporary file or folder of dnactx's writes (``atomic.temporary_target``:
    ``.NAME.x.tmp``, or prepare's ``.NAME.x.prepare-tmp``)."""
    return any(temporary_target(p.name) is not None for p in (path, *path.parents))


def from_sqlite(reason: str, path: str | os.PathLike[str]) -> StorageError | None:
    """A StorageError when SQLite's ``reason`` means the filesystem of ``path`` is full or read-only, else None."""
    text = reason.lower()
    if any(words in text for words in _SQLITE_READ_ONLY) or ("unable to open" in text and read_only_fs(path)):
        return storage_error(path, read_only=True)
    if _SQLITE_FULL in text:
        return storage_error(path)
    if "disk i/o error" in text:
        space = free_space(path)
        if space is not None and space[0] < LOW_SPACE_BYTES:
            return storage_error(path)
    return None
