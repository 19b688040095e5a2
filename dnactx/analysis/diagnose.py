"""Diagnosis of one run: explicit rules over its figures give findings that cite numbers, a verdict, remedies.

``evidence`` is a plain dict (:class:`dnactx.contracts.Evidence`, gathered by
:func:`dnactx.analysis.evidence.build_evidence`), so every rule is a pure function that tests can feed with
hand-made numbers.
"""

from __future__ import annotations

import math

from ..contracts import (
    Diagnosis,
    Evidence,
    Finding,
    RankedRemedy,
    metric_value,
)
from ..formatting import num, pct, signed
from ..runs import run_family
from .effects import real_gain
from .remedies import conflicts, remedy

# Rule thresholds, named so the report can cite them.
NO_SKILL_AUROC = 0.60          # below: ranking barely better than chance
WEAK_AUROC = 0.70              # below: weak ranking; at or above: "well ranked"
MIN_SEPARATION = 0.02          # mean p(positive) - mean p(negative) below this ...
MIN_RELATIVE_SEPARATION = 0.25  # ... and below this many score standard deviations: no separation
SMALL_F1_LIFT = 0.05           # tuned threshold lifts F1 by less: calibration is not the bottleneck
HIGH_ECE = 0.10               # or half the base rate, whichever is lower
CONCENTRATED_STD = 0.05
DOMINANT_SHARE = 0.60          # one context holding this share of positives "carries the signal"
CONTEXT_ONLY_DROP = 0.15       # pooled AUROC exceeds every within-context AUROC by this much
TRUNCATION = 0.05
OVERFIT_GAP = 0.15             # train AUPRC - val AUPRC
VAL_TEST_GAP = 0.05            # val AUPRC - test AUPRC (and 20% relative)
REPEAT_GAP = 0.10
FEATURE_GAP = 0.10             # a feature's AUROC this far below the split's, with disjoint intervals
FEATURE_MIN_POSITIVES = 10


def _primary(ev: Evidence) -> tuple[str, dict] | None:
    """The split rules judge: test (val-tuned threshold applied unchanged) unless it has no positives."""
    for split in ("test", "val"):
        f = ev.get(split)
        if f and f.get("n_pos"):
            return split, f
    return None


def _finding(code: str, title: str, severity: int, evidence: str, conclusion: str, figures: dict,
             remedies: list[tuple[str, int]]) -> Finding:
    return {"code": code, "title": title, "severity": severity, "evidence": evidence, "conclusion": conclusion,
            "figures": figures, "remedies": remedies}


def rule_no_separation(ev: Evidence) -> Finding | None:
    """Positives and negatives get the same scores: the model has not learned to tell them apart."""
    picked = _primary(ev)
    if picked is None:
        return None
    split, f = picked
    auroc, sep, lift = f.get("auroc"), f.get("separation"), f.get("f1_lift")
    std = f.get("score_std")
    # Absolute and relative: tiny but consistent differences (all scores near 1e-4) still rank.
    flat = sep is not None and abs(sep) < MIN_SEPARATION and (not std or abs(sep) < MIN_RELATIVE_SEPARATION * std)
    if not ((auroc is not None and auroc < NO_SKILL_AUROC) or flat):
        return None
    parts = [f"mean probability {num(f.get('mean_prob_pos'))} for positives vs {num(f.get('mean_prob_neg'))} "
             f"for negatives ({split} AUROC {num(auroc)}, AUPRC {num(f.get('auprc'))} vs base rate "
             f"{pct(f.get('base_rate'))})"]
    if std is not None and std < CONCENTRATED_STD:
        centre = f.get("score_median")
        if centre is None:  # metrics.json has no quantiles; the class means are then both near the centre
            centre = ((f.get("mean_prob_pos") or 0.0) + (f.get("mean_prob_neg") or 0.0)) / 2
        parts.insert(0, f"scores concentrated near {num(centre)}: std {num(std)}")
    if lift is not None:
        verb = "lifts" if lift >= 0 else "moves"
        only = " only" if lift < SMALL_F1_LIFT else ""
        parts.append(f"threshold tuning {verb} {split} F1{only} from {num(f.get('f1_at_0_5'))} to "
                     f"{num(f.get('f1_at_threshold'))}")
    return _finding(
        "no_separation", "no separation", 3, "; ".join(parts),
        "representation or trainability, not calibration",
        {k: f.get(k) for k in ("auroc", "auprc", "base_rate", "mean_prob_pos", "mean_prob_neg", "score_std",
                               "f1_at_0_5", "f1_at_threshold")},
        [("unfreeze", 3), ("epochs", 2), ("site_context", 2), ("model_cnn", 2), ("size_other", 1)])


