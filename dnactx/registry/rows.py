"""A run folder as registry rows (:class:`RunRows`): the Run columns from status.json and config.json, the metric
rows of metrics.json, the artifacts. The read path (``Registry`` reconciling stale rows) and the write path
(``record_run``, ``sync``) both build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, Integer

from ..contracts import flatten_metrics
from ..runs import RunFolder, run_family, run_kind
from .models import Run


@dataclass(frozen=True)
class RunRows:
    """Everything the registry holds about one run, as plain rows ready to write (``run``: the Run columns)."""

    run: dict[str, Any]
    metrics: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_column(column: Column, value: Any) -> Any:
    """``value`` read from a run folder's JSON, converted to the column's type (None when it does not fit)."""
    if isinstance(column.type, JSON):
        return value if isinstance(value, dict) else None
    return _int(value) if isinstance(column.type, Integer) else _str(value)


def _run_columns(folder: RunFolder) -> dict[str, Any]:
    """One value per column of the Run table: from status.json, else config.json, except those derived here."""
    cfg, st = folder.config, folder.status
    versions = cfg.get("versions") if isinstance(cfg.get("versions"), dict) else None
    derived = {
        "id": folder.id,
        "name": st.get("name") or cfg.get("name") or folder.id,
        "status": st.get("status") or "queued",
        "config": cfg,
        "versions": versions,
        "dnactx_version": (versions or {}).get("dnactx"),
        "kind": run_kind(cfg),
        # lr and cnn have no --finetune; their config.json still carries TrainConfig's default
        "finetune": cfg.get("finetune") if run_family(cfg) == "transformer" else None,
    }
    out = {}
    for column in Run.__table__.columns:
        name = column.name
        value = derived[name] if name in derived else st.get(name) if st.get(name) is not None else cfg.get(name)
        out[name] = _as_column(column, value)
    return out


def rows_from_folder(folder: RunFolder) -> RunRows:
    """Read config.json, status.json, metrics.json and artifacts.json into registry rows."""
    metrics = [{"run_id": folder.id, "split": s, "context": c, "name": n, "value": v}
               for s, c, n, v in flatten_metrics(folder.metrics)]
    artifacts = [{"run_id": folder.id, "kind": str(a.get("kind", "")), "path": str(a.get("path", "")),
                  "sha256": a.get("sha256"), "bytes": _int(a.get("bytes"))}
                 for a in folder.artifacts if isinstance(a, dict)]
    return RunRows(run=_run_columns(folder), metrics=metrics, artifacts=artifacts)
