"""The work behind ``dnactx diagnose`` and ``dnactx report``: load from the registry, analyse, write outputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, json_safe, write_json, write_text
from ..contracts import RUN_IDENTITY, BaselineRef, Diagnosis, Report, RunRow, run_metric
from ..errors import DnactxError
from ..explain.artifact import explanation_summary, read_explanation
from ..outputs import claim_folder, owned_names
from ..runs import RunFolder
from ..stats.bootstrap import DEFAULT_BLOCK_BP, block_ids
from . import plots
from .baseline import AUTO, baseline_runs, choose_baseline, runner_up
from .diagnose import diagnose
from .evidence import SplitScores, build_evidence
from .inputs import PREDICTIONS, dataset_positions, load_predictions, repeat_flags, run_folder, run_metrics
from .report import build_report, check_targets, select_configuration, selection_metric
from .report_page import png_data_uri, report_csv, report_html, report_markdown
from .significance import DrawSettings, report_stats

DIAGNOSIS_FILE = "diagnosis.json"


REPORT_FILES = owned_names(("report.md", "report.csv", "report.html", "heatmap.png", "pr_curves.png",
                            "explain_profile.png"))
PLOT_FILES = owned_names(plots.DIAGNOSIS_PLOTS)


def _registry(home: Path):
    from ..registry import Registry

    return Registry.open(Path(home), create=False)  # reading never leaves an empty registry behind


def _baseline_ref(row: RunRow | None) -> BaselineRef | None:
    return {"id": row["id"], "name": row.get("name"), "metrics": row.get("metrics") or {}} if row else None


def _scores(folder: RunFolder, config: dict, notes: list[str]) -> dict[str, SplitScores] | None:
    """Val/test labels and probabilities from the run's predictions, with contexts, repeat flags and blocks."""
    preds = load_predictions(folder)
    if preds is None:
        return None
    repeat, note = repeat_flags(config, {"val": preds["val_index"], "test": preds["test_index"]})
    if note:
        notes.append(note)
    return {s: SplitScores(preds[f"{s}_label"], preds[f"{s}_prob"], preds[f"{s}_context"],
                           repeat[s] if repeat else None, _blocks(preds, s, config, notes)) for s in ("val", "test")}


def _blocks(preds: dict, split: str, config: dict, notes: list[str]) -> np.ndarray | None:
    """Genomic block of each site (for the noise of a remedy's effect), or None with a note saying why not."""
    if f"{split}_pos" in preds:
        where = (preds[f"{split}_chrom"], preds[f"{split}_pos"])
    else:
        where = dataset_positions(config, preds[f"{split}_index"])
    if isinstance(where, str):
        if split == "test":
            notes.append(f"no site positions ({where}): remedy effects are judged by fixed margins, not intervals")
        return None
    return block_ids(*where, int(config.get("bootstrap_block") or DEFAULT_BLOCK_BP))


def diagnose_row(row: RunRow, home: Path, *, baseline: RunRow | None, plots_dir: Path | None = None,
                 save: bool = True) -> Diagnosis:
    """Diagnose one registry run row against ``baseline`` (see :func:`choose_baseline`); write diagnosis.json into
    its folder and plots into ``plots_dir``."""
    if plots_dir is not None:
        claim_folder(plots_dir, "diagnose", PLOT_FILES, option="--plots", home=home)
    folder = run_folder(row, home)
    metrics = run_metrics(row, folder)
    config = {**(row.get("config") or {}), **folder.config}
    notes: list[str] = []
    scores = _scores(folder, config, notes)
    if scores is None and not metrics:
        raise DnactxError(f"run {row['id']} has neither {folder.path}/{PREDICTIONS} nor metrics.json "
                          f"(status {row.get('status')}); diagnose a completed run")
    threshold = metrics.get("threshold")
    if threshold is None:
        threshold = 0.5
        notes.insert(0, "metrics.json has no tuned threshold: 0.5 used")
    if scores is None:
        notes.append(f"no predictions in {folder.path}: figures come from metrics.json (no quantiles, curves or "
                     "repeat split)")
    if plots_dir is not None and scores is None:
        raise DnactxError(f"--plots needs {folder.path}/{PREDICTIONS}, which this run did not write")
    explanation = explanation_summary(read_explanation(folder.path))
    if explanation:
        notes.append(f"what the model looks at (dnactx explain, in-silico mutagenesis): {explanation['sentence']}")
    evidence = build_evidence(threshold=threshold, scores=scores, metrics=metrics, config=config,
                              baseline=_baseline_ref(baseline), notes=notes)
    evidence["explanation"] = explanation
    result = diagnose(evidence)
    result["run"] = {**{k: row.get(k) for k in RUN_IDENTITY}, "folder": str(folder.path)}
    if plots_dir is not None:
        splits = {s: (scores[s].labels, scores[s].probs) for s in ("val", "test")}
        result["plots"] = [str(p) for p in plots.diagnosis_plots(splits, result["sweep"], threshold, Path(plots_dir))]
    result = json_safe(result)
    # never recreate a run folder that was removed; on a read-only home the diagnosis is only shown (a cache)
    if save and (folder.path / "status.json").is_file() and os.access(folder.path, os.W_OK):
        write_json(folder.path / DIAGNOSIS_FILE, result)
    return result


