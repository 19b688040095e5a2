"""Write files and folders so that readers see either the old state or the complete new one, never a half."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"  # atomic_path's and atomic_dir's temporary names: .NAME.random.tmp beside NAME
PREPARE_SUFFIX = ".prepare-tmp"  # prepare's staging folder, .NAME.random.prepare-tmp (dnactx/prepare/output.py)


def temporary_target(name: str) -> str | None:
    """NAME when ``name`` is one of dnactx's temporary names for it (``.NAME.random.tmp`` or
    ``.NAME.random.prepare-tmp``), else None."""
    for suffix in (PREPARE_SUFFIX, TEMP_SUFFIX):
        if name.startswith(".") and name.endswith(suffix) and name[:-len(suffix)].count(".") >= 2:
            return name[1:-len(suffix)].rsplit(".", 1)[0]
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the result the permissions a plain open() would have.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.filename is None:  # a failed write() names no file: say which one was being written (a full disk)
            exc.filename = str(target)
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    return write_text(target, json.dumps(obj, indent=2, sort_keys=False, default=json_default) + "\n")


def read_json(path: str | os.PathLike[str], *, fix: str) -> Any:
    """The JSON in ``path``, or None when the file is absent; an unreadable or malformed file is one
    DnactxError line naming it, why, and ``fix`` (what the user can do about it)."""
    from .errors import DnactxError

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise DnactxError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); {fix}") from None
    except UnicodeDecodeError as exc:  # damaged bytes (a bad sector, a tampered file)
        raise DnactxError(f"{path} is not valid JSON (not UTF-8 at byte {exc.start}); {fix}") from None
    except OSError as exc:
        raise DnactxError(f"{path} is unreadable ({exc.strerror or exc}); {fix}") from None


def json_default(o: Any) -> Any:
    # numpy scalars and paths show up in configs and metrics; make them plain JSON.
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if isinstance(o, set):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def json_safe(obj: object) -> object:
    """A strict-JSON copy: NaN/inf → None, numpy scalars and arrays → Python, tuples → lists, paths → str."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "tolist"):
        return json_safe(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` (whole folder)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
