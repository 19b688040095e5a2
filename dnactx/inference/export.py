"""``dnactx export``: a run's model as a folder that loads without dnactx's training code, with a model card.

lr: ``lr.safetensors`` (coef, intercept; scaling and kmax in its metadata). cnn: ``model.safetensors`` (the CNN's
state). transformers: the encoder's ``save_pretrained`` (the trained one for top:N/full, the checkpoint's for
frozen) with the checkpoint's tokenizer files (and code, where it ships some), the head as ``head.safetensors``.
Every family: ``dnactx_model.json`` (format, Recipe, provenance, sha256 of each file) and ``README.md`` (the card);
a calibrated run also ``calibration.json`` (the map its probabilities go through, as in the run folder; the recipe
in the manifest holds the same map and is what ``load_scorer`` applies).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_dir, write_json, write_text
from ..errors import DnactxError
from ..outputs import EXPORTED_MODEL, Owns, claim_folder, owned_names
from ..provenance import library_versions, sha256_file, utcnow
from ..runs import RunFolder
from .calibration import CALIBRATION_FILE
from .card import CardInputs, model_card
from .load import load_scorer, locate_model
from .manifest import MANIFEST, manifest
from .scorer import LrScorer, Scorer

# Files of a checkpoint folder that are not copied beside a saved encoder: weights (save_pretrained writes the
# encoder's own) and what save_pretrained rewrites or does not need.
_NOT_COPIED_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".index.json",
                        ".md", ".lock")
_NOT_COPIED = {"config.json", "generation_config.json", ".gitattributes"}


def export_model(source: str | Path, out: Path, home: Path, *, force: bool = False, species: str | None = None,
                 tissue: str | None = None, trust_remote_code: bool = False) -> dict[str, Any]:
    """Write run ``source``'s model to ``out`` (atomically; a non-empty ``out`` only with ``force``, and only when
    it holds an earlier export and nothing else). ``trust_remote_code``: load a checkpoint that ships code.

    Returns ``{"out", "run_id", "family", "files": {name: sha256}}``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DnactxError(f"--out {out} is a file; give a folder to write the model into")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise DnactxError(f"--out {out} is not empty; choose a new folder or pass --force to replace it")
        claim_folder(out, "export", _earlier_export(out), home=home, own_kind=EXPORTED_MODEL)
    ref = locate_model(source, home)
    if ref.kind != "run":
        raise DnactxError(f"{ref.path} is already an exported model; export a run (its id or folder)")
    folder = RunFolder(ref.path)
    scorer = load_scorer(ref, home, device="cpu", trust_remote_code=trust_remote_code)  # no weights: one line why
    status = folder.status.get("status")
    if status != "completed" or not folder.metrics:
        raise DnactxError(f"run {folder.id} is {status} and has {'no ' if not folder.metrics else ''}metrics.json: "
                          "only completed runs are exported (their card reports their metrics); see "
                          f"`dnactx runs show {folder.id}`")
    with atomic_dir(out) as tmp:
        _write_weights(scorer, tmp)
        if scorer.recipe.calibration is not None:
            write_json(tmp / CALIBRATION_FILE, {**scorer.recipe.calibration.to_dict(), "fitted_on": "val"})
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        provenance = _provenance(folder)
        write_json(tmp / MANIFEST, manifest(scorer.recipe, provenance, files))
        card = CardInputs(recipe=scorer.recipe, provenance=provenance, config=folder.config,
                          metrics=folder.metrics or {}, prepare=_prepare_meta(folder.config), species=species,
                          tissue=tissue)
        write_text(tmp / "README.md", model_card(card))
    return {"out": str(out), "run_id": folder.id, "family": scorer.recipe.family, "files": files}


def _earlier_export(out: Path) -> Owns:
    """What a previous ``dnactx export`` wrote in ``out``: its manifest, README.md and the files the manifest
    lists; nothing at all when ``out`` holds no manifest."""
    try:
        listed = (json.loads((out / MANIFEST).read_text(encoding="utf-8")) or {}).get("files") or {}
    except (OSError, ValueError, AttributeError):
        return owned_names()
    if not isinstance(listed, dict):
        return owned_names()
    return owned_names({MANIFEST, "README.md", *(str(name) for name in listed)})


def _write_weights(scorer: Scorer, dest: Path) -> None:
    from safetensors.numpy import save_file as save_numpy

    r = scorer.recipe
    if isinstance(scorer, LrScorer):
        save_numpy({"coef": scorer.coef[None, :].copy(), "intercept": np.array([scorer.intercept])},
                   str(dest / "lr.safetensors"), metadata={"scaling": r.lr_scaling, "kmax": str(r.kmax)})
        return
    from safetensors.torch import save_file

    model = scorer.model
    if r.family == "cnn":
        save_file(_contiguous(model.state_dict()), str(dest / "model.safetensors"), metadata={"family": "cnn"})
        return
    from transformers.utils import logging as hf_logging

    _copy_tokenizer_files(scorer.checkpoint, dest)
    hf_logging.disable_progress_bar()  # "Writing model shards" on stderr
    try:
        model.encoder.save_pretrained(dest, safe_serialization=True)
    finally:
        hf_logging.enable_progress_bar()
    save_file(_contiguous(model.head.state_dict()), str(dest / "head.safetensors"), metadata={"family": "head"})


def _contiguous(state: dict) -> dict:
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def _copy_tokenizer_files(checkpoint: Path, dest: Path) -> None:
    """The checkpoint's tokenizer files (vocab, merges, tokenizer configs, shipped code), its weights left out."""
    for path in sorted(Path(checkpoint).iterdir()):
        if path.is_file() and path.name not in _NOT_COPIED and not path.name.endswith(_NOT_COPIED_SUFFIXES):
            shutil.copyfile(path, dest / path.name)


def _prepare_meta(config: dict) -> dict | None:
    """The run's dataset prepare.json, or None when it is gone or unreadable."""
    data = config.get("data")
    path = Path(data).with_name("prepare.json") if data else None
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None


def _provenance(folder: RunFolder) -> dict[str, Any]:
    config, status = folder.config, folder.status
    prepare = _prepare_meta(config) or {}
    inputs = prepare.get("inputs") or {}
    return {"run_id": folder.id, "run_name": status.get("name"), "status": status.get("status"),
            "trained": status.get("finished"), "model": config.get("model"), "finetune": config.get("finetune"),
            "checkpoint_path": config.get("checkpoint_path"), "data": config.get("data"),
            "dataset_fingerprint": config.get("dataset_fingerprint"), "genome": inputs.get("genome"),
            "calls": inputs.get("calls"), "label": {k: (prepare.get("parameters") or {}).get(k)
                                                    for k in ("threshold", "min_coverage", "exclude_between")},
            "threshold": (folder.metrics or {}).get("threshold"), "trained_with": config.get("versions"),
            "exported_with": library_versions(), "exported": utcnow()}