def rule_weak_ranking(ev: Evidence) -> Finding | None:
    picked = _primary(ev)
    if picked is None:
        return None
    split, f = picked
    auroc = f.get("auroc")
    if auroc is None or not NO_SKILL_AUROC <= auroc < WEAK_AUROC:
        return None
    return _finding(
        "weak_ranking", "weak ranking", 2,
        f"{split} AUROC {num(auroc)}, AUPRC {num(f.get('auprc'))} = {num(f.get('auprc_lift'))}× the base rate "
        f"{pct(f.get('base_rate'))}",
        "the representation separates the classes only a little",
        {k: f.get(k) for k in ("auroc", "auprc", "base_rate")},
        [("unfreeze", 2), ("epochs", 2), ("site_context", 1), ("model_cnn", 1), ("size_other", 1)])


def _interval(effect: dict) -> str:
    ci = effect.get("ci")
    return f"{signed(effect['difference'])} [{signed(ci[0])}, {signed(ci[1])}]" if ci else signed(effect["difference"])


def _threshold_evidence(ev: Evidence, split: str, f: dict) -> tuple[str, bool]:
    """What the val-tuned threshold does to F1, and whether that is more than noise."""
    effect = (ev.get("effects") or {}).get("threshold")
    text = (f"the val-tuned threshold {num(ev['threshold'])} moves {split} F1 from {num(f.get('f1_at_0_5'))} to "
            f"{num(f.get('f1_at_threshold'))}")
    if effect and split == "test":
        real = real_gain(effect)
        return text + f" ({_interval(effect)}: {'more than' if real else 'within'} its noise)", real
    lift = f.get("f1_lift")
    return text, lift is not None and lift >= SMALL_F1_LIFT  # no blocks to resample: a fixed margin instead


def _calibration_evidence(ev: Evidence) -> tuple[str, bool | None]:
    """What a calibration fitted on val would do to test ECE, and whether that is more than noise (None: unknown)."""
    effect = (ev.get("effects") or {}).get("calibrate")
    if not effect:
        return "", None
    real = real_gain(effect, lower_is_better=True)
    return (f"; {effect['method'].capitalize()} scaling fitted on val would take test ECE from "
            f"{num(effect['before'])} to {num(effect['after'])} ({_interval(effect)}: "
            f"{'more than' if real else 'within'} its noise)"), real


def rule_threshold_calibration(ev: Evidence) -> Finding | None:
    """Ranked well but the 0.5 cut or the probabilities are off, by more than the noise of fixing them."""
    picked = _primary(ev)
    if picked is None:
        return None
    split, f = picked
    auroc, ece, base = f.get("auroc"), f.get("ece"), f.get("base_rate")
    pred = f.get("pred_pos_rate_at_0_5")
    if auroc is None or auroc < WEAK_AUROC or base is None or pred is None:
        return None
    threshold_text, tune = _threshold_evidence(ev, split, f)
    calibration_text, fixable = _calibration_evidence(ev)
    # With rare positives an absolute ECE bar is too lax: scores of 1e-4 against a 3% base rate have ECE 0.03.
    miscalibrated = ece is not None and ece > min(HIGH_ECE, base / 2) and fixable is not False
    if not (miscalibrated or tune):
        return None
    rates = f"predicted positive rate {pct(pred)} at 0.5 vs base rate {pct(base)}"
    calib = f"ECE {num(ece)} over {f.get('ece_bins')} bins, Brier {num(f.get('brier'))}"
    if miscalibrated:
        evidence = f"well ranked ({split} AUROC {num(auroc)}) but mis-calibrated ({calib}, {rates})"
    else:
        evidence = (f"well ranked ({split} AUROC {num(auroc)}) and calibrated ({calib}), but 0.5 is the wrong cut "
                    f"for this base rate ({rates})")
    evidence += f"; {threshold_text}{calibration_text}"
    remedies, conclusion = _threshold_remedies(tune, miscalibrated, pred > base)
    return _finding(
        "threshold_calibration", "threshold/calibration", 2, evidence, conclusion,
        {"auroc": auroc, "ece": ece, "brier": f.get("brier"), "pred_pos_rate_at_0_5": pred, "base_rate": base,
         "threshold": ev["threshold"], "f1_at_0_5": f.get("f1_at_0_5"), "f1_at_threshold": f.get("f1_at_threshold"),
         "effects": ev.get("effects") or {}},
        remedies)


