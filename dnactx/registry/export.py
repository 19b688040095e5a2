"""Runs as flat records for spreadsheets (CSV: one row per run, one column per metric) or as JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..contracts import FACTS, MetricRef, RunFacts, RunRow, flatten_metrics
from ..runs.config import GIVEN
from .models import JSON_COLUMNS, RUN_COLUMNS

# The Run table's columns (JSON ones as JSON text; ``config`` is spread out below), every train option the
# columns do not already hold, then every run fact: a fixed header, whichever runs are exported.
RUN_FLAT = tuple(c for c in RUN_COLUMNS if c != "config") + ("folder",)
CONFIG_FLAT = tuple(name for name in GIVEN if name not in RUN_COLUMNS)
FACT_FLAT = tuple(RunFacts.__annotations__)
FLAT_FIELDS = RUN_FLAT + CONFIG_FLAT + FACT_FLAT


def flat_record(run: RunRow) -> dict[str, Any]:
    """One run as a flat dict: run columns, TrainConfig fields, facts, then ``val_auprc``-style metric columns."""
    out: dict[str, Any] = {}
    for name in RUN_FLAT:
        value = run.get(name)
        out[name] = json.dumps(value, sort_keys=True) if name in JSON_COLUMNS and value is not None else value
    config = run.get("config") or {}
    out.update({name: config.get(name) for name in CONFIG_FLAT})
    facts = (run.get("metrics") or {}).get(FACTS) or {}
    out.update({name: facts.get(name) for name in FACT_FLAT})
    for split, context, name, value in flatten_metrics(run.get("metrics")):
        if split != FACTS:
            out[MetricRef(split, context, name).label] = value
    return out


def is_runs_export(path: Path) -> bool:
    """True when ``path`` looks like an earlier ``runs export``: a CSV whose header starts with the run columns, or
    a JSON list of run rows (so ``--out`` overwrites only that, never a registry or anyone's file)."""
    with open(path, encoding="utf-8") as fh:
        head = fh.readline()
    if head.startswith(",".join(FLAT_FIELDS[:3]) + ","):
        return True
    if not head.startswith("["):
        return False
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    return isinstance(rows, list) and all(isinstance(r, dict) and "id" in r for r in rows)


def export_runs(runs: list[RunRow], fmt: str) -> str:
    """``json``: the run rows as the API returns them; ``csv``: :func:`flat_record` rows with a union header."""
    if fmt == "json":
        return json.dumps(runs, indent=2) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    records = [flat_record(r) for r in runs]
    metric_cols = sorted({k for r in records for k in r} - set(FLAT_FIELDS))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FLAT_FIELDS) + metric_cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()
