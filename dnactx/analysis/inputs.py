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
# Written by newer runs only: genomic positions (for bootstrap blocks) and, under --calibrate, the model's own scores.
_OPTIONAL_KEYS = tuple(f"{s}_{k}" for s in ("val", "test") for k in ("chrom", "pos", "prob_raw", "mc", "cov"))


def run_folder(row: RunRow, home: Path) -> RunFolder:
    return RunFolder(Path(row.get("folder") or Path(home) / row["id"]))


def run_metrics(row: RunRow, folder: RunFolder) -> MetricsFile:
    """metrics.json from the folder (the source of truth, with null reasons), else the registry's copy."""
    return folder.metrics or row.get("metrics") or {}


def load_predictions(folder: RunFolder) -> dict[str, np.ndarray] | None:
    """The run's val/test predictions, or None when the run wrote none: ``{split}_prob`` (the run's final scores,
    calibrated under --calibrate), ``_label``, ``_context``, ``_index`` and, where written, ``_chrom``, ``_pos``
    ``_prob_raw`` and the read counts ``_mc``, ``_cov``."""
    path = folder.path / PREDICTIONS
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _PRED_KEYS if k not in npz.files]
            if missing:
                raise DnactxError(f"{path} lacks {', '.join(missing)}; re-run the training to rewrite it")
            return {k: np.asarray(npz[k]) for k in (*_PRED_KEYS, *_OPTIONAL_KEYS) if k in npz.files}
    except (OSError, ValueError) as exc:
        raise DnactxError(f"{path} is unreadable ({exc}); re-run the training to rewrite it") from None


def _dataset_for(config: dict) -> tuple[Path | None, str | None]:
    """The run's dataset.parquet, or None and why it cannot be used (gone, or changed since training)."""
    data = config.get("data")
    if not data:
        return None, "config.json names no dataset"
    path = Path(data)
    if not path.is_file():
        return None, f"dataset {path} is gone"
    expected = config.get("dataset_fingerprint")
    prepared = path.with_name("prepare.json")
    if expected and prepared.is_file():
        try:
            found = json.loads(prepared.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, json.JSONDecodeError):
            found = None
        if found and found != expected:
            return None, f"dataset {path} changed since training (fingerprint {found[:12]} ≠ {expected[:12]})"
    return path, None


def dataset_positions(config: dict, index: np.ndarray) -> tuple[np.ndarray, np.ndarray] | str:
    """(chrom, pos) of dataset rows ``index`` from the run's dataset, or a string saying why they are unknown."""
    path, why = _dataset_for(config)
    if path is None:
        return why
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["chrom", "pos"])
    except (OSError, KeyError, ValueError) as exc:
        return f"dataset {path} has no readable chrom/pos columns ({exc})"
    idx = np.asarray(index, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= table.num_rows):
        return f"dataset {path} has {table.num_rows} rows but the predictions index row {idx.max()}"
    rows = table.take(idx)
    return (np.asarray(rows["chrom"].to_numpy(zero_copy_only=False)).astype(str),
            rows["pos"].to_numpy().astype(np.int64))


def repeat_flags(config: dict, index: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """The dataset's ``repeat`` column at each split's row indices, or None and a note saying why not."""
    path, why = _dataset_for(config)
    if path is None:
        return None, f"{why}: repeat vs non-repeat skipped"
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

