"""The data contracts between layers (metrics.json, run facts, a registry run row, a finding, a remedy, predict.json,
the report) and the one way to name and look up a metric.

metrics.json keeps what a run measured apart from what happened while it ran::

    {"threshold": 0.213,                                  # max F1 on val, applied unchanged to test
     "threshold_by": "global",                            # or "context": the *_at_threshold keys use ...
     "context_thresholds": {"CG": 0.25, "CHG": 0.15, "CHH": 0.06},   # ... one max-F1 threshold per context
     "calibration": {"method": "platt", "fitted_on": "val", "slope": 1.1, "intercept": -0.3},  # --calibrate
     "val": {SplitMetrics}, "test": {SplitMetrics},       # ("train" too, where a trainer scores it)
     "by_context": {"val": {"CG": {SplitMetrics}, "CHG": {...}, "CHH": {...}}, "test": {...}},
     "by_feature": {"test": {"CDS": {SplitMetrics with ci}, "intron": {...}, ...}},  # prepare --annotation only
     "facts": {"train_seconds": 41.2, "samples_per_s": 2427.2, "train_sites": 100000, "best_epoch": 1,
               "epochs_run": 1, "truncated_fraction": 0.0, "converged": true, "n_iter": 87}}

A split's metrics also hold objects (:class:`SplitMetrics`): ``ci`` (block-bootstrap intervals), ``within_context``,
``context_floor``, ``at_thresholds`` (F1 at the global and at the per-context thresholds) and, under
``--calibrate``, ``calibration`` (ECE and Brier before and after). The registry stores numbers only: the numbers
inside those objects become metric rows under the names of :data:`NESTED` (``within_auprc``, ``auprc_lo``,
``context_floor_auroc``, ...), which :func:`metric_value` reads from either shape.

The facts are an object inside metrics.json rather than a sibling file: a run writes the file once, atomically, when
it ends, so its metrics and facts can never disagree or be half-present; artifacts.json lists one file, and
``train --json`` prints one object. Anything that reads a run folder goes through :func:`read_metrics`, which also
reads the first layout (facts as top-level scalars beside ``threshold``), so old run folders still sync, diagnose
and report.

Only the standard library here: run folders (stdlib-only) and the registry both use these types.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any, TypedDict

from .choices import CONTEXTS, SPLITS

RUN = "run"      # metric-row split of run-level metrics (threshold)
FACTS = "facts"  # metric-row split of run facts


Interval = list[float]  # [lo, hi]


class Intervals(TypedDict, total=False):
    """``ci`` of a split (or, with ``auroc``/``auprc``/``f1`` only, of a context): 95% block-bootstrap intervals.

    ``f1`` is F1 at the run's threshold(s); ``approximate`` is true when the sites span fewer than 30 blocks;
    ``skipped`` says why there are no intervals (no positives, no site positions).
    """

    auroc: Interval | None
    auprc: Interval | None
    f1: Interval | None
    within_context: dict[str, Interval | None]  # auroc, auprc
    level: float
    n_resamples: int
    seed: int
    block_bp: int
    n_blocks: int
    n_blocks_with_positives: int
    approximate: bool
    skipped: str


class PairedDifference(TypedDict, total=False):
    """A − B on the same sites under shared block draws (:func:`dnactx.stats.compare.paired_difference`)."""

    difference: float | None
    ci: Interval | None
    p_value: float | None
    verdict: str


class ContextFloor(TypedDict, total=False):
    """The context-only score (each site scored by its context's training methylation rate) on a split's sites,
    with its intervals and the model's paired gain over it (``gain``: model − floor)."""

    auroc: float | None
    auprc: float | None
    rates: dict[str, float]
    ci: dict[str, Interval | None]
    gain: dict[str, PairedDifference]


class ThresholdCalls(TypedDict, total=False):
    """Calls at one threshold policy: precision, recall, F1, predicted-positive rate (and the threshold(s))."""

    threshold: float
    thresholds: dict[str, float]
    precision: float
    recall: float
    f1: float
    pred_pos_rate: float


class CalibrationEffect(TypedDict, total=False):
    """ECE and Brier of a split's scores before and after ``--calibrate`` (fitted on val)."""

    method: str
    ece: dict[str, float | None]    # before, after
    brier: dict[str, float | None]


class SplitMetrics(TypedDict, total=False):
    """Every headline number of one split or subset (:func:`dnactx.metrics.binary_metrics`), plus the objects
    a trained run adds (:func:`dnactx.stats.evaluation.evaluate_run`).

    Undefined values (AUROC without both classes) are None and ``null_reason`` says why; the ``*_at_threshold``
    keys are there when a tuned threshold was given (under ``--threshold-by context``, the per-context ones).
    """

    n: int
    n_pos: int
    pos_rate: float | None
    auroc: float | None
    auprc: float | None
    f1_at_0_5: float
    precision_at_0_5: float
    recall_at_0_5: float
    pred_pos_rate_at_0_5: float
    mean_prob_pos: float | None
    mean_prob_neg: float | None
    score_std: float | None
    brier: float | None
    ece: float | None
    f1_at_threshold: float
    precision_at_threshold: float
    recall_at_threshold: float
    pred_pos_rate_at_threshold: float
    null_reason: str
    ci: Intervals
    within_context: dict[str, float | None]       # macro average over contexts: auroc, auprc
    context_floor: ContextFloor
    at_thresholds: dict[str, ThresholdCalls]      # global, context
    calibration: CalibrationEffect
    pearson: float | None                         # --target level: predicted vs measured level (mc / cov)
    spearman: float | None
    mae: float | None
    r2_weighted: float | None                     # R² with each site weighted by its reads


class RunFacts(TypedDict, total=False):
    """What happened while a run trained (time, sizes, convergence), as opposed to how well it predicts."""

    train_seconds: float        # data loading, fitting and predicting val/test
    samples_per_s: float        # training samples per second of fitting
    train_sites: int            # training sites actually used (after --max-train / --train-fraction)
    best_epoch: int             # the epoch whose weights were kept (early stopping on val AUPRC)
    epochs_run: int
    truncated_fraction: float   # inputs cut to the model's maximum length
    cache_hit: bool             # frozen transformers: pooled features came from the cache
    converged: bool             # lr: the solver converged within its budget
    n_iter: int                 # lr: solver iterations
    pos_weight_used: float      # --loss weighted: the positive-class weight applied
    lr: dict[str, Any]          # lr: the scaling, C and class weights used and, under --C auto, the grid searched
    # a pretrain run (kind "pretrain"): its held-out masked-token figures and budget
    masked_accuracy: float      # held-out masked-token accuracy
    perplexity: float           # held-out masked-token perplexity
    heldout_loss: float
    tokens_seen: int            # tokens trained on
    steps: int                  # optimiser steps
    tokens_per_s: float


class MetricsFile(TypedDict, total=False):
    """metrics.json: :func:`dnactx.metrics.evaluate` (threshold, splits, by_context) plus the run's ``facts``."""

    threshold: float
    threshold_by: str                           # global | context
    context_thresholds: dict[str, float]
    calibration: dict[str, Any]                 # method, fitted_on, and the fitted parameters
    train: SplitMetrics
    val: SplitMetrics
    test: SplitMetrics
    by_context: dict[str, dict[str, SplitMetrics]]  # split → context → metrics
    by_feature: dict[str, dict[str, SplitMetrics]]  # split → genomic feature class → metrics (not in the registry)
    level: dict[str, dict[str, Any]]  # --target level: split → pearson, spearman, mae, r2, ci, by_context
    facts: RunFacts


class ArtifactEntry(TypedDict):
    """A file a run wrote inside its folder (artifacts.json, the registry's artifacts table)."""

    kind: str
    path: str
    sha256: str | None
    bytes: int | None


class RunIdentity(TypedDict, total=False):
    """What names a run in tables, reports and diagnoses."""

    id: str
    name: str | None
    status: str
    family: str | None      # lr | cnn | transformer
    model: str | None
    size: int | None
    mode: str | None
    finetune: str | None    # transformers only: None for the families without it
    seed: int | None
    matrix: str | None


class RunRow(RunIdentity, total=False):
    """One run as ``Registry.runs()``/``run()`` return it: the columns of the registry's ``Run`` table, then
    ``folder``, ``metrics`` (metrics.json rebuilt from the metric rows, facts included) and ``artifacts``."""

    data: str | None
    dataset_fingerprint: str | None
    config: dict[str, Any]
    versions: dict[str, Any] | None
    created: str | None
    started: str | None
    finished: str | None
    host: str | None
    pid: int | None         # the owning process on host, and its start time: a run whose process is gone is stale
    pid_start: str | None
    slurm_job_id: str | None
    error: str | None
    cell: dict[str, Any] | None
    window: int | None
    device: str | None
    dnactx_version: str | None
    kind: str | None        # train | pretrain (dnactx.runs.config.KINDS)
    folder: str
    metrics: MetricsFile
    artifacts: list[ArtifactEntry]


RUN_IDENTITY: tuple[str, ...] = tuple(RunIdentity.__annotations__)
ROW_EXTRAS = ("folder", "metrics", "artifacts")  # the keys of a RunRow that are not columns of the Run table


class Finding(TypedDict):
    """One diagnosis rule that fired: the numbers it cites and what to conclude."""

    code: str                           # stable identifier (no_separation, threshold_calibration, ...)
    title: str
    severity: int                       # 1 worth knowing, 2 costs performance, 3 the main problem
    evidence: str                       # the numbers, in words
    conclusion: str
    figures: dict[str, Any]             # the numbers behind ``evidence``
    remedies: list[tuple[str, int]]     # (remedy key, weight): which remedies this finding calls for


class Remedy(TypedDict, total=False):
    """Something to try next: ``flags`` to change and the full ``dnactx train`` command, where it retrains;
    ``options``: the train options it changes (two remedies that change one option contradict each other)."""

    key: str
    flags: str | None
    action: str
    command: str | None
    options: list[str]


class RankedRemedy(Remedy):
    """A remedy scored by the severity of the findings that call for it (``because``: their codes)."""

    score: float
    because: list[str]
    rank: int


class BaselineRef(TypedDict):
    """The run a diagnosis compares with (chosen by :func:`dnactx.analysis.baseline.choose_baseline`)."""

    id: str
    name: str | None
    metrics: MetricsFile


class Evidence(TypedDict, total=False):
    """What the diagnosis rules read: per-split figures (``binary_metrics`` keys, ``pos_rate`` as ``base_rate``,
    plus score quantiles, separation and lifts), subsets, sweeps, the val→test gap, the run's facts, the intervals
    metrics.json measured and the effects of a threshold or calibration (``config``: the run's config.json, a
    :class:`dnactx.runs.config.RunConfig`)."""

    threshold: float
    source: str                                     # "predictions" or "metrics" (metrics.json alone)
    config: dict[str, Any]
    notes: list[str]
    baseline: BaselineRef | None
    val: dict[str, Any] | None
    test: dict[str, Any] | None
    train: SplitMetrics | None
    sweep: dict[str, dict[str, list[float]]]        # split → threshold_sweep
    by_context: dict[str, dict[str, SplitMetrics]]  # split → CG/CHG/CHH → metrics
    by_repeat: dict[str, dict[str, SplitMetrics]]   # split → repeat/non_repeat → metrics
    by_feature: dict[str, dict[str, SplitMetrics]]  # split → genomic feature class → metrics with ci (--annotation)
    gap: dict[str, float]                           # val minus test
    facts: RunFacts
    measured: dict[str, dict[str, Any]]             # split → metrics.json's ci, within_context, context_floor
    effects: dict[str, Any]                         # threshold, calibrate: paired effects with their intervals
    explanation: dict[str, Any] | None              # explain.json's summary (explain.artifact.explanation_summary)


class Diagnosis(Evidence, total=False):
    """diagnosis.json: the evidence with the findings, a one-line verdict, ranked remedies and the run it is of."""

    findings: list[Finding]
    verdict: str
    remedies: list[RankedRemedy]
    run: dict[str, Any]                             # RunIdentity and the run's folder
    plots: list[str]


class PredictIdentity(TypedDict, total=False):
    """Everything a predict --out folder's predictions depend on (checksums and options): a re-run with the same
    identity resumes them; two folders with the same sites part of it can be compared."""

    model: dict[str, Any]               # kind, path, run_id, weights_sha256, recipe
    genome: str                         # sha256
    calls: list[str]                    # sha256 of each --calls file
    label_rules: dict[str, Any] | None  # LabelRules.to_dict(); None without --calls
    regions: str | None                 # sha256 of --regions
    chroms: list[str]
    contexts: list[str]
    precision: str
    annotation: list[Any]               # [sha256, promoter_bp, downstream_bp], with --annotation only


class PredictSummary(TypedDict, total=False):
    """predict.json, written last into --out (its presence means the outputs are complete), and what
    ``dnactx predict --json`` prints. ``status`` is "complete"; a SLURM array task whose group finished before
    the others returns (and writes nowhere) ``{"status": "partial", "done", "chromosomes", "missing", "out"}``;
    a re-run over complete outputs returns predict.json with ``already_complete``."""

    dnactx_version: str
    created: str
    status: str                         # "complete" | "partial"
    identity: PredictIdentity
    model: dict[str, Any]               # identity's model
    genome: dict[str, Any]              # path, sha256, access, chromosomes
    region: dict[str, Any]              # bed, chroms, intervals, bases, contexts
    calls: dict[str, Any] | None        # files (path, sha256), rules, rows, skipped, warnings; None without --calls
    counts: dict[str, Any]              # by_chromosome, total: CG/CHG/CHH/all/with_calls/labelled
    evaluation: dict[str, Any] | None   # labelled_sites, rule, sites (per context), bins, by_feature; or a note
    annotation: dict[str, Any] | None   # the GFF3's description and the metaplot written
    timing: dict[str, Any]              # method, scoring/chromosome/merge/wall seconds, sites_per_s, processes
    warnings: list[str]
    versions: dict[str, str]
    outputs: dict[str, int]             # file name → bytes
    registry: dict[str, Any] | None     # whether the evaluation was recorded, and a note
    already_complete: bool              # a re-run found these outputs complete (not stored)
    done: int                           # partial: chromosomes scored ...
    chromosomes: int                    # ... of this many
    missing: list[str]                  # partial: the chromosomes not scored yet
    out: str                            # partial: the --out folder


class Report(TypedDict, total=False):
    """What ``dnactx report`` builds (:func:`dnactx.analysis.report.build_report`), prints with --json and writes
    as report.md/.csv/.html: the selected configuration (selection on val), its baseline and the comparison,
    per-context and per-feature metrics, axis summaries, the tables, heatmap, diagnosis and next steps."""

    scope: str
    metric: str                         # split_metric the configuration was selected on
    metric_label: str
    lower_is_better: bool
    n_runs: int
    selected: dict[str, Any]
    selected_configuration: dict[str, Any]  # ids, seeds, val/test mean and sd, within-context means
    best_by_test: dict[str, Any] | None      # an optimistic figure, labelled as such
    baseline: dict[str, Any] | None
    baseline_ids: list[str]
    baseline_reason: str
    comparison: dict[str, Any]
    per_context: dict[str, Any]
    per_feature: dict[str, Any]
    by_mode: list[dict[str, Any]]
    by_size: list[dict[str, Any]]
    by_model: list[dict[str, Any]]
    mode_verdict: str | None
    size_verdict: str | None
    model_verdict: str | None
    baseline_means: dict[str, Any] | None
    configurations: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    heatmap: dict[str, Any]                  # rows, cols, values
    diagnosis: dict[str, Any] | None         # the selected run's diagnosis, short
    stats: dict[str, Any]
    notes: list[str]
    next_steps: list[str]                    # Markdown
    skipped_without_metric: list[str]
    explanation: dict[str, Any] | None
    out: dict[str, str]                      # what was written: markdown, csv, html, figures


# -- reading metrics.json -----------------------------------------------------------------------------------
_MEASURED = frozenset(MetricsFile.__annotations__) - {FACTS}


def read_metrics(raw: Any) -> MetricsFile | None:
    """metrics.json as any dnactx wrote it, in today's layout: the first layout's top-level facts (every key that
    is not a metric: train_seconds, best_epoch, ...) move into ``facts``. None stays None."""
    if not isinstance(raw, dict) or FACTS in raw:
        return raw
    facts = {k: v for k, v in raw.items() if k not in _MEASURED}
    if not facts:
        return typing.cast(MetricsFile, raw)
    measured = {k: v for k, v in raw.items() if k in _MEASURED}
    return typing.cast(MetricsFile, {**measured, FACTS: facts})


# -- naming and looking up one metric ------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricRef:
    """Where one number sits in metrics.json: a split (train/val/test), ``run`` (threshold) or ``facts``;
    a context (CG/CHG/CHH) or None for all sites; and its name."""

    split: str
    context: str | None
    name: str

    @property
    def label(self) -> str:
        """The spelling :func:`parse_metric` reads: ``val_auprc``, ``test_CG_auroc``; run values keep their name."""
        if self.split in (RUN, FACTS):
            return self.name
        return f"{self.split}_{self.context}_{self.name}" if self.context else f"{self.split}_{self.name}"


FACT_NAMES = frozenset(RunFacts.__annotations__)


def parse_metric(text: str) -> MetricRef:
    """``val_auprc`` → (val, None, auprc); ``test_CG_auprc`` → (test, CG, auprc); ``train_seconds`` → a fact
    (the names of :class:`RunFacts`); anything else not starting with a split is run-level (``threshold``)."""
    text = text.strip()
    if text in FACT_NAMES:
        return MetricRef(FACTS, None, text)
    head, _, rest = text.partition("_")
    if head == RUN and rest:
        return MetricRef(RUN, None, rest)
    if head not in SPLITS or not rest:
        return MetricRef(RUN, None, text)
    ctx, _, name = rest.partition("_")
    if ctx in CONTEXTS and name:
        return MetricRef(head, ctx, name)
    return MetricRef(head, None, rest)


def metric_value(metrics: MetricsFile | None, metric: str | MetricRef) -> float | None:
    """The number ``metric`` names in ``metrics`` (a metrics.json, or a run row's ``metrics``), or None when it is
    absent, undefined or not finite. A fact that is a flag (cache_hit) reads as 1.0 or 0.0."""
    ref = metric if isinstance(metric, MetricRef) else parse_metric(metric)
    m: dict = dict(metrics or {})
    if ref.split == FACTS:
        value = (m.get(FACTS) or {}).get(ref.name)
    elif ref.split == RUN:
        value = m.get(ref.name)
    elif ref.context is None:
        value = split_value(m.get(ref.split), ref.name)
    else:
        value = split_value(((m.get("by_context") or {}).get(ref.split) or {}).get(ref.context), ref.name)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


# The numbers inside a split's objects, by the name their metric row has: a name → its path in the split.
NESTED: dict[str, tuple[str | int, ...]] = {
    "within_auroc": ("within_context", "auroc"),
    "within_auprc": ("within_context", "auprc"),
    "context_floor_auroc": ("context_floor", "auroc"),
    "context_floor_auprc": ("context_floor", "auprc"),
    **{f"{row}_{end}": ("ci", key, i) for row, key in (("auroc", "auroc"), ("auprc", "auprc"),
                                                      ("f1_at_threshold", "f1"))
       for i, end in enumerate(("lo", "hi"))},
    **{f"within_{key}_{end}": ("ci", "within_context", key, i) for key in ("auroc", "auprc")
       for i, end in enumerate(("lo", "hi"))},
    "ci_blocks": ("ci", "n_blocks"),
    "ci_approximate": ("ci", "approximate"),
    "ci_resamples": ("ci", "n_resamples"),
    "ci_block_bp": ("ci", "block_bp"),
    **{f"context_floor_{key}_{end}": ("context_floor", "ci", key, i) for key in ("auroc", "auprc")
       for i, end in enumerate(("lo", "hi"))},
    **{f"context_floor_gain_{key}": ("context_floor", "gain", key, "difference") for key in ("auroc", "auprc")},
    **{f"context_floor_gain_{key}_{end}": ("context_floor", "gain", key, "ci", i) for key in ("auroc", "auprc")
       for i, end in enumerate(("lo", "hi"))},
    "f1_at_global_threshold": ("at_thresholds", "global", "f1"),
    "f1_at_context_thresholds": ("at_thresholds", "context", "f1"),
    "ece_uncalibrated": ("calibration", "ece", "before"),
    "brier_uncalibrated": ("calibration", "brier", "before"),
}
_NESTED_KINDS: dict[str, type] = {"ci_blocks": int, "ci_approximate": bool, "ci_resamples": int, "ci_block_bp": int}


def _at(obj: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, (list, tuple)) and len(obj) > key else None
        else:
            obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def split_value(split: dict | None, name: str) -> Any:
    """The value ``name`` names in one split's (or context's) metrics: a key, or a number inside its objects."""
    split = split if isinstance(split, dict) else {}
    if name in split:
        return split[name]
    return _at(split, NESTED[name]) if name in NESTED else None


def _split_rows(split: dict) -> dict[str, float]:
    """A split's numbers under their row names: its own number keys, then those of :data:`NESTED`."""
    out = {k: float(v) for k, v in split.items() if _number(v)}
    for name, path in NESTED.items():
        value = _at(split, path)
        if isinstance(value, (int, float)) and (not isinstance(value, float) or math.isfinite(value)):
            out[name] = float(value)
    return out


def _put(split: dict, name: str, value: float) -> None:
    """Set row ``name`` back into a split: at its path in :data:`NESTED`, else as a key."""
    if name not in NESTED:
        split[name] = _typed(_SPLIT_KINDS.get(name), value)
        return
    path = NESTED[name]
    obj: Any = split
    for key, inner in zip(path[:-1], path[1:], strict=True):
        obj = obj.setdefault(key, [None, None] if isinstance(inner, int) else {})
    last = path[-1]
    obj[last] = _typed(_NESTED_KINDS.get(name), value)


def run_metric(row: RunRow, metric: str | MetricRef) -> float | None:
    """:func:`metric_value` of a registry run row (its ``metrics``)."""
    return metric_value(row.get("metrics"), metric)


# -- metrics.json as rows (split, context, name, value) and back -----------------------------------------------
MetricRow = tuple[str, str | None, str, float]


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def flatten_metrics(metrics: MetricsFile | None) -> list[MetricRow]:
    """``(split, context or None, name, value)`` rows: splits and contexts, ``run`` for threshold, ``facts`` for
    the facts (flags as 1.0/0.0). None values are left out, and so are a split's objects (``ci``, ``context_floor``,
    ...) except for the numbers :data:`NESTED` names, which become rows of their own (``auprc_lo``)."""
    rows: list[MetricRow] = []
    for key, value in (metrics or {}).items():
        if key in SPLITS and isinstance(value, dict):
            rows += [(key, None, k, v) for k, v in _split_rows(value).items()]
        elif key == "by_context" and isinstance(value, dict):
            for split, contexts in value.items():
                for ctx, m in contexts.items():
                    rows += [(split, ctx, k, v) for k, v in _split_rows(m).items()]
        elif key == FACTS and isinstance(value, dict):
            rows += [(FACTS, None, k, float(v)) for k, v in value.items() if isinstance(v, (int, float))]
        elif _number(value):
            rows.append((RUN, None, key, float(value)))
    return rows


def _kinds(contract: type) -> dict[str, type]:
    """Field name → int or bool, for the fields of a contract that are not floats (rows store every value as REAL)."""
    hints = typing.get_type_hints(contract)
    return {k: t for k, t in hints.items() if t in (int, bool)}


_SPLIT_KINDS = _kinds(SplitMetrics)
_FACT_KINDS = _kinds(RunFacts)


def _typed(kind: type | None, value: float) -> float | int | bool:
    if kind is bool:
        return bool(value)
    if kind is int and float(value).is_integer():
        return int(value)
    return value


def nest_metrics(rows: list[MetricRow]) -> MetricsFile:
    """The inverse of :func:`flatten_metrics`: rows back into metrics.json's shape, ints and flags restored (a
    split's objects hold only the numbers that had rows)."""
    out: dict[str, Any] = {}
    for split, context, name, value in rows:
        if split == RUN:
            out[name] = value
        elif split == FACTS:
            out.setdefault(FACTS, {})[name] = _typed(_FACT_KINDS.get(name), value)
        elif context is None:
            _put(out.setdefault(split, {}), name, value)
        else:
            _put(out.setdefault("by_context", {}).setdefault(split, {}).setdefault(context, {}), name, value)
    return typing.cast(MetricsFile, out)
