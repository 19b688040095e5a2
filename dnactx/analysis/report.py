"""The study report as data: select by a validation metric, rank, average by mode/size/model, compare with a
baseline. Pure functions over registry run rows (:class:`dnactx.contracts.RunRow`)."""

from __future__ import annotations

from collections.abc import Callable

from ..contracts import RUN, RUN_IDENTITY, RunRow, parse_metric, run_metric
from ..errors import DnactxError

SPLITS = ("val", "test")
LOWER_IS_BETTER = {"brier", "ece"}
METRIC_NAMES = ("auprc", "auroc", "f1_at_threshold", "f1_at_0_5", "precision_at_threshold", "recall_at_threshold",
                "precision_at_0_5", "recall_at_0_5", "brier", "ece")
COMPARED = ("auprc", "auroc", "f1_at_threshold", "precision_at_threshold", "recall_at_threshold", "f1_at_0_5",
            "brier", "ece")
OPTIMISTIC = "optimistic: chosen on test"


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


def label(split: str, name: str) -> str:
    pretty = {"auprc": "AUPRC", "auroc": "AUROC", "f1_at_threshold": "F1 @ tuned", "f1_at_0_5": "F1 @ 0.5",
              "precision_at_threshold": "precision @ tuned", "recall_at_threshold": "recall @ tuned",
              "precision_at_0_5": "precision @ 0.5", "recall_at_0_5": "recall @ 0.5", "brier": "Brier", "ece": "ECE"}
    return f"{split} {pretty.get(name, name)}"


def _sort_key(name: str, split: str) -> Callable[[RunRow], tuple]:
    sign = 1.0 if name in LOWER_IS_BETTER else -1.0

    def key(row: RunRow) -> tuple:
        v = run_metric(row, f"{split}_{name}")
        return (v is None, sign * v if v is not None else 0.0, str(row.get("id")))
    return key


def rank(rows: list[RunRow], name: str, split: str = "val") -> list[RunRow]:
    """Rows best first by ``split``/``name``; runs without the metric last; ties by id (creation order)."""
    return sorted(rows, key=_sort_key(name, split))


def select(rows: list[RunRow], name: str) -> RunRow:
    """The run with the best validation value of ``name``."""
    ranked = rank(rows, name, "val")
    if not ranked or run_metric(ranked[0], f"val_{name}") is None:
        raise DnactxError(f"no completed run has val {name}; check `dnactx runs list` for failed or unfinished runs")
    return ranked[0]


