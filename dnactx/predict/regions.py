"""What to score: chromosomes of the genome, or the intervals of a BED file, as sorted disjoint 0-based intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DnactxError
from ..io.fasta import FastaGenome
from ..io.opener import gzip_guard, open_binary, require_file

_HEADERS = (b"#", b"track", b"browser")


@dataclass(frozen=True)
class Target:
    """One chromosome to score: its index and name in the genome, its length, and the intervals to score on it
    (int64 (k, 2), 0-based half-open [start, end), sorted and disjoint)."""

    index: int
    name: str
    length: int
    intervals: np.ndarray

    @property
    def bases(self) -> int:
        return int((self.intervals[:, 1] - self.intervals[:, 0]).sum())


def targets(genome: FastaGenome, regions: Path | None = None, chroms: Sequence[str] = ()) -> list[Target]:
    """The chromosomes to score, in the genome's order: every one (default), those of ``chroms``, and within them
    the intervals of the BED file ``regions``. A chromosome or interval outside the genome, or nothing left to
    score, is a one-line DnactxError."""
    names = list(genome.names)
    for name in chroms:
        if name not in genome.names:
            raise DnactxError(f"--chroms: {name!r} is not a chromosome of --genome {genome.path} (it has "
                              f"{_listed(names)})")
    if chroms:
        names = [n for n in names if n in set(chroms)]
    by_chrom = read_bed(regions, genome) if regions is not None else None
    out = []
    for name in names:
        length = genome.length(name)
        if by_chrom is None:
            intervals = np.array([[0, length]], dtype=np.int64) if length else np.zeros((0, 2), np.int64)
        else:
            intervals = by_chrom.get(name, np.zeros((0, 2), dtype=np.int64))
        if len(intervals):
            out.append(Target(genome.names.index(name), name, length, intervals))
    if not out:
        where = f"--regions {regions}" + (f" on --chroms {','.join(chroms)}" if chroms else "")
        raise DnactxError(f"nothing to score: {where if regions is not None else '--genome'} leaves no bases; "
                          "give a BED with intervals on the genome's chromosomes")
    return out


def read_bed(path: Path, genome: FastaGenome) -> dict[str, np.ndarray]:
    """A BED file (plain or gzip; ``#``, ``track`` and ``browser`` lines skipped) → {chromosome: merged intervals}.

    Columns 1–3 are chromosome, 0-based start and end; an interval must lie on a chromosome of ``genome``.
    """
    require_file(Path(path), "--regions")
    found: dict[str, list[tuple[int, int]]] = {}
    with gzip_guard(path), open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith(_HEADERS):
                continue
            chrom, start, end = _interval(line, path, number, genome)
            found.setdefault(chrom, []).append((start, end))
    if not found:
        raise DnactxError(f"--regions {path} holds no intervals (a BED needs lines of chrom, start, end); give a "
                          "non-empty BED")
    return {chrom: merge(np.array(spans, dtype=np.int64)) for chrom, spans in found.items()}


def _interval(line: bytes, path: Path, number: int, genome: FastaGenome) -> tuple[str, int, int]:
    fields = line.decode("utf-8", errors="replace").split("\t")
    if len(fields) < 3:
        fields = line.decode("utf-8", errors="replace").split()
    where = f"--regions {path} line {number}"
    try:
        chrom, start, end = fields[0], int(fields[1]), int(fields[2])
    except (IndexError, ValueError):
        raise DnactxError(f"{where}: expected chrom<TAB>start<TAB>end with integer positions, got "
                          f"{line[:80].decode('utf-8', errors='replace')!r}") from None
    if chrom not in genome.names:
        raise DnactxError(f"{where}: chromosome {chrom!r} is not in --genome {genome.path} (it has "
                          f"{_listed(genome.names)}); use the FASTA's names")
    length = genome.length(chrom)
    if start < 0 or end <= start:
        raise DnactxError(f"{where}: interval {start}–{end} is empty or negative; BED is 0-based half-open "
                          "(start < end)")
    if end > length:
        raise DnactxError(f"{where}: {chrom}:{start}–{end} is outside the genome ({chrom} has {length:,} bp); "
                          "was the BED made for another assembly?")
    return chrom, start, end


def merge(intervals: np.ndarray) -> np.ndarray:
    """Sorted, disjoint union of (k, 2) half-open intervals (overlapping or touching ones joined)."""
    if not len(intervals):
        return intervals.reshape(0, 2)
    intervals = intervals[np.lexsort((intervals[:, 1], intervals[:, 0]))]
    reach = np.maximum.accumulate(intervals[:, 1])
    new = np.r_[True, intervals[1:, 0] > reach[:-1]]
    starts = intervals[new, 0]
    ends = reach[np.r_[np.flatnonzero(new)[1:] - 1, len(intervals) - 1]]
    return np.stack([starts, ends], axis=1)


def groups_by_length(items: Sequence[Target], n: int) -> list[list[Target]]:
    """``items`` in ``n`` groups of about equal bases (largest first, each to the lightest group; ties to the
    lowest group), each group in genome order: the same answer in every process that asks."""
    groups: list[list[Target]] = [[] for _ in range(n)]
    load = [0] * n
    for t in sorted(items, key=lambda t: (-t.bases, t.index)):
        k = min(range(n), key=lambda i: (load[i], i))
        groups[k].append(t)
        load[k] += t.bases
    return [sorted(g, key=lambda t: t.index) for g in groups]


def _listed(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
