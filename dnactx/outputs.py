"""Output locations, checked before any work starts, each mistake one DnactxError line (exit 2).

Where an output may go: a folder option that names a file, or any path that lies under a file
(``--out results.csv/x``), is one line naming the file in the way, not a traceback after the work is done.
``check_folder``/``check_file`` are called by the commands as they validate their options; ``from_os_error`` turns
the same mistake met later (a path made by the command itself) into the same line, for the CLI's last resort.

What an output folder may hold before a command writes into it, or ``--force`` replaces it: a command only ever
replaces what it wrote itself. ``claim_folder`` accepts an absent or empty folder, or one that holds nothing but
the command's own earlier outputs (``owns`` says which names those are). Anything else — the registry home, a run
folder, a dataset, a parent of any of those, a folder with anyone's files — is one line naming the folder and what
it holds, before anything is removed. ``claim_file`` does the same for a command that writes one file
(``runs export --out FILE``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .atomic import temporary_target
from .errors import DnactxError
from .formatting import printable


# -- a path where an output can go ---------------------------------------------------------------------------
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


# -- a folder or file the command may replace ----------------------------------------------------------------
Owns = Callable[[Path], bool]

# What the folders dnactx writes look like, to say what a refused folder is.
REGISTRY_FILE = "registry.sqlite"
DATASET = "a dataset (dataset.parquet)"
EXPORTED_MODEL = "an exported model (dnactx_model.json)"
_KINDS = (
    (lambda p: (p / REGISTRY_FILE).is_file(), f"a dnactx registry ({REGISTRY_FILE})"),
    (lambda p: (p / "status.json").is_file() and (p / "config.json").is_file(), "a run folder (status.json)"),
    (lambda p: (p / "dataset.parquet").is_file(), DATASET),
    (lambda p: (p / "dnactx_model.json").is_file(), EXPORTED_MODEL),
)
_SHOWN = 4  # foreign names quoted in the message


def owned_names(names: Iterable[str] = (), *, suffixes: Iterable[str] = (), folders: Iterable[str] = ()) -> Owns:
    """``owns`` for a fixed set of file names, file name endings and folder names (plus the hidden temporary
    files ``atomic_path`` leaves beside them after a crash)."""
    files, ends, dirs = frozenset(names), tuple(suffixes), frozenset(folders)

    def owns(path: Path) -> bool:
        name = _atomic_target(path.name)
        if path.is_dir() and not path.is_symlink():
            return name in dirs
        return name in files or (bool(ends) and name.endswith(ends))

    return owns


def _atomic_target(name: str) -> str:
    """The name a temporary of dnactx's writes stands for (``atomic.temporary_target``); any other name unchanged."""
    return temporary_target(name) or name


def describe(folder: Path) -> str | None:
    """What dnactx folder ``folder`` is (a registry, a run folder, a dataset, an export), or None."""
    for test, what in _KINDS:
        try:
            if test(folder):
                return what
        except OSError:
            continue
    return None


def claim_folder(out: str | os.PathLike[str], command: str, owns: Owns, *, option: str = "--out",
                 home: str | os.PathLike[str] | None = None, own_kind: str | None = None,
                 keep_others: bool = False) -> Path:
    """Refuse ``out`` unless it is absent, empty or holds only ``command``'s own outputs (``owns``); ``home`` (the
    registry home) may be neither ``out`` nor inside it. ``own_kind``: the one :func:`describe` kind that is the
    command's own output (prepare's dataset), not a reason to refuse. ``keep_others``: for a command that removes
    nothing and renames only its own names into place (prepare, whose inputs often sit in the same folder), other
    entries are left alone rather than refused; the home and dnactx's own folders are refused all the same.
    Returns ``out`` as a Path."""
    out = Path(out)
    if not out.exists():
        if out.is_symlink():
            raise DnactxError(f"{option} {out} is a broken link; give a folder path")
        return out
    if not out.is_dir():
        raise DnactxError(f"{option} {out} is a file, not a folder; give a new or empty folder")
    how = f"`dnactx {command}` only replaces its own earlier outputs: give a new or empty folder"
    if home is not None and Path(home).exists() and _contains(out, Path(home)):
        same = out.resolve() == Path(home).resolve()
        raise DnactxError(f"{option} {out} {'is' if same else 'holds'} the registry home {Path(home).resolve()}; "
                          f"{how}")
    kind = describe(out)
    if kind is not None and kind != own_kind:
        raise DnactxError(f"{option} {out} holds {kind}; {how}")
    try:
        entries = sorted(out.iterdir())
    except OSError as exc:
        raise DnactxError(f"{option} {out} is unreadable ({exc.strerror or exc}); give another folder") from None
    foreign = [p for p in entries if not owns(p) and not (keep_others and describe(p) is None)]
    if foreign:
        inner = next((f"{p.name}/, {what}" for p in foreign if p.is_dir() and (what := describe(p))), None)
        names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in foreign[:_SHOWN])
        more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
        count = f"{len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'}"
        held = inner or f"{count} it did not write ({names}{more})"
        raise DnactxError(f"{option} {out} holds {held}; {how}")
    return out


def claim_file(out: str | os.PathLike[str], command: str, is_own: Callable[[Path], bool], *,
               option: str = "--out") -> Path:
    """Refuse to overwrite ``out`` unless it is absent or ``is_own`` recognises it as ``command``'s own earlier
    output; a folder, a registry or anyone's file is one line naming it."""
    out = Path(out)
    if not out.exists():
        return out
    if out.is_dir():
        raise DnactxError(f"{option} {out} is a folder; give a file path")
    how = f"`dnactx {command}` only overwrites its own earlier output: give a new file name"
    if out.name == REGISTRY_FILE or _is_sqlite(out):
        raise DnactxError(f"{option} {out} is a database (a dnactx registry?); {how}")
    try:
        own = is_own(out)
    except (OSError, ValueError, UnicodeDecodeError):
        own = False
    if not own:
        raise DnactxError(f"{option} {out} exists and was not written by `dnactx {command}`; {how}")
    return out


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _contains(folder: Path, inner: Path) -> bool:
    """True when ``inner`` is ``folder`` or lies inside it (links resolved)."""
    try:
        folder, inner = folder.resolve(), inner.resolve()
    except OSError:
        return False
    return inner == folder or folder in inner.parents
