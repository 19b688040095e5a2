"""The study report as data: select a configuration by its mean validation metric, rank, average by mode/size/model,
compare with the baseline through paired statistics. Pure functions over registry run rows
(:class:`dnactx.contracts.RunRow`) and the numbers of :mod:`dnactx.analysis.significance`."""

from __future__ import annotations

from pathlib import Path

from ..choices import EVAL_SPLITS
from ..contracts import RUN, RUN_IDENTITY, Report, RunRow, parse_metric, run_metric
from ..errors import DnactxError
from ..formatting import Markdown, md_code, md_escape, num, signed
from ..runs import lineage_line, run_target
from ..stats.levels import LEVEL_METRICS
from .configs import LOWER_IS_BETTER, _best_first, configurations, is_designated_baseline, mean_sd
from .significance import COMPARED

SPLITS = EVAL_SPLITS
METRIC_NAMES = ("auprc", "auroc", "f1_at_threshold", "f1_at_0_5", "precision_at_threshold", "recall_at_threshold",
                "precision_at_0_5", "recall_at_0_5", "brier", "ece", "within_auprc", "within_auroc",
                *LEVEL_METRICS)
OPTIMISTIC = "optimistic: chosen on test"
VERDICT_WORDS = {"A better": "better", "B better": "worse", "no detectable difference": "within noise"}
_PRETTY = {"auprc": "AUPRC", "auroc": "AUROC", "f1_at_threshold": "F1 @ tuned", "f1_at_0_5": "F1 @ 0.5",
           "precision_at_threshold": "precision @ tuned", "recall_at_threshold": "recall @ tuned",
           "precision_at_0_5": "precision @ 0.5", "recall_at_0_5": "recall @ 0.5", "brier": "Brier", "ece": "ECE",
           "within_auprc": "within-context AUPRC", "within_auroc": "within-context AUROC",
           "pearson": "Pearson r (level)", "spearman": "Spearman r (level)", "mae": "MAE (level)",
           "r2_weighted": "R² read-weighted (level)"}


def selection_metric(text: str) -> tuple[str, str]:
    """``val_auprc`` → ("val", "auprc"); a bare ``auprc`` means validation. Selecting on test is refused."""
    text = text.strip().lower()
    ref = parse_metric(text)
    split = "val" if ref.split == RUN else ref.split
    name = ref.name
    if ref.context or name not in METRIC_NAMES:
        raise DnactxError(f"--metric {text!r}: unknown metric; use val_ followed by one of {', '.join(METRIC_NAMES)}")
    if split != "val":
        raise DnactxError(f"--metric {text!r}: runs are selected on validation (val_{name}); test metrics of the "
                          "selected run are reported with the val-tuned threshold")
    return split, name


def check_targets(rows: list[RunRow], name: str) -> list[str]:
    """Label runs and level runs are ranked together only on a metric both have (the scores against the label:
    AUPRC, AUROC, F1, ...): a DnactxError for a level-only metric among label runs; the note saying so, if mixed."""
    targets = {run_target(r.get("config") or {}) for r in rows}
    if name in LEVEL_METRICS and "label" in targets:
        label_runs = sum(run_target(r.get("config") or {}) == "label" for r in rows)
        raise DnactxError(f"--metric val_{name}: {label_runs} of the {len(rows)} runs learned the label and have no "
                          f"predicted level; rank label and level runs on what both have (--metric val_auprc or "
                          f"val_auroc), or select level runs alone (a --matrix of them)")
    if len(targets) > 1:
        return [f"label and level runs ranked together on {label('val', name)}, which both have: a level run's score "
                "is its predicted level, judged against the same labels"]
    return []


def label(split: str, name: str) -> str:
    return f"{split} {_PRETTY.get(name, name)}"


def rank(rows: list[RunRow], name: str, split: str = "val") -> list[RunRow]:
    """Rows best first by ``split``/``name``; runs without the metric last; ties by id (creation order)."""
    return sorted(rows, key=_best_first(name, split))


def select(rows: list[RunRow], name: str) -> RunRow:
    """The run with the best validation value of ``name``."""
    ranked = rank(rows, name, "val")
    if not ranked or run_metric(ranked[0], f"val_{name}") is None:
        raise DnactxError(f"no completed run has val {name}; check `dnactx runs list` for failed or unfinished runs")
    return ranked[0]


