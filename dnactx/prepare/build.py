"""Pass two of `prepare`: one chromosome's spilled calls → checked against the genome, duplicates summed,
filtered, split, windows cut → Arrow tables of dataset rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..choices import CONTEXTS, SPLITS
from ..errors import DnactxError
from ..formatting import printable
from ..io.annotation import FEATURES, Annotation
from ..io.detect import Layout
from ..io.fasta import FastaGenome
from ..io.formats import MAX_COUNT
from .options import PrepareOptions
from .sites import context_codes, motif_disagrees, reference_strand, shift_hits, site_bases
from .splits import BlockSplits, chrom_key, subsample
from .summary import Tally
from .windows import Stranded, rows_to_strings, site_windows

SCHEMA = pa.schema([
    ("chrom", pa.string()), ("pos", pa.int64()), ("strand", pa.string()), ("context", pa.string()),
    ("trinuc", pa.string()), ("mc", pa.int32()), ("cov", pa.int32()), ("level", pa.float32()),
    ("label", pa.int8()), ("split", pa.string()), ("repeat", pa.bool_()), ("seq", pa.string()),
])
FEATURE_FIELD = pa.field("feature", pa.string())  # with --annotation: the site's genomic feature class


def dataset_schema(annotated: bool) -> pa.Schema:
    """dataset.parquet's columns: :data:`SCHEMA`, plus ``feature`` (before ``seq``) with --annotation."""
    return SCHEMA.insert(SCHEMA.get_field_index("seq"), FEATURE_FIELD) if annotated else SCHEMA
MIN_CHECKED = 1000  # judge the mismatch rate mid-stream only once this many sites were compared
# modkit without a motif filter writes some rows where the reference has no C (read-level calls at SNPs and
# read errors); only when more than this share of its rows do is the build taken to be wrong
READ_LEVEL_LIMIT = 0.5
_SHIFT_SAMPLES = 10_000
_STRANDS = pa.array(["-", ".", "+"])
_CONTEXTS = pa.array(list(CONTEXTS))
_SPLITS = pa.array(list(SPLITS))
_FEATURES = pa.array(list(FEATURES))


@dataclass
class _Lookup:
    """Spilled records of one chromosome with what the genome says about each."""

    rec: np.ndarray
    idx: np.ndarray
    strand: np.ndarray
    tri: np.ndarray
    ctx: np.ndarray


@dataclass
class _Sites:
    pos: np.ndarray
    strand: np.ndarray
    tri: np.ndarray
    ctx: np.ndarray
    idx: np.ndarray
    mc: np.ndarray
    cov: np.ndarray
    merged: np.ndarray

    def take(self, sel: np.ndarray) -> _Sites:
        return _Sites(*(getattr(self, f)[sel] for f in self.__dataclass_fields__))


