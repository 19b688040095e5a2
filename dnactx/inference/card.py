"""The README.md model card of an exported model: what it is, the data it learned from, how well it does (with
block-bootstrap intervals where the run has them), what it is for and not for, and how to load it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..choices import CONTEXTS
from ..formatting import MISSING, count, markdown_table, num, pct
from .recipe import Recipe
from .run_model import trained_calibration
from .snippets import snippet

NOT_COMPUTED = "not computed"
_METRICS = (("auroc", "AUROC", ("auroc",)), ("auprc", "AUPRC", ("auprc",)),
            ("f1_at_threshold", "F1 at threshold", ("f1_at_threshold", "f1")))


@dataclass(frozen=True)
class CardInputs:
    """Everything a card says, read from the run folder and its dataset's prepare.json."""

    recipe: Recipe
    provenance: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    prepare: dict[str, Any] | None  # the dataset's prepare.json, None when it is gone
    species: str | None = None
    tissue: str | None = None


def model_card(c: CardInputs) -> str:
    """The card as Markdown."""
    parts = [_title(c), _inputs(c.recipe), _outputs(c), _data(c), _metrics(c), _use(c), _limits(c), _loading(c.recipe)]
    return "\n\n".join(parts) + "\n"


def _title(c: CardInputs) -> str:
    r, p = c.recipe, c.provenance
    what = f"{r.model} (transformer, {r.finetune})" if r.family == "transformer" else r.family
    return (f"# dnactx model: {what}, {r.mode} {r.size} bp\n\n"
            f"Predicts whether a cytosine is methylated from the DNA around it. Exported by `dnactx export` from run "
            f"`{p.get('run_id')}` ({p.get('run_name') or 'unnamed'}), trained {p.get('trained') or MISSING} with "
            f"dnactx {(p.get('trained_with') or {}).get('dnactx', MISSING)}; exported {p.get('exported')}."
            + (f" Its LoRA adapters (rank {r.finetune[5:]}) are merged into the encoder weights saved here: loading "
               "it needs no `peft`." if (r.finetune or "").startswith("lora:") else ""))


def _outputs(c: CardInputs) -> str:
    """What the probabilities are: the model's own, or calibrated on validation (which map, and where it is)."""
    cal, trained = c.recipe.calibration, trained_calibration(c.metrics, c.config)
    if cal is None and trained != "none":
        return (f"## Outputs\n\nP(methylated): the model's own probabilities, **not calibrated**. The run was trained "
                f"with `--calibrate {trained}`, but its calibration map was not stored (an older dnactx), so it "
                "could not be exported; train the run again to export a calibrated model.")
    if cal is None and c.recipe.target == "level":
        return ("## Outputs\n\nThe predicted methylation level (fraction of methylated reads): the run was trained "
                "with `--target level` on the read counts (binomial likelihood), so its output is a level, not "
                "P(methylated); the threshold below calls a site methylated from that level.")
    if cal is None:
        return "## Outputs\n\nP(methylated): the model's own probabilities (the run was not calibrated)."
    if cal.method == "platt":
        how = (f"Platt scaling on the logit: p' = 1 / (1 + exp(-({num(cal.slope, 4)} × logit(p) + "
               f"{num(cal.intercept, 4)}))), p clipped to [1e-7, 1 − 1e-7]")
    else:
        how = (f"isotonic regression: a non-decreasing table of {len(cal.x)} points (p, p'), interpolated linearly "
               "between them and held at its end values outside them")
    return (f"## Outputs\n\nP(methylated), **calibrated**: the model's own probability p goes through a map fitted "
            f"on the validation split, {how}. `dnactx predict` and `load_scorer(...).probs` apply it "
            "(`probs(..., calibrated=False)` gives p); the map is in `calibration.json` (and in `dnactx_model.json`, "
            "`recipe.calibration`). The threshold below is on the calibrated probabilities.")


