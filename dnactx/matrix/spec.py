"""A matrix spec (name, dataset, axes, baseline) and its deterministic expansion into cells."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.dataset import read_meta
from ..errors import DnactxError
from ..train.config import LEVEL_LOSSES, TrainConfig, grid_fields

NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
BASELINES = ("lr", "none")
# The baseline's context: a fixed, symmetric reference independent of the grid's order (see baseline_config).
BASELINE_SIZE = 100
BASELINE_MODE = "both"
# What decides which sites a run trains on and what it is given: one baseline per distinct combination among the
# grid's cells, so every cell has a baseline that trained on exactly its sites (a run must share these to count as
# that baseline).
DATA_SHAPING = ("seed", "max_train", "train_fraction", "site_context")
# Copied from the first cell of each combination: how it is evaluated, and lr's own options where the grid sets them.
_BASELINE_COPIES = ("bootstrap", "bootstrap_block", "calibrate", "threshold_by")
_BASELINE_PINS = ("C", "class_weight", "solver")
_DEFAULTS = TrainConfig()
# Options a model family ignores: in a grid such as `--model lr,cnn --finetune frozen,top:2` they would only
# make duplicate lr and cnn cells, so a cell of that family drops them (its config keeps the default).
_NEURAL_ONLY = ("epochs", "patience", "lr", "head_lr", "batch_size", "grad_accum", "warmup", "precision", "loss",
                "pos_weight", "focal_gamma", "focal_alpha", "overdispersion")
_LR_ONLY = ("class_weight", "C", "solver")
IGNORED_BY_FAMILY = {
    "lr": frozenset(("finetune", "trust_remote_code", *_NEURAL_ONLY)),
    "cnn": frozenset(("finetune", "trust_remote_code", *_LR_ONLY)),
    "transformer": frozenset(_LR_ONLY),
}


def validate_name(name: str, what: str = "matrix name") -> str:
    if not NAME_RE.fullmatch(name) or name.startswith("."):
        raise DnactxError(f"{what} {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
                          "not starting with '.'")
    return name


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    fingerprint: str
    window: int | None


def dataset_info(data: str | Path) -> DatasetInfo:
    """The dataset's absolute path, fingerprint (prepare.json's, else sha256 of the file) and window."""
    path = Path(data).expanduser()
    if path.is_dir() and (path / "dataset.parquet").is_file():
        path = path / "dataset.parquet"
    if not path.is_file():
        raise DnactxError(f"--data {data}: no such dataset file; pass the dataset.parquet written by "
                          "`dnactx prepare --out DIR` (or DIR itself)")
    path = path.resolve()
    meta = read_meta(path)
    fingerprint = meta["fingerprint"]
    window = meta.get("window")
    return DatasetInfo(path, fingerprint, int(window) if window is not None else None)


@dataclass
class Cell:
    """One training run of the matrix: its index, its cell dict (stored as config.json ``cell``) and config."""

    index: int
    values: dict[str, Any]
    config: TrainConfig
    baseline: bool = False
    # Config values a registry run must also share to count as this cell (the baseline's pinned fields).
    pinned: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A short stable id of the cell's identity (values + pinned fields), used for lock files."""
        blob = json.dumps({"cell": self.values, "pinned": self.pinned}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        if self.baseline:
            shaped = ", ".join(f"{k}={self.pinned[k]}" for k in DATA_SHAPING
                               if k in self.pinned and self.pinned[k] != getattr(_DEFAULTS, k))
            return f"baseline ({self.config.model} {self.config.size} {self.config.mode}" + \
                (f"; {shaped})" if shaped else ")")
        return " ".join(f"{k}={v}" for k, v in self.values.items())

    def matches(self, config: dict, fingerprint: str) -> bool:
        """Whether a run's config.json is this cell of a matrix on the same dataset."""
        return (config.get("cell") == self.values
                and config.get("dataset_fingerprint") == fingerprint
                and all(config.get(k) == v for k, v in self.pinned.items()))


@dataclass
class MatrixSpec:
    """Everything that defines a matrix; ``cells()`` is a pure function of it."""

    name: str
    dataset: DatasetInfo
    axes: dict[str, list[Any]]
    baseline: str = "lr"

    def __post_init__(self) -> None:
        validate_name(self.name)
        if self.baseline not in BASELINES:
            raise DnactxError(f"--baseline must be lr or none, got {self.baseline!r}")
        for name, values in self.axes.items():  # every value checked, even one its cells' family ignores (lr's --lr)
            for value in values:
                level_loss = name == "loss" and value in LEVEL_LOSSES  # a level loss is checked as a level run's
                TrainConfig(**{name: value, **({"target": "level"} if level_loss else {})})
        half = (self.dataset.window // 2) if self.dataset.window else None
        for size in self.axes.get("size", []):
            if half is not None and size > half:
                raise DnactxError(f"--sizes {size}: the dataset {self.dataset.path} has window "
                                  f"{self.dataset.window}, so sizes up to {half} bp fit; re-run "
                                  "`dnactx prepare --window` larger or drop that size")

    def grid_cells(self) -> list[Cell]:
        """Every combination of the axes, in TrainConfig field order (the first axis varies slowest)."""
        names = [f.name for f in grid_fields() if f.name in self.axes]
        defaults = TrainConfig()
        for name in ("size", "mode"):  # always part of a cell, so summaries show them
            if name not in names:
                names.append(name)
        names.sort(key=[f.name for f in grid_fields()].index)
        lists = [self.axes.get(n, [getattr(defaults, n)]) for n in names]
        cells: list[Cell] = []
        seen: set[str] = set()
        for combo in itertools.product(*lists):
            values = dict(zip(names, combo, strict=True))
            family = TrainConfig(model=values.get("model", defaults.model)).family
            values = {k: v for k, v in values.items() if k not in IGNORED_BY_FAMILY[family]}
            values = _loss_for_target(values)
            identity = json.dumps(values, sort_keys=True, default=str)
            if identity in seen:
                continue
            seen.add(identity)
            index = len(cells)
            config = TrainConfig(data=str(self.dataset.path), name=f"{self.name}-{index}", **values)
            cells.append(Cell(index, {k: getattr(config, k) for k in values}, config))
        return cells

    def cells(self) -> list[Cell]:
        """The grid cells, then the baselines (when enabled): one per combination of the cells' data-shaping
        options (seed, --max-train, --train-fraction, --site-context), in the order the grid first uses them."""
        cells = self.grid_cells()
        if self.baseline == "lr":
            firsts = {}
            for cell in cells:
                firsts.setdefault(data_shape(cell.config), cell)
            several = len(firsts) > 1
            cells += [baseline_cell(first, len(cells) + i, self, several)
                      for i, first in enumerate(firsts.values())]
        return cells

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "data": str(self.dataset.path), "dataset_fingerprint": self.dataset.fingerprint,
                "window": self.dataset.window, "axes": self.axes, "baseline": self.baseline}


def _loss_for_target(values: dict[str, Any]) -> dict[str, Any]:
    """A cell's loss as its target takes it: in a grid such as `--target label,level --loss bce,focal` a level cell
    trains on the reads (a label loss becomes binomial) and a label cell on labels (a level loss becomes bce), so
    the cross product never makes a cell that cannot run; the duplicates this makes are dropped like the others."""
    if "loss" not in values:
        return values
    level = values.get("target") == "level"
    if level and values["loss"] not in LEVEL_LOSSES:
        return {**values, "loss": "binomial"}
    if not level and values["loss"] in LEVEL_LOSSES:
        return {**values, "loss": "bce"}
    return values


def data_shape(config: TrainConfig) -> tuple:
    """The values of :data:`DATA_SHAPING`: runs that share them trained on the same sites with the same inputs."""
    return tuple(getattr(config, k) for k in DATA_SHAPING)


def baseline_cell(first: Cell, index: int, spec: MatrixSpec, several: bool = False) -> Cell:
    """An lr run on ``both`` sides of 100 bp (or half the window if smaller), with the data-shaping options (and
    evaluation settings) of ``first``, the first grid cell of its combination.

    A fixed symmetric context makes the baseline the same reference whatever the grid's order or sizes; sharing
    the cells' training sites makes it a fair one (a baseline trained on 10x the sites would win by that alone).
    """
    size = BASELINE_SIZE if not spec.dataset.window else min(BASELINE_SIZE, spec.dataset.window // 2)
    shaped = {k: getattr(first.config, k) for k in DATA_SHAPING}
    pinned_lr = {k: getattr(first.config, k) for k in _BASELINE_PINS}
    copied = {k: getattr(first.config, k) for k in _BASELINE_COPIES}
    differs = [f"{k}{v}" for k, v in shaped.items() if v != getattr(_DEFAULTS, k)] if several else []
    suffix = "".join("-" + d for d in differs)
    config = TrainConfig(data=str(spec.dataset.path), name=f"{spec.name}-baseline{suffix}", model="lr", size=size,
                         mode=BASELINE_MODE, **shaped, **pinned_lr, **copied)
    pinned = {"model": "lr", "size": size, "mode": BASELINE_MODE, **shaped, **pinned_lr}
    return Cell(index, {"baseline": True}, config, baseline=True, pinned=pinned)


def default_name(dataset: DatasetInfo, axes: dict[str, list[Any]], baseline: str) -> str:
    """``matrix-<hash>`` of the grid and dataset: the same command always names the same matrix."""
    blob = json.dumps({"axes": axes, "fingerprint": dataset.fingerprint, "baseline": baseline},
                      sort_keys=True, default=str)
    return "matrix-" + hashlib.sha256(blob.encode()).hexdigest()[:10]


def build_spec(data: str | Path, raw_axes: dict[str, str | None], *, name: str | None = None,
               baseline: str = "lr") -> MatrixSpec:
    """Parse comma lists, read the dataset's identity, and name the matrix (given or derived)."""
    from .axes import parse_axes

    axes = parse_axes({k: v for k, v in raw_axes.items() if v is not None})
    dataset = dataset_info(data)
    return MatrixSpec(default_name(dataset, axes, baseline) if name is None else name, dataset, axes, baseline)