def select_configuration(rows: list[RunRow], name: str) -> dict:
    """The configuration (runs differing only by seed) with the best mean validation ``name``."""
    configs = configurations(rows, name)
    if not configs or configs[0]["val_mean"] is None:
        raise DnactxError(f"no completed run has val {name}; check `dnactx runs list` for failed or unfinished runs")
    return configs[0]


def best_by_test(rows: list[RunRow], name: str) -> RunRow | None:
    ranked = rank(rows, name, "test")
    return ranked[0] if ranked and run_metric(ranked[0], f"test_{name}") is not None else None


def group_means(rows: list[RunRow], by: str, name: str) -> list[dict]:
    """Mean val and test ``name`` per value of ``by`` (mode, size, model, ...), groups in natural order; a matrix's
    designated baseline runs are left out (see :func:`baseline_means`)."""
    groups: dict = {}
    for row in rows:
        if not is_designated_baseline(row):
            groups.setdefault(row.get(by), []).append(row)
    order = {"up": 0, "down": 1, "both": 2}
    out = []
    for key in sorted(groups, key=lambda k: (k is None, isinstance(k, str), order.get(k, 9) if isinstance(k, str)
                                             else 0, k if k is not None else 0)):
        members = groups[key]
        out.append({by: key, "runs": len(members),
                    "val_mean": mean_sd([run_metric(r, f"val_{name}") for r in members])[0],
                    "test_mean": mean_sd([run_metric(r, f"test_{name}") for r in members])[0],
                    "val_best": max((v for r in members if (v := run_metric(r, f"val_{name}")) is not None),
                                    default=None)})
    return out


def baseline_means(rows: list[RunRow], name: str) -> dict | None:
    """The matrix's baseline runs, as a row of their own beside the means."""
    runs = [r for r in rows if is_designated_baseline(r)]
    if not runs:
        return None
    return {"runs": len(runs), "model": runs[0].get("model"), "size": runs[0].get("size"), "mode": runs[0].get("mode"),
            "val_mean": mean_sd([run_metric(r, f"val_{name}") for r in runs])[0],
            "test_mean": mean_sd([run_metric(r, f"test_{name}") for r in runs])[0]}


def compare(selected: list[RunRow], baseline: list[RunRow], versus: dict | None = None) -> list[dict]:
    """Selected vs baseline (each the mean over its runs) on val and test: values from the registry, and from the
    paired statistics ``versus`` (split → metric → comparison) the interval, p-value and better/worse/within noise."""
    if not baseline:
        return []
    out = []
    for split in SPLITS:
        for name in COMPARED:
            a = mean_sd([run_metric(r, f"{split}_{name}") for r in selected])[0]
            b = mean_sd([run_metric(r, f"{split}_{name}") for r in baseline])[0]
            if a is None and b is None:
                continue
            paired = ((versus or {}).get(split) or {}).get(name) or {}
            out.append({"split": split, "metric": name, "selected": a, "baseline": b,
                        "difference": a - b if a is not None and b is not None else None,
                        "ratio": a / b if a is not None and b not in (None, 0) else None,
                        "ci": paired.get("ci"), "p_value": paired.get("p_value"),
                        "verdict": VERDICT_WORDS.get(paired.get("verdict")) if paired else None})
    return out


def heatmap_grid(rows: list[RunRow], name: str) -> dict:
    """Best mean val ``name`` (over seeds) per (size, mode) cell, over the other axes; baselines left out."""
    configs = [c for c in configurations(rows, name) if not c["baseline"]]
    sizes = sorted({c["size"] for c in configs if c["size"] is not None})
    modes = [m for m in ("up", "down", "both") if any(c["mode"] == m for c in configs)]
    modes += sorted({c["mode"] for c in configs if c["mode"] and c["mode"] not in modes})
    better = min if name in LOWER_IS_BETTER else max
    grid = []
    for size in sizes:
        line = []
        for mode in modes:
            vals = [c["val_mean"] for c in configs if c["size"] == size and c["mode"] == mode
                    and c["val_mean"] is not None]
            line.append(better(vals) if vals else None)
        grid.append(line)
    return {"rows": sizes, "cols": modes, "values": grid, "aggregate": "best", "metric": f"val_{name}"}