def _threshold_remedies(tune: bool, miscalibrated: bool, over: bool) -> tuple[list[tuple[str, int]], str]:
    usable = "; the ranking itself is usable"
    if not tune:
        return [("calibrate", 3)], "calibrate the probabilities (--calibrate); the ranking is usable"
    if not miscalibrated:
        return [("threshold", 3)], "use the val-tuned threshold; the probabilities themselves are calibrated"
    if over:
        return ([("threshold", 3), ("calibrate", 2), ("loss_bce", 1), ("class_weight_none", 1)],
                "tune the threshold / calibrate (over-predicts positives)" + usable)
    return ([("threshold", 3), ("calibrate", 2), ("loss_weighted", 1), ("loss_focal", 1)],
            "tune the threshold / calibrate (under-predicts positives)" + usable)


def _context_table(ev: Evidence) -> tuple[str, dict] | None:
    for split in ("test", "val"):
        table = (ev.get("by_context") or {}).get(split)
        if table and sum(m.get("n_pos") or 0 for m in table.values()):
            return split, table
    return None


def rule_context_dominance(ev: Evidence) -> Finding | None:
    """One cytosine context holds most positives (usually CG): the pooled numbers mostly measure it."""
    picked = _context_table(ev)
    if picked is None:
        return None
    split, table = picked
    total = sum(m.get("n_pos") or 0 for m in table.values())
    ctx, m = max(table.items(), key=lambda kv: kv[1].get("n_pos") or 0)
    share = (m.get("n_pos") or 0) / total
    if share < DOMINANT_SHARE or len(table) < 2:
        return None
    rates = ", ".join(f"{c} {pct(t.get('pos_rate'))}" for c, t in table.items())
    auprcs = ", ".join(f"{c} {num(t.get('auprc'))}" for c, t in table.items())
    return _finding(
        "context_dominance", f"{ctx} carries the signal", 1,
        f"{ctx} holds {pct(share)} of {split} positives (positive rate {rates}); AUPRC by context {auprcs}",
        f"pooled metrics mostly measure {ctx}; compare models per context",
        {"context": ctx, "share_of_positives": share,
         **{f"{c}_auprc": t.get("auprc") for c, t in table.items()}},
        [("site_context", 2)])


def rule_context_only(ev: Evidence) -> Finding | None:
    """Pooled AUROC is good but within each context it is near chance: the model learned the context only.

    A fixed-margin rule for runs whose metrics.json predates the context floor; where the floor and its intervals
    are known, :func:`rule_context_floor` decides instead."""
    if _floor_figures(ev) is not None:
        return None
    picked = _context_table(ev)
    primary = _primary(ev)
    if picked is None or primary is None:
        return None
    split, table = picked
    pooled = primary[1].get("auroc")
    within = {c: t.get("auroc") for c, t in table.items() if t.get("auroc") is not None}
    if pooled is None or pooled < WEAK_AUROC or len(within) < 2:
        return None
    if max(within.values()) > pooled - CONTEXT_ONLY_DROP or max(within.values()) >= NO_SKILL_AUROC + 0.05:
        return None
    listing = ", ".join(f"{c} {num(a)}" for c, a in within.items())
    return _finding(
        "context_only", "ranks by context only", 3,
        f"pooled {primary[0]} AUROC {num(pooled)} but within contexts only {listing}",
        "the model separates CG/CHG/CHH, not methylated from unmethylated sites within a context",
        {"pooled_auroc": pooled, **{f"{c}_auroc": a for c, a in within.items()}},
        [("unfreeze", 2), ("epochs", 1), ("size_other", 1)])


NEAR_CHANCE = 0.55  # within-context AUROC at or below this, without an interval: near chance


def _floor_figures(ev: Evidence) -> tuple[str, dict, dict, dict] | None:
    """The split judged, its context floor, within-context figures and intervals (from metrics.json)."""
    for split in ("test", "val"):
        measured = (ev.get("measured") or {}).get(split) or {}
        floor = measured.get("context_floor") or {}
        if floor.get("auroc") is not None and (ev.get(split) or {}).get("auroc") is not None:
            return split, floor, measured.get("within_context") or {}, measured.get("ci") or {}
    return None


