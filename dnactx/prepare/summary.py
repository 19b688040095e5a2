"""Running counts while preparing, and the prepare.json summary built from them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..choices import CONTEXTS, SPLITS

# Reasons a row of the calls file does not become a site, in the order they are applied.
SKIP_REASONS = (
    "other_modification",  # modkit rows for modification codes --mod-code does not read
    "control_chromosome",
    "unknown_chromosome",
    "genome_mismatch",  # reference has no C there, or the file's context/trinucleotide differs (within tolerance)
    "read_level_call",  # modkit rows where the reference base is not C (+) / G (−): calls at SNPs or read errors
    "duplicate_row",  # a second row for a site already read (another file, or the same file): counts added to it
    "undetermined_context",  # an N next to the cytosine decides the context
    "low_coverage",
    "context_filter",
    "ambiguous",  # --exclude-between
    "subsample",  # --fraction
    "split_boundary",  # leakage guard: window reaches a block of another split
)


@dataclass
class Tally:
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown_chroms: Counter = field(default_factory=Counter)
    counts: np.ndarray = field(default_factory=lambda: np.zeros((3, 3), dtype=np.int64))  # split × context
    positives: np.ndarray = field(default_factory=lambda: np.zeros((3, 3), dtype=np.int64))
    repeats: int = 0
    blocks: set = field(default_factory=set)
    checked: int = 0
    mismatched: int = 0
    first_mismatch: str | None = None
    read_level_checked: int = 0  # rows of formats that write read-level calls (modkit) checked against the genome
    read_level: int = 0
    shift: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))  # see sites.shift_hits
    duplicate_sites: int = 0  # sites with more than one row
    duplicate_sites_across_files: int = 0  # of which with rows in more than one file
    merged_sites: int = 0  # sites whose counts hold both strands (MethylDackel --mergeContext, modkit '.')
    control_rows: int = 0
    control_mc: int = 0
    control_cov: int = 0
    control_ctx_mc: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))
    control_ctx_cov: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))

    def skip(self, reason: str, n: int | np.integer) -> None:
        if n:
            self.skipped[reason] += int(n)

    def add_sites(self, split: np.ndarray, context: np.ndarray, label: np.ndarray, repeat: np.ndarray) -> None:
        cell = split.astype(np.int64) * 3 + context
        self.counts += np.bincount(cell, minlength=9).reshape(3, 3)
        self.positives += np.bincount(cell, weights=label, minlength=9).astype(np.int64).reshape(3, 3)
        self.repeats += int(repeat.sum())

    @property
    def n_sites(self) -> int:
        return int(self.counts.sum())

    def split_sizes(self) -> dict[str, int]:
        return {s: int(self.counts[i].sum()) for i, s in enumerate(SPLITS)}

    def control(self, name: str | None) -> dict | None:
        if name is None:
            return None
        rate = self.control_mc / self.control_cov if self.control_cov else None
        by_context = {c: {"mc": int(self.control_ctx_mc[j]), "cov": int(self.control_ctx_cov[j]),
                          "non_conversion_rate": float(self.control_ctx_mc[j] / self.control_ctx_cov[j])}
                      for j, c in enumerate(CONTEXTS) if self.control_ctx_cov[j]}
        return {"chrom": name, "rows": self.control_rows, "mc": self.control_mc, "cov": self.control_cov,
                "non_conversion_rate": rate, "conversion_rate": None if rate is None else 1.0 - rate,
                "by_context": by_context}

    def tables(self) -> dict:
        """counts, positives and label rates per split × context, with totals."""
        def table(a: np.ndarray) -> dict:
            out = {s: {c: int(a[i, j]) for j, c in enumerate(CONTEXTS)} | {"all": int(a[i].sum())}
                   for i, s in enumerate(SPLITS)}
            out["all"] = {c: int(a[:, j].sum()) for j, c in enumerate(CONTEXTS)} | {"all": int(a.sum())}
            return out

        counts, positives = table(self.counts), table(self.positives)
        rates = {s: {c: (positives[s][c] / counts[s][c] if counts[s][c] else None) for c in counts[s]}
                 for s in counts}
        return {"counts": counts, "positives": positives, "label_rates": rates}

    def skipped_dict(self) -> dict[str, int]:
        return {r: int(self.skipped.get(r, 0)) for r in SKIP_REASONS}