def run_summary(row: RunRow, name: str) -> dict:
    metrics = row.get("metrics") or {}
    return {**{k: row.get(k) for k in RUN_IDENTITY},
            "val": metrics.get("val") or {}, "test": metrics.get("test") or {},
            "threshold": metrics.get("threshold"), "train_sites": run_metric(row, "train_sites"),
            f"val_{name}": run_metric(row, f"val_{name}"), f"test_{name}": run_metric(row, f"test_{name}"),
            "lineage": lineage_line(row.get("config") or {})}  # fine-tuned from a `dnactx pretrain`: which one


def ranked_table(rows: list[RunRow], name: str, selected_ids: list[str], baseline_ids: list[str]) -> list[dict]:
    out = []
    for i, row in enumerate(rank(rows, name, "val"), 1):
        metrics = row.get("metrics") or {}
        entry = {"rank": i, **{k: row.get(k) for k in RUN_IDENTITY}}
        for split in SPLITS:
            for metric in ("auprc", "auroc", "f1_at_threshold", "f1_at_0_5", "brier", "ece", "within_auprc",
                           "within_auroc"):
                entry[f"{split}_{metric}"] = run_metric(row, f"{split}_{metric}")
        entry["threshold"] = metrics.get("threshold")
        entry["selected"] = row.get("id") in selected_ids
        entry["baseline"] = row.get("id") in baseline_ids
        out.append(entry)
    return out


def config_table(rows: list[RunRow], name: str, selected_key: str) -> list[dict]:
    """One row per configuration, best mean val first: seeds, mean ± sd of val/test ``name``, within-context."""
    return [{**{k: c[k] for k in ("model", "size", "mode", "finetune", "seeds", "ids", "baseline", "val_mean",
                                  "val_sd", "test_mean", "test_sd", "val_within_mean", "test_within_mean")},
             "name": c["representative"].get("name"), "rank": i, "selected": c["key"] == selected_key}
            for i, c in enumerate(configurations(rows, name), 1)]


def _oriented(pair: dict, first) -> dict:
    """A pair comparison read as ``first`` − the other group (difference, interval and verdict flipped if needed)."""
    if pair["a_value"] == first:
        return {**pair, "other": pair["b_value"]}
    lo_hi = [-pair["ci"][1], -pair["ci"][0]] if pair["ci"] else None
    flipped = {"A better": "B better", "B better": "A better"}.get(pair["verdict"], pair["verdict"])
    return {**pair, "other": pair["a_value"], "difference": None if pair["difference"] is None
            else -pair["difference"], "ci": lo_hi, "verdict": flipped}


def _diff(c: dict) -> str:
    interval = f" [{signed(c['ci'][0])}, {signed(c['ci'][1])}]" if c.get("ci") else ""
    return f"{signed(c['difference'])}{interval}"


def distinguishable(by: str, axis: dict | None, means: list[dict], test_label: str, val_label: str) -> str | None:
    """One sentence on whether the groups of ``by`` differ on test beyond noise: the best group by validation
    against each other group, or, when no pair of groups differs, that none is distinguishable (no winner named)."""
    if not axis or len(means) < 2 or not axis["pairs"]:
        return None
    n = axis["n_comparisons"]
    how = (f"{n} paired comparison{'s' if n > 1 else ''} of group means on the same test sites, "
           + (f"{num(100 * axis['level'], 1)}% intervals (Bonferroni over {n})" if n > 1 else "its 95% interval"))
    real = [p for p in axis["pairs"] if p["verdict"] != "no detectable difference"]
    if not real:
        widest = max(axis["pairs"], key=lambda p: abs(p["difference"] or 0))
        include = "all include 0" if n > 1 else "includes 0"
        return (f"No {by} is distinguishable from another on {test_label}: {how} {include}; the largest "
                f"difference, {widest['a_value']} − {widest['b_value']}, is {_diff(widest)}.")
    scored = [g for g in means if g.get("val_mean") is not None]
    best = (min if "Brier" in val_label or "ECE" in val_label else max)(scored, key=lambda g: g["val_mean"])[by]
    parts = []
    for pair in (_oriented(p, best) for p in axis["pairs"] if best in (p["a_value"], p["b_value"])):
        word = {"A better": "better than", "B better": "worse than"}.get(pair["verdict"], "not distinguishable from")
        parts.append(f"{word} {pair['other']} ({_diff(pair)})")
    others = [p for p in real if best not in (p["a_value"], p["b_value"])]
    tail = "; also " + ", ".join(f"{p['a_value']} vs {p['b_value']} {_diff(p)}" for p in others) if others else ""
    return f"{best} has the best mean {val_label}; on {test_label} it is {', '.join(parts)}{tail}; {how}."


