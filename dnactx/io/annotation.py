"""A GFF3 annotation (read through pyranges) as genomic feature classes per site, and feature spans for metaplots.

Every site gets one class, strand-aware (promoter = ``promoter_bp`` upstream of a gene's TSS on the gene's
strand, downstream = ``downstream_bp`` past its TES), the first of :data:`FEATURES` that covers it where
features overlap. Coordinates inside are 0-based half-open; sites are given 1-based.
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DnactxError
from .opener import require_file

# priority order: a site covered by several classes takes the first
FEATURES = ("transposable_element", "CDS", "UTR", "pseudogene", "exon", "intron", "promoter", "downstream",
            "intergenic", "unannotated")
PRIORITY_RULE = ("one class per site, the first that covers it of " + " > ".join(FEATURES[:-1]) +
                 "; UTR = exons of protein-coding transcripts outside CDS (or UTR features), exon = exons of "
                 "non-coding transcripts, intron = inside a gene or transcript but no exon; promoter/downstream "
                 "flanks follow the gene's strand; unannotated = a chromosome the GFF does not name")
TE_TYPES = frozenset({"transposable_element", "transposable_element_gene", "transposon_fragment", "transposon",
                      "mobile_genetic_element", "retrotransposon", "LTR_retrotransposon", "DNA_transposon",
                      "TE", "transposable_element_fragment"})
UTR_TYPES = frozenset({"five_prime_UTR", "three_prime_UTR", "UTR", "5'UTR", "3'UTR"})
PSEUDO_TYPES = frozenset({"pseudogene", "pseudogenic_transcript", "pseudogenic_exon", "pseudogenic_tRNA"})
GENE_TYPES = frozenset({"gene", "protein_coding_gene", "ncRNA_gene", "miRNA_gene", "snoRNA_gene", "tRNA_gene",
                        "rRNA_gene", "snRNA_gene", "lncRNA_gene"})
UNANNOTATED = FEATURES.index("unannotated")
INTERGENIC = FEATURES.index("intergenic")

Intervals = tuple[np.ndarray, np.ndarray]  # merged, sorted (starts, ends), 0-based half-open


@dataclass
class Annotation:
    """A parsed GFF3: its rows (``chrom`` as FASTA names, 0-based ``start``/``end``, ``type``, ``strand``) and, per
    chromosome, the merged intervals of each feature class."""

    path: Path
    rows: pd.DataFrame
    promoter_bp: int
    downstream_bp: int
    classes: dict[str, dict[int, Intervals]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def codes(self, chrom: str, pos: np.ndarray) -> np.ndarray:
        """int8 index into :data:`FEATURES` of each 1-based position ``pos`` on ``chrom``."""
        x = np.asarray(pos, dtype=np.int64) - 1
        if chrom not in self.classes:
            return np.full(x.size, UNANNOTATED, dtype=np.int8)
        out = np.full(x.size, INTERGENIC, dtype=np.int8)
        free = np.ones(x.size, dtype=bool)
        for code, (starts, ends) in sorted(self.classes[chrom].items()):
            hit = free & inside(starts, ends, x)
            out[hit] = code
            free &= ~hit
        return out

    def names(self, chrom: str, pos: np.ndarray) -> np.ndarray:
        """Each site's class name (str array)."""
        return np.array(FEATURES)[self.codes(chrom, pos)]

    def spans(self, feature_type: str) -> pd.DataFrame:
        """The rows of one GFF type (chrom, start, end, strand), or a one-line error naming the types present."""
        rows = self.rows[self.rows["type"] == feature_type]
        if rows.empty:
            present = ", ".join(self.rows["type"].value_counts().index[:12])
            raise DnactxError(f"--feature {feature_type}: {self.path} has no such features (it has {present}); "
                              "pick one of those")
        return rows[["chrom", "start", "end", "strand"]].reset_index(drop=True)

    def describe(self) -> dict:
        """What prepare.json / predict.json record about the annotation."""
        from ..provenance import sha256_file

        return {"path": str(self.path.resolve()), "sha256": sha256_file(self.path),
                "promoter_bp": self.promoter_bp, "downstream_bp": self.downstream_bp, "rule": PRIORITY_RULE,
                "types": {str(k): int(v) for k, v in self.rows["type"].value_counts().items()}}


