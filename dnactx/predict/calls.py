"""``predict --calls``: methylation calls read, checked, summed and labelled by prepare's own code, per chromosome.

Pass one is prepare's ``Ingest`` into a spill beside the output (only the chromosomes this process scores); for
each chromosome, prepare's ``SiteBuilder`` checks the calls against the genome and sums duplicate rows, and its
filters (coverage, contexts, ``--exclude-between``) decide which sites prepare would keep: those get prepare's
label (``build.labels``). No split and no subsample: every kept site is labelled.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import DnactxError
from ..io.detect import check_roles, detect_format
from ..io.fasta import FastaGenome
from ..prepare.build import SiteBuilder, early_check, labels
from ..prepare.ingest import Ingest
from ..prepare.options import PrepareOptions
from ..prepare.spill import Spill
from ..prepare.summary import Tally
from ..prepare.windows import Stranded

CHUNK_ROWS = 250_000


class _ChromosomeSpill(Spill):
    """A spill that keeps only the records of the chromosomes (genome indices) this process scores."""

    def __init__(self, folder: Path, lengths: np.ndarray, chroms: Iterable[int]) -> None:
        super().__init__(folder, lengths)
        self.wanted = np.zeros(len(lengths), dtype=bool)
        self.wanted[list(chroms)] = True

    def add(self, records: np.ndarray) -> None:
        super().add(records[self.wanted[records["chrom"]]])


class CallLabels:
    """The calls of ``options`` (a PrepareOptions: files, format, coverage, threshold, contexts…), read once;
    :meth:`chromosome` gives one chromosome's called sites with their counts and labels."""

    def __init__(self, options: PrepareOptions, genome: FastaGenome, folder: Path, chroms: Iterable[int]) -> None:
        self.options, self.genome, self.folder = options, genome, Path(folder)
        for path in options.calls:
            check_roles(options.genome, path)
        layouts = [detect_format(path, options.labels.format) for path in options.calls]
        self.tally = Tally()
        self.spill = _ChromosomeSpill(self.folder, genome.lengths, chroms)
        ingest = Ingest(options, genome, self.tally, self.spill, None)
        for i, (path, layout) in enumerate(zip(options.calls, layouts, strict=True)):
            ingest.read(i, path, layout, CHUNK_ROWS,
                        first=lambda records: early_check(options, genome, layouts, records))
        self._check_names()
        self.builder = SiteBuilder(options, genome, layouts, self.tally, splits=None,
                                   chrom_split=np.zeros(len(genome.names), dtype=np.int8), chunk_rows=CHUNK_ROWS)

    def _check_names(self) -> None:
        t = self.tally
        mapped = t.rows - sum(t.skipped.get(k, 0) for k in ("unknown_chromosome", "other_modification",
                                                             "control_chromosome"))
        if t.rows and mapped <= 0 and t.unknown_chroms:
            calls = ", ".join(list(t.unknown_chroms)[:8])
            raise DnactxError(f"--calls name no chromosome of --genome {self.options.genome}: the calls have "
                              f"{calls}, the FASTA has {', '.join(self.genome.names[:8])}; map names with "
                              "--chrom-alias CALLS_NAME=FASTA_NAME")

    def chromosome(self, index: int, bases: Stranded) -> dict[str, np.ndarray]:
        """Chromosome ``index``'s called sites, sorted by ``key`` (pos * 2 + 1 on −): mc, cov (int64), level
        (mc / cov, NaN without coverage), label (int8, -1 where prepare's filters drop the site)."""
        rec = self.spill.chromosome(index)
        if not rec.size:
            empty = np.zeros(0, dtype=np.int64)
            return {"key": empty, "mc": empty, "cov": empty, "level": np.zeros(0), "label": np.zeros(0, np.int8)}
        sites, keep = self.builder.called_sites(index, bases, rec)
        level = np.divide(sites.mc, sites.cov, out=np.full(sites.mc.size, np.nan), where=sites.cov > 0)
        label = np.where(keep, labels(np.nan_to_num(level), self.options.labels.threshold), -1).astype(np.int8)
        key = sites.pos.astype(np.int64) * 2 + (sites.strand < 0)
        order = np.argsort(key, kind="stable")
        return {"key": key[order], "mc": sites.mc[order].astype(np.int64), "cov": sites.cov[order].astype(np.int64),
                "level": level[order], "label": label[order]}

    def warnings(self) -> list[str]:
        """What prepare would warn about these calls: rows on chromosomes absent from the FASTA, sites that
        disagree with the genome (within tolerance), summed duplicates."""
        t, out = self.tally, []
        if t.unknown_chroms:
            listed = ", ".join(f"{n} ({c:,} rows)" for n, c in t.unknown_chroms.most_common(8))
            out.append(f"skipped {sum(t.unknown_chroms.values()):,} call rows on chromosomes absent from the "
                       f"FASTA: {listed}")
        if t.mismatched:
            out.append(f"skipped {t.mismatched:,} of {t.checked:,} called sites that disagree with the genome "
                       f"(within tolerance); first: {t.first_mismatch}")
        if t.duplicate_sites:
            out.append(f"{t.duplicate_sites:,} site(s) had more than one call row: their counts were added")
        return out

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def join_calls(called: dict[str, np.ndarray], pos: np.ndarray, strand: np.ndarray) -> dict[str, np.ndarray]:
    """The calls of the sites (``pos``, ``strand``) from :meth:`CallLabels.chromosome`: mc, cov, level, label,
    ``found`` (a call with coverage ≥ 1) and ``labelled`` (prepare keeps the site)."""
    key = pos.astype(np.int64) * 2 + (strand < 0)
    at = np.searchsorted(called["key"], key)
    hit = np.zeros(key.size, dtype=bool)
    inside = at < called["key"].size
    hit[inside] = called["key"][at[inside]] == key[inside]
    out = {"mc": np.zeros(key.size, np.int64), "cov": np.zeros(key.size, np.int64), "level": np.zeros(key.size),
           "label": np.full(key.size, -1, dtype=np.int8)}
    for name, column in out.items():
        column[hit] = called[name][at[hit]]
    out["level"] = np.nan_to_num(out["level"])
    out["found"] = out["cov"] > 0
    out["labelled"] = out["label"] >= 0
    return out