def rule_context_floor(ev: Evidence) -> Finding | None:
    """No better than the context alone: overall AUROC within the floor's noise, or chance within contexts."""
    picked = _floor_figures(ev)
    if picked is None:
        return None
    split, floor, within, ci = picked
    auroc = ev[split]["auroc"]
    gain = (floor.get("gain") or {}).get("auroc") or {}
    within_auroc, within_ci = within.get("auroc"), (ci.get("within_context") or {}).get("auroc")
    overall_flat = bool(gain.get("ci")) and not real_gain(gain)
    if within_ci:
        within_flat = within_ci[0] <= 0.5
    else:
        within_flat = within_auroc is not None and within_auroc <= NEAR_CHANCE
    if not (overall_flat or within_flat):
        return None
    parts = [f"{split} AUROC {num(auroc)} vs {num(floor['auroc'])} for the context alone (each site scored by its "
             f"context's training rate)" + (f", a paired gain of {_interval(gain)}" if gain.get("ci") else "")]
    if within_auroc is not None:
        spread = f" [{num(within_ci[0])}, {num(within_ci[1])}]" if within_ci else ""
        parts.append(f"within contexts AUROC {num(within_auroc)}{spread}{', near chance' if within_flat else ''}")
    return _finding(
        "context_floor", "no better than the context alone", 3, "; ".join(parts),
        "the model tells CG from CHG and CHH, not methylated from unmethylated sites within a context",
        {"auroc": auroc, "floor_auroc": floor["auroc"], "gain": gain, "within_auroc": within_auroc,
         "within_ci": within_ci},
        [("unfreeze", 3), ("size_other", 2), ("model_cnn", 1), ("epochs", 1)])


def rule_truncation(ev: Evidence) -> Finding | None:
    frac = (ev.get("facts") or {}).get("truncated_fraction")
    if frac is None or frac <= TRUNCATION:
        return None
    size = ev["config"].get("size")
    return _finding(
        "truncation", "inputs truncated", 2,
        f"{pct(frac)} of inputs were cut to the model's maximum length (--size {size})",
        "the model never sees part of the context it was given",
        {"truncated_fraction": frac, "size": size},
        [("size_smaller", 3)])


def rule_overfitting(ev: Evidence) -> Finding | None:
    train, val = ev.get("train"), ev.get("val")
    if not train or not val or train.get("auprc") is None or val.get("auprc") is None:
        return None
    diff = train["auprc"] - val["auprc"]
    if diff <= OVERFIT_GAP:
        return None
    return _finding(
        "overfitting", "overfitting", 2,
        f"train AUPRC {num(train['auprc'])} vs val {num(val['auprc'])} (gap {num(diff)})",
        "the model memorises training sites",
        {"train_auprc": train["auprc"], "val_auprc": val["auprc"]},
        [("regularise", 2)])


def gap_noise(ev: Evidence, metric: str = "auprc") -> float | None:
    """Half-width of a 95% interval for val − test of ``metric``: val and test hold different sites, so the
    variances of their own block-bootstrap intervals add. None when a split has no interval (--bootstrap 0)."""
    halves = []
    for split in ("val", "test"):
        interval = (((ev.get("measured") or {}).get(split) or {}).get("ci") or {}).get(metric)
        if not interval:
            return None
        halves.append((interval[1] - interval[0]) / 2)
    return math.hypot(*halves)


def rule_val_test_gap(ev: Evidence) -> Finding | None:
    """Test well below val: at least VAL_TEST_GAP and 20% of val (worth saying), and beyond the two splits' own
    noise where they have intervals (else a gap of two small splits would be read as a shift)."""
    val, test = ev.get("val"), ev.get("test")
    diff = (ev.get("gap") or {}).get("auprc")
    if diff is None or diff <= VAL_TEST_GAP or diff <= 0.2 * val["auprc"]:
        return None
    noise = gap_noise(ev)
    if noise is not None and diff <= noise:
        return None
    beyond = f", beyond the two splits' noise of ±{num(noise)}" if noise is not None else ""
    return _finding(
        "val_test_gap", "val-to-test gap", 1,
        f"val AUPRC {num(val['auprc'])} vs test {num(test['auprc'])} (gap {num(diff)}{beyond}); "
        f"F1 at the tuned threshold {num(val.get('f1_at_threshold'))} vs {num(test.get('f1_at_threshold'))}",
        "what was tuned on validation transfers only partly: small splits or a shift between regions",
        {"val_auprc": val["auprc"], "test_auprc": test["auprc"]},
        [("seeds", 1), ("regularise", 1)])


