"""Methylation call formats: how to recognise each one's lines and turn a parsed chunk into common columns."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..choices import CONTEXTS
from ..errors import DnactxError

CONTEXT_CODE = {name: i for i, name in enumerate(CONTEXTS)}
N = ord("N")
# Read counts are stored as int32 (dataset.parquet, predictions): a larger count would wrap to a negative number and
# read as methylated, so it is refused at read time with its line. Positions only need to fit in int64 arithmetic.
MAX_COUNT = 2**31 - 1
MAX_POSITION = 2**53


@dataclass
class CallChunk:
    """One chunk of calls in common form; positions 1-based, strand +1/-1 or 0 where the format has none."""

    chrom_codes: np.ndarray  # int64 index into chrom_names
    chrom_names: list[str]
    pos: np.ndarray  # int64
    strand: np.ndarray  # int8
    mc: np.ndarray  # int64 methylated reads
    cov: np.ndarray  # int64 all reads
    line: np.ndarray  # int64 line number in the calls file, for messages
    context: np.ndarray | None = None  # int8 code into CONTEXTS, -1 where the file says it is undetermined
    motif: np.ndarray | None = None  # (n, 3) uint8 bases from the C on its strand as the file gives them, N unknown
    merged: np.ndarray | None = None  # bool: counts of both strands' C, reported at the + strand C
    dropped: dict[str, int] = field(default_factory=dict)  # rows the format sets aside, by reason
    read_level: bool = False  # a non-C reference base is a read-level call (modkit), not a genome mismatch

    def __len__(self) -> int:
        return int(self.pos.size)


class Columns:
    """Typed access to a raw chunk's columns; a bad value stops with the file's line number."""

    def __init__(self, df: pd.DataFrame, path: Path, fmt: str, lines: np.ndarray, *,
                 stated_context: str | None = None, mod_code: str = "m") -> None:
        self.df, self.path, self.fmt, self.lines = df, path, fmt, lines
        self.stated_context, self.mod_code = stated_context, mod_code

    def subset(self, keep: np.ndarray) -> Columns:
        return Columns(self.df.loc[keep], self.path, self.fmt, self.lines[keep],
                       stated_context=self.stated_context, mod_code=self.mod_code)

    def fail(self, row: int, col: int, name: str, expected: str) -> DnactxError:
        value = self.df.iloc[row, col]
        return DnactxError(f"--calls {self.path} line {int(self.lines[row])}: {name} (column {col + 1}) is "
                           f"{value!r}, expected {expected} for format {self.fmt}; fix or remove that line")

    def integer(self, col: int, name: str, most: int = MAX_COUNT) -> np.ndarray:
        """A column of whole numbers from 0 to ``most`` (by default a read count that fits int32)."""
        s = self.df.iloc[:, col]
        if pd.api.types.is_integer_dtype(s.dtype):
            values = s.to_numpy(dtype=np.int64)
        else:
            num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.flatnonzero(~np.isfinite(num) | (num != np.round(num)))
            if bad.size:
                raise self.fail(int(bad[0]), col, name, "a whole number")
            huge = np.flatnonzero(num > most)  # before the cast, which would wrap what int64 cannot hold
            if huge.size:
                raise self.fail(int(huge[0]), col, name, f"a whole number from 0 to {most:,}")
            values = num.astype(np.int64)
        bad = np.flatnonzero((values < 0) | (values > most))
        if bad.size:
            raise self.fail(int(bad[0]), col, name, f"a whole number from 0 to {most:,}")
        return values

    def reads(self, methylated: int, other: int, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """(methylated, all) reads from a methylated and an unmethylated count column; their sum must fit too."""
        mc, rest = self.integer(methylated, names[0]), self.integer(other, names[1])
        cov = mc + rest
        bad = np.flatnonzero(cov > MAX_COUNT)
        if bad.size:
            raise self.fail(int(bad[0]), other, names[1], f"a count whose sum with {names[0]} is at most "
                                                          f"{MAX_COUNT:,}")
        return mc, cov

    def number(self, col: int, name: str, lo: float, hi: float) -> np.ndarray:
        num = pd.to_numeric(self.df.iloc[:, col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(num) | (num < lo) | (num > hi))
        if bad.size:
            raise self.fail(int(bad[0]), col, name, f"a number from {lo:g} to {hi:g}")
        return num

    def coded(self, col: int, name: str, mapping: dict[str, int], dtype: type = np.int8) -> np.ndarray:
        """Map a small-vocabulary text column through ``mapping``; unknown values stop with their line."""
        codes, uniques = pd.factorize(self.df.iloc[:, col], use_na_sentinel=True)
        lut = np.array([mapping.get(str(u), -999) for u in uniques] + [-999], dtype=np.int64)
        values = lut[codes]
        bad = np.flatnonzero(values == -999)
        if bad.size:
            raise self.fail(int(bad[0]), col, name, " or ".join(repr(k) for k in mapping))
        return values.astype(dtype)

    def chrom(self, col: int = 0) -> tuple[np.ndarray, list[str]]:
        codes, uniques = pd.factorize(self.df.iloc[:, col])
        return codes.astype(np.int64), [str(u) for u in uniques]

    def motif(self, col: int, name: str, length: int) -> np.ndarray:
        """(n, 3) uint8 bases of a dinucleotide/trinucleotide column; N where a base is not A/C/G/T."""
        codes, uniques = pd.factorize(self.df.iloc[:, col])
        table = np.full((len(uniques) + 1, 3), N, dtype=np.uint8)
        for i, u in enumerate(uniques):
            text = str(u).upper()
            if text in ("--", "."):
                continue
            if len(text) != length or not text.isalpha():
                raise self.fail(int(np.flatnonzero(codes == i)[0]), col, name, f"{length} bases such as 'CGA'")
            for j, base in enumerate(text.encode("ascii")[:3]):
                table[i, j] = base if base in b"ACGT" else N
        return table[codes]


def _cgmap(c: Columns) -> CallChunk:
    codes, names = c.chrom()
    return CallChunk(codes, names, pos=c.integer(2, "pos", MAX_POSITION), strand=c.coded(1, "nuc", {"C": 1, "G": -1}),
                     mc=c.integer(6, "mC"), cov=c.integer(7, "coverage"), line=c.lines,
                     context=c.coded(3, "context", {**CONTEXT_CODE, "--": -1}), motif=c.motif(4, "dinuc", 2))


def _cx_report(c: Columns) -> CallChunk:
    codes, names = c.chrom()
    mc, cov = c.reads(3, 4, ("count_methylated", "count_unmethylated"))
    return CallChunk(codes, names, pos=c.integer(1, "pos", MAX_POSITION),
                     strand=c.coded(2, "strand", {"+": 1, "-": -1}), mc=mc, cov=cov, line=c.lines,
                     context=c.coded(5, "context", CONTEXT_CODE), motif=c.motif(6, "trinucleotide", 3))


def _bismark_cov(c: Columns) -> CallChunk:
    codes, names = c.chrom()
    mc, cov = c.reads(4, 5, ("count_methylated", "count_unmethylated"))
    pos = c.integer(1, "start", MAX_POSITION)
    c.integer(2, "end", MAX_POSITION)
    c.number(3, "percent", 0.0, 100.0)
    return CallChunk(codes, names, pos=pos, strand=np.zeros(pos.size, np.int8), mc=mc, cov=cov, line=c.lines)


_BED_STRAND = {"+": 1, "-": -1, ".": 0}


MOD_CODES = ("m", "h", "m+h")
# which modkit rows a --mod-code reads, and which count columns (0-based) add up to its modified reads
_MOD_ROWS = {"m": {"m": (11,)}, "h": {"h": (11,)}, "m+h": {"m": (11, 13), "C": (11,)}}


def _bedmethyl_modkit(c: Columns) -> CallChunk:
    """modkit pileup's 18 columns. ``--mod-code m+h`` reads the m row's N_mod + N_other_mod (in a 5mC/5hmC
    pileup the other modification is 5hmC, so this is the sum of the m and h rows' N_mod over the shared
    N_valid_cov) and ``--combine-mods`` rows (code C). Strand '.' (``--combine-strands``): both strands' counts
    at the + strand C of a CpG."""
    code = c.df.iloc[:, 3].astype(str).str.partition(",")[0].to_numpy()  # "m,CG,0" when several motifs
    wanted = _MOD_ROWS[c.mod_code]
    keep = np.isin(code, list(wanted))
    dropped = {"other_modification": int((~keep).sum())}
    if not keep.all():
        c, code = c.subset(keep), code[keep]
    codes, names = c.chrom()
    start = c.integer(1, "start", MAX_POSITION)
    cov = c.integer(9, "valid coverage")
    c.number(10, "percent modified", 0.0, 100.0)
    mc = np.zeros(start.size, dtype=np.int64)
    for name, cols in wanted.items():
        rows = code == name
        if rows.any():
            mc[rows] = sum(c.integer(col, "modified count")[rows] for col in cols)
    bad = np.flatnonzero(mc > MAX_COUNT)
    if bad.size:
        raise c.fail(int(bad[0]), 11, "modified count", f"modified counts whose sum is at most {MAX_COUNT:,}")
    strand = c.coded(5, "strand", _BED_STRAND)
    return CallChunk(codes, names, pos=start + 1, strand=strand, mc=mc, cov=cov, line=c.lines, dropped=dropped,
                     merged=strand == 0, read_level=True)


def _bedmethyl_encode(c: Columns) -> CallChunk:
    codes, names = c.chrom()
    start = c.integer(1, "start", MAX_POSITION)
    cov = c.integer(9, "coverage")
    pct = c.number(10, "percent methylated", 0.0, 100.0)
    mc = np.rint(cov * pct / 100.0).astype(np.int64)
    return CallChunk(codes, names, pos=start + 1, strand=c.coded(5, "strand", _BED_STRAND), mc=mc, cov=cov,
                     line=c.lines)


def _allc(c: Columns) -> CallChunk:
    codes, names = c.chrom()
    return CallChunk(codes, names, pos=c.integer(1, "pos", MAX_POSITION),
                     strand=c.coded(2, "strand", {"+": 1, "-": -1}), mc=c.integer(4, "mc"),
                     cov=c.integer(5, "total"), line=c.lines, motif=c.motif(3, "mc_class", 3))


def _methyldackel(c: Columns) -> CallChunk:
    """MethylDackel extract bedGraph: 0-based start, end, integer percent, nMethylated, nUnmethylated.

    A row 1 bp wide is one C (its strand from the reference base: C → +, G → −, as MethylDackel does). With
    ``--mergeContext`` a CpG row spans 2 bp (CHG: 3 bp) from the + strand C and holds both strands' counts:
    it becomes one site, the + strand C, marked merged. The context is the file's own (its track line or a
    ``_CpG``/``_CHG``/``_CHH`` name) and must match the genome's.
    """
    codes, names = c.chrom()
    start, end = c.integer(1, "start", MAX_POSITION), c.integer(2, "end", MAX_POSITION)
    c.number(3, "percent", 0.0, 100.0)
    mc, cov = c.reads(4, 5, ("nMethylated", "nUnmethylated"))
    span = end - start
    bad = np.flatnonzero((span < 1) | (span > 3))
    if bad.size:
        raise c.fail(int(bad[0]), 2, "end", "start + 1 (one C), + 2 (a merged CpG) or + 3 (a merged CHG)")
    merged = span > 1
    stated = CONTEXT_CODE.get(c.stated_context or "", -1)
    context = np.where(span == 2, 0, np.where(span == 3, 1, stated)).astype(np.int8)
    return CallChunk(codes, names, pos=start + 1, strand=merged.astype(np.int8), mc=mc, cov=cov, line=c.lines,
                     context=context, merged=merged)


# -- recognising lines ---------------------------------------------------------------------------------
_INT = re.compile(r"^\d+$")
_NUM = re.compile(r"^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_BASES = re.compile(r"^[ACGTNHDBVRYKMSWacgtnhdbvrykmsw]+$")


def _is_int(s: str) -> bool:
    return bool(_INT.match(s))


def _is_num(s: str) -> bool:
    return bool(_NUM.match(s))


def _looks_cgmap(f: list[str]) -> bool:
    return (len(f) == 8 and f[1] in ("C", "G") and _is_int(f[2]) and f[3] in ("CG", "CHG", "CHH", "--")
            and _is_num(f[5]) and _is_int(f[6]) and _is_int(f[7]))


def _looks_cx_report(f: list[str]) -> bool:
    return (len(f) == 7 and _is_int(f[1]) and f[2] in ("+", "-") and _is_int(f[3]) and _is_int(f[4])
            and f[5] in CONTEXTS and bool(_BASES.match(f[6])))


def _looks_allc(f: list[str]) -> bool:
    return (len(f) == 7 and _is_int(f[1]) and f[2] in ("+", "-") and bool(_BASES.match(f[3]))
            and _is_int(f[4]) and _is_int(f[5]) and f[6] in ("0", "1"))


def _looks_six_columns(f: list[str]) -> bool:
    return (len(f) == 6 and _is_int(f[1]) and _is_int(f[2]) and _is_num(f[3]) and _is_int(f[4])
            and _is_int(f[5]))


def _looks_bismark_cov(f: list[str]) -> bool:
    return _looks_six_columns(f) and f[1] == f[2]  # 1-based, one C: start == end


def _looks_methyldackel(f: list[str]) -> bool:
    return _looks_six_columns(f) and 1 <= int(f[2]) - int(f[1]) <= 3  # 0-based half-open, 1-3 bp


def _looks_bed(f: list[str]) -> bool:
    return len(f) >= 11 and _is_int(f[1]) and _is_int(f[2]) and f[5] in _BED_STRAND and _is_int(f[9])


def _looks_modkit(f: list[str]) -> bool:
    return _looks_bed(f) and len(f) >= 18 and _is_num(f[10]) and _is_int(f[11]) and _is_int(f[12])


def _looks_encode(f: list[str]) -> bool:
    return _looks_bed(f) and len(f) == 11 and _is_num(f[10])


@dataclass(frozen=True)
class FormatSpec:
    """One call format: its public name, field separator, column count and how to read a chunk."""

    name: str
    variant: str
    ncols: int
    sep: str
    columns: str  # for messages and --help
    looks_like: Callable[[list[str]], bool]
    parse: Callable[[Columns], CallChunk]
    has_strand: bool
    has_context: bool


_SPECS = (
    FormatSpec("cgmap", "cgmap", 8, "\t", "chr, C/G, pos, context, dinuc, level, mC, coverage",
               _looks_cgmap, _cgmap, True, True),
    FormatSpec("cx_report", "cx_report", 7, "\t",
               "chr, pos, strand, count_methylated, count_unmethylated, context, trinucleotide",
               _looks_cx_report, _cx_report, True, True),
    FormatSpec("allc", "allc", 7, "\t", "chr, pos, strand, mc_class, mc, total, methylated",
               _looks_allc, _allc, True, False),
    FormatSpec("bismark_cov", "bismark_cov", 6, "\t",
               "chr, start, end, percent, count_methylated, count_unmethylated",
               _looks_bismark_cov, _bismark_cov, False, False),
    FormatSpec("methyldackel", "bedgraph", 6, "\t",
               "chrom, start (0-based), end, percent, nMethylated, nUnmethylated",
               _looks_methyldackel, _methyldackel, False, True),
    FormatSpec("bedmethyl", "modkit", 18, r"\s+",
               "chrom, start (0-based), end, code, score, strand, ..., valid coverage, percent, modified, ...",
               _looks_modkit, _bedmethyl_modkit, True, False),
    FormatSpec("bedmethyl", "encode", 11, r"\s+",
               "chrom, start (0-based), end, name, score, strand, thickStart, thickEnd, rgb, coverage, percent",
               _looks_encode, _bedmethyl_encode, True, False),
)

FORMATS = ("cgmap", "cx_report", "bismark_cov", "methyldackel", "bedmethyl", "allc")


def specs(name: str | None = None) -> list[FormatSpec]:
    """Every spec, or the variants of one format name."""
    return [s for s in _SPECS if name is None or s.name == name]
