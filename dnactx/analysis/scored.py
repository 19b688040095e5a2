"""A run's scored sites for paired statistics: labels, scores, thresholds, contexts and genomic blocks of one
split, read from its predictions (positions from the dataset for runs that predate saving them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contracts import RunRow
from ..errors import DnactxError
from ..runs import run_target
from ..stats.bootstrap import DEFAULT_BLOCK_BP, DEFAULT_RESAMPLES, block_ids
from ..stats.compare import Draws, RunScores, draw
from ..stats.thresholds import site_thresholds
from .inputs import PREDICTIONS, dataset_positions, load_predictions, run_folder, run_metrics


@dataclass(frozen=True)
class ScoredSplit:
    """One run's predictions on one split, with what a paired comparison needs to check and resample them."""

    run_id: str
    name: str
    fingerprint: str | None
    scores: RunScores  # labels, final scores, the run's threshold(s) per site, dataset rows
    context: np.ndarray
    positions: tuple[np.ndarray, np.ndarray] | str  # (chrom, pos), or why they are unknown
    target: str = "label"  # label | level (--target): what the run learned
    levels: Levels | None = None  # a level run's predicted and measured levels, in the scores' site order


@dataclass(frozen=True)
class Levels:
    """What paired level metrics need of a level run's split: its own predicted levels (before any calibration to
    the label) and the measured read counts of each site."""

    pred: np.ndarray
    mc: np.ndarray
    cov: np.ndarray


def _threshold(metrics: dict, context: np.ndarray) -> float | np.ndarray | None:
    """The run's threshold for each site: the global one, or its context's under ``--threshold-by context``."""
    threshold = metrics.get("threshold")
    if threshold is not None and metrics.get("threshold_by") == "context" and metrics.get("context_thresholds"):
        return site_thresholds(context, metrics["context_thresholds"], threshold)
    return threshold


def scored_split(row: RunRow, home: Path, split: str = "test") -> ScoredSplit:
    """``split``'s predictions of the run in ``row``; a DnactxError when it wrote none."""
    if split not in ("val", "test"):
        raise DnactxError(f"--split must be val or test, got {split!r}")
    folder = run_folder(row, home)
    preds = load_predictions(folder)
    if preds is None:
        raise DnactxError(f"run {row['id']} has no {folder.path / PREDICTIONS} (status {row.get('status')}); "
                          "compare completed runs")
    config = {**(row.get("config") or {}), **folder.config}
    context = preds[f"{split}_context"].astype(str)
    index = preds[f"{split}_index"]
    if f"{split}_pos" in preds:
        positions: tuple[np.ndarray, np.ndarray] | str = (preds[f"{split}_chrom"].astype(str),
                                                          preds[f"{split}_pos"].astype(np.int64))
    else:
        positions = dataset_positions(config, index)
    scores = RunScores(preds[f"{split}_label"].astype(int), preds[f"{split}_prob"].astype(np.float64),
                       _threshold(run_metrics(row, folder), context), index)
    target = run_target(config)
    levels = None
    if target == "level" and f"{split}_mc" in preds:
        pred = preds.get(f"{split}_prob_raw", preds[f"{split}_prob"]).astype(np.float64)
        levels = Levels(pred, preds[f"{split}_mc"].astype(np.int64), preds[f"{split}_cov"].astype(np.int64))
    return ScoredSplit(row["id"], row.get("name") or row["id"], config.get("dataset_fingerprint"), scores, context,
                       positions, target, levels)


def check_same_dataset(runs: Sequence[ScoredSplit]) -> None:
    """One line naming the runs and what differs when they were not trained on one dataset."""
    first = runs[0]
    for other in runs[1:]:
        if first.fingerprint and other.fingerprint and first.fingerprint != other.fingerprint:
            raise DnactxError(f"runs {first.run_id} ({first.name}) and {other.run_id} ({other.name}) were trained on "
                              f"different datasets (fingerprint {first.fingerprint[:12]} vs "
                              f"{other.fingerprint[:12]}); compare runs of one dataset")


def blocks_of(run: ScoredSplit, block_bp: int = DEFAULT_BLOCK_BP) -> np.ndarray:
    """Genomic block of each of the run's sites; a DnactxError when its positions are unknown."""
    if isinstance(run.positions, str):
        raise DnactxError(f"run {run.run_id} ({run.name}) has no site positions in its predictions and "
                          f"{run.positions}; retrain it, or restore its dataset, to resample genomic blocks")
    return block_ids(*run.positions, block_bp)


def draw_runs(runs: Sequence[ScoredSplit], *, block_bp: int = DEFAULT_BLOCK_BP,
              n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Draws:
    """Every run's metrics under one set of block draws over the first run's sites (see stats.compare.draw)."""
    check_same_dataset(runs)
    first = runs[0]
    return draw([r.scores for r in runs], blocks_of(first, block_bp), context=first.context, n_resamples=n_resamples,
                seed=seed)
