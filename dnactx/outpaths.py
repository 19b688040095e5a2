"""Where an output goes, checked before any work: a folder option that names a file, or any path that lies under a
file (``--out results.csv/x``), is one line naming the file in the way, not a traceback after the work is done.

``check_folder``/``check_file`` are called by the commands as they validate their options; ``from_os_error`` turns
the same mistake met later (a path made by the command itself) into the same line, for the CLI's last resort.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import DnactxError
from .formatting import printable


def file_in_the_way(path: str | os.PathLike[str]) -> Path | None:
    """The nearest existing part of ``path``'s parents that is not a folder (a file, a broken link), or None."""
    p = Path(os.path.abspath(path))
    for part in reversed(p.parents):
        if os.path.lexists(part) and not part.is_dir():
            return part
    return None


def _refuse(flag: str, path: Path, blocker: Path, what: str) -> DnactxError:
    return DnactxError(f"{flag} {printable(path)}: {printable(blocker)} is a file, not a folder, so {what} cannot be "
                       f"written there; choose another {flag} (or move the file away)")


def check_folder(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` as an output folder: absent (it will be created) or a folder, with no file among its parents."""
    path = Path(path)
    blocker = file_in_the_way(path)
    if blocker is None and os.path.lexists(path) and not path.is_dir():
        blocker = path
    if blocker is not None:
        raise _refuse(flag, path, blocker, "the outputs")
    return path


def check_file(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` as an output file: not a folder, with no file among its parents."""
    path = Path(path)
    if path.is_dir():
        raise DnactxError(f"{flag} {printable(path)} is a folder; give the path of a file (inside it, or elsewhere)")
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise _refuse(flag, path, blocker, "the file")
    return path


def is_path_clash(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that met a file where a folder was needed (or a folder where a file was)."""
    if not isinstance(exc, OSError) or not exc.filename or isinstance(exc.filename, int):
        return False
    if exc.errno == errno.EEXIST:  # mkdir(exist_ok=True) met a file; not an O_EXCL create that lost a race
        return os.path.lexists(exc.filename) and not os.path.isdir(exc.filename)
    return exc.errno in (errno.ENOTDIR, errno.EISDIR)


def from_os_error(exc: OSError) -> DnactxError:
    """The one line for a path clash met while writing (see :func:`is_path_clash`)."""
    path = Path(exc.filename)
    if exc.errno == errno.EISDIR:
        return DnactxError(f"cannot write {printable(path)}: it is a folder; choose another output path")
    blocker = file_in_the_way(path) or path
    return DnactxError(f"cannot write {printable(path)}: {printable(blocker)} is a file, not a folder; choose another "
                       "output path (--out, --home, --plots) or move the file away")
