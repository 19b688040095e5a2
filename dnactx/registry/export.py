"""Runs as flat records for spreadsheets (CSV: one row per run, one column per metric) or as JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..metrics import flatten
from .query import metric_label

FLAT_FIELDS = ("id", "name", "status", "family", "model", "size", "mode", "finetune", "seed", "matrix", "created",
               "started", "finished", "host", "slurm_job_id", "error", "data", "dataset_fingerprint", "window",
               "device", "dnactx_version", "folder")


def flat_record(run: dict) -> dict[str, Any]:
    """One run as a flat dict: the run fields, ``cell`` as JSON text, then ``val_auprc``-style metric columns."""
    out: dict[str, Any] = {k: run.get(k) for k in FLAT_FIELDS}
    out["cell"] = json.dumps(run["cell"], sort_keys=True) if run.get("cell") else None
    for split, context, name, value in flatten(run.get("metrics") or {}):
        out[metric_label(split, context, name)] = value
    return out


def export_runs(runs: list[dict], fmt: str) -> str:
    """``json``: the run dicts as the API returns them; ``csv``: :func:`flat_record` rows with a union header."""
    if fmt == "json":
        return json.dumps(runs, indent=2) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    records = [flat_record(r) for r in runs]
    header = list(FLAT_FIELDS) + ["cell"]
    metric_cols = sorted({k for r in records for k in r} - set(header))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header + metric_cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()