def rule_undertrained(ev: Evidence) -> Finding | None:
    facts = ev.get("facts") or {}
    best, run = facts.get("best_epoch"), facts.get("epochs_run")
    planned = ev["config"].get("epochs")
    if run_family(ev["config"]) == "lr":
        return None  # logistic regression is fitted to convergence; it has no epochs to add
    if best is None or run is None or planned is None or run < planned or best < run - 1:
        return None
    return _finding(
        "still_improving", "still improving", 1,
        f"best val AUPRC at epoch {int(best)} of {int(run)} (the maximum, --epochs {int(planned)})",
        "training stopped while validation was still improving",
        {"best_epoch": best, "epochs_run": run, "epochs": planned},
        [("epochs", 3)])


def rule_below_baseline(ev: Evidence) -> Finding | None:
    base = ev.get("baseline")
    if not base or not ev.get("val"):
        return None
    mine, theirs = ev["val"].get("auprc"), metric_value(base.get("metrics"), "val_auprc")
    if mine is None or theirs is None or mine >= theirs:
        return None
    test_mine = (ev.get("test") or {}).get("auprc")
    test_theirs = metric_value(base.get("metrics"), "test_auprc")
    lr = run_family(ev.get("config") or {}) == "lr"
    return _finding(
        "below_baseline", "below the baseline", 3,
        f"val AUPRC {num(mine)} vs {num(theirs)} for baseline {base.get('name') or base.get('id')} "
        f"(test {num(test_mine)} vs {num(test_theirs)})",
        "another lr configuration does better on this dataset" if lr
        else "this model adds nothing over logistic regression on k-mers yet",
        {"val_auprc": mine, "baseline_val_auprc": theirs, "baseline": base.get("id")},
        [("unfreeze", 2), ("epochs", 2), ("size_other", 1)])


def rule_repeat_gap(ev: Evidence) -> Finding | None:
    for split in ("test", "val"):
        table = (ev.get("by_repeat") or {}).get(split) or {}
        rep, non = table.get("repeat"), table.get("non_repeat")
        if not rep or not non or rep.get("auroc") is None or non.get("auroc") is None:
            continue
        if min(rep.get("n_pos") or 0, non.get("n_pos") or 0) < 10:
            continue
        diff = non["auroc"] - rep["auroc"]
        if abs(diff) <= REPEAT_GAP:
            return None
        worse = "repeats" if diff > 0 else "non-repeat sites"
        return _finding(
            "repeat_gap", f"weaker on {worse}", 1,
            f"{split} AUROC {num(rep['auroc'])} in repeats (n {rep['n']}, positive rate {pct(rep.get('pos_rate'))}) "
            f"vs {num(non['auroc'])} outside (n {non['n']}, {pct(non.get('pos_rate'))})",
            f"performance differs by genomic compartment; report {worse} separately",
            {"repeat_auroc": rep["auroc"], "non_repeat_auroc": non["auroc"]},
            [("size_other", 1)])
    return None


def rule_feature_gap(ev: Evidence) -> Finding | None:
    """One genomic feature class (prepare --annotation) ranked far worse than the split as a whole: its AUROC at
    least FEATURE_GAP lower and its block-bootstrap interval wholly below the split's (beyond noise), among
    classes with FEATURE_MIN_POSITIVES positives; the worst such class is named."""
    for split in ("test", "val"):
        table, whole = (ev.get("by_feature") or {}).get(split) or {}, ev.get(split) or {}
        whole_ci = (((ev.get("measured") or {}).get(split) or {}).get("ci") or {}).get("auroc")
        if not table or whole.get("auroc") is None:
            continue
        worse = []
        for name, m in table.items():
            ci = (m.get("ci") or {}).get("auroc")
            if m.get("auroc") is None or (m.get("n_pos") or 0) < FEATURE_MIN_POSITIVES or not ci or not whole_ci:
                continue
            if whole["auroc"] - m["auroc"] >= FEATURE_GAP and ci[1] < whole_ci[0]:
                worse.append((m["auroc"], name, m, ci))
        if not worse:
            return None
        auroc, name, m, ci = min(worse)
        others = ", ".join(f"{n} {num(v.get('auroc'))}" for n, v in table.items() if n != name)
        return _finding(
            "feature_gap", f"weaker in {name}", 1,
            f"{split} AUROC {num(auroc)} [{num(ci[0])}, {num(ci[1])}] in {name} (n {m['n']}, {m['n_pos']} positive) "
            f"vs {num(whole['auroc'])} [{num(whole_ci[0])}, {num(whole_ci[1])}] over the split; other features: "
            f"{others}",
            f"the model ranks sites in {name} worse than elsewhere, beyond the intervals' noise; report {name} "
            "separately or give the model more context there",
            {"feature": name, "feature_auroc": auroc, "split_auroc": whole["auroc"]},
            [("size_other", 1)])
    return None