def diagnose_run(home: Path, run_id: str, *, plots_dir: Path | None = None) -> Diagnosis:
    """``dnactx diagnose``: the run's baseline is chosen as ``report --matrix`` of its matrix would choose it."""
    from ..registry.store import require_folder

    reg = _registry(home)
    row = require_folder(reg.run(run_id, kind="train"))
    completed = reg.runs(status="completed")
    scope = [r for r in completed if row.get("matrix") and r.get("matrix") == row.get("matrix")]
    baseline, _ = choose_baseline(row, scope, completed)
    return diagnose_row(row, home, baseline=baseline, plots_dir=plots_dir)


def _rows_for(reg, home: Path, matrix: str | None, model: str | None, status: str,
              data: Path | None) -> tuple[list[RunRow], str]:
    if matrix and matrix not in {m["name"] for m in reg.matrices()} and not reg.runs(matrix=matrix):
        known = ", ".join(sorted(m["name"] for m in reg.matrices())) or "none"
        raise DnactxError(f"no matrix named {matrix!r} in {home} (known: {known}); see `dnactx runs ls`")
    rows = reg.runs(status=status, matrix=matrix, model=model)
    if data is not None:
        fingerprint = _fingerprint_of(data)
        rows = [r for r in rows if (r.get("config") or {}).get("dataset_fingerprint") == fingerprint]
    scope = " ".join(filter(None, [f"matrix {matrix}" if matrix else "all runs",
                                   f"model {model}" if model else None,
                                   f"dataset {data}" if data is not None else None,
                                   f"status {status}" if status != "completed" else None]))
    if not rows:
        raise DnactxError(f"no {status} runs for {scope} in {home}; train some with `dnactx train` or "
                          "`dnactx matrix`, or check the filters")
    _one_dataset(rows, scope)
    return rows, scope


def _fingerprint_of(data: Path) -> str:
    from ..data.dataset import read_meta

    path = Path(data) / "dataset.parquet" if Path(data).is_dir() else Path(data)
    if not path.is_file():
        raise DnactxError(f"--data {data}: no such dataset file; pass a dataset.parquet (or its folder)")
    return read_meta(path)["fingerprint"]


def _one_dataset(rows: list[RunRow], scope: str) -> None:
    """Runs of different datasets are not ranked together: one line naming them and how to pick one."""
    datasets: dict[str, list[RunRow]] = {}
    for r in rows:
        datasets.setdefault((r.get("config") or {}).get("dataset_fingerprint") or "?", []).append(r)
    if len(datasets) > 1:
        listing = "; ".join(f"{fp[:12]} ({len(rs)} run{'s' if len(rs) > 1 else ''}, {rs[0].get('data')})"
                            for fp, rs in datasets.items())
        raise DnactxError(f"the runs for {scope} come from {len(datasets)} datasets ({listing}); their metrics are "
                          "not comparable: report one with --data PATH or --matrix NAME")