def _axis_summaries(rows: list[RunRow], name: str, stats: dict, test_label: str, val_label: str) -> dict:
    out = {}
    for by in ("mode", "size", "model"):
        means = group_means(rows, by, name)
        axis = (stats.get("axes") or {}).get(by)
        for g in means:
            found = next((x for x in (axis or {}).get("groups", []) if x["value"] == g[by]), None)
            g["test_stat_mean"], g["test_ci"] = (found["mean"], found["ci"]) if found else (None, None)
        out[f"by_{by}"] = means
        out[f"{by}_verdict"] = distinguishable(by, axis, means, test_label, val_label)
    return out


def fairness_notes(selected: list[RunRow], baseline: list[RunRow]) -> list[str]:
    """What makes the comparison unfair and is visible in the runs: different training sites."""
    if not baseline:
        return []
    mine = {run_metric(r, "train_sites") for r in selected} - {None}
    theirs = {run_metric(r, "train_sites") for r in baseline} - {None}
    if mine and theirs and mine != theirs:
        return [f"the baseline trained on {', '.join(f'{int(n):,}' for n in sorted(theirs))} sites and the selected "
                f"configuration on {', '.join(f'{int(n):,}' for n in sorted(mine))}: differences mix model and data "
                "(a matrix's baseline inherits its cells' --train-fraction, --max-train and seed)"]
    return []


def build_report(rows: list[RunRow], *, metric: str = "val_auprc", baseline: RunRow | None = None,
                 baseline_runs: list[RunRow] | None = None, baseline_reason: str = "", scope: str = "all runs",
                 diagnosis: dict | None = None, stats: dict | None = None) -> Report:
    """Everything the report page shows, as one JSON-ready dict (numbers straight from the registry rows; intervals
    and verdicts from ``stats``, :func:`dnactx.analysis.significance.report_stats`)."""
    if not rows:
        raise DnactxError(f"no completed runs for {scope}; train some with `dnactx train` or `dnactx matrix`")
    split, name = selection_metric(metric)
    target_note = check_targets(rows, name)
    chosen = select_configuration(rows, name)
    selected = chosen["representative"]
    baseline_runs = baseline_runs if baseline_runs is not None else ([baseline] if baseline else [])
    on_test = best_by_test(rows, name)
    stats = stats or {}
    report: Report = {
        "scope": scope, "metric": f"{split}_{name}", "metric_label": label(split, name),
        "lower_is_better": name in LOWER_IS_BETTER, "n_runs": len(rows),
        "selected": run_summary(selected, name),
        "selected_configuration": {k: chosen[k] for k in ("ids", "seeds", "val_mean", "val_sd", "test_mean",
                                                          "test_sd", "val_within_mean", "test_within_mean")},
        "best_by_test": ({**{k: on_test.get(k) for k in ("id", "name", "model", "size", "mode", "finetune")},
                          "value": run_metric(on_test, f"test_{name}"), "label": OPTIMISTIC} if on_test else None),
        "baseline": run_summary(baseline, name) if baseline else None,
        "baseline_ids": [r["id"] for r in baseline_runs], "baseline_reason": baseline_reason,
        "comparison": compare(chosen["runs"], baseline_runs, stats.get("versus")),
        "per_context": (selected.get("metrics") or {}).get("by_context") or {},
        "per_feature": _by_feature(selected),
        **_axis_summaries(rows, name, stats, label("test", _stat_label(stats, name)), label(split, name)),
        "baseline_means": baseline_means(rows, name),
        "configurations": config_table(rows, name, chosen["key"]),
        "runs": ranked_table(rows, name, chosen["ids"], [r["id"] for r in baseline_runs]),
        "heatmap": heatmap_grid(rows, name), "diagnosis": diagnosis,
        "stats": {k: v for k, v in stats.items() if k not in ("versus", "axes")},
        "notes": fairness_notes(chosen["runs"], baseline_runs) + target_note + list(stats.get("notes") or []),
    }
    report["next_steps"] = next_steps(report)
    return report


