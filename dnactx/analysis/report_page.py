"""The report page: Markdown (report.md), a self-contained HTML page (report.html) and the ranked runs as CSV.

Every value a user chose (run and model names, paths, config values) goes through ``md_escape``/``md_code``, and
the HTML renderer has raw HTML off, so a name is always text, never markup.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

from markdown_it import MarkdownIt

from ..contracts import Report
from ..formatting import Markdown, count, markdown_table, md_code, md_escape, num, pct, signed
from ..stats.compare import MIN_POSITIVES, TOO_FEW
from .render import diagnosis_markdown
from .report import OPTIMISTIC, label

_LABELS = {"auprc": "AUPRC", "auroc": "AUROC", "f1_at_threshold": "F1 @ tuned", "within_auprc": "within-context AUPRC",
           "within_auroc": "within-context AUROC"}


def _n3(x: float | None) -> str:
    """Report tables: three decimals throughout, so columns line up."""
    return num(x, 3)


def _with_ci(value: float | None, ci: list | None) -> str:
    return _n3(value) + (f" [{_n3(ci[0])}, {_n3(ci[1])}]" if ci and None not in ci else "")


def _ranking(value: float | None, ci: list | None, n_pos: int | None) -> str:
    """AUROC/AUPRC with its interval, or "too few positives (N)" where fewer than MIN_POSITIVES methylated sites
    make the figure no evidence either way (one positive can put AUROC anywhere from 0 to 1)."""
    if n_pos is not None and n_pos < MIN_POSITIVES:
        return f"{TOO_FEW} ({n_pos})"
    return _with_ci(value, ci)


def _mean_sd(mean: float | None, sd: float | None) -> str:
    return _n3(mean) + (f" ± {_n3(sd)}" if sd is not None else "")


def _run_label(run: dict, seeds: list | None = None) -> str:
    parts = [f"model {md_escape(run.get('model'))}", f"size {run.get('size')}", f"mode {run.get('mode')}"]
    if run.get("finetune"):  # the registry keeps finetune only for the families that have it
        parts.append(f"finetune {md_escape(run['finetune'])}")
    parts.append(f"seeds {', '.join(map(str, seeds))}" if seeds and len(seeds) > 1 else f"seed {run.get('seed')}")
    return f"**{md_escape(run.get('name') or run.get('id'))}** ({md_code(run.get('id'))}; {', '.join(parts)})"


def _selected_figures(r: Report) -> str:
    """Test figures of the selected run (one seed: with its own block intervals; several: mean ± sd)."""
    sel, conf = r["selected"], r["selected_configuration"]
    test = sel.get("test") or {}
    ci = test.get("ci") or {}
    if len(conf["seeds"]) > 1:
        return (f"mean test {label('test', r['metric'].split('_', 1)[1]).split(' ', 1)[1]} over "
                f"{len(conf['seeds'])} seeds {_mean_sd(conf['test_mean'], conf['test_sd'])}; the best seed's run: "
                f"AUPRC {_n3(test.get('auprc'))}, AUROC {_n3(test.get('auroc'))}")
    within = (ci.get("within_context") or {})
    return (f"AUPRC {_with_ci(test.get('auprc'), ci.get('auprc'))} (base rate {pct(test.get('pos_rate'))}), AUROC "
            f"{_with_ci(test.get('auroc'), ci.get('auroc'))}, F1 {_with_ci(test.get('f1_at_threshold'), ci.get('f1'))} "
            f"(precision {_n3(test.get('precision_at_threshold'))}, recall {_n3(test.get('recall_at_threshold'))}); "
            f"F1 at 0.5 would be {_n3(test.get('f1_at_0_5'))}; within contexts AUPRC "
            f"{_with_ci((test.get('within_context') or {}).get('auprc'), within.get('auprc'))}, AUROC "
            f"{_with_ci((test.get('within_context') or {}).get('auroc'), within.get('auroc'))}")


def _floor_line(test: dict) -> list[str]:
    floor = test.get("context_floor") or {}
    if floor.get("auroc") is None:
        return []
    gain = (floor.get("gain") or {}).get("auroc") or {}
    ci = gain.get("ci")
    verdict = ("no better than the context alone" if not ci or None in ci else "better than the context alone"
               if ci[0] > 0 else "worse than the context alone" if ci[1] < 0 else "no better than the context alone")
    tail = (f"; the selected run's AUROC gain over it is {signed(gain.get('difference'))} [{signed(ci[0])}, "
            f"{signed(ci[1])}] (paired): {verdict}") if ci and None not in ci else ""
    return ["", f"Context alone (each test site scored by its context's training methylation rate): AUROC "
                f"{_with_ci(floor.get('auroc'), (floor.get('ci') or {}).get('auroc'))}, AUPRC "
                f"{_with_ci(floor.get('auprc'), (floor.get('ci') or {}).get('auprc'))}{tail}."]


def _headline(r: Report, m: str) -> list[str]:
    sel, conf = r["selected"], r["selected_configuration"]
    test = sel.get("test") or {}
    direction = "lowest" if r["lower_is_better"] else "best"
    value = _mean_sd(conf["val_mean"], conf["val_sd"]) + (" (mean ± sd over seeds)" if len(conf["seeds"]) > 1 else "")
    lines = [f"Selected: {_run_label(sel, conf['seeds'])}, {direction} {r['metric_label']} {value}. On test, at the "
             f"val-tuned threshold {_n3(sel.get('threshold'))}: {_selected_figures(r)}."]
    if sel.get("lineage"):
        lines += ["", f"Its encoder: {md_escape(sel['lineage'])}."]
    ci = test.get("ci") or {}
    if ci.get("n_blocks"):
        approx = ", too few for a precise interval: approximate" if ci.get("approximate") else ""
        lines += ["", f"_[lo, hi]: 95% intervals from {count(ci.get('n_resamples'))} resamples of "
                      f"{count(ci.get('block_bp'))} bp genomic blocks ({count(ci['n_blocks'])} blocks{approx})._"]
    lines += _floor_line(test)
    base = r.get("baseline")
    if base:
        lines += ["", f"Baseline ({md_escape(r['baseline_reason'])}): {_run_label(base)}: {label('test', m)} "
                      f"{_n3((base.get('test') or {}).get(m))} vs {_n3(test.get(m))} for the selected run."]
    else:
        lines += ["", f"Baseline: none ({md_escape(r['baseline_reason'])})."]
    bt = r.get("best_by_test")
    if bt and bt.get("id") != sel.get("id"):
        lines += ["", f"_{OPTIMISTIC}_: {md_code(bt['id'])} ({md_escape(bt.get('name'))}) has the best "
                      f"{label('test', m)} {_n3(bt.get('value'))}; not used for selection."]
    elif bt:
        lines += ["", f"_{OPTIMISTIC}_: the same run also has the best {label('test', m)}."]
    return lines + [f"\n- _note:_ {md_escape(n)}" for n in r.get("notes") or []]


def _verdict_sentence(rows: list[dict]) -> str:
    """On test (the split nothing was chosen on): which differences are real and which are within noise."""
    test = [c for c in rows if c["split"] == "test" and c.get("verdict")]
    if not test:
        return "No paired intervals: the runs' predictions could not be resampled (see the notes)."
    real = [f"{_LABELS[c['metric']]} {signed(c['difference'])} ({c['verdict']})" for c in test
            if c["verdict"] in ("better", "worse")]
    noise = [_LABELS[c["metric"]] for c in test if c["verdict"] == "within noise"]
    if not real:
        return "On test, no difference between the selected run and the baseline is larger than its noise."
    return (f"On test, real differences (95% interval excludes 0): {', '.join(real)}"
            + (f"; within noise: {', '.join(noise)}." if noise else "."))


def _comparison(r: Report) -> list[str]:
    rows = r.get("comparison") or []
    if not rows:
        return []
    table = [[c["split"], _LABELS[c["metric"]], _n3(c["selected"]), _n3(c["baseline"]),
              signed(c["difference"]) + (f" [{signed(c['ci'][0])}, {signed(c['ci'][1])}]" if c.get("ci") else ""),
              num(c.get("p_value"), 3), c.get("verdict") or "no interval"] for c in rows]
    seeds = len(r["selected_configuration"]["seeds"])
    how = (f"Paired: both runs scored the same sites and were resampled with the same genomic blocks"
           f"{f' (the selected configuration as the mean of its {seeds} seeds)' if seeds > 1 else ''}; val is the "
           "split the selection was made on, so test is the honest comparison.")
    return ["", "## Selected vs baseline", "", _verdict_sentence(rows), "", how, "",
            markdown_table(["split", "metric", "selected", "baseline", "difference [95% interval]", "p", "verdict"],
                           table)]


def _per_context(r: Report) -> list[str]:
    if not r.get("per_context"):
        return []
    rows = []
    for split in ("val", "test"):
        for ctx, cm in (r["per_context"].get(split) or {}).items():
            ci = cm.get("ci") or {}
            rows.append([split, ctx, count(cm.get("n")), pct(cm.get("pos_rate")),
                         _ranking(cm.get("auroc"), ci.get("auroc"), cm.get("n_pos")),
                         _ranking(cm.get("auprc"), ci.get("auprc"), cm.get("n_pos")),
                         _n3(cm.get("f1_at_threshold")), _n3(cm.get("precision_at_threshold")),
                         _n3(cm.get("recall_at_threshold"))])
    return ["", f"## Per context (selected run, threshold {_n3(r['selected'].get('threshold'))})", "",
            markdown_table(["split", "context", "sites", "positive rate", "AUROC [95%]", "AUPRC [95%]", "F1 @ tuned",
                            "precision @ tuned", "recall @ tuned"], rows)]


def _per_feature(r: Report) -> list[str]:
    """The selected run's metrics by genomic feature (prepare --annotation) with their intervals."""
    if not r.get("per_feature"):
        return []
    rows = []
    for split in ("val", "test"):
        for feature, fm in (r["per_feature"].get(split) or {}).items():
            ci = fm.get("ci") or {}
            rows.append([split, md_escape(feature), count(fm.get("n")), pct(fm.get("pos_rate")),
                         _ranking(fm.get("auroc"), ci.get("auroc"), fm.get("n_pos")),
                         _ranking(fm.get("auprc"), ci.get("auprc"), fm.get("n_pos")),
                         _n3(fm.get("f1_at_threshold"))])
    return ["", "## Per genomic feature (selected run)", "",
            markdown_table(["split", "feature", "sites", "positive rate", "AUROC [95%]", "AUPRC [95%]",
                            "F1 @ tuned"], rows)]


