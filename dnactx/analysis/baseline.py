"""Which run a result is compared with: one policy for the report's comparison and for every diagnosis."""

from __future__ import annotations

from ..contracts import RunRow, run_metric
from .configs import is_designated_baseline as _designated
from .report import select

AUTO = "auto"
# Options that decide which sites a run trains on (as matrix.spec.DATA_SHAPING).
_DATA_SHAPING = ("seed", "max_train", "train_fraction", "site_context")


def _auto(selected: RunRow, scope: list[RunRow], completed: list[RunRow], name: str) -> tuple[RunRow | None, str]:
    scope = [r for r in scope if run_metric(r, f"val_{name}") is not None]
    designated = [r for r in scope if _designated(r)]
    if designated:
        return select(designated, name), "the matrix's baseline run"
    lr = [r for r in scope if r.get("family") == "lr" and r.get("id") != selected.get("id")]
    if lr:
        return select(lr, name), "the best other lr run of this selection"
    fingerprint = (selected.get("config") or {}).get("dataset_fingerprint")
    lr = [r for r in completed if r.get("family") == "lr" and run_metric(r, f"val_{name}") is not None
          and r.get("id") != selected.get("id")
          and (r.get("config") or {}).get("dataset_fingerprint") == fingerprint]
    if lr:
        return select(lr, name), "the best lr run on the same dataset"
    if selected.get("family") == "lr":
        return None, "the selected run is itself the lr baseline"
    return None, "no lr run on this dataset: train one with `dnactx train --model lr --data ...`"


def choose_baseline(selected: RunRow, scope: list[RunRow], completed: list[RunRow], name: str = "auprc",
                    requested: RunRow | str | None = AUTO) -> tuple[RunRow | None, str]:
    """The run ``selected`` is compared with, and why.

    ``requested`` is a run row (``--baseline RUN_ID``), ``"none"``/None (no baseline) or ``"auto"``: the matrix's
    designated baseline cell among ``scope`` (the runs the selection was made from), else the best other lr run in
    ``scope`` by val ``name``, else the best lr run among ``completed`` on the selected run's dataset. A run is
    never its own baseline.
    """
    if requested in (None, "", "none"):
        base, reason = None, "disabled with --baseline none"
    elif isinstance(requested, dict):
        base, reason = requested, "given with --baseline"
    elif requested == AUTO:
        base, reason = _auto(selected, scope, completed, name)
    else:
        raise ValueError(f"baseline request {requested!r}: a run row, 'auto' or 'none'")
    if base is not None and base.get("id") == selected.get("id"):
        return None, "the selected run is itself the lr baseline"
    return base, reason


def _shape(row: RunRow) -> tuple:
    config = row.get("config") or {}
    return tuple(config.get(k) for k in _DATA_SHAPING)


def baseline_runs(baseline: RunRow | None, scope: list[RunRow], selected: list[RunRow]) -> list[RunRow]:
    """The runs the selected configuration is compared with: the matrix's baseline runs that trained on the same
    sites as the selected runs (one per seed of a ``--seeds`` matrix), or ``baseline`` alone."""
    if baseline is None:
        return []
    if not _designated(baseline):
        return [baseline]
    shapes = {_shape(r) for r in selected}
    matched = [r for r in scope if _designated(r) and _shape(r) in shapes and r.get("model") == baseline.get("model")]
    return matched if baseline in matched else [baseline]


def runner_up(selected: RunRow, scope: list[RunRow], name: str = "auprc") -> tuple[RunRow | None, str]:
    """When the lr baseline itself is selected, what it is compared with, so the report still says whether its lead
    is larger than its noise: the best grid cell when it is a matrix's baseline, else the best run of another
    family (by val ``name``)."""
    designated = _designated(selected)
    others = [r for r in scope if r.get("id") != selected.get("id") and not _designated(r)
              and (designated or r.get("family") != selected.get("family"))
              and run_metric(r, f"val_{name}") is not None]
    if not others:
        return None, "the selected run is itself the lr baseline, and no other model was trained"
    if designated:
        return select(others, name), "the selected run is the matrix's baseline: compared with the best grid cell"
    return select(others, name), "the selected run is the lr baseline itself: compared with the best other model"
