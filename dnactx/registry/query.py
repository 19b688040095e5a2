"""Metric names as reports and ``runs ls --sort`` spell them (``val_auprc``, ``test_CG_f1_at_threshold``)."""

from __future__ import annotations

from typing import Any

from ..metrics import CONTEXTS

SPLITS = ("train", "val", "test", "run")
# Counts come back from the REAL value column as floats; give them back as ints.
INT_METRICS = frozenset({"n", "n_pos", "best_epoch", "epochs_run"})
# Run-level scalars whose names would otherwise read as "<split>_<metric>" (train_seconds).
RUN_SCALARS = frozenset({"threshold", "truncated_fraction", "best_epoch", "epochs_run", "train_seconds",
                         "samples_per_s"})


def parse_metric(text: str) -> tuple[str, str | None, str]:
    """``val_auprc`` → (val, None, auprc); ``test_CG_auprc`` → (test, CG, auprc); ``train_seconds`` → (run, None, …).

    A name that does not start with a split is a run-level scalar (split ``run``), as in metrics.json.
    """
    head, _, rest = text.partition("_")
    if head == "run" and rest:
        return "run", None, rest
    if text in RUN_SCALARS or head not in SPLITS or not rest:
        return "run", None, text
    ctx, _, name = rest.partition("_")
    if ctx in CONTEXTS and name:
        return head, ctx, name
    return head, None, rest


def metric_label(split: str, context: str | None, name: str) -> str:
    """The inverse of :func:`parse_metric` (run-level scalars keep their bare name)."""
    if split == "run":
        return name
    return f"{split}_{context}_{name}" if context else f"{split}_{name}"


def nest(rows: list[tuple[str, str | None, str, float]]) -> dict[str, Any]:
    """Metric rows back into metrics.json's shape: ``{"val": {...}, "by_context": {"val": {"CG": {...}}}, ...}``."""
    out: dict[str, Any] = {}
    for split, context, name, value in rows:
        v: float | int = int(value) if name in INT_METRICS and float(value).is_integer() else value
        if split == "run":
            out[name] = v
        elif context is None:
            out.setdefault(split, {})[name] = v
        else:
            out.setdefault("by_context", {}).setdefault(split, {}).setdefault(context, {})[name] = v
    return out


def metric_value(run: dict, metric: str) -> float | None:
    """The value of ``metric`` (e.g. ``val_auprc``) in a run dict from :class:`Registry`, or None."""
    split, context, name = parse_metric(metric)
    m = run.get("metrics") or {}
    if split == "run":
        value = m.get(name)
    elif context is None:
        value = (m.get(split) or {}).get(name)
    else:
        value = (((m.get("by_context") or {}).get(split) or {}).get(context) or {}).get(name)
    if value is None and split != "run":
        value = m.get(metric)  # a run-level scalar that merely looks like "<split>_<name>"
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
