"""Load a prepared dataset.parquet, pick splits, subsample training sites and cut context windows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DnactxError
from ..provenance import sha256_file

COLUMNS = ("context", "label", "split", "seq")
CONTEXT_CODES = {"CG": 0, "CHG": 1, "CHH": 2}


@dataclass
class Split:
    """One split's sites: cut sequences, labels, context codes/names and row positions in the parquet."""

    bases: np.ndarray  # uint8 (n, length) ASCII codes of the cut sequences, uppercase
    labels: np.ndarray  # int8
    context: np.ndarray  # str array (CG/CHG/CHH)
    context_id: np.ndarray  # int64 codes 0/1/2
    index: np.ndarray  # int64 row positions in dataset.parquet

    def __len__(self) -> int:
        return int(self.labels.size)


@dataclass
class Dataset:
    path: Path
    window: int
    fingerprint: str
    splits: dict[str, Split]
    center: int  # index of the C inside each cut sequence


def read_meta(path: Path) -> dict:
    """prepare.json beside dataset.parquet, with ``window`` and ``fingerprint`` (computed when missing)."""
    meta_path = path.parent / "prepare.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    if not meta.get("fingerprint"):
        meta["fingerprint"] = sha256_file(path)
    return meta


def cut_context(seqs: np.ndarray | list[str], window: int, size: int, mode: str) -> tuple[np.ndarray, int]:
    """Cut ``size`` bp up/down/both around the C at ``window // 2``.

    Returns (uint8 ASCII matrix of shape (n, length), index of the C in each row).
    """
    c = window // 2
    if size > c:
        raise DnactxError(f"--size {size} is larger than the dataset's window allows ({c} bp each side, "
                          f"window {window}); use --size ≤ {c} or run `dnactx prepare` with a larger --window")
    start, stop, center = {"up": (c - size, c + 1, size), "down": (c, c + size + 1, 0),
                           "both": (c - size, c + size + 1, size)}[mode]
    arr = np.asarray(seqs, dtype=object)
    if arr.size == 0:
        return np.zeros((0, stop - start), dtype=np.uint8), center
    codes = np.frombuffer("".join(arr.tolist()).encode("ascii"), dtype=np.uint8).reshape(arr.size, -1)
    if codes.shape[1] != window + 1:
        raise DnactxError(f"dataset sequences are {codes.shape[1]} bp but prepare.json says window {window}; "
                          "re-run `dnactx prepare`")
    return np.ascontiguousarray(codes[:, start:stop]), center


def as_strings(bases: np.ndarray) -> list[str]:
    """uint8 ASCII rows back to Python strings (for tokenizers that need text)."""
    return [row.tobytes().decode("ascii") for row in bases]


def _subsample(idx: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    if n is None or n >= idx.size:
        return idx
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(idx, size=n, replace=False))


def load_dataset(path: str | Path, size: int, mode: str, *, max_train: int | None = None,
                 train_fraction: float | None = None, seed: int = 0) -> Dataset:
    """Read dataset.parquet, subsample train deterministically, cut each split's context windows."""
    path = Path(path)
    if path.is_dir():
        path = path / "dataset.parquet"
    if not path.is_file():
        raise DnactxError(f"dataset {path} not found; run `dnactx prepare` first or pass --data DIR/dataset.parquet")
    meta = read_meta(path)
    try:
        df = pd.read_parquet(path, columns=list(COLUMNS))
    except (KeyError, ValueError) as exc:
        raise DnactxError(f"{path} lacks the columns {', '.join(COLUMNS)} ({exc}); re-run `dnactx prepare`") from None
    window = int(meta.get("window") or (len(df["seq"].iloc[0]) - 1 if len(df) else 0))
    split_col = df["split"].to_numpy().astype(str)
    splits: dict[str, Split] = {}
    center = 0
    for name in ("train", "val", "test"):
        idx = np.flatnonzero(split_col == name)
        if name == "train":
            if train_fraction is not None:
                idx = _subsample(idx, int(round(idx.size * train_fraction)), seed)
            idx = _subsample(idx, max_train, seed)
        if idx.size == 0:
            raise DnactxError(f"{path} has no {name!r} sites; re-run `dnactx prepare` with a split that fills it")
        bases, center = cut_context(df["seq"].to_numpy()[idx], window, size, mode)
        ctx = df["context"].to_numpy()[idx].astype(str)
        codes = pd.Series(ctx).map(CONTEXT_CODES)
        if codes.isna().any():
            bad = sorted(set(ctx[codes.isna().to_numpy()]))[:3]
            raise DnactxError(f"{path} has contexts {bad} outside CG/CHG/CHH; re-run `dnactx prepare`")
        splits[name] = Split(bases=bases, labels=df["label"].to_numpy()[idx].astype(np.int8), context=ctx,
                             context_id=codes.to_numpy().astype(np.int64), index=idx.astype(np.int64))
    return Dataset(path=path, window=window, fingerprint=str(meta["fingerprint"]), splits=splits, center=center)
