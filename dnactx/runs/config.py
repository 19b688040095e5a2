"""RunConfig: the contract of a run folder's config.json, the one place a run's family is derived, and the reader
every module goes through (old folders load into today's shape).

config.json is written when the run folder is made (:func:`run_config`: the train options as given, plus what
the folder resolved: dataset, family, window, versions, ...) and completed once by the trainer through
:meth:`dnactx.runs.RunFolder.resolve_config` with what only training knows (device, checkpoint, tokenizer, cache,
loss)::

    {"data": "/abs/dataset.parquet", "model": "lr", "size": 100, "mode": "both", ...,   # every TrainConfig field
     "family": "lr", "dataset_fingerprint": "9f2c...", "window": 200, "versions": {"dnactx": "0.1.0", ...},
     "device": "cpu", "matrix": null, "cell": null, "max_train_effective": 100000}

A run folder written before ``family`` was recorded reads with it filled from ``model`` (:func:`read_run_config`).
Standard library only, like the rest of :mod:`dnactx.runs`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, TypedDict

from ..choices import Family, Target, family_of_model


class GivenConfig(TypedDict, total=False):
    """The train options as the user gave them: the fields of ``dnactx.train.config.TrainConfig``, in its order
    (a test keeps the two equal)."""

    data: str
    model: str
    size: int
    mode: str
    name: str | None
    site_context: bool
    finetune: str
    trust_remote_code: bool
    epochs: int
    patience: int
    lr: float | None
    head_lr: float
    batch_size: int
    grad_accum: int
    warmup: float
    precision: str
    seed: int
    target: str
    loss: str
    overdispersion: float
    pos_weight: float | None
    focal_gamma: float
    focal_alpha: float | None
    class_weight: str
    solver: str
    C: float | str
    max_train: int | None
    train_fraction: float | None
    bootstrap: int
    bootstrap_block: int
    calibrate: str
    threshold_by: str


class FolderConfig(TypedDict, total=False):
    """What the run folder resolved when it was made (:func:`run_config`)."""

    family: str                     # lr | cnn | transformer (:func:`dnactx.choices.family_of_model`)
    dataset_fingerprint: str
    window: int | None              # the dataset's window (windows are window + 1 bp)
    versions: dict[str, Any]        # library versions (provenance.library_versions)
    device: str | None              # set by the trainer
    matrix: str | None
    cell: dict[str, Any] | None     # the matrix cell this run is
    max_train_effective: int | None
    pretrain_run: str | None        # --model is a `dnactx pretrain` folder: that pretrain's run id (lineage.py)
    pretrain: dict[str, Any] | None  # ... and what it was: name, folder, genomes, steps, tokens (lineage.py)


class TrainedConfig(TypedDict, total=False):
    """What only training knows, recorded once by the trainer (:meth:`RunFolder.resolve_config`)."""

    num_processes: int
    encoder_lr: float
    pos_weight_used: float          # --loss weighted
    checkpoint_path: str            # transformers: the checkpoint folder the encoder came from
    max_tokens: int
    tokenizer: str                  # KmerTokenizer | HFTokenizer
    encoder_class: str
    checkpoint_code: dict[str, str]  # remote-code file → sha256
    cache_hit: bool                 # frozen transformers: pooled features from the cache
    cache_key: str
    lora_targets: list[str]         # --finetune lora:R: the projections peft adapted (their module names)
    lora_alpha: int                 # --finetune lora:R: LoRA's scaling numerator (2·R)


class PretrainConfig(TypedDict, total=False):
    """A ``dnactx pretrain`` run's own keys (with ``model`` = its model folder, ``name``, ``seed``, ``family``,
    ``versions``); a train run has ``kind`` "train" or none."""

    kind: str                        # train | pretrain (:data:`KINDS`)
    pretrain_out: str                # the Hugging Face folder the pretrain writes (--out)
    genomes: list[str]               # the corpus FASTAs
    pretrain_options: dict[str, Any]  # PretrainOptions.to_dict()
    corpus: dict[str, Any]           # pretrain.json's corpus summary, once the corpus is cut (resolved)


class RunConfig(GivenConfig, FolderConfig, TrainedConfig, PretrainConfig, total=False):
    """config.json: the options given, what the folder resolved, what training resolved (or a pretrain's keys)."""


KINDS = ("train", "pretrain")  # a run trains a methylation model, or pretrains a masked DNA language model


GIVEN: tuple[str, ...] = tuple(GivenConfig.__annotations__)
RESOLVED_BY_TRAINING = frozenset(TrainedConfig.__annotations__) | {"device", "corpus"}
KEYS = frozenset(typing.get_type_hints(RunConfig))


def run_family(config: Mapping[str, Any]) -> str:
    """lr | cnn | transformer of a config.json: its ``family``, else derived from ``model`` (the first layout)."""
    return str(config.get("family") or family_of_model(str(config.get("model") or "")))


def run_target(config: Mapping[str, Any]) -> str:
    """label | level of a config.json: runs written before ``--target`` existed learned the label."""
    return str(config.get("target") or Target.label.value)


def run_kind(config: Mapping[str, Any]) -> str:
    """train | pretrain of a config.json (folders written before pretrain runs existed are train runs)."""
    return str(config.get("kind") or KINDS[0])


def run_config(given: Mapping[str, Any], **resolved: Any) -> RunConfig:
    """A new run's config.json: the options ``given`` (TrainConfig.to_dict()) and what the folder ``resolved``;
    ``family`` comes from the model unless given."""
    _check_keys(resolved, "run_config")
    config: dict[str, Any] = {**given, **resolved}
    config.setdefault("family", run_family(config))
    return typing.cast(RunConfig, config)


def read_run_config(raw: Any) -> RunConfig:
    """config.json as any dnactx wrote it, in today's shape: ``{}`` when absent, ``family`` filled when missing."""
    if not isinstance(raw, dict):
        return typing.cast(RunConfig, {})
    if raw and not raw.get("family"):
        raw = {**raw, "family": run_family(raw)}
    return typing.cast(RunConfig, raw)


def _check_keys(values: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(values) - KEYS)
    if unknown:  # a programming error: a new key belongs in the contract above first
        raise KeyError(f"{where}: {', '.join(unknown)} not in the RunConfig contract (dnactx/runs/config.py)")


def trained_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked to be keys training resolves (:data:`RESOLVED_BY_TRAINING`)."""
    wrong = sorted(set(values) - RESOLVED_BY_TRAINING)
    if wrong:
        raise KeyError(f"resolve_config: {', '.join(wrong)} are not resolved by training (dnactx/runs/config.py)")
    return dict(values)


__all__ = ["GIVEN", "KEYS", "KINDS", "Family", "RunConfig", "read_run_config", "run_config", "run_family",
           "run_kind", "run_target", "trained_values"]
