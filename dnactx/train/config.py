"""TrainConfig: every knob of one training run, shared by ``train``, ``matrix`` (grid axes) and ``submit``.

Each field's metadata names its CLI flag and help, so ``matrix`` can accept any train option as a comma list
without repeating the list of options.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..choices import MODE_ALIASES, Mode, Precision, Target, family_of_model
from ..errors import DnactxError


# The closed sets of values a field takes: `--help` lists them and shell completion offers them (cli/options.py).
# Mode and Precision are shared with predict and the run folders: they live in dnactx/choices.py.
class Finetune(str, Enum):
    frozen = "frozen"
    top = "top:N"  # N ≥ 1 encoder layers trained
    full = "full"
    lora = "lora:R"  # low-rank adapters of rank R ≥ 1 on the attention projections (peft); the encoder stays frozen


class Loss(str, Enum):
    bce = "bce"
    weighted = "weighted"
    focal = "focal"
    binomial = "binomial"
    betabinomial = "betabinomial"


LEVEL_LOSSES = (Loss.binomial.value, Loss.betabinomial.value)  # --target level; bce there means binomial


class ClassWeight(str, Enum):
    balanced = "balanced"
    none = "none"


class Solver(str, Enum):
    lbfgs = "lbfgs"
    saga = "saga"


class Calibrate(str, Enum):
    none = "none"
    platt = "platt"
    isotonic = "isotonic"


class ThresholdBy(str, Enum):
    global_ = "global"
    context = "context"


DEFAULT_HF_MODEL = "zhihan1996/DNA_bert_6"
LR_SOLVERS = tuple(s.value for s in Solver)


def _opt(default: Any, help: str, *, flag: str | None = None, grid: bool = True,
         choices: type[Enum] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "flag": flag, "grid": grid, "choices": choices})


@dataclass
class TrainConfig:
    data: str = _opt("", "dataset.parquet written by `dnactx prepare`.", grid=False)
    model: str = _opt(DEFAULT_HF_MODEL, "lr | cnn | dnabert6-tiny | a Hugging Face id | a local checkpoint folder.")
    size: int = _opt(100, "Context size in bp cut from the dataset's windows.")
    mode: str = _opt("both", "up (5' of the C) | down (3' of the C) | both (size bp each side).", choices=Mode)
    name: str | None = _opt(None, "A name for the run (default: derived from model, size, mode).", grid=False)
    site_context: bool = _opt(True, "Give the model the cytosine's own context (CG/CHG/CHH) as an input.")
    finetune: str = _opt("frozen", "frozen | top:N | full | lora:R (transformers only; lora: rank-R adapters on "
                                    "the attention projections, only adapters and head saved).", choices=Finetune)
    trust_remote_code: bool = _opt(False, "Run the Python code a checkpoint ships (DNABERT-2, HyenaDNA, Nucleotide "
                                          "Transformer v2); read it first, it runs with your permissions.")
    epochs: int = _opt(5, "Maximum epochs.")
    patience: int = _opt(2, "Early stopping: epochs without a better val AUPRC before stopping.")
    lr: float | None = _opt(None, "Learning rate of the encoder (default by model: 2e-5 transformer, 1e-3 cnn; "
                                  "5e-4 for the adapters of --finetune lora:R).")
    head_lr: float = _opt(1e-3, "Learning rate of the classification head.")
    batch_size: int = _opt(64, "Batch size per device.")
    grad_accum: int = _opt(1, "Gradient accumulation steps.")
    warmup: float = _opt(0.1, "Warm-up as a fraction of all optimiser steps (linear, then linear decay).")
    precision: str = _opt("no", "Mixed precision: no | bf16 | fp16.", choices=Precision)
    seed: int = _opt(0, "Random seed (data order, initialisation, subsampling).")
    target: str = _opt("label", "label: the binary label | level: the methylated fraction, fitted with a binomial "
                                "likelihood on the read counts (a site with 40 reads weighs more than one with 3); "
                                "lr becomes the binomial GLM. Level runs add Pearson/Spearman r, MAE and "
                                "coverage-weighted R² per context to metrics.json, beside AUROC/AUPRC of the "
                                "predicted level against the label.", choices=Target)
    loss: str = _opt("bce", "bce | weighted (pos_weight) | focal (--target label); binomial | betabinomial "
                            "(--target level; bce there means binomial).", choices=Loss)
    overdispersion: float = _opt(0.1, "--loss betabinomial: the intra-site correlation rho in (0, 1) of the reads "
                                      "(0 would be the binomial).")
    pos_weight: float | None = _opt(None, "Positive-class weight for --loss weighted (default negatives/positives).")
    focal_gamma: float = _opt(2.0, "Focal loss gamma.")
    focal_alpha: float | None = _opt(0.25, "Focal loss alpha (weight of positives); none to disable.")
    class_weight: str = _opt("balanced", "lr only: balanced | none.", choices=ClassWeight)
    solver: str = _opt("lbfgs", "lr only: lbfgs | saga. Real data, 100k sites: lbfgs converged in 41 s (test AUROC "
                                "0.921); saga stopped unconverged at its 200-pass budget after 142 s (0.912).",
                        choices=Solver)
    C: float | str = _opt("auto", "lr only: inverse regularisation strength, or auto: pick the k-mer scaling (per-k "
                                  "frequencies, L2-normalised counts) and class weights (balanced, none) at C 10, then "
                                  "C (0.1, 1, 10, 100) for the winner, on validation AUPRC (5-7 fits), so "
                                  "--class-weight applies to a numeric C only. Real data both/200: auto reached "
                                  "val/test AUPRC 0.311/0.267 vs 0.255/0.147 at C 10 balanced, at ~5x that one fit's "
                                  "time.",
                          flag="--C")
    max_train: int | None = _opt(None, "Use at most this many training sites (deterministic subsample); "
                                 f"lr defaults to {100_000:,}: its k-mer features take ~20 MB per 1,000 sites.")
    train_fraction: float | None = _opt(None, "Use this fraction of the training sites (deterministic subsample).")
    bootstrap: int = _opt(1000, "Block-bootstrap resamples behind the 95% intervals in metrics.json (AUROC, AUPRC, "
                                "F1, per context, within-context, context floor); 0 turns them off.")
    bootstrap_block: int = _opt(10_000, "Genomic block length in bp that the bootstrap resamples whole: neighbouring "
                                        "cytosines are correlated. Fewer than 30 blocks in a split: intervals are "
                                        "marked approximate.")
    calibrate: str = _opt("none", "none | platt | isotonic: fit a calibration map on the val predictions and apply "
                                  "it to val and test; metrics record ECE and Brier before and after, and the saved "
                                  "predictions and *_at_threshold use the calibrated scores (the model's own are kept "
                                  "as *_prob_raw).", choices=Calibrate)
    threshold_by: str = _opt("global", "global | context: one F1-maximising threshold tuned on val, or one per "
                                       "CG/CHG/CHH; metrics.json carries both and their F1, *_at_threshold the chosen "
                                       "one.", choices=ThresholdBy)

    def __post_init__(self) -> None:
        self.mode = normalise_mode(self.mode)
        if self.size < 1:
            raise DnactxError(f"--size must be at least 1 bp, got {self.size}")
        for name, choices in (("target", Target), ("loss", Loss), ("precision", Precision), ("solver", Solver),
                              ("class_weight", ClassWeight), ("calibrate", Calibrate), ("threshold_by", ThresholdBy)):
            value = getattr(self, name)
            if value not in {c.value for c in choices}:
                raise DnactxError(f"--{name.replace('_', '-')} must be {_one_of(choices)}, got {value!r}")
        self.loss = _loss_for_target(self.target, self.loss, self.model)
        parse_finetune(self.finetune)
        for name in ("epochs", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise DnactxError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.patience < 0:
            raise DnactxError(f"--patience must be 0 or more, got {self.patience}")
        if not 0 <= self.warmup < 1:
            raise DnactxError(f"--warmup is a fraction of all steps in [0, 1), got {self.warmup}")
        if self.train_fraction is not None and not 0 < self.train_fraction <= 1:
            raise DnactxError(f"--train-fraction must be in (0, 1], got {self.train_fraction}")
        if self.max_train is not None and self.max_train < 1:
            raise DnactxError(f"--max-train must be at least 1, got {self.max_train}")
        if self.bootstrap < 0:
            raise DnactxError(f"--bootstrap must be 0 (no intervals) or a number of resamples, got {self.bootstrap}")
        if self.bootstrap_block < 1:
            raise DnactxError(f"--bootstrap-block must be at least 1 bp, got {self.bootstrap_block}")
        _check_numbers(self)
        self.C = parse_C(self.C)

    @property
    def family(self) -> str:
        return family_of_model(self.model)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# The stated range of each number-valued option not checked above: (lowest, highest, lowest included, what it is).
# Every float must also be finite: a NaN learning rate would train to the end and fail only at evaluation.
_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "lr": (0.0, 10.0, False, "a learning rate in (0, 10]"),
    "head_lr": (0.0, 10.0, False, "a learning rate in (0, 10]"),
    "pos_weight": (0.0, 1e6, False, "a positive-class weight in (0, 1e6]"),
    "focal_gamma": (0.0, 100.0, True, "a focusing exponent in [0, 100]"),
    "focal_alpha": (0.0, 1.0, True, "a weight of positives in [0, 1]"),
    "seed": (0, 2**32 - 1, True, "a seed in [0, 4294967295]"),
    "overdispersion": (0.0, 0.999, False, "an intra-site correlation in (0, 0.999]"),
}
MAX_NAME = 120  # characters of a run name: it titles tables, report sections and SLURM job names


def _check_numbers(config: TrainConfig) -> None:
    """Every numeric option finite and within its stated range, before any run folder or registry row exists."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        flag = flag_of(f)
        if isinstance(value, float) and not math.isfinite(value):
            raise DnactxError(f"{flag} must be a finite number, got {value}; give a plain number (see `dnactx train "
                              "--help`)")
        if f.name in _RANGES:
            low, high, closed, what = _RANGES[f.name]
            if not ((low <= value if closed else low < value) and value <= high):
                raise DnactxError(f"{flag} must be {what}, got {value}")