def _group_means(r: Report, m: str) -> list[str]:
    lines = []
    base = r.get("baseline_means")
    for by in ("mode", "size", "model"):
        groups = r.get(f"by_{by}") or []
        if len(groups) < 2:  # one group: nothing to average over or compare
            continue
        rows = [[md_escape(g[by]), g["runs"], _n3(g["val_mean"]), _with_ci(g["test_mean"], g.get("test_ci")),
                 _n3(g["val_best"])] for g in groups]
        if base:
            rows.append([Markdown(f"_baseline ({md_escape(base['model'])} {base['size']} {base['mode']})_"),
                         base["runs"], _n3(base["val_mean"]), _n3(base["test_mean"]), "—"])
        lines += ["", f"## Mean by {by}", "",
                  markdown_table([by, "runs", f"mean {r['metric_label']}", f"mean {label('test', m)} [95%]",
                                  f"best {r['metric_label']}"], rows)]
        if r.get(f"{by}_verdict"):
            lines += ["", md_escape(r[f"{by}_verdict"])]
    return lines


def _configurations(r: Report, m: str) -> list[str]:
    configs = r.get("configurations") or []
    if not any(len(c["seeds"]) > 1 for c in configs):
        return []
    rows = [[c["rank"], Markdown(md_code(c["ids"][0]) + (" (selected)" if c["selected"] else "")
                                 + (" (baseline)" if c["baseline"] else "")),
             c.get("name"), c.get("model"), c.get("size"), c.get("mode"), c.get("finetune"),
             ", ".join(map(str, c["seeds"])), _mean_sd(c["val_mean"], c["val_sd"]),
             _mean_sd(c["test_mean"], c["test_sd"]), _n3(c["test_within_mean"])] for c in configs]
    return ["", f"## Configurations, ranked by mean {r['metric_label']} over seeds", "",
            markdown_table(["rank", "first run", "name", "model", "size", "mode", "finetune", "seeds",
                            label("val", m) + " mean ± sd", label("test", m) + " mean ± sd",
                            "test within AUPRC (mean)"], rows)]


