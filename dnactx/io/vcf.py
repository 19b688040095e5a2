"""Single-nucleotide variants from a VCF (plain, gzip or bgzip): CHROM, POS, ID, REF, ALT only.

A parser of those five columns with pandas rather than pysam or cyvcf2: both need htslib (a compiled library that
pysam bundles at ~20 MB and cyvcf2 links against), and nothing here needs more than the columns' text — no INFO,
no genotypes, no index. bgzip is gzip-compatible (concatenated gzip members), so Python's gzip reads it whole.

Each ALT of a multi-allelic record is its own variant. REF and ALT are trimmed of the bases they share (suffix, then
prefix, as ``bcftools norm`` does), so ``CAT → CGT`` is the SNV A→G at POS+1 and the split of ``CAT → C,TAT`` gives a
deletion and the SNV C→T. What remains is an SNV when both are one of A/C/G/T; otherwise it is counted and skipped:
``indel`` (lengths differ), ``mnp`` (several substituted bases), ``other`` (symbolic ``<DEL>``, ``*``, breakends,
``.``, IUPAC codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DnactxError
from .opener import gzip_guard, is_gzip, open_binary, require_file

_CHUNK = 1 << 20
_ACGT = set("ACGT")


@dataclass
class Snvs:
    """SNVs in file order: ``chrom``, ``pos`` (1-based, after trimming), ``ref``/``alt`` (one base), ``id`` (the
    VCF's ID, '.' when none) and ``line`` (1-based line of the record); ``counts`` of what was read and skipped."""

    chrom: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    id: np.ndarray
    line: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pos.size)


def _header_lines(path: Path) -> int:
    n = 0
    with gzip_guard(path), open_binary(path) as fh:
        for raw in fh:
            if not raw.startswith(b"#"):
                break
            n += 1
    if n == 0:
        raise DnactxError(f"--variants {path} has no VCF header (##fileformat / #CHROM lines); give a VCF file")
    return n


def classify(ref: str, alt: str) -> tuple[str, int, str, str]:
    """(kind, shift, ref, alt): kind snv | indel | mnp | other; ``shift`` added to POS after trimming."""
    if not alt or alt[0] in "<*." or "[" in alt or "]" in alt or not set(ref) <= _ACGT | {"N"}:
        return "other", 0, ref, alt
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    shift = 0
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, shift = ref[1:], alt[1:], shift + 1
    if len(ref) != len(alt):
        return "indel", shift, ref, alt
    if len(ref) > 1:
        return "mnp", shift, ref, alt
    return ("snv" if ref in _ACGT and alt in _ACGT and ref != alt else "other"), shift, ref, alt


def read_snvs(path: Path) -> Snvs:
    """Every SNV of the VCF at ``path`` (see the module docstring); malformed records are one DnactxError."""
    path = require_file(Path(path), "--variants")
    skip = _header_lines(path)
    counts = {"records": 0, "alleles": 0, "multiallelic_records": 0, "snv": 0, "indel": 0, "mnp": 0, "other": 0}
    parts = []
    try:
        with gzip_guard(path):
            reader = pd.read_csv(path, sep="\t", header=None, skiprows=skip, usecols=[0, 1, 2, 3, 4], dtype=str,
                                 keep_default_na=False, compression="gzip" if is_gzip(path) else None,
                                 chunksize=_CHUNK, quoting=3, engine="c")
            for start, chunk in _chunks(reader):
                parts.append(_snvs_of(chunk, start + skip + 1, counts, path))
    except pd.errors.EmptyDataError:
        raise DnactxError(f"--variants {path} has a header but no variant records; give a VCF with variants (is it "
                          "truncated, or filtered down to nothing?)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DnactxError(f"--variants {path} is not a tab-separated VCF ({' '.join(str(exc).split())[:200]})") \
            from None
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["chrom", "pos", "ref", "alt",
                                                                                   "id", "line"])
    return Snvs(chrom=table["chrom"].to_numpy(dtype=object), pos=table["pos"].to_numpy(np.int64),
                ref=table["ref"].to_numpy(dtype=object), alt=table["alt"].to_numpy(dtype=object),
                id=table["id"].to_numpy(dtype=object), line=table["line"].to_numpy(np.int64), counts=counts)


def _chunks(reader):
    start = 0
    for chunk in reader:
        yield start, chunk
        start += len(chunk)


def _snvs_of(chunk: pd.DataFrame, first_line: int, counts: dict[str, int], path: Path) -> pd.DataFrame:
    chunk.columns = ["chrom", "pos", "id", "ref", "alt"]
    chunk["line"] = np.arange(first_line, first_line + len(chunk))
    fields = chunk[["chrom", "pos", "id", "ref", "alt"]]
    short = (fields.isna() | (fields == "")).any(axis=1).to_numpy()
    if short.any():
        bad = int(np.flatnonzero(short)[0])
        raise DnactxError(f"--variants {path} line {chunk['line'].iloc[bad]}: the record stops before CHROM, POS, ID, "
                          "REF and ALT are all there; the file is truncated (copy it again) or not tab-separated")
    pos = pd.to_numeric(chunk["pos"], errors="coerce")
    if pos.isna().any() or (pos < 1).any():
        bad = int(np.flatnonzero((pos.isna() | (pos < 1)).to_numpy())[0])
        raise DnactxError(f"--variants {path} line {chunk['line'].iloc[bad]}: POS {chunk['pos'].iloc[bad]!r} is not a "
                          "1-based position; is it a VCF?")
    chunk["pos"] = pos.astype(np.int64)
    counts["records"] += len(chunk)
    counts["multiallelic_records"] += int(chunk["alt"].str.contains(",", regex=False).sum())
    chunk["ref"] = chunk["ref"].str.upper()
    chunk = chunk.assign(alt=chunk["alt"].str.upper().str.split(",")).explode("alt", ignore_index=True)
    counts["alleles"] += len(chunk)
    simple = (chunk["ref"].str.len() == 1) & (chunk["alt"].str.len() == 1)
    kind = pd.Series("other", index=chunk.index)
    kind[simple] = np.where(chunk["ref"][simple].isin(list(_ACGT)) & chunk["alt"][simple].isin(list(_ACGT))
                            & (chunk["ref"][simple] != chunk["alt"][simple]), "snv", "other")
    for i in np.flatnonzero(~simple.to_numpy()):
        k, shift, ref, alt = classify(chunk.at[i, "ref"], chunk.at[i, "alt"])
        kind.iat[i] = k
        if k == "snv":
            chunk.at[i, "ref"], chunk.at[i, "alt"], chunk.at[i, "pos"] = ref, alt, chunk.at[i, "pos"] + shift
    for k in ("snv", "indel", "mnp", "other"):
        counts[k] += int((kind == k).sum())
    return chunk.loc[kind == "snv", ["chrom", "pos", "ref", "alt", "id", "line"]]