def inside(starts: np.ndarray, ends: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Whether each 0-based ``x`` lies in one of the merged sorted intervals (one searchsorted, no Python loop)."""
    if not starts.size:
        return np.zeros(x.size, dtype=bool)
    i = np.searchsorted(starts, x, side="right") - 1
    return (i >= 0) & (x < ends[np.maximum(i, 0)])


def merge(starts: np.ndarray, ends: np.ndarray) -> Intervals:
    """Overlapping or touching intervals joined; sorted."""
    keep = ends > starts
    starts, ends = np.asarray(starts, dtype=np.int64)[keep], np.asarray(ends, dtype=np.int64)[keep]
    if not starts.size:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    first = np.r_[True, s[1:] > reach[:-1]]
    at = np.flatnonzero(first)
    return s[at], np.maximum.reduceat(e, at)


def read_annotation(path: Path, fasta_names: list[str], *, chrom_alias: dict[str, str] | None = None,
                    promoter_bp: int = 1000, downstream_bp: int = 1000) -> Annotation:
    """Parse ``path`` (GFF3, plain or gzip) and build the feature classes of the chromosomes in ``fasta_names``.

    GFF sequence ids are mapped to FASTA names through ``chrom_alias`` (GFF_NAME=FASTA_NAME, as --chrom-alias);
    rows on other sequences are ignored with a warning, none on a FASTA chromosome stops with the fix."""
    path = Path(path)
    require_file(path, "--annotation")
    for name, value in (("--promoter-bp", promoter_bp), ("--downstream-bp", downstream_bp)):
        if value < 0:
            raise DnactxError(f"{name} must be 0 or more bp, got {value}")
    rows = _read_rows(path)
    alias = chrom_alias or {}
    rows["chrom"] = rows["chrom"].map(lambda c: alias.get(c, c))
    known = set(fasta_names)
    on = rows["chrom"].isin(known)
    warnings = []
    if not on.any():
        from .chromnames import alias_hint

        seqids = sorted(rows["chrom"].unique())
        hint = alias_hint(seqids, list(fasta_names))
        raise DnactxError(f"--annotation {path} names none of the FASTA's chromosomes (it has "
                          f"{', '.join(seqids[:6])}, the FASTA {', '.join(fasta_names[:6])}); map names with "
                          f"--chrom-alias GFF_NAME=FASTA_NAME{hint}")
    if not on.all():
        other = rows.loc[~on, "chrom"].value_counts()
        warnings.append(f"--annotation: skipped {int(other.sum()):,} rows on sequences absent from the FASTA "
                        f"({', '.join(other.index[:5])}); map names with --chrom-alias GFF_NAME=FASTA_NAME")
    rows = rows[on].reset_index(drop=True)
    missing = [n for n in fasta_names if n not in set(rows["chrom"])]
    if missing:
        warnings.append(f"--annotation names no feature on {len(missing)} FASTA chromosome(s) "
                        f"({', '.join(missing[:5])}): their sites are 'unannotated'")
    annotation = Annotation(path, rows, promoter_bp, downstream_bp, warnings=warnings)
    if not rows["type"].eq("exon").any():
        warnings.append(f"--annotation {path} has no exon features: gene bodies read as intron")
    annotation.classes = _classes(rows, promoter_bp, downstream_bp)
    return annotation


def _read_rows(path: Path) -> pd.DataFrame:
    import pyranges as pr

    try:
        with (gzip.open(path, "rt") if _gzipped(path) else open(path, encoding="utf-8")) as handle:
            if not any(line.strip() and not line.startswith("#") for line in handle):
                raise DnactxError(f"--annotation {path} holds no feature rows; give a GFF3 file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyranges' own pandas deprecations, nothing about the file
            df = pr.read_gff3(str(path)).df
    except DnactxError:
        raise
    except (ValueError, KeyError, IndexError, UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:
        raise DnactxError(f"--annotation {path} is not a readable GFF3 ({type(exc).__name__}: {exc}); give GFF3 "
                          "(9 tab-separated columns, key=value attributes), plain or gzip") from None
    if df.empty:
        raise DnactxError(f"--annotation {path} holds no feature rows; give a GFF3 file")
    columns = {"chrom": df["Chromosome"].astype(str), "type": df["Feature"].astype(str),
               "start": df["Start"].astype(np.int64), "end": df["End"].astype(np.int64),
               "strand": df["Strand"].astype(str) if "Strand" in df else pd.Series(".", index=df.index)}
    for key in ("ID", "Parent"):
        columns[key.lower()] = df[key].astype(object) if key in df else pd.Series(None, index=df.index, dtype=object)
    return pd.DataFrame(columns)


def _gzipped(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _parents(rows: pd.DataFrame) -> pd.Series:
    """Every (row, parent id) pair: Parent may list several ids separated by commas."""
    return rows["parent"].dropna().astype(str).str.split(",").explode().str.strip()


def _classes(rows: pd.DataFrame, promoter_bp: int, downstream_bp: int) -> dict[str, dict[int, Intervals]]:
    kind = rows["type"]
    exon = kind.isin({"exon", "noncoding_exon"})
    cds_parents = set(_parents(rows[kind == "CDS"]))
    exon_parent_ids = _parents(rows[exon])
    coding_exon = exon & rows.index.isin(exon_parent_ids[exon_parent_ids.isin(cds_parents)].index)
    transcripts = rows["id"].astype(str).isin(set(exon_parent_ids)) & ~kind.isin(PSEUDO_TYPES)
    genes = kind.isin(GENE_TYPES)
    tss_rows = rows[genes] if genes.any() else rows[transcripts]
    flanks = _flanks(tss_rows, promoter_bp, downstream_bp)
    members = {
        "transposable_element": rows[kind.isin(TE_TYPES)],
        "CDS": rows[kind == "CDS"],
        "UTR": pd.concat([rows[kind.isin(UTR_TYPES)], rows[coding_exon]]),
        "pseudogene": rows[kind.isin(PSEUDO_TYPES)],
        "exon": rows[exon & ~coding_exon],
        "intron": rows[genes | transcripts],
        "promoter": flanks["promoter"],
        "downstream": flanks["downstream"],
    }
    out: dict[str, dict[int, Intervals]] = {}
    for chrom in rows["chrom"].unique():
        out[chrom] = {}
        for name, part in members.items():
            part = part[part["chrom"] == chrom]
            out[chrom][FEATURES.index(name)] = merge(part["start"].to_numpy(), part["end"].to_numpy())
    return out


def _flanks(genes: pd.DataFrame, promoter_bp: int, downstream_bp: int) -> dict[str, pd.DataFrame]:
    """Promoter (upstream of the TSS) and downstream (past the TES) spans on each gene's own strand; genes without
    a strand (.) have no orientation and get neither."""
    plus, minus = genes[genes["strand"] == "+"], genes[genes["strand"] == "-"]

    def spans(starts: list[pd.Series], ends: list[pd.Series], chroms: list[pd.Series]) -> pd.DataFrame:
        return pd.DataFrame({"chrom": pd.concat(chroms, ignore_index=True),
                             "start": np.maximum(pd.concat(starts, ignore_index=True).to_numpy(), 0),
                             "end": pd.concat(ends, ignore_index=True).to_numpy()})

    return {"promoter": spans([plus["start"] - promoter_bp, minus["end"]],
                              [plus["start"], minus["end"] + promoter_bp], [plus["chrom"], minus["chrom"]]),
            "downstream": spans([plus["end"], minus["start"] - downstream_bp],
                                [plus["end"] + downstream_bp, minus["start"]], [plus["chrom"], minus["chrom"]])}