class SiteBuilder:
    """Builds dataset rows chromosome by chromosome, keeping the tally that prepare.json reports."""

    def __init__(self, options: PrepareOptions, genome: FastaGenome, layouts: list[Layout], tally: Tally, *,
                 splits: BlockSplits | None, chrom_split: np.ndarray | None, chunk_rows: int,
                 annotation: Annotation | None = None) -> None:
        self.o, self.genome, self.tally, self.annotation = options, genome, tally, annotation
        self.splits, self.chrom_split, self.chunk_rows = splits, chrom_split, chunk_rows
        self.read_level = np.array([lay.spec.variant == "modkit" for lay in layouts], dtype=bool)
        self.keys = np.array([chrom_key(n) for n in genome.names], dtype=np.uint64)
        self.allowed = np.array([c in options.contexts for c in CONTEXTS])

    def called_sites(self, chrom: int, bases: Stranded, rec: np.ndarray) -> tuple[_Sites, np.ndarray]:
        """(sites, keep): one chromosome's calls after the genome check and duplicate summing, and which of those
        sites prepare's filters keep as dataset rows (``predict --calls`` labels exactly these, with
        :func:`labels`)."""
        sites = self._checked(chrom, bases, rec)
        keep, _ = self._filtered(chrom, sites)
        return sites, keep

    def tables(self, chrom: int, bases: Stranded, rec: np.ndarray) -> Iterator[pa.Table]:
        sites = self._checked(chrom, bases, rec)
        keep, split = self._filtered(chrom, sites)
        idx = np.flatnonzero(keep)
        for start in range(0, idx.size, self.chunk_rows):
            part = idx[start:start + self.chunk_rows]
            yield self._table(chrom, bases, sites.take(part), split[part])

    # -- the genome check and duplicates ------------------------------------------------------------------
    def _checked(self, chrom: int, bases: Stranded, rec: np.ndarray) -> _Sites:
        idx = bases.index(rec["pos"])
        strand, agrees = reference_strand(bases.seq, idx, rec["strand"])
        tri = site_bases(bases.seq, idx, strand)
        ctx = context_codes(tri)
        given = rec["context"]
        wrong = ((given >= 0) & (ctx >= 0) & (given != ctx)) | motif_disagrees(rec["motif"], tri)
        from_reads = self.read_level[rec["file"]]
        read_level = ~agrees & from_reads & ~wrong
        bad = (~agrees & ~from_reads) | wrong
        self._judge(chrom, bases, _Lookup(rec, idx, strand, tri, ctx), bad, read_level, from_reads)
        self.tally.skip("genome_mismatch", bad.sum())
        self.tally.skip("read_level_call", read_level.sum())
        keep = ~(bad | read_level)
        sites = _Sites(rec["pos"][keep], strand[keep], tri[keep], ctx[keep], idx[keep], rec["mc"][keep],
                       rec["cov"][keep], rec["merged"][keep])
        return self._summed(sites, rec["file"][keep], self.genome.names[chrom])

    def _summed(self, s: _Sites, files: np.ndarray, chrom: str) -> _Sites:
        """One site per (position, strand): rows of the same site, from several files or one, add their counts."""
        key = s.pos * 2 + (s.strand < 0)
        if key.size < 2 or (np.diff(key) > 0).all():
            return s
        uniq, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        t = self.tally
        t.duplicate_sites += int((counts > 1).sum())
        pairs = np.unique(key.astype(np.int64) * 65536 + files)
        t.duplicate_sites_across_files += int((np.unique(pairs // 65536, return_counts=True)[1] > 1).sum())
        t.skip("duplicate_row", key.size - uniq.size)
        out = s.take(first)
        out.mc = np.bincount(inverse, weights=s.mc, minlength=uniq.size).astype(np.int64)
        out.cov = np.bincount(inverse, weights=s.cov, minlength=uniq.size).astype(np.int64)
        out.merged = np.bincount(inverse, weights=s.merged, minlength=uniq.size) > 0
        huge = np.flatnonzero(out.cov > MAX_COUNT)  # stored as int32: a larger sum would wrap to a negative count
        if huge.size:
            raise DnactxError(f"--calls: the rows of site {printable(chrom)}:{int(out.pos[huge[0]])} add up to "
                              f" {int(out.cov[huge[0]]):,} reads, more than {MAX_COUNT:,}; remove the duplicated "
                              "rows of that site (or files given twice)")
        return out

    def _judge(self, chrom: int, bases: Stranded, look: _Lookup, bad: np.ndarray, read_level: np.ndarray,
               from_reads: np.ndarray) -> None:
        t = self.tally
        t.checked += int((~from_reads).sum())
        t.mismatched += int(bad.sum())
        t.read_level_checked += int(from_reads.sum())
        t.read_level += int(read_level.sum())
        off = bad | read_level
        if off.any() and t.first_mismatch is None:
            t.first_mismatch = self._describe(chrom, bases, look, int(np.flatnonzero(off)[0]))
        if off.any() and t.shift[3] < _SHIFT_SAMPLES:
            t.shift += shift_hits(bases.seq, look.idx[off], look.rec["strand"][off])
        if t.checked >= MIN_CHECKED and t.mismatched > self.o.mismatch_tolerance * t.checked:
            raise self.mismatch_error(t.mismatched, t.checked, self.o.mismatch_tolerance)
        if t.read_level_checked >= MIN_CHECKED and t.read_level > READ_LEVEL_LIMIT * t.read_level_checked:
            raise self.mismatch_error(t.read_level, t.read_level_checked, READ_LEVEL_LIMIT)

    def _describe(self, chrom: int, bases: Stranded, look: _Lookup, i: int) -> str:
        r, strand, tri, ctx = look.rec[i], look.strand, look.tri, look.ctx
        said = []
        if r["strand"]:
            said.append("strand " + ("+" if r["strand"] > 0 else "-"))
        if r["context"] >= 0:
            said.append("context " + CONTEXTS[r["context"]])
        motif = r["motif"].tobytes().decode().rstrip("N")
        if motif:
            said.append("bases " + motif)
        found = f"reference base {chr(bases.seq[look.idx[i]])}"
        if strand[i]:
            found += f", {tri[i].tobytes().decode()} on the site's strand"
            if ctx[i] >= 0:
                found += f" ({CONTEXTS[ctx[i]]})"
        source = self.o.calls[int(r["file"])]
        where = f"line {r['line']}" if len(self.o.calls) == 1 else f"{source.name} line {r['line']}"
        return f"{where} {self.genome.names[chrom]}:{r['pos']} says {', '.join(said) or 'a cytosine'} but the " \
               f"genome has {found}"

    def mismatch_error(self, n: int, checked: int, tolerance: float) -> DnactxError:
        """Stop: too many sites disagree with the genome. If the reference has the expected C one base away
        from nearly all of them, the coordinates are shifted; otherwise the build or naming is wrong."""
        hits = self.tally.shift
        pct = 100.0 * n / max(checked, 1)
        shifts = {k: hits[j] / hits[3] for j, k in enumerate((-1, 0, 1))} if hits[3] else {}
        best = max((k for k in shifts if k), key=lambda k: shifts[k], default=None)
        if best is not None and shifts[best] > 0.9:
            cause = (f"positions look shifted by {best:+d} bp (0- vs 1-based coordinates?): check --format "
                     "(bedMethyl and MethylDackel starts are 0-based, the others 1-based)")
        else:
            cause = ("the calls were probably made on another genome build or the chromosome names map to the "
                     "wrong sequences: use the FASTA the aligner used (check --chrom-alias)")
        calls = " ".join(str(c) for c in self.o.calls)
        return DnactxError(f"--calls {calls} disagrees with --genome {self.o.genome} at {n:,} of {checked:,} "
                           f"checked sites ({pct:.1f}%, tolerance {100 * tolerance:g}%); first: "
                           f"{self.tally.first_mismatch}; {cause}")

    # -- filters, split, rows -------------------------------------------------------------------------------
    def _filtered(self, chrom: int, s: _Sites) -> tuple[np.ndarray, np.ndarray]:
        o, t = self.o, self.tally
        keep = np.ones(s.pos.size, dtype=bool)

        def drop(mask: np.ndarray, reason: str) -> None:
            hit = keep & mask
            t.skip(reason, hit.sum())
            keep[hit] = False

        drop(s.ctx < 0, "undetermined_context")
        drop(s.cov < o.labels.min_coverage, "low_coverage")
        drop(~self.allowed[np.maximum(s.ctx, 0)], "context_filter")
        level = np.divide(s.mc, s.cov, out=np.zeros(s.mc.size), where=s.cov > 0)
        if o.labels.exclude_between is not None:
            lo, hi = o.labels.exclude_between
            drop((level > lo) & (level < hi), "ambiguous")
        drop(~subsample(np.full(s.pos.size, self.keys[chrom]), s.pos, s.strand, o.seed, o.fraction), "subsample")
        if self.splits is None:
            split = np.full(s.pos.size, self.chrom_split[chrom], dtype=np.int8)  # type: ignore[index]
        else:
            split = np.zeros(s.pos.size, dtype=np.int8)
            kept = np.flatnonzero(keep)
            split[kept], crosses = self.splits.assign(chrom, s.pos[kept], o.window // 2)
            crossing = np.zeros(s.pos.size, dtype=bool)
            crossing[kept[crosses]] = True
            drop(crossing, "split_boundary")
            block = (s.pos[keep] - 1) // self.splits.block_size
            t.blocks.update(np.unique((chrom * 2**40 + block) * 4 + split[keep]).tolist())
        t.merged_sites += int((s.merged & keep).sum())
        return keep, split

    def _table(self, chrom: int, bases: Stranded, s: _Sites, split: np.ndarray) -> pa.Table:
        level = s.mc / s.cov
        label = labels(level, self.o.labels.threshold)
        repeat = bases.masked(s.idx)
        self.tally.add_sites(split, s.ctx, label, repeat)
        seq = site_windows(bases, s.pos, s.strand, self.o.window)
        feature = [] if self.annotation is None else [
            pc.take(_FEATURES, pa.array(self.annotation.codes(self.genome.names[chrom], s.pos).astype(np.int64)))]
        return pa.Table.from_arrays([
            pc.take(pa.array([self.genome.names[chrom]]), pa.array(np.zeros(s.pos.size, dtype=np.int64))),
            pa.array(s.pos, pa.int64()),
            pc.take(_STRANDS, pa.array(s.strand.astype(np.int64) + 1)),
            pc.take(_CONTEXTS, pa.array(s.ctx.astype(np.int64))),
            rows_to_strings(s.tri),
            pa.array(s.mc.astype(np.int32)),
            pa.array(s.cov.astype(np.int32)),
            pa.array(level.astype(np.float32)),
            pa.array(label),
            pc.take(_SPLITS, pa.array(split.astype(np.int64))),
            pa.array(repeat),
            *feature,
            rows_to_strings(seq),
        ], schema=dataset_schema(self.annotation is not None))



def labels(level: np.ndarray, threshold: float) -> np.ndarray:
    """prepare's label of a site: 1 where its methylated fraction (mc / cov, float64) is ≥ ``--threshold``."""
    return (level >= threshold).astype(np.int8)


EARLY_ROWS = 5000


def early_check(options: PrepareOptions, genome: FastaGenome, layouts: list[Layout], records: np.ndarray) -> None:
    """Check a file's first records against the genome before the rest is read, so that a wrong build or an
    off-by-one stops in seconds rather than after the whole file: the same rule as the full check (more than
    the tolerance among ≥ MIN_CHECKED sites), on up to EARLY_ROWS rows within 1 Mb of one chromosome."""
    chrom = int(records["chrom"][0])
    rows = records[records["chrom"] == chrom][:EARLY_ROWS]
    rows = rows[rows["pos"] < rows["pos"].min() + 1_000_000]
    flank = max(options.window // 2, 2)
    start, end = int(rows["pos"].min()) - 1 - flank, int(rows["pos"].max()) + flank
    bases = np.full(end - start, ord("N"), dtype=np.uint8)
    raw = genome.region(genome.names[chrom], start, end)
    bases[max(start, 0) - start:max(start, 0) - start + raw.size] = raw
    scratch = SiteBuilder(options, genome, layouts, Tally(), splits=None, chrom_split=None, chunk_rows=EARLY_ROWS)
    scratch._checked(chrom, Stranded(bases, pad=-start), rows)
