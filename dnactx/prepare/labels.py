"""LabelRules: how rows of methylation call files become labelled sites, one set of rules shared by
`dnactx prepare` and `dnactx predict --calls` (so predict labels exactly as prepare does)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DnactxError
from ..io.formats import FORMATS, MOD_CODES


@dataclass
class LabelRules:
    """``format`` of the call files (auto: read from the content), the modkit rows to read (``mod_code``), sites
    with fewer than ``min_coverage`` reads dropped, label 1 where the methylated fraction is ≥ ``threshold``,
    sites with LO < level < HI (``exclude_between``) left out, and ``chrom_alias``: a calls-file chromosome name →
    its FASTA name."""

    format: str = "auto"
    mod_code: str = "m"
    min_coverage: int = 3
    threshold: float = 0.5
    exclude_between: tuple[float, float] | None = None
    chrom_alias: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.format != "auto" and self.format not in FORMATS:
            raise DnactxError(f"unknown --format {self.format!r}; use auto or one of {', '.join(FORMATS)}")
        if self.mod_code not in MOD_CODES:
            raise DnactxError(f"--mod-code must be one of {', '.join(MOD_CODES)}, got {self.mod_code!r}")
        if self.min_coverage < 1:
            raise DnactxError(f"--min-coverage must be at least 1 (a level needs reads), got {self.min_coverage}")
        if not 0.0 < self.threshold <= 1.0:
            raise DnactxError(f"--threshold must be in (0, 1], got {self.threshold}")
        if self.exclude_between is not None:
            lo, hi = self.exclude_between
            if not 0.0 <= lo < hi <= 1.0:
                raise DnactxError(f"--exclude-between needs 0 ≤ LO < HI ≤ 1, got {lo} {hi}")

    def to_dict(self) -> dict:
        """The rules as prepare.json's parameters and predict.json's label_rules record them."""
        return {"format": self.format, "mod_code": self.mod_code, "min_coverage": self.min_coverage,
                "threshold": self.threshold,
                "exclude_between": list(self.exclude_between) if self.exclude_between else None,
                "chrom_alias": dict(self.chrom_alias)}


def parse_aliases(items: list[str] | None) -> dict[str, str]:
    """``["Chr1=chr1", ...]`` → ``{"Chr1": "chr1"}`` (calls-file name → FASTA name)."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise DnactxError(f"--chrom-alias must look like NAME=FASTA_NAME (e.g. Chr1=chr1), got {item!r}")
        out[name.strip()] = target.strip()
    return out
