"""The registry's tables as SQLModel classes (the schema at the newest migration, ``migrations/versions``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class Run(SQLModel, table=True):
    """One run: its identity, state, the config axes reports group by, and where it came from."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True)
    name: str | None = None
    status: str = Field(index=True)
    family: str | None = None
    model: str | None = Field(default=None, index=True)
    size: int | None = None
    mode: str | None = None
    finetune: str | None = None
    seed: int | None = None
    data: str | None = None
    dataset_fingerprint: str | None = Field(default=None, index=True)
    matrix: str | None = Field(default=None, index=True)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    versions: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created: str | None = None
    started: str | None = None
    finished: str | None = None
    host: str | None = None
    slurm_job_id: str | None = None
    error: str | None = None
    # added by 0002
    cell: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    window: int | None = None
    device: str | None = None
    dnactx_version: str | None = None
    # added by 0005: the owning process (with host above), so a run whose process is gone reads "stale"
    pid: int | None = None
    pid_start: str | None = None
    # added by 0006: train (a methylation model) | pretrain (a masked DNA language model)
    kind: str | None = Field(default="train", index=True)


class Metric(SQLModel, table=True):
    """One number of a run: split (train|val|test, ``run`` for the threshold, ``facts`` for run facts), context
    (CG|CHG|CHH, or None for all sites), name (see :mod:`dnactx.contracts`)."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_split_context_name", "split", "context", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True)
    split: str
    context: str | None = None
    name: str
    value: float


# A registry run row (contracts.RunRow) holds these columns, in this order, then folder, metrics and artifacts.
RUN_COLUMNS: tuple[str, ...] = tuple(c.name for c in Run.__table__.columns)
JSON_COLUMNS = frozenset(c.name for c in Run.__table__.columns if isinstance(c.type, JSON))


class Artifact(SQLModel, table=True):
    """A file a run wrote inside its folder, with its checksum."""

    __tablename__ = "artifacts"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True)
    kind: str
    path: str
    sha256: str | None = None
    bytes: int | None = None


class Matrix(SQLModel, table=True):
    """A named grid of runs; its id is its name, so every SLURM task of one matrix agrees on it."""

    __tablename__ = "matrices"

    id: str = Field(primary_key=True)
    name: str = Field(unique=True)
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: str | None = None


class Dataset(SQLModel, table=True):
    """A prepared dataset.parquet, by its sha256, with prepare's summary (added by 0002)."""

    __tablename__ = "datasets"

    fingerprint: str = Field(primary_key=True)
    path: str
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded: str | None = None


class Evaluation(SQLModel, table=True):
    """A run's model applied to new data (``dnactx predict --calls``): where, on what, and how well (added by 0004).

    One row per (run, --out folder): predicting again into the same folder replaces it. ``summary`` holds the
    whole evaluation (per-context AUROC/AUPRC with intervals, binned correlations) and the inputs' identity."""

    __tablename__ = "evaluations"

    id: str = Field(primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True)
    created: str | None = None
    out: str
    genome: str | None = None
    genome_sha256: str | None = None
    regions: str | None = None
    n_sites: int | None = None
    n_labelled: int | None = None
    auroc: float | None = None
    auprc: float | None = None
    pearson_10kb: float | None = None
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
