"""Remedies a diagnosis can recommend, each as concrete dnactx flags built from the run's own config."""

from __future__ import annotations

import shlex

from ..train.config import parse_finetune

# The flags that identify a run well enough to retrain it with one change.
_BASE_FLAGS = ("data", "model", "size", "mode", "finetune", "loss", "epochs", "patience")


def family_of(config: dict) -> str:
    model = str(config.get("model") or "")
    return config.get("family") or (model if model in ("lr", "cnn") else "transformer")


def remedy(key: str, config: dict, threshold: float | None = None) -> dict | None:
    """``{"key", "flags", "action", "command"}`` for one remedy, or None where it does not apply to this run."""
    family = family_of(config)
    changes: dict[str, object] | None = None
    action = ""
    if key == "unfreeze":
        if family != "transformer":
            return None
        try:
            layers = parse_finetune(str(config.get("finetune", "frozen")))
        except Exception:
            return None
        if layers is None:
            return None
        target = "top:2" if layers == 0 else ("full" if layers >= 4 else f"top:{layers * 2}")
        changes = {"finetune": target}
        action = "unfreeze the top encoder layers so the representation can adapt to methylation"
    elif key == "epochs":
        epochs = int(config.get("epochs") or 5)
        changes = {"epochs": max(10, 2 * epochs), "patience": 3}
        action = "train longer and let early stopping on val AUPRC pick the epoch"
    elif key == "loss_weighted":
        if config.get("loss") == "weighted" or family == "lr":
            return None
        changes = {"loss": "weighted"}
        action = "weight the rare positives in the loss (pos_weight = negatives/positives)"
    elif key == "loss_focal":
        if config.get("loss") == "focal" or family == "lr":
            return None
        changes = {"loss": "focal"}
        action = "focal loss: down-weight easy negatives"
    elif key == "loss_bce":
        if family == "lr" or config.get("loss", "bce") == "bce":
            return None
        changes = {"loss": "bce"}
        action = "plain BCE: the re-weighted loss pushes scores of negatives up"
    elif key == "class_weight_none":
        if family != "lr" or config.get("class_weight", "balanced") == "none":
            return None
        changes = {"class_weight": "none"}
        action = "drop balanced class weights, which inflate scores of negatives"
    elif key == "threshold":
        if threshold is None:
            return None
        return {"key": key, "flags": None, "command": None,
                "action": f"call sites positive at p ≥ {threshold:.3g} (the val-tuned threshold in metrics.json, "
                          "reported as *_at_threshold), not at 0.5; no retraining needed"}
    elif key == "calibrate":
        return {"key": key, "flags": None, "command": None,
                "action": "calibrate the probabilities on validation (Platt or isotonic) before reading them as "
                          "methylation probabilities; rankings and AUPRC are unaffected"}
    elif key in ("size_other", "size_smaller"):
        size = int(config.get("size") or 100)
        new = size // 2 if key == "size_smaller" or size >= 500 else size * 2
        if new < 1 or new == size:
            return None
        changes = {"size": new}
        action = ("fewer bp per side so inputs fit the model" if key == "size_smaller"
                  else "a different context size tests whether the signal lies nearer or farther from the C")
    elif key == "site_context":
        if config.get("site_context", True):
            return None
        changes = {"site_context": True}
        action = "give the model the cytosine's CG/CHG/CHH context, which carries most of the signal"
    elif key == "model_cnn":
        if family != "lr":
            return None
        changes = {"model": "cnn"}
        action = "a model that can learn sequence motifs beyond k-mer counts"
    elif key == "regularise":
        if family == "lr":
            if str(config.get("C")) == "auto":
                return None  # --C auto already chose the regularisation on validation
            changes = {"C": float(config.get("C") or 1.0) / 10}
            action = "stronger regularisation"
        elif family == "transformer" and str(config.get("finetune", "frozen")) != "frozen":
            changes = {"finetune": "top:1"}
            action = "fewer trainable layers"
        else:
            changes = {"patience": 1}
            action = "stop earlier"
    elif key == "seeds":
        seed = int(config.get("seed") or 0)
        seeds = ",".join(str(seed + i) for i in range(3))
        return {"key": key, "flags": f"--seed {seeds}", "command": None,
                "action": f"repeat the cell over seeds with `dnactx matrix ... --seed {seeds}` to see whether the "
                          "val-to-test gap is noise"}
    else:
        raise ValueError(f"unknown remedy {key!r}")
    flags = " ".join(_flag(k, v) for k, v in changes.items())
    return {"key": key, "flags": flags, "action": action, "command": train_command(config, changes)}


def _flag(name: str, value: object) -> str:
    flag = "--C" if name == "C" else "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else "--no-" + flag[2:]
    return f"{flag} {shlex.quote(str(value))}"


def train_command(config: dict, changes: dict) -> str:
    """``dnactx train ...`` reproducing the run's identifying flags with ``changes`` applied."""
    values = {k: config.get(k) for k in _BASE_FLAGS if config.get(k) not in (None, "")}
    if family_of(config) != "transformer":
        values.pop("finetune", None)
    if family_of(config) == "lr":  # lr has no loss, epochs or early stopping
        for name in ("loss", "epochs", "patience"):
            values.pop(name, None)
    values.update(changes)
    return "dnactx train " + " ".join(_flag(k, v) for k, v in values.items())
