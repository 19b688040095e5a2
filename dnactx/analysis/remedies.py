"""Remedies a diagnosis can recommend, each as concrete dnactx flags built from the run's own config."""

from __future__ import annotations

import shlex

from ..contracts import Remedy
from ..runs import run_family
from ..train.config import parse_finetune

# The flags that identify a run well enough to retrain it with one change.
_BASE_FLAGS = ("data", "model", "size", "mode", "target", "finetune", "loss", "epochs", "patience", "train_fraction",
               "max_train")


Change = tuple[dict[str, object], str]  # the train options to change, and what the change is for


def _unfreeze(config: dict, family: str) -> Change | None:
    if family != "transformer" or str(config.get("finetune", "")).startswith("lora:"):
        return None  # a LoRA run adapts every layer already: unfreezing a few is not the next step
    try:
        layers = parse_finetune(str(config.get("finetune", "frozen")))
    except Exception:
        return None
    if layers is None:
        return None
    target = "top:2" if layers == 0 else ("full" if layers >= 4 else f"top:{layers * 2}")
    return {"finetune": target}, "unfreeze the top encoder layers so the representation can adapt to methylation"


def _epochs(config: dict, family: str) -> Change | None:
    if family == "lr":
        return None  # fitted to convergence: it has no epochs to add
    epochs = int(config.get("epochs") or 5)
    return ({"epochs": max(10, 2 * epochs), "patience": 3},
            "train longer and let early stopping on val AUPRC pick the epoch")


def _loss(target: str, action: str):
    def change(config: dict, family: str) -> Change | None:
        if family == "lr" or config.get("loss", "bce") == target or _level(config):
            return None  # a level run's loss is the likelihood of its reads: the label losses do not apply
        return {"loss": target}, action
    return change


def _level(config: dict) -> bool:
    """Whether the run learned levels (--target level)."""
    return config.get("target") == "level"


def _class_weight_none(config: dict, family: str) -> Change | None:
    if family != "lr" or config.get("class_weight", "balanced") == "none" or _level(config):
        return None  # the binomial GLM weighs by reads, never by class
    return {"class_weight": "none"}, "drop balanced class weights, which inflate scores of negatives"


def _size(smaller: bool):
    def change(config: dict, family: str) -> Change | None:
        size = int(config.get("size") or 100)
        half = int(config.get("window") or 0) // 2  # the largest size the dataset's windows allow
        new = size // 2 if smaller or size >= 500 or (half and size * 2 > half) else size * 2
        if new < 1 or new == size:
            return None
        return {"size": new}, ("fewer bp per side so inputs fit the model" if smaller else
                               "a different context size tests whether the signal lies nearer or farther from the C")
    return change


def _site_context(config: dict, family: str) -> Change | None:
    if config.get("site_context", True):
        return None
    return {"site_context": True}, "give the model the cytosine's CG/CHG/CHH context, which carries most of the signal"


def _model_cnn(config: dict, family: str) -> Change | None:
    if family != "lr":
        return None
    return {"model": "cnn"}, "a model that can learn sequence motifs beyond k-mer counts"


def _calibrate(config: dict, family: str) -> Change | None:
    if str(config.get("calibrate") or "none") != "none":
        return None  # already calibrated on validation
    return ({"calibrate": "platt"}, "calibrate the probabilities on validation (Platt scaling; --calibrate isotonic "
                                    "with many validation positives); rankings and AUPRC are unaffected")


def _regularise(config: dict, family: str) -> Change | None:
    if family == "lr":
        if str(config.get("C")) == "auto":
            return None  # --C auto already chose the regularisation on validation
        return {"C": float(config.get("C") or 1.0) / 10}, "stronger regularisation"
    finetune = str(config.get("finetune", "frozen"))
    if family == "transformer" and finetune.startswith("lora:") and finetune[5:].isdigit() and int(finetune[5:]) > 1:
        return {"finetune": f"lora:{int(finetune[5:]) // 2}"}, "a lower LoRA rank"
    if family == "transformer" and finetune != "frozen" and not finetune.startswith("lora:"):
        return {"finetune": "top:1"}, "fewer trainable layers"
    return {"patience": 1}, "stop earlier"


# Remedies that retrain: each gives the options to change for this run's config, or None where it does not apply.
RETRAIN = {
    "unfreeze": _unfreeze,
    "epochs": _epochs,
    "loss_weighted": _loss("weighted", "weight the rare positives in the loss (pos_weight = negatives/positives)"),
    "loss_focal": _loss("focal", "focal loss: down-weight easy negatives"),
    "loss_bce": _loss("bce", "plain BCE: the re-weighted loss pushes scores of negatives up"),
    "class_weight_none": _class_weight_none,
    "size_other": _size(smaller=False),
    "size_smaller": _size(smaller=True),
    "site_context": _site_context,
    "model_cnn": _model_cnn,
    "regularise": _regularise,
    "calibrate": _calibrate,
}


def _advice(key: str, config: dict, threshold: float | None) -> Remedy | None:
    """The remedies that need no retraining of this configuration."""
    if key == "threshold":
        if threshold is None:
            return None
        return {"key": key, "flags": None, "command": None, "options": [],
                "action": f"call sites positive at p ≥ {threshold:.3g} (the val-tuned threshold in metrics.json, "
                          "reported as *_at_threshold), not at 0.5; no retraining needed"}
    seed = int(config.get("seed") or 0)
    seeds = ",".join(str(seed + i) for i in range(3))
    return {"key": key, "flags": f"--seeds {seeds}", "command": None, "options": ["seed"],
            "action": f"repeat the cell over seeds (dnactx matrix ... --seeds {seeds}) to see whether the "
                      "val-to-test gap is noise"}


def remedy(key: str, config: dict, threshold: float | None = None) -> Remedy | None:
    """One remedy as flags, action and command for this run, or None where it does not apply to it."""
    if key in ("threshold", "seeds"):
        return _advice(key, config, threshold)
    if key not in RETRAIN:
        raise ValueError(f"unknown remedy {key!r}")
    change = RETRAIN[key](config, run_family(config))
    if change is None:
        return None
    changes, action = change
    flags = " ".join(_flag(k, v) for k, v in changes.items())
    return {"key": key, "flags": flags, "action": action, "command": train_command(config, changes),
            "options": sorted(changes)}


def conflicts(a: Remedy, b: Remedy) -> bool:
    """Whether two remedies change the same option (``--epochs 10 --patience 3`` and ``--patience 1``: one says
    train longer, the other stop earlier), so recommending both would contradict."""
    return bool(set(a.get("options") or []) & set(b.get("options") or []))


def _flag(name: str, value: object) -> str:
    flag = "--C" if name == "C" else "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else "--no-" + flag[2:]
    return f"{flag} {shlex.quote(str(value))}"


def train_command(config: dict, changes: dict) -> str:
    """``dnactx train ...`` reproducing the run's identifying flags with ``changes`` applied."""
    values = {k: config.get(k) for k in _BASE_FLAGS if config.get(k) not in (None, "")}
    if run_family(config) != "transformer":
        values.pop("finetune", None)
    if values.get("target") != "level":  # label runs, old ones included, need no --target
        values.pop("target", None)
    if run_family(config) == "lr":  # lr has no loss, epochs or early stopping
        for name in ("loss", "epochs", "patience"):
            values.pop(name, None)
    values.update(changes)
    return "dnactx train " + " ".join(_flag(k, v) for k, v in values.items())
