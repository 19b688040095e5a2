"""Open plain or gzip files by their magic bytes, turning gzip damage into one clear user error."""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import DnactxError

GZIP_MAGIC = b"\x1f\x8b"
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a readable file, else a DnactxError naming the option."""
    path = Path(path)
    if not path.exists():
        raise DnactxError(f"{what} {path} does not exist; check the path")
    if not path.is_file():
        raise DnactxError(f"{what} {path} is not a file")
    return path


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    """A binary stream over the file's content, decompressing gzip transparently."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def gzip_error(path: Path, exc: BaseException) -> DnactxError:
    return DnactxError(f"{path} is a truncated or corrupt gzip file ({exc}); "
                       "download or copy it again, or check it with `gzip -t`")


@contextlib.contextmanager
def gzip_guard(path: Path) -> Iterator[None]:
    """Re-raise a gzip decompression failure inside the block as a DnactxError about ``path``."""
    try:
        yield
    except GZIP_ERRORS as exc:
        raise gzip_error(path, exc) from None


def head_lines(path: Path, n: int) -> list[str]:
    """The first ``n`` lines (decoded, without line ends); tolerant of a truncated gzip tail."""
    lines: list[str] = []
    with gzip_guard(path), open_binary(path) as fh:
        for raw in fh:
            lines.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            if len(lines) >= n:
                break
    return lines