def _loss_for_target(target: str, loss: str, model: str) -> str:
    """The loss a run trains with: under ``--target level`` bce (the default) is the binomial likelihood, and the
    label losses are refused; under ``--target label`` the level losses are."""
    if target == Target.level.value:
        if loss == Loss.bce.value:
            return Loss.binomial.value
        if loss not in LEVEL_LOSSES:
            raise DnactxError(f"--loss {loss} weighs binary labels; --target level trains with --loss binomial or "
                              "betabinomial")
        if loss == Loss.betabinomial.value and family_of_model(model) == "lr":
            raise DnactxError("--loss betabinomial: lr fits the binomial GLM only; use --loss binomial for lr, or "
                              "--model cnn")
    elif loss in LEVEL_LOSSES:
        raise DnactxError(f"--loss {loss} fits methylation levels; add --target level, or use bce, weighted or focal")
    return loss


def check_name(name: str) -> str:
    """A run name as given, or one DnactxError line: no control characters (newlines, tabs, terminal escapes), at
    most MAX_NAME characters, not blank. Names already stored are still shown safely (``formatting.plain``)."""
    bad = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
    if bad:
        raise DnactxError(f"--name holds control characters ({', '.join(bad)}); give a name of printable characters")
    if not name.strip():
        raise DnactxError("--name is blank; give a name of printable characters, or leave --name out")
    if len(name) > MAX_NAME:
        raise DnactxError(f"--name is {len(name)} characters long; give at most {MAX_NAME}")
    return name


