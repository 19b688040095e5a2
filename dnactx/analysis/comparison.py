"""The work behind ``dnactx compare A B``: both runs' predictions on one split, resampled with the same genomic
blocks, and the difference A − B of each metric with its interval, p-value and verdict."""

from __future__ import annotations

from pathlib import Path

from ..contracts import RunRow
from ..errors import DnactxError
from ..formatting import count, num, signed
from ..stats.bootstrap import DEFAULT_BLOCK_BP, DEFAULT_RESAMPLES
from ..stats.compare import METRICS, group_difference, has_metric
from .scored import draw_runs, scored_split

WITHIN = ("within_auprc", "within_auroc")
LABELS = {"auprc": "AUPRC", "auroc": "AUROC", "f1": "F1 at each run's threshold",
          "within_auprc": "within-context AUPRC", "within_auroc": "within-context AUROC"}


def _settings(row: RunRow, n_resamples: int | None, block_bp: int | None) -> tuple[int, int]:
    """Resamples and block length: as given, else run A's own (``--bootstrap``, ``--bootstrap-block``)."""
    config = row.get("config") or {}
    own = config.get("bootstrap") or DEFAULT_RESAMPLES  # a run trained with --bootstrap 0 still compares
    n = own if n_resamples is None else n_resamples
    bp = (config.get("bootstrap_block") or DEFAULT_BLOCK_BP) if block_bp is None else block_bp
    if n < 1:
        raise DnactxError(f"--bootstrap must be at least 1 resample to compare, got {n}")
    if bp < 1:
        raise DnactxError(f"--bootstrap-block must be at least 1 bp, got {bp}")
    return n, bp


def compare_rows(home: Path, a: RunRow, b: RunRow, *, split: str = "test", metric: str = "auprc",
                 n_resamples: int | None = None, block_bp: int | None = None, seed: int = 0) -> dict:
    """``metric`` and the within-context figures of run ``a`` minus run ``b`` on ``split``, paired.

    Returns ``{"a": {"id", "name"}, "b": {...}, "split", "n_sites", "n_positives", "block_bp", "comparisons": [...]}``
    where each comparison is :func:`dnactx.stats.compare.group_difference`'s dict.
    """
    if metric not in METRICS:
        raise DnactxError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    n, bp = _settings(a, n_resamples, block_bp)
    runs = [scored_split(a, home, split), scored_split(b, home, split)]
    draws = draw_runs(runs, block_bp=bp, n_resamples=n, seed=seed)
    if not has_metric(draws, metric):
        raise DnactxError(f"--metric {metric}: not defined for both runs on {split} (F1 needs each run's tuned "
                          "threshold in metrics.json)")
    names = [metric] + [m for m in WITHIN if m != metric and has_metric(draws, m)]
    labels = runs[0].scores.labels
    return {"a": {"id": a["id"], "name": a.get("name")}, "b": {"id": b["id"], "name": b.get("name")},
            "split": split, "n_sites": int(labels.size), "n_positives": int(labels.sum()), "block_bp": bp,
            "comparisons": [group_difference(draws, [0], [1], m) for m in names]}


def comparison_text(result: dict) -> str:
    """The comparison for people: who is A and B, the draws, then one line per metric with its verdict."""
    first = result["comparisons"][0]
    approx = " (approximate: fewer than 30 blocks)" if first["approximate"] else ""
    lines = [f"A = {result['a']['id']} ({result['a']['name']})  vs  B = {result['b']['id']} ({result['b']['name']})",
             f"{result['split']} split: {count(result['n_sites'])} sites ({count(result['n_positives'])} methylated) "
             f"in {count(first['n_blocks'])} blocks of {count(result['block_bp'])} bp{approx}; "
             f"{count(first['n_resamples'])} paired block resamples, seed {first['seed']}", ""]
    header = f"{'metric':<28}{'A':>8}{'B':>8}{'A − B':>9}  {'95% interval':<20}{'p':>7}  verdict"
    lines.append(header)
    for c in result["comparisons"]:
        interval = f"[{signed(c['ci'][0])}, {signed(c['ci'][1])}]" if c["ci"] else "—"
        lines.append(f"{LABELS[c['metric']]:<28}{num(c['a'], 3):>8}{num(c['b'], 3):>8}{signed(c['difference']):>9}  "
                     f"{interval:<20}{num(c['p_value'], 3):>7}  {c['verdict']}")
    return "\n".join(lines) + "\n"
