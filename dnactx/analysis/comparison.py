"""The work behind ``dnactx compare A B``: both runs' predictions on one split (or two models' predictions of the
same new sites, from ``dnactx predict --calls``), resampled with the same genomic blocks, and the difference A − B
of each metric with its interval, p-value and verdict."""

from __future__ import annotations

from pathlib import Path

from ..contracts import RunRow
from ..errors import DnactxError
from ..formatting import count, num, signed
from ..stats.bootstrap import DEFAULT_BLOCK_BP, DEFAULT_RESAMPLES
from ..stats.compare import METRICS, group_difference, has_metric
from .predicted import check_same_sites, scored_prediction
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

    Returns ``{"a": {"id", "name"}, "b": {...}, "split", "sites", "n_sites", "n_positives", "block_bp",
    "comparisons": [...]}`` where each comparison is :func:`dnactx.stats.compare.group_difference`'s dict.
    """
    _check_metric(metric)
    n, bp = _settings(a, n_resamples, block_bp)
    runs = [scored_split(a, home, split), scored_split(b, home, split)]
    return _paired(runs, {"id": a["id"], "name": a.get("name")}, {"id": b["id"], "name": b.get("name")},
                   split, f"{split} split", metric=metric, n_resamples=n, block_bp=bp, seed=seed)


def compare_predictions(a: Path, b: Path, *, metric: str = "auprc", n_resamples: int | None = None,
                        block_bp: int | None = None, seed: int = 0) -> dict:
    """As :func:`compare_rows` for two ``dnactx predict --calls`` folders: the models on the same new sites."""
    _check_metric(metric)
    n = DEFAULT_RESAMPLES if n_resamples is None else n_resamples
    bp = DEFAULT_BLOCK_BP if block_bp is None else block_bp
    if n < 1 or bp < 1:
        raise DnactxError(f"--bootstrap and --bootstrap-block must be at least 1, got {n} and {bp}")
    (first, identity_a), (second, identity_b) = scored_prediction(a), scored_prediction(b)
    check_same_sites(a, b, identity_a, identity_b)
    return _paired([first, second], {"id": str(a), "name": first.name}, {"id": str(b), "name": second.name},
                   "predict", "labelled sites of --calls", metric=metric, n_resamples=n, block_bp=bp, seed=seed)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise DnactxError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")


def _paired(runs: list, a: dict, b: dict, split: str, sites: str, *, metric: str, n_resamples: int, block_bp: int,
            seed: int) -> dict:
    """A − B of ``metric`` and the within-context figures under one set of block draws; ``sites`` says which."""
    draws = draw_runs(runs, block_bp=block_bp, n_resamples=n_resamples, seed=seed)
    if not has_metric(draws, metric):
        raise DnactxError(f"--metric {metric}: not defined for both on the {sites} (F1 needs each run's tuned "
                          "threshold in metrics.json; predictions carry none)")
    names = [metric] + [m for m in WITHIN if m != metric and has_metric(draws, m)]
    labels = runs[0].scores.labels
    return {"a": a, "b": b, "split": split, "sites": sites, "n_sites": int(labels.size),
            "n_positives": int(labels.sum()), "block_bp": block_bp,
            "comparisons": [group_difference(draws, [0], [1], m) for m in names]}


def comparison_text(result: dict) -> str:
    """The comparison for people: who is A and B, the draws, then one line per metric with its verdict."""
    first = result["comparisons"][0]
    approx = " (approximate: fewer than 30 blocks)" if first["approximate"] else ""
    lines = [f"A = {result['a']['id']} ({result['a']['name']})  vs  B = {result['b']['id']} ({result['b']['name']})",
             f"{result['sites']}: {count(result['n_sites'])} sites ({count(result['n_positives'])} methylated) "
             f"in {count(first['n_blocks'])} blocks of {count(result['block_bp'])} bp{approx}; "
             f"{count(first['n_resamples'])} paired block resamples, seed {first['seed']}", ""]
    header = f"{'metric':<28}{'A':>8}{'B':>8}{'A − B':>9}  {'95% interval':<20}{'p':>7}  verdict"
    lines.append(header)
    for c in result["comparisons"]:
        interval = f"[{signed(c['ci'][0])}, {signed(c['ci'][1])}]" if c["ci"] else "—"
        lines.append(f"{LABELS[c['metric']]:<28}{num(c['a'], 3):>8}{num(c['b'], 3):>8}{signed(c['difference']):>9}  "
                     f"{interval:<20}{num(c['p_value'], 3):>7}  {c['verdict']}")
    return "\n".join(lines) + "\n"
