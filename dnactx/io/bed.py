"""BED intervals (plain or gzip): chrom, 0-based start, end, and the strand of column 6 when there is one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DnactxError
from .opener import gzip_guard, open_binary, require_file

_SKIP = (b"#", b"track", b"browser")


@dataclass
class BedIntervals:
    """Intervals in file order: ``chrom`` (str), ``start``/``end`` (int64, 0-based, half-open), ``strand`` (int8:
    +1, -1, or 0 where the file gives none or '.'), ``line`` (1-based line numbers, for messages)."""

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return int(self.start.size)

    def where(self, i: int) -> str:
        return f"line {int(self.line[i])} ({self.chrom[i]}:{int(self.start[i])}-{int(self.end[i])})"


def read_bed(path: Path, what: str = "--sites") -> BedIntervals:
    """Every interval of a BED file; a malformed line is one DnactxError naming it."""
    path = require_file(Path(path), what)
    chrom, start, end, strand, lines = [], [], [], [], []
    with gzip_guard(path), open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            text = raw.strip()
            if not text or text.startswith(_SKIP):
                continue
            fields = text.decode("utf-8", errors="replace").split("\t")
            if len(fields) == 1:
                fields = fields[0].split()
            try:
                lo, hi = int(fields[1]), int(fields[2])
            except (IndexError, ValueError):
                raise DnactxError(f"{what} {path} line {number} is not BED (chrom, 0-based start, end; tab-separated): "
                                  f"{text[:80].decode('utf-8', errors='replace')!r}") from None
            if lo < 0 or hi <= lo:
                raise DnactxError(f"{what} {path} line {number}: start {lo} and end {hi} must satisfy 0 ≤ start < "
                                  "end (BED is 0-based, half-open: a single base at 1-based position p is p-1 p)")
            mark = fields[5].strip() if len(fields) > 5 else "."
            if mark not in ("+", "-", "."):
                raise DnactxError(f"{what} {path} line {number}: strand (column 6) must be +, - or ., got {mark!r}")
            chrom.append(fields[0])
            start.append(lo)
            end.append(hi)
            strand.append({"+": 1, "-": -1, ".": 0}[mark])
            lines.append(number)
    if not chrom:
        raise DnactxError(f"{what} {path} holds no intervals; give a BED file with one line per site or region")
    return BedIntervals(np.array(chrom, dtype=object), np.array(start, dtype=np.int64), np.array(end, dtype=np.int64),
                        np.array(strand, dtype=np.int8), np.array(lines, dtype=np.int64))
