"""Every knob of `dnactx predict`, checked before any work is done."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..choices import CONTEXTS, PRECISIONS
from ..errors import DnactxError
from ..io.opener import require_file
from ..prepare.labels import LabelRules
from ..prepare.options import PrepareOptions
from .score import METHODS


@dataclass
class PredictOptions:
    """What to score (``model`` on ``genome``, within ``regions``/``chroms``, in ``contexts``), where to write it
    (``out``), the calls to evaluate against with prepare's label rules, and how to run (batch size, precision,
    device, torch.compile, ``method`` (sliding: a cnn convolves each chromosome once; windows: every site's input
    alone), bootstrap resamples; ``group``/``groups``: this process scores one of that many
    length-balanced chromosome groups, as a SLURM array task does)."""

    model: str
    genome: Path
    out: Path
    calls: tuple[Path, ...] = ()
    labels: LabelRules = field(default_factory=LabelRules)  # prepare's rules for labelling ``calls``
    regions: Path | None = None
    chroms: tuple[str, ...] = ()
    contexts: tuple[str, ...] = CONTEXTS
    batch_size: int | None = None
    precision: str = "no"
    device: str | None = None
    compile: bool = False
    method: str | None = None  # sliding | windows; None: sliding for a cnn, windows otherwise
    bootstrap: int = 1000
    force: bool = False
    trust_remote_code: bool = False  # this command line's opt-in to the checkpoint's own code
    group: int | None = None
    groups: int | None = None
    annotation: Path | None = None  # GFF3: a feature column, metrics by feature, and (with calls) a metaplot
    promoter_bp: int = 1000
    downstream_bp: int = 1000

    def __post_init__(self) -> None:
        self.genome, self.out = Path(self.genome), Path(self.out)
        self.calls = tuple(Path(c) for c in self.calls)
        self.regions = Path(self.regions) if self.regions is not None else None
        self.annotation = Path(self.annotation) if self.annotation is not None else None
        self.contexts = tuple(dict.fromkeys(c.strip().upper() for c in self.contexts if c.strip()))
        self.chroms = tuple(dict.fromkeys(c.strip() for c in self.chroms if c.strip()))

    def validate(self) -> None:
        require_file(self.genome, "--genome")
        if self.regions is not None:
            require_file(self.regions, "--regions")
        if self.annotation is not None:
            require_file(self.annotation, "--annotation")
        if self.promoter_bp < 0 or self.downstream_bp < 0:
            raise DnactxError(f"--promoter-bp and --downstream-bp must be 0 or more bp, got {self.promoter_bp} and "
                              f"{self.downstream_bp}")
        for path in self.calls:
            require_file(path, "--calls")
        if self.out.exists() and not self.out.is_dir():
            raise DnactxError(f"--out {self.out} is a file; give a folder for the predictions")
        bad = [c for c in self.contexts if c not in CONTEXTS]
        if bad or not self.contexts:
            raise DnactxError(f"--contexts must be a comma list of {','.join(CONTEXTS)}, got {','.join(self.contexts)}")
        if self.precision not in PRECISIONS:
            raise DnactxError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise DnactxError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.method is not None and self.method not in METHODS:
            raise DnactxError(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.bootstrap < 0:
            raise DnactxError(f"--bootstrap must be 0 (no intervals) or more resamples, got {self.bootstrap}")
        if (self.group is None) != (self.groups is None):
            raise DnactxError("--group and --groups go together (task K of N chromosome groups)")
        if self.groups is not None and not 0 <= self.group < self.groups:  # type: ignore[operator]
            raise DnactxError(f"--group must be in 0 … {self.groups - 1} for --groups {self.groups}, got {self.group}")
        if self.calls:
            self.labels.validate()  # prepare's own checks of the label rules, before any work

    def scoring_method(self, slides: bool, family: str) -> str:
        """The --method for a scorer that can (``slides``) or cannot slide; sliding where it cannot is refused."""
        if self.method is None:
            return "sliding" if slides else "windows"
        if self.method == "sliding" and not slides:
            raise DnactxError(f"--method sliding needs a cnn whose inputs are at least 64 bp; this model is a {family}"
                              " that scores each site's input alone: use --method windows (or leave --method out)")
        return self.method

    def label_options(self, window: int) -> PrepareOptions:
        """prepare's options for reading and labelling ``calls`` (so predict labels exactly as prepare does)."""
        return PrepareOptions(genome=self.genome, calls=self.calls, out=self.out, labels=self.labels, window=window,
                              contexts=self.contexts)

    def label_rules(self) -> dict | None:
        """The label rules as recorded in predict.json (None without --calls)."""
        return self.labels.to_dict() if self.calls else None