def _inputs(r: Recipe) -> str:
    cut = {"both": f"{r.size} bp upstream (5'), the C, {r.size} bp downstream",
           "up": f"{r.size} bp upstream, then the C", "down": f"the C, then {r.size} bp downstream"}[r.mode]
    rows = [("input", f"{r.length} bp: {cut}; the C at index {r.center}"),
            ("orientation", "5'→3' on the cytosine's own strand (reverse complement for a C on the − strand)"),
            ("bases", "upper-case A/C/G/T; N for anything else and beyond a chromosome's ends"),
            ("site context", "an input (0 CG, 1 CHG, 2 CHH)" if r.site_context else "not an input"),
            ("cut from", f"windows of {r.window + 1} bp centred on the C (the dataset's --window {r.window})")]
    if r.family == "lr":
        rows.append(("features", f"k-mers k = 1…{r.kmax}, {_SCALING[r.lr_scaling]}"))
    elif r.family == "transformer":
        rows.append(("tokens", f"{r.tokenizer} tokenizer{f' ({r.tokenizer_k}-mers)' if r.tokenizer_k else ''}, at "
                               f"most {r.max_tokens} tokens, longer inputs cut {r.truncation} on the C"))
    return "## Inputs\n\n" + markdown_table(["", ""], rows)


_SCALING = {"frequency": "each k's counts divided by its number of k-mers", "l2": "all counts scaled to unit L2 norm"}


def _data(c: CardInputs) -> str:
    prep, params = c.prepare or {}, (c.prepare or {}).get("parameters") or {}
    inputs = prep.get("inputs") or {}
    genome = inputs.get("genome") or {}
    calls = inputs.get("calls") or []
    lines = ["## Training data", "",
             f"- species / tissue: {c.species or 'not recorded'} / {c.tissue or 'not recorded'}"
             + ("" if c.species and c.tissue else " (pass `--species` / `--tissue` to `dnactx export`)"),
             f"- genome: `{genome.get('path', MISSING)}` (sha256 `{genome.get('sha256', MISSING)}`)"]
    lines += [f"- calls: `{f.get('path')}` ({f.get('format') or prep.get('format', MISSING)}, sha256 "
              f"`{f.get('sha256', MISSING)}`)" for f in calls] or [f"- calls: {MISSING}"]
    if c.prepare is None:
        lines.append(f"- the dataset's prepare.json ({c.config.get('data')}) is gone: provenance beyond its "
                     f"fingerprint is unknown")
    lines += [f"- dataset: `{c.config.get('data')}` (fingerprint `{c.provenance.get('dataset_fingerprint')}`)",
              f"- label: methylated when the methylated fraction ≥ {params.get('threshold', MISSING)} among sites with "
              f"≥ {params.get('min_coverage', MISSING)} reads"
              + (f", sites between {params['exclude_between']} left out" if params.get("exclude_between") else ""),
              f"- split: {params.get('split', MISSING)} (block size "
              f"{count((prep.get('block_size') or {}).get('used') or params.get('block_size'))} bp), "
              f"sites train / val / test: {_split_counts(prep)}",
              f"- training sites used: {count((c.metrics.get('facts') or {}).get('train_sites'))}"]
    return "\n".join(lines)


def _split_counts(prep: dict) -> str:
    counts = prep.get("counts") or {}
    return " / ".join(count((counts.get(s) or {}).get("all")) for s in ("train", "val", "test"))


def _metrics(c: CardInputs) -> str:
    m = c.metrics
    rows, any_ci = [], False
    for split in ("val", "test"):
        subsets = [("all", m.get(split) or {})] + [
            (ctx, ((m.get("by_context") or {}).get(split) or {}).get(ctx) or {}) for ctx in CONTEXTS]
        for name, sm in subsets:
            ci = _ci(m, split, None if name == "all" else name)
            cells = []
            for key, _, ci_keys in _METRICS:
                interval = next((ci[k] for k in ci_keys if _is_interval(ci.get(k))), None)
                any_ci |= interval is not None
                cells += [num(sm.get(key), 3), f"[{num(interval[0], 3)}, {num(interval[1], 3)}]" if interval
                          else NOT_COMPUTED]
            rows.append([split, name, count(sm.get("n")), count(sm.get("n_pos")), *cells])
    headers = ["split", "context", "sites", "methylated"]
    for _, label, _ in _METRICS:
        headers += [label, "95% CI"]
    note = ("Intervals: block bootstrap over genomic blocks (sites close in the genome are correlated)."
            if any_ci else "Intervals: not computed (this run's metrics.json has no `ci`; retrain with a dnactx that "
                           "records block-bootstrap intervals).")
    return (f"## Performance\n\nThreshold {num(m.get('threshold'), 3)} (max F1 on validation, applied unchanged to "
            "test). Test sites were never used for training or selection.\n\n"
            f"{markdown_table(headers, rows)}\n\n{note}")


