"""Two models' predictions on new data (``dnactx predict --calls`` folders) as scored sites for ``dnactx compare``:
the labelled sites of each predictions.parquet (or, for level metrics, the sites with a call and their read counts),
checked to be the same sites with the same labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..atomic import read_json
from ..contracts import PredictSummary
from ..errors import DnactxError
from ..predict.state import PREDICTIONS, SUMMARY
from ..stats.compare import RunScores
from .scored import Levels, ScoredSplit

# What decides which sites a prediction labels, and how: two folders must agree on all of it to be paired.
_SAME_SITES = {"genome": "genome (sha256)", "calls": "calls files (sha256)", "label_rules": "label rules",
               "regions": "--regions", "chroms": "--chroms", "contexts": "--contexts"}


def is_prediction(value: str) -> bool:
    """Whether ``value`` names a ``dnactx predict`` output folder rather than a run."""
    path = Path(value)
    return path.is_dir() and (path / SUMMARY).is_file()


def _summary(folder: Path) -> PredictSummary:
    summary = read_json(folder / SUMMARY, fix=f"run `dnactx predict` into {folder} again") or {}
    if summary.get("status") != "complete":
        raise DnactxError(f"{folder}: the prediction is not complete (status {summary.get('status')!r}); run the same "
                          "`dnactx predict` again to finish it")
    if not summary.get("evaluation"):
        raise DnactxError(f"{folder}: predicted without --calls, so no site has a label to compare on; run "
                          "`dnactx predict ... --calls FILE` into it")
    return summary


def scored_prediction(folder: Path, *, levels: bool = False) -> tuple[ScoredSplit, dict]:
    """The labelled sites of a predict --out folder (index: the row in predictions.parquet) and its identity; with
    ``levels``, the sites with a call (cov > 0) instead, with their read counts and, for a level model, its prob as
    the predicted level. ``target`` is the model's recipe's (label for folders that predate it)."""
    folder = Path(folder)
    summary = _summary(folder)
    table = pq.read_table(folder / PREDICTIONS, columns=["chrom", "pos", "context", "prob", "label"]
                          + (["mc", "cov"] if levels else []))
    label = table.column("label").to_numpy(zero_copy_only=False)
    if levels:
        reads = {c: table.column(c).fill_null(0).to_numpy().astype(np.int64) for c in ("mc", "cov")}
        rows = np.flatnonzero(reads["cov"] > 0)
    else:
        rows = np.flatnonzero(~np.isnan(label))
    column = {name: table.column(name).to_numpy(zero_copy_only=False)[rows] for name in ("chrom", "pos", "context")}
    model = summary["identity"]["model"]
    recipe = model.get("recipe", {})
    target = recipe.get("target", "label")
    name = f"{recipe.get('model', '?')} from {model.get('run_id') or model.get('path')}"
    prob = table.column("prob").to_numpy().astype(np.float64)[rows]
    scores = RunScores(np.nan_to_num(label[rows]).astype(int), prob, None, rows)
    predicted = None
    if levels and target == "level":
        if recipe.get("calibration"):
            raise DnactxError(f"{folder}: its model ({name}) is calibrated, so its prob is P(methylated), not its "
                              "predicted level; compare it with --metric auprc or auroc")
        predicted = Levels(prob, reads["mc"][rows], reads["cov"][rows])
    split = ScoredSplit(str(folder), name, None, scores, column["context"].astype(str),
                        (column["chrom"].astype(str), column["pos"].astype(np.int64)), target, predicted)
    return split, summary["identity"]


def check_same_sites(a: Path, b: Path, identity_a: dict, identity_b: dict) -> None:
    """One line naming what differs when two predictions did not label the same sites the same way."""
    differ = [label for key, label in _SAME_SITES.items() if identity_a.get(key) != identity_b.get(key)]
    if differ:
        raise DnactxError(f"{a} and {b} were not evaluated on the same sites: their {', '.join(differ)} differ; "
                          "predict both models with the same --genome, --calls, label options and region")