SITE_CONTEXT_ONLY = 0.90     # share of the ISM attribution within ±2 bp of the C


def rule_attribution(ev: Evidence) -> Finding | None:
    """The run's explanation (``dnactx explain``, explain.json in its folder) says how far the model looks: when
    nearly all of it lies within ±2 bp, the model has learned the site context and little else."""
    e = ev.get("explanation")
    near = ((e or {}).get("share_within") or {}).get("2")
    if near is None:
        return None
    split = f" of {e['split']}" if e.get("split") else ""
    where = f"ISM of {e.get('sites')} {e.get('selection')} sites{split}: {e.get('sentence')}"
    if near < SITE_CONTEXT_ONLY:
        return None  # how far it looks is then a note (see commands.diagnose_row), not a problem
    return _finding(
        "site_context_only", "looks at the site context only", 2,
        f"the model's attribution is {pct(near)} within ±2 bp ({where})",
        "it has learned the site context and little else: the flanks add nothing to its scores",
        {"share_within_2": near, "radius_90": e.get("radius_90"), "peak_offset": e.get("peak_offset")},
        [("size_other", 2), ("unfreeze", 1), ("model_cnn", 1)])



RULES = (rule_no_separation, rule_context_floor, rule_context_only, rule_below_baseline, rule_weak_ranking,
         rule_threshold_calibration, rule_truncation, rule_overfitting, rule_context_dominance, rule_val_test_gap,
         rule_undertrained, rule_repeat_gap, rule_feature_gap, rule_attribution)


def rank_remedies(findings: list[Finding], config: dict, threshold: float | None) -> list[RankedRemedy]:
    """Score each remedy by the severity of the findings that call for it; drop those that do not apply and those
    that change an option a higher-ranked remedy already changes (they would pull it the other way)."""
    scores: dict[str, float] = {}
    because: dict[str, list[str]] = {}
    for f in findings:
        for key, weight in f["remedies"]:
            scores[key] = scores.get(key, 0.0) + f["severity"] * weight
            because.setdefault(key, []).append(f["code"])
    out: list[RankedRemedy] = []
    for key in sorted(scores, key=lambda k: -scores[k]):
        r = remedy(key, config, threshold)
        if r is not None and not any(conflicts(r, kept) for kept in out):  # never "train longer" and "stop earlier"
            out.append({**r, "score": scores[key], "because": because[key]})
    for rank, r in enumerate(out, 1):
        r["rank"] = rank
    return out


def verdict(findings: list[Finding]) -> str:
    """One line: the most severe finding's conclusion, or a clean bill."""
    if not findings:
        return "no problem found by the rules: ranking, calibration and splits look consistent"
    top = max(findings, key=lambda f: f["severity"])
    return f"{top['title']} → {top['conclusion']}"


def diagnose(ev: Evidence) -> Diagnosis:
    """Apply every rule; return the evidence with ``findings``, ``verdict`` and ranked ``remedies`` added."""
    findings = [f for rule in RULES if (f := rule(ev)) is not None]
    # "below the baseline" and "no separation" both exist; the weaker ranking rule would only repeat them.
    codes = {f["code"] for f in findings}
    if "no_separation" in codes:
        findings = [f for f in findings if f["code"] != "weak_ranking"]
    if "context_floor" in codes:  # the same finding, measured against the floor with intervals
        findings = [f for f in findings if f["code"] != "context_only"]
    if codes & {"context_only", "context_floor"}:  # a threshold cannot fix a ranking that only knows the context
        for f in findings:
            if f["code"] == "threshold_calibration":
                f["conclusion"] = (f["conclusion"].replace("; the ranking itself is usable", "")
                                   + "; but the ranking comes from the context alone")
    findings.sort(key=lambda f: -f["severity"])
    out: Diagnosis = {**ev}
    out["findings"] = findings
    out["verdict"] = verdict(findings)
    out["remedies"] = rank_remedies(findings, ev.get("config") or {}, ev.get("threshold"))
    return out
