"""Render diagnoses for people (Rich, Markdown) and anything for scripts (JSON-safe dicts)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..contracts import Diagnosis
from ..formatting import count, md_escape, num, pct, printable, signed, term, text, with_interval

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


# -- diagnosis ------------------------------------------------------------------------------------------------
def print_diagnosis(d: Diagnosis, console: Console) -> None:
    run = d.get("run") or {}
    # Run names, models, paths and the text quoting them are the user's: escaped, never read as Rich markup.
    console.print(f"[bold]Diagnosis of {term(str(run.get('name') or run.get('id')))}[/] ({run.get('id')}, model "
                  f"{term(str(run.get('model')))}, size {run.get('size')}, mode {run.get('mode')}); threshold tuned "
                  f"on val: {num(d.get('threshold'))}; from {d.get('source')}")
    table = Table(title="Figures", title_justify="left")
    table.add_column("")
    splits = [s for s in ("val", "test") if d.get(s)]
    for s in splits:
        table.add_column(s, justify="right")
    for title, key, show in FIGURE_ROWS:
        if any(d[s].get(key) is not None for s in splits):
            table.add_row(title, *(show(d[s].get(key)) for s in splits))
    console.print(table)
    for heading, block in (("By context", d.get("by_context")), ("Repeat vs non-repeat", d.get("by_repeat")),
                           ("By genomic feature", d.get("by_feature"))):
        if block:
            console.print(_subset_table(heading, block))
    extra = []
    truncated = (d.get("facts") or {}).get("truncated_fraction")
    if truncated is not None:
        extra.append(f"truncated inputs: {pct(truncated)}")
    if d.get("gap"):
        extra.append("val − test: " + ", ".join(f"{k} {num(v)}" for k, v in d["gap"].items()))
    for line in [term(e) for e in extra] + [f"[yellow]note:[/] {term(n)}" for n in d.get("notes") or []]:
        console.print(line, highlight=False)
    console.print("\n[bold]Findings[/]")
    for i, f in enumerate(d.get("findings") or [], 1):
        console.print(f"{i}. [bold]{term(f['title'])}[/]: {term(f['evidence'])} → {term(f['conclusion'])}",
                      highlight=False)
    if not d.get("findings"):
        console.print("none")
    console.print(f"\n[bold]Verdict:[/] {term(str(d.get('verdict')))}", highlight=False)
    if d.get("remedies"):
        console.print("\n[bold]Remedies, most promising first[/]")
        for r in d["remedies"]:
            flags = f"[cyan]{term(r['flags'])}[/] " if r.get("flags") else ""
            console.print(f"{r['rank']}. {flags}{term(r['action'])} (from {', '.join(r['because'])})",
                          highlight=False)
            if r.get("command"):
                console.print(f"   {printable(r['command'])}", highlight=False, soft_wrap=True, markup=False)
    if d.get("plots"):
        console.print(f"\nplots: {printable(', '.join(d['plots']))}", highlight=False, soft_wrap=True, markup=False)


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
    """The verdict and findings as Markdown; their text (which quotes run names and paths) shown as written."""
    lines = [f"**Verdict:** {md_escape(d.get('verdict'))}", ""]
    for f in d.get("findings") or []:
        lines.append(f"- **{md_escape(f['title'])}**: {md_escape(f['evidence'])} → {md_escape(f['conclusion'])}")
    for n in d.get("notes") or []:
        lines.append(f"- _note:_ {md_escape(n)}")
    return "\n".join(lines)


def split_intervals(split: dict) -> str:
    """One line of a split's 95% block-bootstrap intervals from metrics.json: AUROC, AUPRC, within contexts and the
    context floor with the run's paired gain over it; empty when the run was trained with --bootstrap 0."""
    ci = split.get("ci") or {}
    if not ci:
        return ""
    within, floor = split.get("within_context") or {}, split.get("context_floor") or {}
    within_ci, floor_ci = ci.get("within_context") or {}, floor.get("ci") or {}
    gain = (floor.get("gain") or {}).get("auroc") or {}
    parts = [f"AUROC {with_interval(split.get('auroc'), ci.get('auroc'))}",
             f"AUPRC {with_interval(split.get('auprc'), ci.get('auprc'))}"]
    if within:
        parts.append(f"within contexts AUROC {with_interval(within.get('auroc'), within_ci.get('auroc'))}, AUPRC "
                     f"{with_interval(within.get('auprc'), within_ci.get('auprc'))}")
    if floor:
        gained = (f" (gain {signed(gain['difference'])} [{signed(gain['ci'][0])}, {signed(gain['ci'][1])}])"
                  if gain.get("ci") else "")
        parts.append(f"context alone AUROC {with_interval(floor.get('auroc'), floor_ci.get('auroc'))}{gained}")
    approx = ", approximate" if ci.get("approximate") else ""
    parts.append(f"{text(ci.get('n_blocks'))} blocks of {count(ci.get('block_bp'))} bp{approx}")
    return " · ".join(parts)