def _by_feature(row: RunRow) -> dict:
    """metrics.json's by_feature of a run (prepare --annotation), read from its folder: the registry keeps no
    per-feature rows. Empty when the run has none or its folder is gone."""
    folder = row.get("folder")
    if not folder or not (Path(folder) / "metrics.json").is_file():
        return {}
    from ..runs import RunFolder

    return (RunFolder(Path(folder)).metrics or {}).get("by_feature") or {}


def _stat_label(stats: dict, name: str) -> str:
    """The report's name of the metric the groups were compared on."""
    return {"f1": "f1_at_threshold"}.get(stats.get("metric"), stats.get("metric") or name)


def next_steps(report: Report) -> list[Markdown]:
    """Concrete follow-ups as Markdown (user values escaped): the selected run's top remedies, then study-level
    checks."""
    steps = []
    diagnosis = report.get("diagnosis") or {}
    for r in (diagnosis.get("remedies") or [])[:3]:
        flags = f"{md_code(r['flags'])}: " if r.get("flags") else ""
        command = f" ({md_code(r['command'])})" if r.get("command") else ""
        steps.append(Markdown(f"{flags}{md_escape(r['action'])}{command}"))
    seeds = report["selected_configuration"]["seeds"]
    seeds_suggested = any(r.get("key") == "seeds" for r in (diagnosis.get("remedies") or [])[:3])
    if len(seeds) < 3 and not seeds_suggested:
        steps.append(Markdown(f"repeat the selected configuration over 3 seeds "
                              f"({md_code('dnactx matrix ... --seeds 0,1,2')}) before trusting differences smaller "
                              "than the seed-to-seed spread"))
    selected = report["selected"]
    designated = any(c["selected"] and c["baseline"] for c in report["configurations"])
    other_lr = [r for r in report["runs"] if r.get("family") == "lr" and r["id"] != selected.get("id")]
    others = [r for r in report["runs"] if r.get("family") != "lr"]
    if selected.get("family") == "lr" and (designated or not other_lr) and (report.get("baseline") or others):
        steps.append(_lr_won(report, report.get("baseline") or others[0]))  # the baseline itself was selected
    elif report.get("baseline") is None:
        steps.append(Markdown(md_escape(report.get("baseline_reason") or "train an lr baseline")))
    return steps


def _lr_won(report: dict, best: dict) -> Markdown:
    """The lr baseline was selected: what the test comparison with ``best`` (the run it was compared with) says."""
    test = next((c for c in report["comparison"] if (c["split"], c["metric"]) == ("test", "auprc")), None)
    other = f"{md_escape(best.get('name') or best['id'])} ({md_escape(best.get('model'))})"
    diagnose = md_code(f"dnactx diagnose {best['id']}")
    if not test or not test.get("ci"):
        return Markdown(f"the lr baseline beats every other model on {report['metric_label']}: see why the best of "
                        f"them, {other}, falls short with {diagnose}")
    shown = f"{signed(-test['difference'])} [{signed(-test['ci'][1])}, {signed(-test['ci'][0])}]"
    if test["verdict"] == "worse":
        val = next((c for c in report["comparison"] if (c["split"], c["metric"]) == ("val", "auprc")), None)
        lead = (f" by {signed(val['difference'])} [{signed(val['ci'][0])}, {signed(val['ci'][1])}], "
                f"{'within noise' if val['verdict'] == 'within noise' else 'a real lead'}") if val and val.get("ci") \
            else ""
        return Markdown(f"the lr baseline has the best {report['metric_label']}{lead}, yet on test AUPRC {other} is "
                        f"better by {shown}: prefer {other} and repeat both over seeds before concluding")
    if test["verdict"] == "better":
        return Markdown(f"the lr baseline beats every other model on {report['metric_label']} and on test "
                        f"({other}: {shown} on test AUPRC): see why the best of them falls short with {diagnose}")
    return Markdown(f"the lr baseline has the best {report['metric_label']} and {other} is within noise of it on test "
                    f"AUPRC ({shown}): nothing beats the baseline yet; see why with {diagnose}")
