"""Every knob of `dnactx prepare`, checked up front so that bad values fail before any work is done."""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..choices import CONTEXTS
from ..errors import DnactxError
from .labels import LabelRules


@dataclass
class PrepareOptions:
    genome: Path
    calls: tuple[Path, ...]  # one or more call files (a single path is accepted too)
    out: Path
    labels: LabelRules = field(default_factory=LabelRules)  # how call-file rows become labelled sites
    window: int = 800
    contexts: tuple[str, ...] = CONTEXTS
    fraction: float = 1.0
    seed: int = 0
    split: str = "blocks"
    block_size: int = 100_000
    val_frac: float = 0.1
    test_frac: float = 0.1
    val_chroms: tuple[str, ...] = ()
    test_chroms: tuple[str, ...] = ()
    control_chrom: str | None = None
    mismatch_tolerance: float = 0.01
    chunk_rows: int = 250_000
    annotation: Path | None = None  # GFF3: each site's genomic feature class (dataset column `feature`)
    promoter_bp: int = 1000
    downstream_bp: int = 1000

    def __post_init__(self) -> None:
        self.genome, self.out = Path(self.genome), Path(self.out)
        calls = [self.calls] if isinstance(self.calls, (str, os.PathLike)) else list(self.calls)
        self.calls = tuple(Path(c) for c in calls)
        self.contexts = tuple(c.strip().upper() for c in self.contexts)
        self.val_chroms, self.test_chroms = tuple(self.val_chroms), tuple(self.test_chroms)
        self.annotation = Path(self.annotation) if self.annotation is not None else None
        self.validate()

    def validate(self) -> None:
        if not self.calls:
            raise DnactxError("--calls is required: a methylation call file (repeat --calls for several)")
        if len(self.calls) > 65_535:
            raise DnactxError(f"{len(self.calls):,} --calls files; at most 65,535 (concatenate some)")
        self.labels.validate()
        if self.window < 2 or self.window % 2:
            raise DnactxError(f"--window must be an even number ≥ 2 (flank of window/2 each side), got {self.window}")
        bad = [c for c in self.contexts if c not in CONTEXTS]
        if bad or not self.contexts:
            raise DnactxError(f"--contexts must be a comma list of {','.join(CONTEXTS)}, got {','.join(self.contexts)}")
        if not 0.0 < self.fraction <= 1.0:
            raise DnactxError(f"--fraction must be in (0, 1], got {self.fraction}")
        if self.split not in ("blocks", "chroms"):
            raise DnactxError(f"--split must be blocks or chroms, got {self.split!r}")
        if self.split == "blocks":
            if self.block_size <= self.window:
                raise DnactxError(f"--block-size ({self.block_size}) must be larger than --window ({self.window}) "
                                  "so that windows can stay inside one block")
            if self.val_frac <= 0 or self.test_frac <= 0 or self.val_frac + self.test_frac >= 1:
                raise DnactxError(f"--val-frac and --test-frac must be > 0 with a sum below 1, got "
                                  f"{self.val_frac} and {self.test_frac}")
        else:
            if not self.val_chroms or not self.test_chroms:
                raise DnactxError("--split chroms needs --val-chroms and --test-chroms (comma lists of FASTA names)")
            both = set(self.val_chroms) & set(self.test_chroms)
            if both:
                raise DnactxError(f"chromosome(s) {', '.join(sorted(both))} are in both --val-chroms and "
                                  "--test-chroms; give each to one split")
        if self.promoter_bp < 0 or self.downstream_bp < 0:
            raise DnactxError(f"--promoter-bp and --downstream-bp must be 0 or more bp, got {self.promoter_bp} and "
                              f"{self.downstream_bp}")
        if self.annotation is not None and not self.annotation.is_file():
            raise DnactxError(f"--annotation {self.annotation} does not exist or is not a file; give a GFF3 file")
        if not 0.0 <= self.mismatch_tolerance < 1.0:
            raise DnactxError(f"mismatch tolerance must be in [0, 1), got {self.mismatch_tolerance}")

    def to_dict(self) -> dict:
        """prepare.json's parameters: every option, the label rules among them (one flat object)."""
        d = dataclasses.asdict(self)
        del d["labels"]
        d.update(self.labels.to_dict())
        for key in ("genome", "out"):
            d[key] = str(d[key])
        d["annotation"] = str(self.annotation) if self.annotation is not None else None
        d["calls"] = [str(c) for c in self.calls]
        d["contexts"] = list(self.contexts)
        d["val_chroms"], d["test_chroms"] = list(self.val_chroms), list(self.test_chroms)
        del d["chunk_rows"]
        return d


_GLOB_CHARS = set("*?[")


def expand_calls(items: Sequence[str | os.PathLike[str]]) -> tuple[Path, ...]:
    """``--calls`` values → files: a value with * ? [ is a pattern expanded here (sorted), so a quoted glob
    works; the same file named twice stops (its counts would be added to themselves)."""
    out: list[Path] = []
    for item in items:
        text = str(item)
        if _GLOB_CHARS & set(text) and not Path(text).exists():
            found = sorted(glob.glob(os.path.expanduser(text)))
            if not found:
                raise DnactxError(f"--calls {text!r} matches no file; check the pattern")
            out.extend(Path(f) for f in found)
        else:
            out.append(Path(text))
    seen: dict[Path, Path] = {}
    for path in out:
        key = path.resolve()
        if key in seen:
            raise DnactxError(f"--calls names {path} twice (also as {seen[key]}); give each file once")
        seen[key] = path
    return tuple(out)