def _all_runs(r: Report, m: str) -> list[str]:
    rows = []
    for run in r["runs"]:
        tag = " (selected)" if run["selected"] else (" (baseline)" if run["baseline"] else "")
        rows.append([run["rank"], Markdown(md_code(run["id"]) + tag), run.get("name"), run.get("model"),
                     run.get("size"), run.get("mode"), run.get("finetune"), run.get("seed"),
                     _n3(run.get(f"val_{m}")), _n3(run.get(f"test_{m}")), _n3(run.get("val_within_auprc")),
                     _n3(run.get("test_within_auprc")), _n3(run.get("test_auroc")),
                     _n3(run.get("test_f1_at_threshold"))])
    return ["", f"## All runs, ranked by {r['metric_label']}", "",
            markdown_table(["rank", "run", "name", "model", "size", "mode", "finetune", "seed", label("val", m),
                            label("test", m), "val within AUPRC", "test within AUPRC", "test AUROC",
                            "test F1 @ tuned"], rows)]


def _figures(r: Report, images: dict[str, str]) -> tuple[list[str], list[str]]:
    """(the PR-curve section, the heatmap section)."""
    pr, heat = [], []
    if images.get("pr_curves"):
        pr = ["", "## Precision-recall on test: selected run vs baseline", "",
              f"![precision-recall curves]({images['pr_curves']})"]
    if images.get("heatmap") and r.get("heatmap", {}).get("rows"):
        base = r.get("baseline_means")
        caption = (f"_The baseline ({md_escape(base['model'])} {base['size']} {base['mode']}) is not a cell of the "
                   f"grid: mean {r['metric_label']} {_n3(base['val_mean'])}._") if base else ""
        heat = ["", f"## Size × mode: best {r['metric_label']} per cell (mean over seeds)", "",
                f"![size × mode heatmap]({images['heatmap']})"] + (["", caption] if caption else [])
    return pr, heat


