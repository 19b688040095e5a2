"""What an output folder may hold before a command writes into it, or ``--force`` replaces it.

A command only ever replaces what it wrote itself: ``claim_folder`` accepts an absent or empty folder, or one that
holds nothing but the command's own earlier outputs (``owns`` says which names those are). Anything else — the
registry home, a run folder, a dataset, a parent of any of those, a folder with anyone's files — is one
DnactxError line naming the folder and what it holds (exit 2), before any work starts and before anything is
removed. ``claim_file`` does the same for a command that writes one file (``runs export --out FILE``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import DnactxError

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
    """``.NAME.random.tmp`` (a temporary file of atomic_path/atomic_dir) → NAME; any other name unchanged."""
    if name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3:
        return name[1:-len(".tmp")].rsplit(".", 1)[0]
    return name


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
