"""The report's paired statistics: every run's test predictions resampled with the same genomic blocks, so the
selected configuration is compared with the baseline, and groups (by mode, size, model) with each other, on the
same draws. Differences count only when their interval excludes 0."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from ..contracts import RunRow
from ..errors import DnactxError
from ..stats.bootstrap import DEFAULT_BLOCK_BP, DEFAULT_RESAMPLES
from ..stats.compare import Draws, align_sites, group_difference, group_interval, has_metric
from .configs import is_designated_baseline
from .scored import ScoredSplit, draw_runs, scored_split

# The report's metric names and the bootstrap's (stats.compare.METRICS).
STATS_NAME = {"auprc": "auprc", "auroc": "auroc", "f1_at_threshold": "f1", "within_auprc": "within_auprc",
              "within_auroc": "within_auroc"}
COMPARED = ("auprc", "auroc", "f1_at_threshold", "within_auprc", "within_auroc")
AXES = ("mode", "size", "model")
FAMILY_LEVEL = 0.95  # of each family of comparisons; Bonferroni splits it over the comparisons made


@dataclass(frozen=True)
class DrawSettings:
    n_resamples: int = DEFAULT_RESAMPLES
    block_bp: int = DEFAULT_BLOCK_BP
    seed: int = 0

    @classmethod
    def of(cls, row: RunRow) -> DrawSettings:
        """The selected run's own --bootstrap and --bootstrap-block (1,000 resamples where it turned them off)."""
        config = row.get("config") or {}
        return cls(int(config.get("bootstrap") or DEFAULT_RESAMPLES),
                   int(config.get("bootstrap_block") or DEFAULT_BLOCK_BP))


def _load(home: Path, rows: list[RunRow], split: str, notes: list[str]) -> dict[str, ScoredSplit]:
    """Each run's predictions on ``split`` that align with the first loaded run's sites; the others noted."""
    loaded: dict[str, ScoredSplit] = {}
    for row in rows:
        try:
            scored = scored_split(row, home, split)
            if loaded:
                align_sites(next(iter(loaded.values())).scores, scored.scores)
        except DnactxError as exc:
            notes.append(f"run {row['id']} left out of the paired statistics: {exc.message}")
            continue
        loaded[row["id"]] = scored
    return loaded


def _draws(home: Path, rows: list[RunRow], split: str, settings: DrawSettings,
           notes: list[str]) -> tuple[Draws, dict[str, int]] | None:
    loaded = _load(home, rows, split, notes)
    if not loaded:
        return None
    try:
        draws = draw_runs(list(loaded.values()), block_bp=settings.block_bp, n_resamples=settings.n_resamples,
                          seed=settings.seed)
    except DnactxError as exc:
        notes.append(f"no paired statistics on {split}: {exc.message}")
        return None
    return draws, {run_id: i for i, run_id in enumerate(loaded)}


def _versus(draws: Draws, index: dict[str, int], selected: list[RunRow], baseline: list[RunRow]) -> dict[str, dict]:
    """Selected runs' mean − baseline runs' mean for each compared metric, keyed by the report's metric name."""
    a = [index[r["id"]] for r in selected if r["id"] in index]
    b = [index[r["id"]] for r in baseline if r["id"] in index]
    if not a or not b:
        return {}
    return {name: group_difference(draws, a, b, STATS_NAME[name]) for name in COMPARED
            if has_metric(draws, STATS_NAME[name])}


def _axis(draws: Draws, index: dict[str, int], rows: list[RunRow], by: str, metric: str) -> dict | None:
    """Mean test ``metric`` of each group of ``by`` with its interval, and every pair of groups compared at a
    Bonferroni-adjusted level (the family of pairs keeps a 95% joint level)."""
    groups: dict = {}
    for row in rows:
        if row["id"] in index and not is_designated_baseline(row):
            groups.setdefault(row.get(by), []).append(index[row["id"]])
    if not groups:
        return None
    pairs = list(itertools.combinations(groups, 2))
    level = 1 - (1 - FAMILY_LEVEL) / max(len(pairs), 1)
    return {"groups": [{"value": v, "runs": len(ix), **group_interval(draws, ix, metric)} for v, ix in groups.items()],
            "pairs": [{"a_value": x, "b_value": y, **group_difference(draws, groups[x], groups[y], metric, level)}
                      for x, y in pairs],
            "level": level, "n_comparisons": len(pairs)}


def report_stats(home: Path, rows: list[RunRow], selected: list[RunRow], baseline: list[RunRow], *, name: str,
                 settings: DrawSettings) -> dict:
    """Paired statistics for the report (see the module docstring).

    Returns ``{"metric", "n_resamples", "block_bp", "seed", "n_blocks", "approximate", "notes",
    "versus": {"val": {metric: comparison}, "test": {...}}, "axes": {"mode": {...}|None, ...}}``, or
    ``{"skipped": why, "notes"}`` when no run has usable predictions.
    """
    notes: list[str] = []
    metric = STATS_NAME.get(name, "auprc")
    if name not in STATS_NAME:
        notes.append(f"groups are compared on test AUPRC: {name} has no paired bootstrap")
    known = {r["id"] for r in rows}  # a --baseline from outside the selection is compared, but in no group
    test = _draws(home, rows + [r for r in baseline if r["id"] not in known], "test", settings, notes)
    if test is None:
        return {"skipped": "no run has usable test predictions", "notes": notes}
    draws, index = test
    versus = {"test": _versus(draws, index, selected, baseline)}
    val = _draws(home, selected + baseline, "val", settings, notes) if baseline else None
    versus["val"] = _versus(*val, selected, baseline) if val else {}
    return {"metric": metric, "n_resamples": settings.n_resamples, "block_bp": settings.block_bp,
            "seed": settings.seed, **{k: draws.summary[k] for k in ("n_blocks", "approximate")},
            "notes": notes,
            "versus": versus, "axes": {by: _axis(draws, index, rows, by, metric) for by in AXES}}
