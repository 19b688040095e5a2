"""`dnactx prepare` end to end: stream calls, check them against the genome, filter, split, cut windows, write."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import __version__
from ..atomic import write_json
from ..errors import DnactxError
from ..io.calls import iter_calls
from ..io.detect import Layout, detect_format
from ..io.fasta import Genome, read_fasta
from ..io.formats import CONTEXTS, CallChunk
from ..provenance import library_versions, sha256_file
from .options import PrepareOptions
from .output import staged_output
from .sites import context_codes, motif_disagrees, reference_strand, shift_agreement, site_bases
from .splits import SPLITS, assign_blocks, chrom_key, subsample
from .summary import Tally
from .windows import cut_windows, rows_to_strings

SCHEMA = pa.schema([
    ("chrom", pa.string()), ("pos", pa.int64()), ("strand", pa.string()), ("context", pa.string()),
    ("trinuc", pa.string()), ("mc", pa.int32()), ("cov", pa.int32()), ("level", pa.float32()),
    ("label", pa.int8()), ("split", pa.string()), ("repeat", pa.bool_()), ("seq", pa.string()),
])
MIN_CHECKED = 1000  # judge the mismatch rate mid-stream only once this many sites were compared
_STRANDS = pa.array(["-", ".", "+"])
_CONTEXTS = pa.array(list(CONTEXTS))
_SPLITS = pa.array(list(SPLITS))


def prepare_dataset(options: PrepareOptions, *, warn: Callable[[str], None] | None = None,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Write ``options.out``/dataset.parquet and prepare.json; return the summary written to prepare.json."""
    started = time.perf_counter()
    layout = detect_format(options.calls, options.format)
    genome = read_fasta(options.genome, pad=max(options.window // 2, 2))
    builder = _Builder(options, genome, layout)
    chunk_rows = max(1, min(options.chunk_rows, (2**31 - 1) // (options.window + 1)))
    with staged_output(options.out) as stage:
        with pq.ParquetWriter(stage / "dataset.parquet", SCHEMA, compression="zstd") as writer:
            for chunk in iter_calls(options.calls, layout, chunk_rows):
                table = builder.add(chunk)
                if table.num_rows:
                    writer.write_table(table)
                if progress is not None:
                    progress(builder.tally.rows)
        warnings = builder.finish()
        summary = builder.summary(stage / "dataset.parquet", warnings, time.perf_counter() - started)
        write_json(stage / "prepare.json", summary)
    for message in warnings:
        if warn is not None:
            warn(message)
    return summary


class _Builder:
    """Turns call chunks into dataset rows, keeping the tally that prepare.json reports."""

    def __init__(self, options: PrepareOptions, genome: Genome, layout: Layout) -> None:
        self.o, self.genome, self.layout = options, genome, layout
        self.tally = Tally()
        self.index = genome.index
        self.keys = np.array([chrom_key(n) for n in genome.names], dtype=np.uint64)
        self.allowed = np.array([c in options.contexts for c in CONTEXTS])
        self.chrom_split = self._chrom_splits() if options.split == "chroms" else None
        self._mismatches: list[tuple[np.ndarray, np.ndarray]] = []  # (gidx, stated strand) of some bad sites

    def _chrom_splits(self) -> np.ndarray:
        split = np.zeros(len(self.genome.names), dtype=np.int8)
        for code, names, flag in ((1, self.o.val_chroms, "--val-chroms"), (2, self.o.test_chroms, "--test-chroms")):
            for name in names:
                target = self.o.chrom_alias.get(name, name)
                if target not in self.index:
                    raise DnactxError(f"{flag}: {name!r} is not a chromosome of --genome {self.o.genome} "
                                      f"(it has {_names(self.genome.names)})")
                split[self.index[target]] = code
        return split

    # -- one chunk -----------------------------------------------------------------------------------
    def add(self, chunk: CallChunk) -> pa.Table:
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
            return SCHEMA.empty_table()
        return self._sites(chunk, sel, fasta_idx[sel])

    def _map_chroms(self, chunk: CallChunk) -> tuple[np.ndarray, np.ndarray]:
        mapped = [self.o.chrom_alias.get(n, n) for n in chunk.chrom_names]
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

    def _sites(self, chunk: CallChunk, sel: np.ndarray, fi: np.ndarray) -> pa.Table:
        o, g, t = self.o, self.genome, self.tally
        pos, mc, cov, line = chunk.pos[sel], chunk.mc[sel], chunk.cov[sel], chunk.line[sel]
        self._check_positions(pos, mc, cov, line, fi)
        gidx = g.offsets[fi] + pos - 1
        strand, agrees = reference_strand(g, gidx, chunk.strand[sel])
        tri = site_bases(g, gidx, strand)
        ctx = context_codes(tri)
        bad = ~agrees
        if chunk.context is not None:
            given = chunk.context[sel]
            bad |= (given >= 0) & (ctx >= 0) & (given != ctx)
        if chunk.motif is not None:
            bad |= motif_disagrees(chunk.motif[sel], tri)
        self._judge_mismatches(bad, chunk, sel, fi, gidx, strand, tri, ctx)

        keep = ~bad
        t.skip("genome_mismatch", bad.sum())

        def drop(mask: np.ndarray, reason: str) -> None:
            hit = keep & mask
            t.skip(reason, hit.sum())
            keep[hit] = False

        drop(ctx < 0, "undetermined_context")
        drop(cov < o.min_coverage, "low_coverage")
        drop(~self.allowed[np.maximum(ctx, 0)], "context_filter")
        level = np.divide(mc, cov, out=np.zeros(mc.size), where=cov > 0)
        if o.exclude_between is not None:
            lo, hi = o.exclude_between
            drop((level > lo) & (level < hi), "ambiguous")
        keys = self.keys[fi]
        drop(~subsample(keys, pos, strand, o.seed, o.fraction), "subsample")
        if self.chrom_split is not None:
            split = self.chrom_split[fi]
        else:
            split, crosses = assign_blocks(fi, pos, self.keys, g.lengths, seed=o.seed, block_size=o.block_size,
                                           val_frac=o.val_frac, test_frac=o.test_frac, half=o.window // 2)
            drop(crosses, "split_boundary")
        idx = np.flatnonzero(keep)
        if not idx.size:
            return SCHEMA.empty_table()
        if self.chrom_split is None:
            code = (fi[idx] * 2**40 + (pos[idx] - 1) // o.block_size) * 4 + split[idx]
            t.blocks.update(np.unique(code).tolist())
        return self._table(fi[idx], pos[idx], strand[idx], ctx[idx], tri[idx], mc[idx], cov[idx], level[idx],
                           split[idx], gidx[idx])

    def _check_positions(self, pos: np.ndarray, mc: np.ndarray, cov: np.ndarray, line: np.ndarray,
                         fi: np.ndarray) -> None:
        o, g = self.o, self.genome
        where = f"--calls {o.calls} line"
        low = np.flatnonzero(pos < 1)
        if low.size:
            i = int(low[0])
            raise DnactxError(f"{where} {line[i]}: position {pos[i]} is below 1, but {self.layout.spec.name} "
                              "positions are 1-based; is the file 0-based or the --format wrong?")
        past = np.flatnonzero(pos > g.lengths[fi])
        if past.size:
            i = int(past[0])
            name = g.names[fi[i]]
            raise DnactxError(f"{where} {line[i]}: position {pos[i]:,} is past the end of {name} in --genome "
                              f"{o.genome} ({g.lengths[fi[i]]:,} bp); the calls were probably made on another "
                              "genome build: use the same FASTA as the aligner (or fix --chrom-alias)")
        over = np.flatnonzero(mc > cov)
        if over.size:
            i = int(over[0])
            raise DnactxError(f"{where} {line[i]}: {mc[i]} methylated reads but coverage {cov[i]}; the columns "
                              f"may be in another order than {self.layout.spec.name} ({self.layout.spec.columns})")

    def _judge_mismatches(self, bad: np.ndarray, chunk: CallChunk, sel: np.ndarray, fi: np.ndarray,
                          gidx: np.ndarray, strand: np.ndarray, tri: np.ndarray, ctx: np.ndarray) -> None:
        t = self.tally
        t.checked += int(bad.size)
        t.mismatched += int(bad.sum())
        if bad.any() and t.first_mismatch is None:
            i = int(np.flatnonzero(bad)[0])
            t.first_mismatch = self._describe(chunk, sel, fi, gidx, strand, tri, ctx, i)
        if bad.any() and sum(a.size for a, _ in self._mismatches) < 10_000:
            self._mismatches.append((gidx[bad], chunk.strand[sel][bad]))
        if t.checked >= MIN_CHECKED and t.mismatched > self.o.mismatch_tolerance * t.checked:
            raise self.mismatch_error()

    def _describe(self, chunk: CallChunk, sel: np.ndarray, fi: np.ndarray, gidx: np.ndarray,
                  strand: np.ndarray, tri: np.ndarray, ctx: np.ndarray, i: int) -> str:
        row = int(sel[i])
        said = []
        if chunk.strand[row]:
            said.append("strand " + ("+" if chunk.strand[row] > 0 else "-"))
        if chunk.context is not None and chunk.context[row] >= 0:
            said.append("context " + CONTEXTS[chunk.context[row]])
        if chunk.motif is not None:
            said.append("bases " + chunk.motif[row].tobytes().decode().rstrip("N"))
        base = chr(self.genome.seq[gidx[i]])
        found = f"reference base {base}"
        if strand[i]:
            found += f", {tri[i].tobytes().decode()} on the site's strand"
            if ctx[i] >= 0:
                found += f" ({CONTEXTS[ctx[i]]})"
        return (f"line {chunk.line[row]} {self.genome.names[fi[i]]}:{chunk.pos[row]} says "
                f"{', '.join(said) or 'a cytosine'} but the genome has {found}")

    def mismatch_error(self) -> DnactxError:
        """Stop: too many sites disagree with the genome. If the reference has the expected C one base away
        from nearly all of them, the coordinates are shifted; otherwise the build or naming is wrong."""
        t, o = self.tally, self.o
        gidx = np.concatenate([a for a, _ in self._mismatches])
        shifts = shift_agreement(self.genome, gidx, np.concatenate([s for _, s in self._mismatches]))
        pct = 100.0 * t.mismatched / max(t.checked, 1)
        best = max((k for k in shifts if k), key=lambda k: shifts[k], default=None)
        if best is not None and shifts[best] > 0.9:
            cause = (f"positions look shifted by {best:+d} bp (0- vs 1-based coordinates?): check --format "
                     "(bedMethyl starts are 0-based, the others 1-based)")
        else:
            cause = ("the calls were probably made on another genome build or the chromosome names map to the "
                     "wrong sequences: use the FASTA the aligner used (check --chrom-alias)")
        return DnactxError(f"--calls {o.calls} disagrees with --genome {o.genome} at {t.mismatched:,} of "
                           f"{t.checked:,} checked sites ({pct:.1f}%, tolerance {100 * o.mismatch_tolerance:g}%); "
                           f"first: {t.first_mismatch}; {cause}")

    def _table(self, fi, pos, strand, ctx, tri, mc, cov, level, split, gidx) -> pa.Table:
        o = self.o
        label = (level >= o.threshold).astype(np.int8)
        repeat = self.genome.masked[gidx]
        self.tally.add_sites(split, ctx, label, repeat)
        seq = cut_windows(self.genome, gidx, strand, o.window)
        return pa.Table.from_arrays([
            pc.take(pa.array(self.genome.names), pa.array(fi)),
            pa.array(pos, pa.int64()),
            pc.take(_STRANDS, pa.array(strand.astype(np.int64) + 1)),
            pc.take(_CONTEXTS, pa.array(ctx.astype(np.int64))),
            rows_to_strings(tri),
            pa.array(mc.astype(np.int32)),
            pa.array(cov.astype(np.int32)),
            pa.array(level.astype(np.float32)),
            pa.array(label),
            pc.take(_SPLITS, pa.array(split.astype(np.int64))),
            pa.array(repeat),
            rows_to_strings(seq),
        ], schema=SCHEMA)

    # -- the end ------------------------------------------------------------------------------------
    def finish(self) -> list[str]:
        """Stop on states that make the dataset unusable; return warnings for the rest."""
        t, o = self.tally, self.o
        if t.mismatched and t.mismatched > o.mismatch_tolerance * t.checked:
            raise self.mismatch_error()
        warnings = []
        if t.unknown_chroms:
            listed = ", ".join(f"{n} ({c:,} rows)" for n, c in t.unknown_chroms.most_common(8))
            more = f" and {len(t.unknown_chroms) - 8} more" if len(t.unknown_chroms) > 8 else ""
            hint = _alias_hint(list(t.unknown_chroms), self.genome.names)
            if not t.checked:
                raise DnactxError(f"no calls on chromosomes of --genome {o.genome}: the calls name "
                                  f"{_names(list(t.unknown_chroms))}, the FASTA has {_names(self.genome.names)}; "
                                  f"map names with --chrom-alias CALLS_NAME=FASTA_NAME{hint}")
            warnings.append(f"skipped {sum(t.unknown_chroms.values()):,} rows on chromosomes absent from the "
                            f"FASTA: {listed}{more}{hint}")
        if t.mismatched:
            warnings.append(f"skipped {t.mismatched:,} of {t.checked:,} sites that disagree with the genome "
                            f"(within tolerance); first: {t.first_mismatch}")
        if o.control_chrom is not None and not t.control_rows:
            warnings.append(f"--control-chrom {o.control_chrom} has no rows in the calls file; no non-conversion "
                            "rate reported")
        if not t.n_sites:
            reasons = ", ".join(f"{k} {v:,}" for k, v in t.skipped_dict().items() if v)
            raise DnactxError(f"nothing left after filters: {t.rows:,} rows read, all skipped ({reasons}); "
                              "lower --min-coverage, widen --contexts or raise --fraction")
        sizes = t.split_sizes()
        empty = [s for s, n in sizes.items() if n == 0]
        if empty:
            counts = ", ".join(f"{s} {n:,}" for s, n in sizes.items())
            fix = ("give each of --val-chroms/--test-chroms a chromosome that has calls" if o.split == "chroms"
                   else f"the sites span only {len({b // 4 for b in t.blocks})} block(s) of "
                        f"{o.block_size:,} bp: lower --block-size or raise --val-frac/--test-frac")
            raise DnactxError(f"the {' and '.join(empty)} split is empty ({counts}); {fix}")
        return warnings

    def summary(self, dataset: Path, warnings: list[str], seconds: float) -> dict:
        t, o, g = self.tally, self.o, self.genome
        blocks = {s: sum(1 for b in t.blocks if b % 4 == i) for i, s in enumerate(SPLITS)} if t.blocks else None
        return {
            "dnactx_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dataset": "dataset.parquet",
            "fingerprint": sha256_file(dataset),
            "window": o.window,
            "n_sites": t.n_sites,
            "format": self.layout.spec.name,
            "format_variant": self.layout.spec.variant,
            "inputs": {
                "genome": _file_info(o.genome) | {"chromosomes": dict(zip(g.names, g.lengths.tolist(), strict=True))},
                "calls": _file_info(o.calls) | {"header_lines": self.layout.header_lines},
            },
            "parameters": o.to_dict(),
            "rows_read": t.rows,
            "skipped": t.skipped_dict(),
            "unknown_chromosomes": dict(t.unknown_chroms.most_common()),
            **t.tables(),
            "label_rate": t.positives.sum() / t.n_sites,
            "repeat_fraction": t.repeats / t.n_sites,
            "blocks": blocks,
            "genome_check": {"checked": t.checked, "mismatched": t.mismatched,
                             "tolerance": o.mismatch_tolerance, "first_mismatch": t.first_mismatch},
            "control": t.control(o.control_chrom),
            "warnings": warnings,
            "seconds": round(seconds, 3),
            "sites_per_s": t.n_sites / seconds if seconds > 0 else None,
            "rows_per_s": t.rows / seconds if seconds > 0 else None,
            "versions": library_versions(),
        }


def _file_info(path: Path) -> dict:
    return {"path": str(Path(path).resolve()), "sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def _names(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _norm(name: str) -> str:
    return re.sub(r"^(chromosome|chrom|chr)_?", "", name.lower()).lstrip("0") or "0"


def _alias_hint(unknown: list[str], fasta: list[str]) -> str:
    """`` (try --chrom-alias Chr1=chr1 ...)`` when names differ only by case, a chr prefix or zeros."""
    by_norm = {_norm(f): f for f in fasta}
    pairs = [f"--chrom-alias {u}={by_norm[_norm(u)]}" for u in unknown if _norm(u) in by_norm][:4]
    return f" (try {' '.join(pairs)})" if pairs else ""
