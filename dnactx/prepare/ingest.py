"""Pass one of `prepare`: read every call file, set aside control and unknown-chromosome rows with their counts,
check positions against the FASTA's lengths, note which blocks hold calls, and spill the rest to disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DnactxError
from ..io.calls import iter_calls
from ..io.detect import Layout
from ..io.fasta import FastaGenome
from ..io.formats import CallChunk
from ..progress import Progress
from .options import PrepareOptions
from .spill import RECORD, Spill
from .summary import Tally


class Occupancy:
    """Which blocks hold a call with coverage ≥ 1, at each candidate block size (one bitmap per size)."""

    def __init__(self, lengths: np.ndarray, sizes: list[int]) -> None:
        self.sizes = sizes
        self.offsets = [np.concatenate([[0], np.cumsum(lengths // s + 1)]).astype(np.int64) for s in sizes]
        self.maps = [np.zeros(int(off[-1]), dtype=bool) for off in self.offsets]

    def add(self, chrom: np.ndarray, pos: np.ndarray) -> None:
        for off, bitmap, size in zip(self.offsets, self.maps, self.sizes, strict=True):
            bitmap[off[chrom] + (pos - 1) // size] = True

    def total(self, level: int) -> int:
        return int(self.maps[level].sum())

    def blocks(self, level: int) -> list[np.ndarray]:
        """Sorted occupied block indices per chromosome at ``level``."""
        off, bitmap = self.offsets[level], self.maps[level]
        return [np.flatnonzero(bitmap[off[i]:off[i + 1]]) for i in range(off.size - 1)]


class Ingest:
    """Turns call files into spilled records (``spill.RECORD``), keeping the tally that prepare.json reports."""

    def __init__(self, options: PrepareOptions, genome: FastaGenome, tally: Tally, spill: Spill,
                 occupancy: Occupancy | None) -> None:
        self.o, self.genome, self.tally, self.spill, self.occupancy = options, genome, tally, spill, occupancy
        self.index = {name: i for i, name in enumerate(genome.names)}

    def read(self, file_index: int, path: Path, layout: Layout, chunk_rows: int, *,
             first: Callable[[np.ndarray], None] | None = None,
             progress: Progress | None = None) -> None:
        """Spill one file; ``first`` sees the first records of it (for an early look at the genome); each chunk of
        rows read is one ``progress`` chunk."""
        for chunk in iter_calls(path, layout, chunk_rows, self.o.labels.mod_code):
            before = self.tally.rows
            records = self.add(file_index, path, layout, chunk)
            if first is not None and records is not None:
                first(records)
                first = None
            if progress is not None:
                progress.advance(self.tally.rows - before)
                progress.chunk(path.name)

    def add(self, file_index: int, path: Path, layout: Layout, chunk: CallChunk) -> np.ndarray | None:
        t = self.tally
        t.rows += len(chunk) + sum(chunk.dropped.values())
        for reason, n in chunk.dropped.items():
            t.skip(reason, n)
        fasta_idx, control = self._map_chroms(chunk)
        self._count_control(chunk, control)
        unknown = (fasta_idx < 0) & ~control
        if unknown.any():
            for code, n in enumerate(np.bincount(chunk.chrom_codes[unknown], minlength=len(chunk.chrom_names))):
                if n:
                    t.unknown_chroms[chunk.chrom_names[code]] += int(n)
            t.skip("unknown_chromosome", unknown.sum())
        sel = np.flatnonzero(~unknown & ~control)
        if not sel.size:
            return None
        fi, pos, cov = fasta_idx[sel], chunk.pos[sel], chunk.cov[sel]
        self._check_positions(path, layout, chunk, sel, fi)
        if self.occupancy is not None:
            covered = cov > 0
            self.occupancy.add(fi[covered], pos[covered])
        rec = np.zeros(sel.size, dtype=RECORD)
        rec["chrom"], rec["pos"], rec["strand"], rec["mc"], rec["cov"] = fi, pos, chunk.strand[sel], chunk.mc[sel], cov
        rec["line"], rec["file"] = chunk.line[sel], file_index
        rec["context"] = chunk.context[sel] if chunk.context is not None else -1
        rec["motif"] = chunk.motif[sel] if chunk.motif is not None else ord("N")
        if chunk.merged is not None:
            rec["merged"] = chunk.merged[sel]
        self.spill.add(rec)
        return rec

    def _map_chroms(self, chunk: CallChunk) -> tuple[np.ndarray, np.ndarray]:
        mapped = [self.o.labels.chrom_alias.get(n, n) for n in chunk.chrom_names]
        ctrl = self.o.control_chrom
        pairs = zip(chunk.chrom_names, mapped, strict=True)
        is_ctrl = np.array([ctrl is not None and ctrl in pair for pair in pairs], dtype=bool)
        idx = np.array([self.index.get(m, -1) for m in mapped], dtype=np.int64)
        return idx[chunk.chrom_codes], is_ctrl[chunk.chrom_codes]

    def _count_control(self, chunk: CallChunk, control: np.ndarray) -> None:
        if not control.any():
            return
        t = self.tally
        n = int(control.sum())
        t.control_rows += n
        t.skip("control_chromosome", n)
        mc, cov = chunk.mc[control], chunk.cov[control]
        t.control_mc += int(mc.sum())
        t.control_cov += int(cov.sum())
        if chunk.context is not None:
            ctx = chunk.context[control]
            known = ctx >= 0
            t.control_ctx_mc += np.bincount(ctx[known], weights=mc[known], minlength=3).astype(np.int64)
            t.control_ctx_cov += np.bincount(ctx[known], weights=cov[known], minlength=3).astype(np.int64)

    def _check_positions(self, path: Path, layout: Layout, chunk: CallChunk, sel: np.ndarray, fi: np.ndarray) -> None:
        pos, mc, cov, line = chunk.pos[sel], chunk.mc[sel], chunk.cov[sel], chunk.line[sel]
        where, fmt = f"--calls {path} line", layout.spec.name
        low = np.flatnonzero(pos < 1)
        if low.size:
            i = int(low[0])
            raise DnactxError(f"{where} {line[i]}: position {pos[i]} is below 1, but {fmt} positions are 1-based; "
                              "is the file 0-based or the --format wrong?")
        lengths = self.genome.lengths[fi]
        past = np.flatnonzero(pos > lengths)
        if past.size:
            i = int(past[0])
            raise DnactxError(f"{where} {line[i]}: position {pos[i]:,} is past the end of "
                              f"{self.genome.names[fi[i]]} in --genome {self.o.genome} ({lengths[i]:,} bp); the "
                              "calls were probably made on another genome build: use the same FASTA as the aligner "
                              "(or fix --chrom-alias)")
        over = np.flatnonzero(mc > cov)
        if over.size:
            i = int(over[0])
            raise DnactxError(f"{where} {line[i]}: {mc[i]} methylated reads but coverage {cov[i]}; the columns "
                              f"may be in another order than {fmt} ({layout.spec.columns})")
