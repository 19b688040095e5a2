"""The work behind ``dnactx diagnose`` and ``dnactx report``: load from the registry, analyse, write outputs."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_json, write_text
from ..errors import DnactxError
from . import plots
from .diagnose import build_evidence, diagnose
from .inputs import find_baseline, load_predictions, repeat_flags, run_folder, run_metrics
from .render import clean, png_data_uri, report_csv, report_html, report_markdown
from .report import build_report, parse_metric, pick_baseline

DIAGNOSIS_FILE = "diagnosis.json"


def _registry(home: Path):
    from ..registry import Registry

    return Registry.open(Path(home), create=False)  # reading never leaves an empty registry behind


def diagnose_row(row: dict, home: Path, *, all_rows: list[dict] | None = None, plots_dir: Path | None = None,
                 save: bool = True) -> dict:
    """Diagnose one registry run row; write diagnosis.json into its folder and plots into ``plots_dir``."""
    folder = run_folder(row, home)
    metrics = run_metrics(row, folder)
    config = {**(row.get("config") or {}), **folder.config}
    preds = load_predictions(folder)
    if preds is None and not metrics:
        raise DnactxError(f"run {row['id']} has neither {folder.path}/predictions_val_test.npz nor metrics.json "
                          f"(status {row.get('status')}); diagnose a completed run")
    notes = []
    threshold = metrics.get("threshold")
    if threshold is None:
        threshold = 0.5
        notes.append("metrics.json has no tuned threshold: 0.5 used")
    baseline_row = find_baseline(all_rows or [], row)
    baseline = ({"id": baseline_row["id"], "name": baseline_row.get("name"), "metrics": baseline_row.get("metrics")}
                if baseline_row else None)
    if preds is None:
        notes.append(f"no predictions in {folder.path}: figures come from metrics.json (no quantiles, curves or "
                     "repeat split)")
        ev = build_evidence(threshold=threshold, metrics=metrics, config=config, baseline=baseline, notes=notes)
    else:
        repeat, note = repeat_flags(config, {"val": preds["val_index"], "test": preds["test_index"]})
        if note:
            notes.append(note)
        ev = build_evidence(
            threshold=threshold, metrics=metrics, config=config, baseline=baseline, notes=notes,
            val=(preds["val_label"], preds["val_prob"]), test=(preds["test_label"], preds["test_prob"]),
            val_context=preds["val_context"], test_context=preds["test_context"],
            val_repeat=repeat["val"] if repeat else None, test_repeat=repeat["test"] if repeat else None)
    result = diagnose(ev)
    result["run"] = {k: row.get(k) for k in ("id", "name", "status", "family", "model", "size", "mode", "finetune",
                                             "seed", "matrix")}
    result["run"]["folder"] = str(folder.path)
    if plots_dir is not None:
        if preds is None:
            raise DnactxError(f"--plots needs {folder.path}/predictions_val_test.npz, which this run did not write")
        splits = {"val": (preds["val_label"], preds["val_prob"]), "test": (preds["test_label"], preds["test_prob"])}
        paths = plots.diagnosis_plots(splits, result["sweep"], threshold, Path(plots_dir))
        result["plots"] = [str(p) for p in paths]
    result = clean(result)
    if save and (folder.path / "status.json").is_file():  # never recreate a run folder that was removed
        write_json(folder.path / DIAGNOSIS_FILE, result)
    return result


def diagnose_run(home: Path, run_id: str, *, plots_dir: Path | None = None) -> dict:
    reg = _registry(home)
    row = reg.run(run_id)
    return diagnose_row(row, home, all_rows=reg.runs(status="completed"), plots_dir=plots_dir)


def report(home: Path, *, matrix: str | None = None, model: str | None = None, status: str = "completed",
           baseline: str | None = "auto", metric: str = "val_auprc", out: Path | None = None) -> dict:
    """Build the report from the registry and write report.md, report.csv, report.html and heatmap.png to ``out``."""
    _, name = parse_metric(metric)
    reg = _registry(home)
    if matrix and matrix not in {m["name"] for m in reg.matrices()} and not reg.runs(matrix=matrix):
        known = ", ".join(sorted(m["name"] for m in reg.matrices())) or "none"
        raise DnactxError(f"no matrix named {matrix!r} in {home} (known: {known}); see `dnactx runs ls`")
    rows = reg.runs(status=status, matrix=matrix, model=model)
    scope = " ".join(filter(None, [f"matrix {matrix}" if matrix else "all runs",
                                   f"model {model}" if model else None,
                                   f"status {status}" if status != "completed" else None]))
    if not rows:
        raise DnactxError(f"no {status} runs for {scope} in {home}; train some with `dnactx train` or "
                          "`dnactx matrix`, or check the filters")
    completed = reg.runs(status="completed")
    rows_with_metric = [r for r in rows if ((r.get("metrics") or {}).get("val") or {}).get(name) is not None]
    if not rows_with_metric:
        raise DnactxError(f"none of the {len(rows)} runs for {scope} has val {name}; see `dnactx runs ls`")
    from .report import select

    chosen = select(rows_with_metric, name)
    if baseline in (None, "", "none"):
        base_row, reason = None, "disabled with --baseline none"
    elif baseline == "auto":
        base_row, reason = pick_baseline(rows_with_metric, completed, chosen, name)
    else:
        base_row, reason = reg.run(baseline), "given with --baseline"
    if base_row is not None and base_row["id"] == chosen["id"]:
        base_row, reason = None, "the selected run is itself the lr baseline"
    diagnosis = diagnose_row(chosen, home, all_rows=completed, save=True)
    result = build_report(rows_with_metric, metric=metric, baseline=base_row, baseline_reason=reason, scope=scope,
                          diagnosis=_short_diagnosis(diagnosis))
    result["skipped_without_metric"] = [r["id"] for r in rows if r not in rows_with_metric]
    out = Path(out) if out is not None else Path(home) / "reports" / (matrix or "all")
    result["out"] = write_report(result, out)
    return clean(result)


def _short_diagnosis(d: dict) -> dict:
    return {"verdict": d.get("verdict"), "notes": d.get("notes") or [],
            "findings": [{k: f[k] for k in ("code", "title", "evidence", "conclusion", "severity")}
                         for f in d.get("findings") or []],
            "remedies": d.get("remedies") or []}


def write_report(result: dict, out: Path) -> dict:
    """report.md, report.csv, report.html (heatmap embedded) and heatmap.png, each written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    grid = result["heatmap"]
    heatmap_png = None
    if grid["rows"] and grid["cols"]:
        heatmap_png = plots.heatmap(
            [[float("nan") if v is None else v for v in row] for row in grid["values"]], grid["rows"], grid["cols"],
            out / "heatmap.png", title=f"best {result['metric_label']} per size × mode", row_label="size (bp)",
            col_label="mode")
        written["heatmap"] = str(heatmap_png)
    markdown = report_markdown(result, "heatmap.png" if heatmap_png else None)
    written["markdown"] = str(write_text(out / "report.md", markdown))
    written["csv"] = str(write_text(out / "report.csv", report_csv(result)))
    page = report_markdown(result, png_data_uri(heatmap_png) if heatmap_png else None)
    written["html"] = str(write_text(out / "report.html", report_html(page, f"dnactx report: {result['scope']}")))
    result["markdown"] = markdown
    return written
