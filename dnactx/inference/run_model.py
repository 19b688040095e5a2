"""What a run folder says about its model: its weights file (or why there is none) and its Recipe."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DnactxError
from ..runs import RunFolder, run_family, run_target
from .calibration import CALIBRATION_FILE, Calibration, read_calibration
from .recipe import Recipe, tokenizer_kind

WEIGHTS_FILE = {"lr": "lr.safetensors", "cnn": "model.safetensors", "transformer": "model.safetensors"}


def run_weights(folder: RunFolder) -> Path:
    """The run's saved weights: the ``weights`` artifact, else the family's file name.

    A run that has none (failed, preempted, still running, or written by a dnactx that did not save them) is a
    one-line DnactxError saying what is missing and what to do.
    """
    config = folder.config
    family = run_family(config)
    listed = [a["path"] for a in folder.artifacts if a.get("kind") == "weights"]
    path = folder.path / (listed[-1] if listed else WEIGHTS_FILE[family])
    if path.is_file():
        return path
    status = folder.status.get("status") or "unknown"
    hint = {
        "failed": f"it failed ({folder.status.get('error') or 'see `dnactx runs show ' + folder.id + '`'}); "
                  "fix the cause and train it again",
        "preempted": f"it was stopped before the end; finish it with `dnactx train --resume {folder.id}`",
        "running": "it is still training (or was killed); wait for it or train it again",
        "queued": "it has not started; wait for it or train it again",
    }.get(status, "it was written by a dnactx that did not save weights, or the file was removed; train it again")
    raise DnactxError(f"run {folder.id} ({status}) has no saved model: {path.name} is missing in {folder.path}; "
                      f"{hint}")


def verify_run_weights(folder: RunFolder, weights: Path) -> str | None:
    """The sha256 of ``weights`` when artifacts.json records it and the file still matches (None when nothing is
    recorded: a run written before artifacts); a changed file is one line naming it, before anything reads it."""
    from .manifest import verify_sha256

    rel = str(weights.relative_to(folder.path)) if weights.is_relative_to(folder.path) else weights.name
    recorded = [a.get("sha256") for a in folder.artifacts if a.get("path") == rel and a.get("sha256")]
    if not recorded:
        return None
    return verify_sha256(weights, str(recorded[-1]), f"the sha256 recorded in {folder.path / 'artifacts.json'}",
                         f"retrain the run (`dnactx runs show {folder.id}` has its options)")


def run_window(config: dict, folder: RunFolder) -> int:
    """The dataset window the run was trained on (config.json, else the dataset's prepare.json)."""
    if config.get("window"):
        return int(config["window"])
    data = config.get("data")
    if data and Path(data).is_file():
        from ..data.dataset import read_meta

        meta = read_meta(Path(data))
        if meta.get("window"):
            return int(meta["window"])
    raise DnactxError(f"run {folder.id}: config.json records no dataset window and its dataset {data} has no "
                      "prepare.json saying it; train the run again")


def lr_scaling(weights: Path, folder: RunFolder) -> tuple[str, int]:
    """(feature scaling, kmax) of an lr run: lr.safetensors' metadata, else metrics.json facts["lr"], else the only
    scaling that existed before --C auto (frequency)."""
    from safetensors import safe_open

    from ..models.lr import KMAX

    with safe_open(str(weights), framework="numpy") as fh:
        meta = fh.metadata() or {}
    facts = (folder.metrics or {}).get("facts") or {}
    chosen = ((facts.get("lr") or {}).get("choice") or {}).get("scaling")
    return meta.get("scaling") or chosen or "frequency", int(meta.get("kmax") or KMAX)


def cnn_channels(weights: Path) -> tuple[int, int]:
    """The CNN's two conv widths, from the saved weights' shapes."""
    from safetensors import safe_open

    with safe_open(str(weights), framework="numpy") as fh:
        names = set(fh.keys())
        if not {"conv1.0.weight", "conv2.1.weight"} <= names:
            raise DnactxError(f"{weights} is not a dnactx CNN (no conv1.0.weight / conv2.1.weight); "
                              "train the run again")
        return int(fh.get_slice("conv1.0.weight").get_shape()[0]), int(fh.get_slice("conv2.1.weight").get_shape()[0])


def trained_calibration(metrics: dict | None, config: dict) -> str:
    """The ``--calibrate`` a run was trained with (metrics.json's calibration, else config.json): none | platt | ..."""
    fitted = (metrics or {}).get("calibration")
    method = fitted.get("method") if isinstance(fitted, dict) else None
    return str(method or config.get("calibrate") or "none")


def run_calibration(folder: RunFolder) -> Calibration | None:
    """The map a run's probabilities go through: its calibration.json; for a run written before dnactx stored that
    file, Platt's slope and intercept from metrics.json. A calibrated run whose map is in neither (isotonic, which
    metrics.json summarised as a breakpoint count) gives None and one warning line on stderr: its scores are raw."""
    calibration = read_calibration(folder.path)
    method = trained_calibration(folder.metrics, folder.config)
    if calibration is not None or method == "none" or (folder.path / CALIBRATION_FILE).is_file():
        return calibration
    fitted = (folder.metrics or {}).get("calibration")
    if method == "platt" and isinstance(fitted, dict) and {"slope", "intercept"} <= set(fitted):
        try:
            return Calibration.from_dict(fitted, f"{folder.path / 'metrics.json'} calibration")
        except DnactxError:
            pass
    why = "an older dnactx wrote the run" if folder.status.get("status") == "completed" else "the run did not complete"
    print(f"warning: run {folder.id} was trained with --calibrate {method} but its calibration map is unavailable "
          f"({CALIBRATION_FILE} is absent: {why}); its scores here are the model's raw, uncalibrated probabilities; "
          "train it again to have them calibrated", file=sys.stderr, flush=True)
    return None


def recipe_of_run(path: Path) -> Recipe:
    """The Recipe of the run folder at ``path``: config.json, metrics.json, its weights' metadata and shapes,
    calibration.json; a run without weights is a one-line DnactxError (see :func:`run_weights`)."""
    folder = RunFolder(path)
    config = folder.config
    if not config:
        raise DnactxError(f"{path} has no config.json; it is not a dnactx run folder")
    family = run_family(config)
    weights = run_weights(folder)
    common = dict(family=family, model=str(config["model"]), window=run_window(config, folder),
                  size=int(config["size"]), mode=str(config["mode"]),
                  site_context=bool(config.get("site_context", True)), calibration=run_calibration(folder),
                  target=run_target(config))
    if family == "lr":
        scaling, kmax = lr_scaling(weights, folder)
        return Recipe(**common, lr_scaling=scaling, kmax=kmax)
    if family == "cnn":
        return Recipe(**common, cnn_channels=cnn_channels(weights))
    missing = [key for key in ("max_tokens", "tokenizer") if not config.get(key)]
    if missing:
        raise DnactxError(f"run {folder.id}: config.json lacks {', '.join(missing)} (written by an older dnactx); "
                          "train the run again")
    return Recipe(**common, finetune=str(config.get("finetune") or "frozen"), max_tokens=int(config["max_tokens"]),
                  tokenizer=tokenizer_kind(config["tokenizer"]), truncation="centred",
                  trust_remote_code=bool(config.get("trust_remote_code", False)))