def _ci(m: dict, split: str, context: str | None) -> dict:
    """The ``ci`` object of a split or one of its contexts, wherever metrics.json puts it ({} when absent)."""
    if context is None:
        return (m.get(split) or {}).get("ci") or {}
    beside = (((m.get("by_context") or {}).get(split) or {}).get(context) or {}).get("ci")
    return beside or (((m.get(split) or {}).get("ci") or {}).get("by_context") or {}).get(context) or {}


def _is_interval(value: object) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)


def _use(c: CardInputs) -> str:
    return ("## Intended use\n\n"
            "Ranking and imputing cytosine methylation (the probability that a site is methylated as labelled above) "
            "in sequence like the training genome's: for example sites with too few reads, or a region that was not "
            "sequenced, of the same species, accession and tissue. On any other genome or tissue, check it first "
            "against measured calls (`dnactx predict MODEL --genome FASTA --calls FILE` reports AUROC/AUPRC there). "
            "Not for clinical or diagnostic use.")


def _limits(c: CardInputs) -> str:
    prep = c.prepare or {}
    rates = (prep.get("label_rates") or {}).get("train") or {}
    lines = ["## Limits", "",
             f"- trained on one methylome of one genome ({c.species or 'species not recorded'}, "
             f"{c.tissue or 'tissue not recorded'}): methylation differs between tissues, accessions and conditions, "
             "and sequence alone cannot see that",
             f"- class imbalance: {pct(rates.get('all'))} of training sites methylated ("
             + ", ".join(f"{ctx} {pct(rates.get(ctx))}" for ctx in CONTEXTS)
             + "); at this base rate AUPRC, not AUROC, says how useful the scores are",
             _floor(c.metrics)]
    if c.recipe.mode == "up" and not c.recipe.site_context:
        lines.append("- an upstream-only input without site context cannot tell CG from CHG/CHH")
    return "\n".join(lines)


def _floor(m: dict) -> str:
    test = m.get("test") or {}
    floor, within = test.get("context_floor"), test.get("within_context")
    if not isinstance(floor, dict):
        return ("- context floor: not computed for this run (the context alone already ranks sites well: judge the "
                "model by its within-context figures above, not by overall AUROC)")
    text = (f"- context floor: scoring each test site by its context's training rate alone gives AUROC "
            f"{num(floor.get('auroc'), 3)}, AUPRC {num(floor.get('auprc'), 3)} (this model: "
            f"{num(test.get('auroc'), 3)}, {num(test.get('auprc'), 3)})")
    if isinstance(within, dict):
        text += (f"; within contexts (macro mean) the model reaches AUROC {num(within.get('auroc'), 3)}, AUPRC "
                 f"{num(within.get('auprc'), 3)}")
    return text


def _loading(r: Recipe) -> str:
    deps = {"lr": "numpy and safetensors", "cnn": "torch and safetensors",
            "transformer": "torch, transformers and safetensors"}[r.family]
    calibration = ""
    if r.calibration is not None:
        calibration = ("\n\nThe model is calibrated: dnactx's probabilities are these put through "
                       f"`calibration.json`, as here (numpy only):\n\n```python\n{_CALIBRATE[r.calibration.method]}```")
    return ("## How to load it\n\nWith dnactx: `dnactx predict THIS_FOLDER --genome FASTA --out DIR`, or in Python "
            "`dnactx.inference.load_scorer(\"THIS_FOLDER\")`.\n\n"
            f"Without dnactx ({deps} only), run in this folder; `logits` gives the same scores as dnactx's scorer, "
            f"and `1 / (1 + exp(-logit))` the probability:\n\n```python\n{snippet(r)}```{calibration}")


_CALIBRATE = {"platt": """\
import json
import numpy as np

cal = json.load(open("calibration.json"))

def calibrated(p):  # p = 1 / (1 + exp(-logit)): the model's own probabilities
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return 1 / (1 + np.exp(-(cal["slope"] * np.log(q / (1 - q)) + cal["intercept"])))
""", "isotonic": """\
import json
import numpy as np

cal = json.load(open("calibration.json"))

def calibrated(p):  # p = 1 / (1 + exp(-logit)): the model's own probabilities
    return np.interp(np.asarray(p, dtype=np.float64), cal["x"], cal["y"])
"""}
