"""``dnactx pretrain``'s options, checked (numbers, choices, files) before any genome is read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..choices import PRECISIONS
from ..errors import DnactxError
from .model import ARCHS
from .vocab import parse_tokenizer

# what may differ between a run and its --resume (everything else must match, or the weights would not continue)
RESUME_FREE = ("resume", "quiet")


@dataclass
class PretrainOptions:
    genomes: list[Path]
    out: Path
    tokenizer: str = "kmer:6"
    arch: str = "bert"
    layers: int = 4
    hidden: int = 256
    heads: int = 4
    length: int = 512
    mask_rate: float = 0.15
    steps: int | None = None
    tokens: int | None = None
    epochs: float | None = None
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 5e-4
    warmup: float = 0.05
    precision: str = "no"
    exclude: list[Path] = field(default_factory=list)
    exclude_dataset: list[Path] = field(default_factory=list)
    name: str | None = None
    eval_every: int = 500
    seed: int = 0
    resume: bool = False
    quiet: bool = False

    def validate(self) -> PretrainOptions:
        if not self.genomes:
            raise DnactxError("pretrain needs at least one --genome FASTA (plain, gzip or bgzip)")
        for g in self.genomes:
            if not Path(g).is_file():
                raise DnactxError(f"--genome {g} does not exist; give a FASTA file (plain, gzip or bgzip)")
        parse_tokenizer(self.tokenizer)
        if self.arch not in ARCHS:
            raise DnactxError(f"--arch {self.arch!r} is not one of {', '.join(ARCHS)}; e.g. --arch bert")
        for flag, value in (("--layers", self.layers), ("--hidden", self.hidden), ("--heads", self.heads),
                            ("--batch-size", self.batch_size), ("--grad-accum", self.grad_accum),
                            ("--eval-every", self.eval_every)):
            if value < 1:
                raise DnactxError(f"{flag} must be ≥ 1, got {value}")
        if self.hidden % self.heads:
            raise DnactxError(f"--hidden {self.hidden} must be a multiple of --heads {self.heads}; "
                              f"e.g. --hidden {self.heads * 64}")
        kind, k = parse_tokenizer(self.tokenizer)
        shortest = 2 * k if kind in ("kmer", "nt") else 16
        if not shortest <= self.length <= 100_000:
            raise DnactxError(f"--length must be between {shortest} and 100,000 bp, got {self.length}")
        if not 0 < self.mask_rate < 0.5:
            raise DnactxError(f"--mask-rate must be in (0, 0.5), got {self.mask_rate}; e.g. 0.15")
        if not 0 < self.lr < 1:
            raise DnactxError(f"--lr must be in (0, 1), got {self.lr}; e.g. 5e-4")
        if not 0 <= self.warmup < 1:
            raise DnactxError(f"--warmup must be a fraction of the steps in [0, 1), got {self.warmup}")
        if self.precision not in PRECISIONS:
            raise DnactxError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        budgets = [f for f, v in (("--steps", self.steps), ("--tokens", self.tokens), ("--epochs", self.epochs))
                   if v is not None]
        if len(budgets) > 1:
            raise DnactxError(f"give one of --steps, --tokens, --epochs, not {' and '.join(budgets)}")
        for flag, value in (("--steps", self.steps), ("--tokens", self.tokens), ("--epochs", self.epochs)):
            if value is not None and value <= 0:
                raise DnactxError(f"{flag} must be > 0, got {value}")
        for bed in self.exclude:
            if not Path(bed).is_file():
                raise DnactxError(f"--exclude {bed} does not exist; give a BED file of regions to leave out")
        for ds in self.exclude_dataset:
            p = Path(ds)
            if not (p / "dataset.parquet").is_file() and not (p.is_file() and p.suffix == ".parquet"):
                raise DnactxError(f"--exclude-dataset {ds} is not a prepared dataset (no dataset.parquet); give a "
                                  "folder made by `dnactx prepare`")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["genomes"] = [str(g) for g in self.genomes]
        d["out"] = str(self.out)
        d["exclude"] = [str(p) for p in self.exclude]
        d["exclude_dataset"] = [str(p) for p in self.exclude_dataset]
        return d

    def differences(self, saved: dict) -> list[str]:
        """Options that differ from a checkpointed run's (``saved``), as ``--flag old → new``."""
        now = self.to_dict()
        return [f"--{k.replace('_', '-')} {saved.get(k)!r} → {v!r}" for k, v in now.items()
                if k not in RESUME_FREE and saved.get(k) != v]
