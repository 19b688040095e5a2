"""Render diagnoses and reports for people (Rich, Markdown, HTML) and scripts (JSON-safe dicts, CSV)."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from pathlib import Path

from markdown_it import MarkdownIt
from rich.console import Console
from rich.table import Table

from ..contracts import Diagnosis
from ..formatting import count, markdown_table, md_escape, num, pct, signed
from .report import LOWER_IS_BETTER, OPTIMISTIC, label

FIGURE_ROWS = (
    ("sites", "n", count), ("positives", "n_pos", count), ("base rate", "base_rate", pct),
    ("predicted positive rate @ 0.5", "pred_pos_rate_at_0_5", pct),
    ("predicted positive rate @ tuned", "pred_pos_rate_at_threshold", pct),
    ("mean p | positives", "mean_prob_pos", num), ("mean p | negatives", "mean_prob_neg", num),
    ("score std", "score_std", num), ("score IQR", "score_iqr", num),
    ("AUROC", "auroc", num), ("AUPRC", "auprc", num),
    ("F1 @ 0.5", "f1_at_0_5", num), ("precision @ 0.5", "precision_at_0_5", num),
    ("recall @ 0.5", "recall_at_0_5", num),
    ("F1 @ tuned", "f1_at_threshold", num), ("precision @ tuned", "precision_at_threshold", num),
    ("recall @ tuned", "recall_at_threshold", num),
    ("ECE", "ece", num), ("Brier", "brier", num),
)


def clean(obj: object) -> object:
    """JSON-safe copy: NaN/inf → None, numpy scalars and arrays → Python, tuples → lists."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "tolist"):
        return clean(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _num3(x: float | None) -> str:
    """Report tables: three decimals throughout, so columns line up."""
    return num(x, 3)


# -- diagnosis ------------------------------------------------------------------------------------------------
def print_diagnosis(d: Diagnosis, console: Console) -> None:
    run = d.get("run") or {}
    console.print(f"[bold]Diagnosis of {run.get('name') or run.get('id')}[/] ({run.get('id')}, model "
                  f"{run.get('model')}, size {run.get('size')}, mode {run.get('mode')}); threshold tuned on val: "
                  f"{num(d.get('threshold'))}; from {d.get('source')}")
    table = Table(title="Figures", title_justify="left")
    table.add_column("")
    splits = [s for s in ("val", "test") if d.get(s)]
    for s in splits:
        table.add_column(s, justify="right")
    for title, key, show in FIGURE_ROWS:
        if any(d[s].get(key) is not None for s in splits):
            table.add_row(title, *(show(d[s].get(key)) for s in splits))
    console.print(table)
    for heading, block in (("By context", d.get("by_context")), ("Repeat vs non-repeat", d.get("by_repeat"))):
        if block:
            console.print(_subset_table(heading, block))
    extra = []
    truncated = (d.get("facts") or {}).get("truncated_fraction")
    if truncated is not None:
        extra.append(f"truncated inputs: {pct(truncated)}")
    if d.get("gap"):
        extra.append("val − test: " + ", ".join(f"{k} {num(v)}" for k, v in d["gap"].items()))
    for line in extra + [f"[yellow]note:[/] {n}" for n in d.get("notes") or []]:
        console.print(line, highlight=False)
    console.print("\n[bold]Findings[/]")
    for i, f in enumerate(d.get("findings") or [], 1):
        console.print(f"{i}. [bold]{f['title']}[/]: {f['evidence']} → {f['conclusion']}", highlight=False)
    if not d.get("findings"):
        console.print("none")
    console.print(f"\n[bold]Verdict:[/] {d.get('verdict')}", highlight=False)
    if d.get("remedies"):
        console.print("\n[bold]Remedies, most promising first[/]")
        for r in d["remedies"]:
            flags = f"[cyan]{r['flags']}[/] " if r.get("flags") else ""
            console.print(f"{r['rank']}. {flags}{r['action']} (from {', '.join(r['because'])})", highlight=False)
            if r.get("command"):
                console.print(f"   {r['command']}", highlight=False, soft_wrap=True)
    if d.get("plots"):
        console.print(f"\nplots: {', '.join(d['plots'])}", highlight=False, soft_wrap=True)


def _subset_table(heading: str, block: dict) -> Table:
    table = Table(title=heading, title_justify="left")
    for col in ("split", "subset", "n", "pos rate", "AUROC", "AUPRC", "F1 @ t", "mean p+", "mean p−"):
        table.add_column(col, justify="left" if col in ("split", "subset") else "right")
    for split, subsets in block.items():
        for name, m in subsets.items():
            table.add_row(split, name.replace("_", "-"), count(m.get("n")), pct(m.get("pos_rate")),
                          num(m.get("auroc")), num(m.get("auprc")), num(m.get("f1_at_threshold")),
                          num(m.get("mean_prob_pos")), num(m.get("mean_prob_neg")))
    return table


def diagnosis_markdown(d: Diagnosis) -> str:
    lines = [f"**Verdict:** {d.get('verdict')}", ""]
    for f in d.get("findings") or []:
        lines.append(f"- **{f['title']}**: {f['evidence']} → {f['conclusion']}")
    for n in d.get("notes") or []:
        lines.append(f"- _note:_ {n}")
    return "\n".join(lines)


# -- report ----------------------------------------------------------------------------------------------------
def _run_label(run: dict) -> str:
    parts = [f"model {run.get('model')}", f"size {run.get('size')}", f"mode {run.get('mode')}"]
    if run.get("finetune"):  # the registry keeps finetune only for the families that have it
        parts.append(f"finetune {run['finetune']}")
    parts.append(f"seed {run.get('seed')}")
    return f"**{md_escape(run.get('name') or run.get('id'))}** (`{run.get('id')}`; {', '.join(parts)})"


def _headline(r: dict, m: str) -> list[str]:
    sel = r["selected"]
    test = sel.get("test") or {}
    direction = "lowest" if r["lower_is_better"] else "best"
    lines = [f"Selected run: {_run_label(sel)}, {direction} {r['metric_label']} {_num3(sel.get('val', {}).get(m))}. "
             f"On test, at the val-tuned threshold {_num3(sel.get('threshold'))}: AUPRC {_num3(test.get('auprc'))} "
             f"(base rate {pct(test.get('pos_rate'))}), AUROC {_num3(test.get('auroc'))}, "
             f"F1 {_num3(test.get('f1_at_threshold'))} (precision {_num3(test.get('precision_at_threshold'))}, "
             f"recall {_num3(test.get('recall_at_threshold'))}); "
             f"F1 at 0.5 would be {_num3(test.get('f1_at_0_5'))}."]
    base = r.get("baseline")
    if base:
        b_test = (base.get("test") or {}).get(m)
        ratio = test.get(m) / b_test if test.get(m) is not None and b_test else None
        lines += ["", f"Baseline ({r['baseline_reason']}): {_run_label(base)}: {label('test', m)} "
                  f"{_num3(b_test)} vs {_num3(test.get(m))} for the selected run"
                  + (f" (×{num(ratio, 2)})." if ratio is not None else ".")]
    else:
        lines += ["", f"Baseline: none ({r['baseline_reason']})."]
    bt = r.get("best_by_test")
    if bt and bt.get("id") != sel.get("id"):
        lines += ["", f"_{OPTIMISTIC}_: `{bt['id']}` ({md_escape(bt.get('name'))}) has the best "
                  f"{label('test', m)} {_num3(bt.get('value'))}; not used for selection."]
    elif bt:
        lines += ["", f"_{OPTIMISTIC}_: the same run also has the best {label('test', m)}."]
    return lines


def _comparison(r: dict) -> list[str]:
    if not r.get("comparison"):
        return []
    rows = []
    for c in r["comparison"]:
        tie = c["better"] is None and c["difference"] is not None
        better = "=" if tie else None if c["better"] is None else ("✔" if c["better"] else "✘")
        rows.append([c["split"], c["metric"] + (" (lower is better)" if c["metric"] in LOWER_IS_BETTER else ""),
                     _num3(c["selected"]), _num3(c["baseline"]), signed(c["difference"], 3), num(c["ratio"], 2),
                     better])
    return ["", "## Selected run vs baseline", "",
            markdown_table(["split", "metric", "selected", "baseline", "difference", "ratio", "selected better"],
                           rows)]


def _per_context(r: dict) -> list[str]:
    if not r.get("per_context"):
        return []
    rows = []
    for split in ("val", "test"):
        for ctx, cm in (r["per_context"].get(split) or {}).items():
            rows.append([split, ctx, count(cm.get("n")), pct(cm.get("pos_rate")), _num3(cm.get("auroc")),
                         _num3(cm.get("auprc")), _num3(cm.get("f1_at_threshold")),
                         _num3(cm.get("precision_at_threshold")), _num3(cm.get("recall_at_threshold"))])
    return ["", f"## Per context (selected run, threshold {_num3(r['selected'].get('threshold'))})", "",
            markdown_table(["split", "context", "sites", "positive rate", "AUROC", "AUPRC", "F1 @ tuned",
                            "precision @ tuned", "recall @ tuned"], rows)]


def _group_means(r: dict, m: str) -> list[str]:
    lines = []
    for key, title in (("by_mode", "mode"), ("by_size", "size"), ("by_model", "model")):
        groups = r.get(key) or []
        if not groups:
            continue
        lines += ["", f"## Mean by {title}", "",
                  markdown_table([title, "runs", f"mean {r['metric_label']}", f"mean {label('test', m)}",
                                  f"best {r['metric_label']}"],
                                 [[g[title], g["runs"], _num3(g["val_mean"]), _num3(g["test_mean"]),
                                   _num3(g["val_best"])] for g in groups])]
    return lines


def _all_runs(r: dict, m: str) -> list[str]:
    rows = []
    for run in r["runs"]:
        tag = " (selected)" if run["selected"] else (" (baseline)" if run["baseline"] else "")
        rows.append([run["rank"], f"`{run['id']}`{tag}", run.get("name"), run.get("model"), run.get("size"),
                     run.get("mode"), run.get("finetune"), run.get("seed"), _num3(run.get(f"val_{m}")),
                     _num3(run.get(f"test_{m}")), _num3(run.get("test_auroc")),
                     _num3(run.get("test_f1_at_threshold"))])
    return ["", f"## All runs, ranked by {r['metric_label']}", "",
            markdown_table(["rank", "run", "name", "model", "size", "mode", "finetune", "seed", label("val", m),
                            label("test", m), "test AUROC", "test F1 @ tuned"], rows)]


def _explanation(r: dict, src: str | None) -> list[str]:
    e = r.get("explanation")
    if not e:
        return []
    lines = ["", "## What the selected run looks at (in-silico mutagenesis)", "",
             f"{md_escape(e.get('sentence'))} ({e.get('sites')} {e.get('selection')} sites"
             f"{' of ' + e['split'] if e.get('split') else ''}; `dnactx explain`)."]
    if src:
        lines += ["", f"![mean |Δ logit| by offset from the C]({src})"]
    return lines


def report_markdown(r: dict, heatmap_src: str | None = "heatmap.png", profile_src: str | None = None) -> str:
    """The study's results page: headline, baseline comparison, tables, diagnosis verdict, next steps."""
    m = r["metric"].split("_", 1)[1]
    lines = [f"# dnactx report: {r['scope']}", "",
             f"_{r['n_runs']} completed runs, selected by {r['metric_label']} (validation); test metrics use the "
             f"threshold tuned on validation._", "", "## Headline", ""]
    lines += _headline(r, m) + _comparison(r) + _per_context(r) + _group_means(r, m)
    if heatmap_src and r.get("heatmap", {}).get("rows"):
        lines += ["", f"## Size × mode: best {r['metric_label']} per cell", "",
                  f"![size × mode heatmap]({heatmap_src})"]
    lines += _all_runs(r, m)
    if r.get("diagnosis"):
        lines += ["", "## Diagnosis of the selected run", "", diagnosis_markdown(r["diagnosis"])]
    lines += _explanation(r, profile_src)
    if r.get("next_steps"):
        lines += ["", "## Next steps", ""]
        lines += [f"{i}. {s}" for i, s in enumerate(r["next_steps"], 1)]
    return "\n".join(lines) + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #ccc;"
        "padding:.25rem .5rem;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
        "code{background:#f5f5f5;padding:0 .2rem}img{max-width:100%}")


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def report_html(markdown_text: str, title: str) -> str:
    """A self-contained page: the Markdown rendered, with images already given as data URIs."""
    body = MarkdownIt("commonmark").enable("table").render(markdown_text)
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n")


CSV_COLUMNS = ("rank", "id", "name", "status", "family", "model", "size", "mode", "finetune", "seed", "matrix",
               "val_auprc", "val_auroc", "val_f1_at_threshold", "val_f1_at_0_5", "val_brier", "val_ece",
               "test_auprc", "test_auroc", "test_f1_at_threshold", "test_f1_at_0_5", "test_brier", "test_ece",
               "threshold", "selected", "baseline")


def report_csv(r: dict) -> str:
    """Every run ranked, values at full precision (repr), so they compare equal to the registry's."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for run in r["runs"]:
        writer.writerow({k: ("" if run.get(k) is None else repr(run[k]) if isinstance(run.get(k), float) else run[k])
                         for k in CSV_COLUMNS})
    return buf.getvalue()
