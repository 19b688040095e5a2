"""The work behind ``dnactx compare A B``: both runs' predictions on one split (or two models' predictions of the
same new sites, from ``dnactx predict --calls``), resampled with the same genomic blocks, and the difference A − B
of each metric with its interval, p-value and verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..contracts import RunRow
from ..errors import DnactxError
from ..formatting import count, num, signed
from ..stats.bootstrap import DEFAULT_BLOCK_BP, DEFAULT_RESAMPLES, percentile_interval
from ..stats.compare import METRICS, Draws, group_difference, has_metric, p_value, too_few_positives, verdict
from ..stats.levels import LEVEL_METRICS, LOWER_IS_BETTER, level_metrics, paired_level_draws
from .predicted import check_same_sites, scored_prediction
from .scored import ScoredSplit, blocks_of, check_same_dataset, draw_runs, scored_split

WITHIN = ("within_auprc", "within_auroc")
LABELS = {"auprc": "AUPRC", "auroc": "AUROC", "f1": "F1 at each run's threshold",
          "within_auprc": "within-context AUPRC", "within_auroc": "within-context AUROC",
          "pearson": "Pearson r (level)", "spearman": "Spearman r (level)", "mae": "MAE (level)",
          "r2_weighted": "R² read-weighted (level)"}
SHARED = "AUPRC, AUROC and F1"  # what a label run and a level run both have: scores against the label


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
                 n_resamples: int | None = None, block_bp: int | None = None, seed: int = 0,
                 by_context: bool = False) -> dict:
    """``metric`` and the within-context figures of run ``a`` minus run ``b`` on ``split``, paired.

    Returns ``{"a": {"id", "name"}, "b": {...}, "split", "sites", "n_sites", "n_positives", "block_bp",
    "comparisons": [...], "targets": [A's, B's]}`` where each comparison is
    :func:`dnactx.stats.compare.group_difference`'s dict; ``by_context`` adds ``"by_context": {context: [...]}``
    (AUPRC and AUROC, or every level metric for two level runs) under the same draws. A label run and a level
    run are compared only on what both have (``note`` says so); a level metric (pearson, spearman, mae,
    r2_weighted) needs two level runs.
    """
    _check_metric(metric)
    n, bp = _settings(a, n_resamples, block_bp)
    runs = [scored_split(a, home, split), scored_split(b, home, split)]
    identity = {"id": a["id"], "name": a.get("name")}, {"id": b["id"], "name": b.get("name")}
    if metric in LEVEL_METRICS:
        _require_levels(runs, metric, [f"run {r.run_id} ({r.name})" for r in runs])
        result = _paired_levels(runs, *identity, split, f"{split} split", metric=metric, n_resamples=n, block_bp=bp,
                                seed=seed)
        return result if by_context else {k: v for k, v in result.items() if k != "by_context"}
    result = _paired(runs, *identity, split, f"{split} split", metric=metric, n_resamples=n, block_bp=bp, seed=seed,
                     by_context=by_context)
    return _with_targets(result, runs)


def compare_predictions(a: Path, b: Path, *, metric: str = "auprc", n_resamples: int | None = None,
                        block_bp: int | None = None, seed: int = 0, by_context: bool = False) -> dict:
    """As :func:`compare_rows` for two ``dnactx predict --calls`` folders: the models on the same new sites (the
    labelled ones; for a level metric every site with a call, against its measured level mc/cov). Each folder's
    target is its model's recipe's, as a run's is its config's."""
    _check_metric(metric)
    n = DEFAULT_RESAMPLES if n_resamples is None else n_resamples
    bp = DEFAULT_BLOCK_BP if block_bp is None else block_bp
    if n < 1 or bp < 1:
        raise DnactxError(f"--bootstrap and --bootstrap-block must be at least 1, got {n} and {bp}")
    levels = metric in LEVEL_METRICS
    (first, identity_a), (second, identity_b) = (scored_prediction(a, levels=levels),
                                                 scored_prediction(b, levels=levels))
    check_same_sites(a, b, identity_a, identity_b)
    runs, ids = [first, second], ({"id": str(a), "name": first.name}, {"id": str(b), "name": second.name})
    if levels:
        _require_levels(runs, metric, [f"{a}'s model ({first.name})", f"{b}'s model ({second.name})"])
        result = _paired_levels(runs, *ids, "predict", "sites with a call in --calls", metric=metric, n_resamples=n,
                                block_bp=bp, seed=seed)
        return result if by_context else {k: v for k, v in result.items() if k != "by_context"}
    result = _paired(runs, *ids, "predict", "labelled sites of --calls", metric=metric, n_resamples=n, block_bp=bp,
                     seed=seed, by_context=by_context)
    return _with_targets(result, runs)


def _check_metric(metric: str) -> None:
    """``metric`` among the label metrics and the level ones (which need two level models, see _require_levels)."""
    allowed = METRICS + LEVEL_METRICS
    if metric not in allowed:
        raise DnactxError(f"--metric must be one of {', '.join(allowed)}, got {metric!r}")


def _require_levels(runs: list[ScoredSplit], metric: str, names: list[str]) -> None:
    """A level metric ranks two level models only: one line naming the first that learned the label."""
    for run, name in zip(runs, names, strict=True):
        if run.target != "level":
            raise DnactxError(f"--metric {metric}: {name} learned the label and has no predicted level; a label run "
                              "and a level run are ranked only on what both have: --metric auprc or auroc")


def _with_targets(result: dict, runs: list[ScoredSplit]) -> dict:
    """``result`` with both targets, and a note when they differ (ranked on what both have)."""
    targets = result["targets"] = [r.target for r in runs]
    if len(set(targets)) > 1:
        result["note"] = (f"A learned the {targets[0]} and B the {targets[1]}: ranked on {SHARED} of each run's "
                          "scores against the label, which both have (a level run's score is its predicted level)")
    return result


def _paired(runs: list, a: dict, b: dict, split: str, sites: str, *, metric: str, n_resamples: int, block_bp: int,
            seed: int, by_context: bool = False) -> dict:
    """A − B of ``metric`` and the within-context figures under one set of block draws; ``sites`` says which."""
    draws = draw_runs(runs, block_bp=block_bp, n_resamples=n_resamples, seed=seed)
    if not has_metric(draws, metric):
        raise DnactxError(f"--metric {metric}: not defined for both on the {sites} (F1 needs each run's tuned "
                          "threshold in metrics.json; predictions carry none)")
    names = [metric] + [m for m in WITHIN if m != metric and has_metric(draws, m)]
    labels = runs[0].scores.labels
    result = {"a": a, "b": b, "split": split, "sites": sites, "n_sites": int(labels.size),
              "n_positives": int(labels.sum()), "block_bp": block_bp,
              "comparisons": [group_difference(draws, [0], [1], m) for m in names]}
    if by_context:
        positives = {str(c): int(labels[runs[0].context == c].sum()) for c in np.unique(runs[0].context)}
        result["by_context"] = _context_differences(draws, ["auprc", "auroc"], positives)
    return result


def _context_differences(draws: Draws, metrics: list[str], positives: dict[str, int]) -> dict[str, list[dict]]:
    """Per context, A − B of each of ``metrics`` under the same block draws (the contexts' own resamples); a
    context with too few methylated sites (``positives``) gets no verdict (:func:`too_few_positives`)."""
    out: dict[str, list[dict]] = {}
    contexts = [c for c in (draws.observed[0].get("by_context") or {})
                if all(c in (r.get("by_context") or {}) for r in (*draws.observed, *draws.resampled))]
    for c in contexts:
        sub = Draws([o["by_context"][c] for o in draws.observed], [r["by_context"][c] for r in draws.resampled],
                    draws.summary)
        out[c] = [too_few_positives(group_difference(sub, [0], [1], m), positives.get(str(c), 0))
                  for m in metrics if has_metric(sub, m)]
    return out


def _paired_levels(runs: list[ScoredSplit], a: dict, b: dict, split: str, sites: str, *, metric: str,
                   n_resamples: int, block_bp: int, seed: int) -> dict:
    """Two level runs (or level models' predict folders) on the same sites: A − B of every level metric (``metric``
    first), for all sites and per context, under one set of genomic-block draws; ``sites`` says which."""
    check_same_dataset(runs)
    first, second = runs
    if first.levels is None or second.levels is None:
        missing = first if first.levels is None else second
        raise DnactxError(f"run {missing.run_id} ({missing.name}) saved no read counts with its predictions; "
                          "retrain it to compare levels")
    if not np.array_equal(first.scores.index, second.scores.index):
        raise DnactxError("the runs scored different sites (dataset rows differ); compare runs trained on the same "
                          "dataset and split")
    lv = first.levels
    level = lv.mc / np.maximum(lv.cov, 1)
    blocks = blocks_of(first, block_bp)
    draws = paired_level_draws(level, lv.cov, [lv.pred, second.levels.pred], blocks, first.context,
                               n_resamples=n_resamples, seed=seed)
    n_blocks = int(np.unique(blocks).size)
    names = [metric] + [m for m in LEVEL_METRICS if m != metric]
    context = first.context

    def one(key: str | None, name: str) -> dict:
        mask = np.ones(level.size, dtype=bool) if key is None else context == key
        value_a = level_metrics(level[mask], lv.pred[mask], lv.cov[mask])[name]
        value_b = level_metrics(level[mask], second.levels.pred[mask], lv.cov[mask])[name]
        differences = draws[key][0][name] - draws[key][1][name]
        interval = percentile_interval(differences)
        judged = interval  # the verdict reads "better", not "larger": for MAE a negative A − B favours A
        if interval is not None and name in LOWER_IS_BETTER:
            judged = [-interval[1], -interval[0]]
        return {"metric": name, "a": value_a, "b": value_b,
                "difference": None if value_a is None or value_b is None else value_a - value_b, "ci": interval,
                "p_value": p_value(differences), "verdict": verdict(judged), "level": 0.95,
                "n_resamples": n_resamples, "seed": seed, "n_blocks": n_blocks, "approximate": n_blocks < 30}

    return {"a": a, "b": b, "split": split, "sites": sites, "n_sites": int(level.size),
            "n_positives": int(first.scores.labels.sum()), "block_bp": block_bp, "targets": ["level", "level"],
            "comparisons": [one(None, m) for m in names],
            "by_context": {c: [one(c, m) for m in names] for c in draws if c is not None}}


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
        lines.append(_line(LABELS[c["metric"]], c))
    for context, rows in (result.get("by_context") or {}).items():
        for c in rows:
            lines.append(_line(f"  {context} {LABELS[c['metric']]}", c))
    if result.get("note"):
        lines += ["", f"note: {result['note']}"]
    return "\n".join(lines) + "\n"


def _line(name: str, c: dict) -> str:
    interval = f"[{signed(c['ci'][0])}, {signed(c['ci'][1])}]" if c["ci"] else "—"
    return (f"{name:<28}{num(c['a'], 3):>8}{num(c['b'], 3):>8}{signed(c['difference']):>9}  "
            f"{interval:<20}{num(c['p_value'], 3):>7}  {c['verdict']}")
