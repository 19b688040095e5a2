"""``dnactx_model.json``: what makes a folder an exported dnactx model (format, recipe, provenance, files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DnactxError
from .calibration import CALIBRATION_FILE, read_calibration
from .recipe import Recipe

MANIFEST = "dnactx_model.json"
FORMAT = "dnactx-model"
FORMAT_VERSION = 1
# The weights an exported folder holds per family, beside the manifest (transformers: also the encoder's own
# config.json + model.safetensors from save_pretrained, and its tokenizer files).
FILES = {"lr": ("lr.safetensors",), "cnn": ("model.safetensors",),
         "transformer": ("config.json", "model.safetensors", "head.safetensors")}


def manifest(recipe: Recipe, provenance: dict[str, Any], files: dict[str, str]) -> dict[str, Any]:
    """The manifest object: ``{"format", "format_version", "recipe", "provenance", "files": {name: sha256}}``."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "recipe": recipe.to_dict(), "provenance": provenance,
            "files": files}


def verify_manifest_files(folder: Path) -> dict[str, str]:
    """``{name: sha256}`` of the files the manifest lists, each checked against its file (one read each): a
    missing or changed file is one line naming it, before anything loads it."""
    path = Path(folder) / MANIFEST
    try:
        listed = json.loads(path.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError) as exc:
        raise DnactxError(f"{path} is unreadable ({exc}); export the model again") from None
    if not isinstance(listed, dict):
        raise DnactxError(f"{path} lists no files with their sha256; export the model again")
    for name, recorded in listed.items():
        verify_sha256(Path(folder) / str(name), str(recorded), f"the sha256 recorded in {path}",
                      "export the model again")
    return {str(k): str(v) for k, v in listed.items()}


def verify_sha256(path: Path, recorded: str, where: str, fix: str) -> str:
    """``path``'s sha256 when it equals ``recorded``; else one DnactxError line naming the file."""
    from ..provenance import sha256_file

    try:
        digest = sha256_file(path)
    except FileNotFoundError:
        raise DnactxError(f"{path} is missing (listed with {where}); {fix}") from None
    except OSError as exc:
        raise DnactxError(f"{path} is unreadable ({exc.strerror or exc}); {fix}") from None
    if digest != recorded:
        raise DnactxError(f"{path} has changed since it was written (sha256 {digest[:12]}, {where} "
                          f"{recorded[:12]}): refusing to load it; {fix}")
    return digest


def is_export(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: Path) -> tuple[Recipe, dict[str, Any]]:
    """(recipe, provenance) of an exported folder; a malformed, newer or incomplete one is a one-line error."""
    path = Path(folder) / MANIFEST
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DnactxError(f"{folder} has no {MANIFEST}; it is not a model exported by `dnactx export`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DnactxError(f"{path} is unreadable ({exc}); export the model again") from None
    if not isinstance(values, dict) or values.get("format") != FORMAT:
        raise DnactxError(f"{path} is not a dnactx model manifest (format {FORMAT!r} expected)")
    version = values.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DnactxError(f"{path} has format version {version}, newer than this dnactx reads ({FORMAT_VERSION}); "
                          "upgrade dnactx")
    recipe = Recipe.from_dict(values.get("recipe") or {}, str(path))
    missing = [name for name in FILES[recipe.family] if not (Path(folder) / name).is_file()]
    if missing:
        raise DnactxError(f"exported model {folder} lacks {', '.join(missing)}; export it again")
    beside = read_calibration(Path(folder))
    if (Path(folder) / CALIBRATION_FILE).is_file() and beside != recipe.calibration:
        raise DnactxError(f"{Path(folder) / CALIBRATION_FILE} differs from the calibration in {path} (the one "
                          "dnactx applies); export the model again")
    return recipe, values.get("provenance") or {}
