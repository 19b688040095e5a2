"""Runs that differ only by their seed, as one configuration: its runs, seeds, mean ± sd, and its best run."""

from __future__ import annotations

import json
import statistics

from ..contracts import RunRow, run_metric
from ..train.config import grid_fields

LOWER_IS_BETTER = {"brier", "ece", "mae"}
IDENTITY = ("family", "model", "size", "mode", "finetune")
# Config values that do not make a different configuration: the seed (replicates differ by it) and where/what.
_NOT_IDENTITY = ("seed", "name", "data")


def is_designated_baseline(row: RunRow) -> bool:
    """The matrix's own baseline cell(s) (``matrix --baseline lr``)."""
    return bool(((row.get("config") or {}).get("cell") or {}).get("baseline"))


def config_key(row: RunRow) -> str:
    """What a run is apart from its seed: every train option it was given (and its identity columns)."""
    config = row.get("config") or {}
    fields = {f.name: config.get(f.name) for f in grid_fields() if f.name not in _NOT_IDENTITY and f.name in config}
    fields.update({k: row.get(k) for k in IDENTITY})
    fields["baseline"] = is_designated_baseline(row)
    return json.dumps(fields, sort_keys=True, default=str)


def mean_sd(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation of the values present; sd is None with fewer than two."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None)


def _best_first(name: str, split: str = "val"):
    sign = 1.0 if name in LOWER_IS_BETTER else -1.0

    def key(row: RunRow) -> tuple:
        v = run_metric(row, f"{split}_{name}")
        return (v is None, sign * v if v is not None else 0.0, str(row.get("id")))
    return key


def configurations(rows: list[RunRow], name: str) -> list[dict]:
    """Configurations best first by their mean validation ``name`` (those without it last).

    Each: ``{"key", "runs" (rows, best first), "ids", "seeds", "representative" (its best run by val), "baseline",
    the identity columns, and "val_mean"/"val_sd"/"test_mean"/"test_sd" plus "val_within_mean"/"test_within_mean"
    (within-context AUPRC)}``.
    """
    groups: dict[str, list[RunRow]] = {}
    for row in rows:
        groups.setdefault(config_key(row), []).append(row)
    out = []
    for key, members in groups.items():
        members = sorted(members, key=_best_first(name))
        entry = {"key": key, "runs": members, "ids": [r["id"] for r in members],
                 "seeds": sorted({r.get("seed") for r in members}, key=lambda s: (s is None, s or 0)),
                 "representative": members[0], "baseline": is_designated_baseline(members[0]),
                 **{k: members[0].get(k) for k in IDENTITY}}
        for split in ("val", "test"):
            entry[f"{split}_mean"], entry[f"{split}_sd"] = mean_sd([run_metric(r, f"{split}_{name}") for r in members])
            entry[f"{split}_within_mean"], _ = mean_sd([run_metric(r, f"{split}_within_auprc") for r in members])
        out.append(entry)
    sign = 1.0 if name in LOWER_IS_BETTER else -1.0
    return sorted(out, key=lambda c: (c["val_mean"] is None, sign * (c["val_mean"] or 0.0), c["ids"][0]))