LR_DEFAULT_MAX_TRAIN = 100_000
DEFAULT_ENCODER_LR = {"cnn": 1e-3, "transformer": 2e-5}  # when --lr is not given
DEFAULT_LORA_LR = 5e-4  # --finetune lora:R without --lr: the adapters' rate (the LoRA paper's RoBERTa-base range)


@dataclass(frozen=True)
class LoopConfig:
    """What the trainer loop (``loop.fit``) needs of a run: its TrainConfig knobs and where it writes."""

    run_dir: Path  # the preemption checkpoint and train_log.jsonl go here
    epochs: int = 5
    patience: int = 2
    batch_size: int = 64
    grad_accum: int = 1
    warmup: float = 0.1
    encoder_lr: float = 2e-5
    head_lr: float = 1e-3
    seed: int = 0
    resume: bool = False  # continue from the checkpoint in run_dir
    quiet: bool = False  # no progress bar

    @classmethod
    def from_train_config(cls, config: TrainConfig, *, run_dir: Path, resume: bool = False,
                          quiet: bool = False) -> LoopConfig:
        default = DEFAULT_LORA_LR if lora_rank(config.finetune) else DEFAULT_ENCODER_LR[config.family]
        encoder_lr = config.lr if config.lr is not None else default
        return cls(run_dir=Path(run_dir), epochs=config.epochs, patience=config.patience,
                   batch_size=config.batch_size, grad_accum=config.grad_accum, warmup=config.warmup,
                   encoder_lr=encoder_lr, head_lr=config.head_lr, seed=config.seed, resume=resume, quiet=quiet)


