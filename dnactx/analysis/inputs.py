"""Read what an analysis needs from a run: its registry row, predictions, and the dataset's repeat flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..contracts import MetricsFile, RunRow
from ..errors import DnactxError
from ..runs import RunFolder

PREDICTIONS = "predictions_val_test.npz"
_PRED_KEYS = ("val_prob", "val_label", "val_context", "val_index", "test_prob", "test_label", "test_context",
              "test_index")


def run_folder(row: RunRow, home: Path) -> RunFolder:
    return RunFolder(Path(row.get("folder") or Path(home) / row["id"]))


def run_metrics(row: RunRow, folder: RunFolder) -> MetricsFile:
    """metrics.json from the folder (the source of truth, with null reasons), else the registry's copy."""
    return folder.metrics or row.get("metrics") or {}


def load_predictions(folder: RunFolder) -> dict[str, np.ndarray] | None:
    """The run's val/test predictions, or None when the run wrote none."""
    path = folder.path / PREDICTIONS
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _PRED_KEYS if k not in npz.files]
            if missing:
                raise DnactxError(f"{path} lacks {', '.join(missing)}; re-run the training to rewrite it")
            return {k: np.asarray(npz[k]) for k in _PRED_KEYS}
    except (OSError, ValueError) as exc:
        raise DnactxError(f"{path} is unreadable ({exc}); re-run the training to rewrite it") from None


def repeat_flags(config: dict, index: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """The dataset's ``repeat`` column at each split's row indices, or None and a note saying why not."""
    data = config.get("data")
    if not data:
        return None, "config.json names no dataset: repeat vs non-repeat skipped"
    path = Path(data)
    if not path.is_file():
        return None, f"dataset {path} is gone: repeat vs non-repeat skipped"
    expected = config.get("dataset_fingerprint")
    prepared = path.with_name("prepare.json")
    if expected and prepared.is_file():
        try:
            found = json.loads(prepared.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, json.JSONDecodeError):
            found = None
        if found and found != expected:
            return None, (f"dataset {path} changed since training (fingerprint {found[:12]} ≠ {expected[:12]}): "
                          "repeat vs non-repeat skipped")
    import pandas as pd

    try:
        repeat = pd.read_parquet(path, columns=["repeat"])["repeat"].to_numpy().astype(bool)
    except (OSError, KeyError, ValueError) as exc:
        return None, f"dataset {path} has no readable repeat column ({exc}): repeat vs non-repeat skipped"
    out = {}
    for split, idx in index.items():
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= repeat.size):
            return None, f"dataset {path} has {repeat.size} rows but predictions index row {idx.max()}: skipped"
        out[split] = repeat[idx]
    return out, None