def best_by_test(rows: list[RunRow], name: str) -> RunRow | None:
    ranked = rank(rows, name, "test")
    return ranked[0] if ranked and run_metric(ranked[0], f"test_{name}") is not None else None


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def group_means(rows: list[RunRow], by: str, name: str) -> list[dict]:
    """Mean val and test ``name`` per value of ``by`` (mode, size, model, ...), groups in natural order."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get(by), []).append(row)
    out = []
    order = {"up": 0, "down": 1, "both": 2}
    for key in sorted(groups, key=lambda k: (k is None, isinstance(k, str), order.get(k, 9) if isinstance(k, str)
                                             else 0, k if k is not None else 0)):
        members = groups[key]
        out.append({by: key, "runs": len(members),
                    "val_mean": _mean([run_metric(r, f"val_{name}") for r in members]),
                    "test_mean": _mean([run_metric(r, f"test_{name}") for r in members]),
                    "val_best": max((v for r in members if (v := run_metric(r, f"val_{name}")) is not None),
                                    default=None)})
    return out


def compare(selected: RunRow, baseline: RunRow | None) -> list[dict]:
    """Selected vs baseline for each compared metric on val and test: values, difference and ratio."""
    if baseline is None:
        return []
    out = []
    for split in SPLITS:
        for name in COMPARED:
            a, b = run_metric(selected, f"{split}_{name}"), run_metric(baseline, f"{split}_{name}")
            if a is None and b is None:
                continue
            out.append({"split": split, "metric": name, "selected": a, "baseline": b,
                        "difference": a - b if a is not None and b is not None else None,
                        "ratio": a / b if a is not None and b not in (None, 0) else None,
                        "better": None if a is None or b is None or a == b
                        else (a < b) if name in LOWER_IS_BETTER else (a > b)})
    return out


def heatmap_grid(rows: list[RunRow], name: str) -> dict:
    """Best val ``name`` per (size, mode) cell: the best that configuration reached over the other axes."""
    sizes = sorted({r.get("size") for r in rows if r.get("size") is not None})
    modes = [m for m in ("up", "down", "both") if any(r.get("mode") == m for r in rows)]
    modes += sorted({r.get("mode") for r in rows if r.get("mode") and r.get("mode") not in modes})
    better = min if name in LOWER_IS_BETTER else max
    grid = []
    for size in sizes:
        line = []
        for mode in modes:
            vals = [v for r in rows if r.get("size") == size and r.get("mode") == mode
                    and (v := run_metric(r, f"val_{name}")) is not None]
            line.append(better(vals) if vals else None)
        grid.append(line)
    return {"rows": sizes, "cols": modes, "values": grid, "aggregate": "best", "metric": f"val_{name}"}


def run_summary(row: RunRow, name: str) -> dict:
    metrics = row.get("metrics") or {}
    return {**{k: row.get(k) for k in RUN_IDENTITY},
            "val": metrics.get("val") or {}, "test": metrics.get("test") or {},
            "threshold": metrics.get("threshold"),
            f"val_{name}": run_metric(row, f"val_{name}"), f"test_{name}": run_metric(row, f"test_{name}")}


def ranked_table(rows: list[RunRow], name: str, selected_id: str, baseline_id: str | None) -> list[dict]:
    out = []
    for i, row in enumerate(rank(rows, name, "val"), 1):
        metrics = row.get("metrics") or {}
        entry = {"rank": i, **{k: row.get(k) for k in RUN_IDENTITY}}
        for split in SPLITS:
            for metric in ("auprc", "auroc", "f1_at_threshold", "f1_at_0_5", "brier", "ece"):
                entry[f"{split}_{metric}"] = run_metric(row, f"{split}_{metric}")
        entry["threshold"] = metrics.get("threshold")
        entry["selected"] = row.get("id") == selected_id
        entry["baseline"] = row.get("id") == baseline_id
        out.append(entry)
    return out


def build_report(rows: list[RunRow], *, metric: str = "val_auprc", baseline: RunRow | None = None,
                 baseline_reason: str = "", scope: str = "all runs", diagnosis: dict | None = None) -> dict:
    """Everything the report page shows, as one JSON-ready dict (numbers straight from the registry rows)."""
    if not rows:
        raise DnactxError(f"no completed runs for {scope}; train some with `dnactx train` or `dnactx matrix`")
    split, name = selection_metric(metric)
    chosen = select(rows, name)
    on_test = best_by_test(rows, name)
    baseline_id = baseline.get("id") if baseline else None
    metrics = chosen.get("metrics") or {}
    report = {
        "scope": scope,
        "metric": f"{split}_{name}",
        "metric_label": label(split, name),
        "lower_is_better": name in LOWER_IS_BETTER,
        "n_runs": len(rows),
        "selected": run_summary(chosen, name),
        "best_by_test": ({**{k: on_test.get(k) for k in ("id", "name", "model", "size", "mode", "finetune")},
                          "value": run_metric(on_test, f"test_{name}"), "label": OPTIMISTIC} if on_test else None),
        "baseline": run_summary(baseline, name) if baseline else None,
        "baseline_reason": baseline_reason,
        "comparison": compare(chosen, baseline),
        "per_context": metrics.get("by_context") or {},
        "by_mode": group_means(rows, "mode", name),
        "by_size": group_means(rows, "size", name),
        "by_model": group_means(rows, "model", name),
        "runs": ranked_table(rows, name, chosen["id"], baseline_id),
        "heatmap": heatmap_grid(rows, name),
        "diagnosis": diagnosis,
    }
    report["next_steps"] = next_steps(report)
    return report


def next_steps(report: dict) -> list[str]:
    """Concrete follow-ups: the selected run's top remedies, then study-level checks."""
    steps = []
    diagnosis = report.get("diagnosis") or {}
    for r in (diagnosis.get("remedies") or [])[:3]:
        flags = f"`{r['flags']}`: " if r.get("flags") else ""
        command = f" (`{r['command']}`)" if r.get("command") else ""
        steps.append(f"{flags}{r['action']}{command}")
    selected = report["selected"]
    seeds = {r.get("seed") for r in report["runs"]
             if (r.get("model"), r.get("size"), r.get("mode"), r.get("finetune"))
             == (selected.get("model"), selected.get("size"), selected.get("mode"), selected.get("finetune"))}
    seeds_suggested = any(r.get("key") == "seeds" for r in (diagnosis.get("remedies") or [])[:3])
    if len(seeds) < 3 and not seeds_suggested:
        steps.append("repeat the selected configuration over 3 seeds (`dnactx matrix ... --seed 0,1,2`) before "
                     "trusting differences smaller than the seed-to-seed spread")
    others = [r for r in report["runs"] if r.get("family") != "lr"]
    if selected.get("family") == "lr" and others:
        best = others[0]
        steps.append(f"the lr baseline beats every other model on {report['metric_label']}: see why the best of them "
                     f"falls short with `dnactx diagnose {best['id']}` ({best.get('name')})")
    elif report.get("baseline") is None:
        steps.append(report.get("baseline_reason") or "train an lr baseline")
    return steps
