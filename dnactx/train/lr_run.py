"""The ``lr`` family: k-mer frequencies + site context → logistic regression (lbfgs or saga; no torch trainer)."""

from __future__ import annotations

import json
import time

import numpy as np

from ..atomic import atomic_path
from ..data.dataset import Dataset
from ..models.lr import fit_lr, kmer_features, predict_proba, save_lr
from ..runs import RunFolder
from .config import TrainConfig


def train_lr(config: TrainConfig, ds: Dataset, folder: RunFolder, *, quiet: bool) -> tuple[dict, dict]:
    """Fit on train, predict val and test; write lr.safetensors (coef, intercept) and a one-line log."""
    train = ds.splits["train"]

    def ctx(split):
        return split.context_id if config.site_context else None

    t0 = time.perf_counter()
    x = kmer_features(train.bases, ctx(train))
    model, converged = fit_lr(x, train.labels, C=config.C, class_weight=config.class_weight, seed=config.seed,
                              solver=config.solver)
    seconds = time.perf_counter() - t0
    probs = {split: predict_proba(model, ds.splits[split].bases, ctx(ds.splits[split])) for split in ("val", "test")}
    if folder.writable:
        weights = folder.path / "lr.safetensors"
        with atomic_path(weights) as tmp:
            save_lr(model, tmp)
        folder.add_artifact(weights, "weights")
        log = folder.path / "train_log.jsonl"
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"epoch": 1, "n_iter": int(np.max(model.n_iter_)), "converged": converged,
                                 "features": int(x.shape[1]), "nnz": int(x.nnz), "seconds": seconds}) + "\n")
        folder.add_artifact(log, "log")
        folder.update_config(device="cpu")
    return probs, {"truncated_fraction": 0.0, "best_epoch": 1, "epochs_run": 1, "train_seconds": seconds,
                   "samples_per_s": len(train) / max(seconds, 1e-9), "converged": converged, "train_sites": len(train),
                   "n_iter": int(np.max(model.n_iter_))}