def effective_max_train(config: TrainConfig) -> int | None:
    """``--max-train`` as given, else the lr cap (k-mer features of every site of a genome would not fit)."""
    if config.max_train is None and config.family == "lr":
        return LR_DEFAULT_MAX_TRAIN
    return config.max_train


def parse_C(value: float | str) -> float | str:
    """``"auto"`` (any case) stays ``"auto"``; anything else must be a positive finite number, returned as a float."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (math.isfinite(number) and number > 0):
        raise DnactxError(f"--C must be auto or a positive number, got {value!r}")
    return number


def normalise_mode(mode: str) -> str:
    try:
        return MODE_ALIASES[mode.strip().lower()]
    except KeyError:
        raise DnactxError(f"--mode must be up, down or both (or upstream/downstream), got {mode!r}") from None


def parse_finetune(text: str) -> int | None:
    """``frozen`` → 0 trainable encoder layers, ``top:N`` → N, ``full`` → None (all), ``lora:R`` → 0 (the encoder's
    own weights stay frozen; its adapters train, see :func:`lora_rank`)."""
    if text == "frozen" or lora_rank(text):
        return 0
    if text == "full":
        return None
    if text.startswith("top:") and text[4:].isdigit() and int(text[4:]) > 0:
        return int(text[4:])
    raise DnactxError(f"--finetune must be frozen, top:N (N ≥ 1), full or lora:R (R ≥ 1), got {text!r}")


MAX_LORA_RANK = 1024


def lora_rank(text: str | None) -> int | None:
    """R of ``lora:R`` (1 … MAX_LORA_RANK), None for any other finetune; ``lora:`` with a bad R is one line."""
    if not text or not text.startswith("lora:"):
        return None
    r = text[5:]
    if not (r.isascii() and r.isdigit()) or not 1 <= int(r) <= MAX_LORA_RANK:
        raise DnactxError(f"--finetune lora:R needs a rank R in [1, {MAX_LORA_RANK}], got {text!r}; e.g. lora:8")
    return int(r)


def _one_of(choices: type[Enum]) -> str:
    values = [c.value for c in choices]
    return ", ".join(values[:-1]) + " or " + values[-1]


def grid_fields() -> list[dataclasses.Field]:
    """The TrainConfig fields that ``matrix`` accepts as comma-separated grid axes."""
    return [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("grid")]


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")
