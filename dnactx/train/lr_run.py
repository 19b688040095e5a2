"""The ``lr`` family: k-mer features + site context → logistic regression (lbfgs or saga; no torch trainer), or
under ``--target level`` the binomial GLM of the read counts on the same features.

``--C auto`` (the default) builds the training and validation features once and picks C, class weights and the
feature scaling on validation AUPRC (models.lr.search_lr); a number fits exactly one model, as before.
"""

from __future__ import annotations

import json
import time

import numpy as np

from ..atomic import atomic_path
from ..contracts import RunFacts
from ..data.dataset import Dataset, Split
from ..models.lr import fit_glm, fit_lr, kmer_features, predict_proba, save_lr, search_glm, search_lr
from ..runs import RunFolder
from .config import TrainConfig


def _fit(config: TrainConfig, ds: Dataset) -> tuple[object, dict, dict]:
    """(model, fit facts, val probabilities if the fit already made them) for a fixed C or the auto search."""
    train, val = ds.splits["train"], ds.splits["val"]
    x = kmer_features(train.bases, _context(config, train))
    facts: dict = {"features": int(x.shape[1]), "nnz": int(x.nnz)}
    if config.target == "level":
        return _fit_glm(config, ds, x, facts)
    if config.C == "auto":
        x_val = kmer_features(val.bases, _context(config, val))
        model, choice, p_val, grid = search_lr(x, train.labels, x_val, val.labels, length=train.bases.shape[1],
                                               seed=config.seed, solver=config.solver)
        chosen = next(g for g in grid if all(g[k] == choice[k] for k in ("scaling", "C", "class_weight")))
        facts.update(choice=choice, grid=grid, converged=chosen["converged"])
        return model, facts, {"val": p_val}
    model, converged = fit_lr(x, train.labels, C=config.C, class_weight=config.class_weight, seed=config.seed,
                              solver=config.solver)
    facts.update(choice={"scaling": "frequency", "C": config.C, "class_weight": config.class_weight},
                 converged=converged)
    return model, facts, {}


def _fit_glm(config: TrainConfig, ds: Dataset, x, facts: dict) -> tuple[object, dict, dict]:
    """``--target level``: the binomial GLM on the read counts, at the given C or the C of lowest val deviance."""
    train, val = ds.splits["train"], ds.splits["val"]
    if config.C == "auto":
        x_val = kmer_features(val.bases, _context(config, val))
        model, choice, p_val, grid = search_glm(x, train.mc, train.cov, x_val, val.mc, val.cov, seed=config.seed,
                                                solver=config.solver)
        chosen = next(g for g in grid if g["C"] == choice["C"])
        facts.update(choice=choice, grid=grid, converged=chosen["converged"])
        return model, facts, {"val": p_val}
    model, converged = fit_glm(x, train.mc, train.cov, C=config.C, seed=config.seed, solver=config.solver)
    facts.update(choice={"scaling": "frequency", "C": config.C, "class_weight": "none"}, converged=converged)
    return model, facts, {}


def _context(config: TrainConfig, split: Split) -> np.ndarray | None:
    return split.context_id if config.site_context else None


def train_lr(config: TrainConfig, ds: Dataset, folder: RunFolder, *, quiet: bool) -> tuple[dict, RunFacts]:
    """Fit on train (searching the grid under ``--C auto``), predict val and test; write lr.safetensors and the log.

    The returned extras carry ``lr``: ``{"choice": {"scaling", "C", "class_weight"[, "val_auprc"]}, "grid": [...]}``
    (the grid under ``--C auto`` only: each candidate's val AUPRC, fit seconds, iterations and convergence).
    """
    train = ds.splits["train"]
    t0 = time.perf_counter()
    model, facts, probs = _fit(config, ds)
    seconds = time.perf_counter() - t0
    scaling = facts["choice"]["scaling"]
    for split in ("val", "test"):
        if split not in probs:
            probs[split] = predict_proba(model, ds.splits[split].bases, _context(config, ds.splits[split]),
                                         scaling=scaling)
    n_iter = int(np.max(model.n_iter_))
    if folder.writable:
        weights = folder.path / "lr.safetensors"
        with atomic_path(weights) as tmp:
            save_lr(model, tmp, scaling=scaling)
        folder.add_artifact(weights, "weights")
        log = folder.path / "train_log.jsonl"
        with open(log, "a", encoding="utf-8") as fh:
            for i, candidate in enumerate(facts.get("grid", [])):
                fh.write(json.dumps({"candidate": i, **candidate}) + "\n")
            fh.write(json.dumps({"epoch": 1, "n_iter": n_iter, "converged": facts["converged"],
                                 "features": facts["features"], "nnz": facts["nnz"], "seconds": seconds,
                                 "choice": facts["choice"]}) + "\n")
        folder.add_artifact(log, "log")
        folder.resolve_config(device="cpu")
    lr_facts = {"choice": facts["choice"], **({"grid": facts["grid"]} if "grid" in facts else {})}
    return probs, {"truncated_fraction": 0.0, "best_epoch": 1, "epochs_run": 1, "train_seconds": seconds,
                   "samples_per_s": len(train) / max(seconds, 1e-9), "converged": facts["converged"],
                   "n_iter": n_iter, "lr": lr_facts}