def _explanation(r: Report, src: str | None) -> list[str]:
    e = r.get("explanation")
    if not e:
        return []
    lines = ["", "## What the selected run looks at (in-silico mutagenesis)", "",
             f"{md_escape(e.get('sentence'))} ({e.get('sites')} {md_escape(e.get('selection'))} sites"
             f"{' of ' + md_escape(e['split']) if e.get('split') else ''}; `dnactx explain`)."]
    if src:
        lines += ["", f"![mean |Δ logit| by offset from the C]({src})"]
    return lines


def report_markdown(r: Report, images: dict[str, str] | None = None) -> str:
    """The study's results page: headline, paired baseline comparison, PR curves, tables, diagnosis, next steps.
    ``images`` maps ``pr_curves``, ``heatmap`` and ``explain_profile`` to their sources (file names, or data URIs
    for the HTML)."""
    m = r["metric"].split("_", 1)[1]
    configs = r.get("configurations") or []
    lines = [f"# dnactx report: {md_escape(r['scope'])}", "",
             f"_{r['n_runs']} completed runs in {len(configs)} configurations, selected by {r['metric_label']} "
             "(validation; the mean over seeds where a configuration has several); test metrics use the threshold "
             "tuned on validation._", "", "## Headline", ""]
    pr, heat = _figures(r, images or {})
    lines += _headline(r, m) + _comparison(r) + pr + _per_context(r) + _per_feature(r) + _group_means(r, m) + heat
    lines += _configurations(r, m) + _all_runs(r, m)
    if r.get("diagnosis"):
        lines += ["", "## Diagnosis of the selected run", "", diagnosis_markdown(r["diagnosis"])]
    lines += _explanation(r, (images or {}).get("explain_profile"))
    if r.get("next_steps"):
        lines += ["", "## Next steps", ""]
        lines += [f"{i}. {md_escape(Markdown(s))}" for i, s in enumerate(r["next_steps"], 1)]
    return "\n".join(lines) + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;padding:0 1rem;color:#222;"
        "line-height:1.4}table{border-collapse:collapse;margin:1rem 0;font-size:.85rem;display:block;"
        "overflow-x:auto}th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}td{font-variant-numeric:tabular-nums}code{background:#f5f5f5;padding:0 .2rem;"
        "font-size:.8rem}img{max-width:100%}h2{margin-top:2rem;border-bottom:1px solid #ddd}")


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


# Raw HTML off: whatever a name holds, markdown-it escapes it; links that are not http(s)/mailto and images that are
# not data:image/png|gif|jpeg|webp are refused by its link validator.
_RENDERER = MarkdownIt("commonmark", {"html": False}).enable("table")


def report_html(markdown_text: str, title: str) -> str:
    """A self-contained page: the Markdown rendered (raw HTML off), with images already given as data URIs."""
    body = _RENDERER.render(markdown_text)
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n")


CSV_COLUMNS = ("rank", "id", "name", "status", "family", "model", "size", "mode", "finetune", "seed", "matrix",
               "val_auprc", "val_auroc", "val_f1_at_threshold", "val_f1_at_0_5", "val_brier", "val_ece",
               "val_within_auprc", "val_within_auroc", "test_auprc", "test_auroc", "test_f1_at_threshold",
               "test_f1_at_0_5", "test_brier", "test_ece", "test_within_auprc", "test_within_auroc", "threshold",
               "selected", "baseline")


def report_csv(r: Report) -> str:
    """Every run ranked, values at full precision (repr), so they compare equal to the registry's."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for run in r["runs"]:
        writer.writerow({k: ("" if run.get(k) is None else repr(run[k]) if isinstance(run.get(k), float) else run[k])
                         for k in CSV_COLUMNS})
    return buf.getvalue()