def report(home: Path, *, matrix: str | None = None, model: str | None = None, status: str = "completed",
           baseline: str | None = AUTO, metric: str = "val_auprc", out: Path | None = None,
           data: Path | None = None) -> Report:
    """Build the report from the registry and write report.md, report.csv, report.html and the figures to ``out``."""
    _, name = selection_metric(metric)
    out = Path(out) if out is not None else Path(home) / "reports" / (matrix or "all")
    claim_folder(out, "report", REPORT_FILES, home=home)
    reg = _registry(home)
    rows, scope = _rows_for(reg, home, matrix, model, status, data)
    check_targets(rows, name)  # a level-only metric never ranks label runs (which would silently drop out)
    rows_with_metric = [r for r in rows if run_metric(r, f"val_{name}") is not None]
    if not rows_with_metric:
        raise DnactxError(f"none of the {len(rows)} runs for {scope} has val {name}; see `dnactx runs ls`")
    chosen = select_configuration(rows_with_metric, name)
    completed = reg.runs(status="completed")
    requested = reg.run(baseline, kind="train") if baseline not in (None, "", "none", AUTO) else baseline
    base_row, reason = choose_baseline(chosen["representative"], rows_with_metric, completed, name, requested)
    if base_row is None and requested == AUTO and chosen["representative"].get("family") == "lr":
        base_row, reason = runner_up(chosen["representative"], rows_with_metric, name)
    base_runs = baseline_runs(base_row, rows_with_metric, chosen["runs"])
    stats = report_stats(home, rows_with_metric, chosen["runs"], base_runs, name=name,
                         settings=DrawSettings.of(chosen["representative"]))
    diagnosis = diagnose_row(chosen["representative"], home, baseline=base_row, save=True)
    result = build_report(rows_with_metric, metric=metric, baseline=base_row, baseline_runs=base_runs,
                          baseline_reason=reason, scope=scope, diagnosis=_short_diagnosis(diagnosis), stats=stats)
    result["skipped_without_metric"] = [r["id"] for r in rows if r not in rows_with_metric]
    result["explanation"] = diagnosis.get("explanation")
    curves = _curves(home, chosen["representative"], base_row)
    result["out"] = write_report(result, out, curves)
    return json_safe(result)


def _curves(home: Path, selected: RunRow, baseline: RunRow | None) -> dict:
    """Test labels and scores of the selected run and the baseline, for the PR curves (runs without predictions
    are left out)."""
    curves = {}
    for role, row in (("selected", selected), ("baseline", baseline)):
        preds = load_predictions(run_folder(row, home)) if row else None
        if preds is not None:
            curves[f"{role}: {row.get('name') or row['id']}"] = (preds["test_label"], preds["test_prob"])
    return curves
def _short_diagnosis(d: Diagnosis) -> dict:
    """What the report page shows of the selected run's diagnosis, with the baseline it was made against."""
    base = d.get("baseline")
    return {"verdict": d.get("verdict"), "notes": d.get("notes") or [],
            "baseline": {"id": base["id"], "name": base.get("name")} if base else None,
            "findings": [{k: f[k] for k in ("code", "title", "evidence", "conclusion", "severity")}
                         for f in d.get("findings") or []],
            "remedies": d.get("remedies") or []}


def write_report(result: Report, out: Path, curves: dict | None = None) -> dict:
    """report.md, report.csv, report.html (figures embedded), heatmap.png and pr_curves.png, each atomically."""
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Path] = {}
    if curves:
        figures["pr_curves"] = plots.pr_curves(curves, out / "pr_curves.png",
                                               title="Precision-recall on test: selected run vs baseline")
    grid = result["heatmap"]
    if len(grid["rows"]) * len(grid["cols"]) > 1:  # one cell has nothing to compare
        figures["heatmap"] = plots.heatmap(
            [[float("nan") if v is None else v for v in row] for row in grid["values"]], grid["rows"], grid["cols"],
            out / "heatmap.png", title=f"best {result['metric_label']} per size × mode (mean over seeds)",
            row_label="size (bp)", col_label="mode")
    profile_png = _copy_profile(result.get("explanation"), out)
    if profile_png:
        figures["explain_profile"] = profile_png
    written = {k: str(v) for k, v in figures.items()}
    markdown = report_markdown(result, {k: v.name for k, v in figures.items()})
    written["markdown"] = str(write_text(out / "report.md", markdown))
    written["csv"] = str(write_text(out / "report.csv", report_csv(result)))
    page = report_markdown(result, {k: png_data_uri(v) for k, v in figures.items()})
    written["html"] = str(write_text(out / "report.html", report_html(page, f"dnactx report: {result['scope']}")))
    result["markdown"] = markdown
    return written


def _copy_profile(explanation: dict | None, out: Path) -> Path | None:
    """The selected run's explanation profile (explain_profile.png in its folder) copied beside the report."""
    src = Path(explanation["profile_png"]) if explanation and explanation.get("profile_png") else None
    if src is None or not src.is_file():
        return None
    target = out / "explain_profile.png"
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    return target
