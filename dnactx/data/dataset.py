"""Load a prepared dataset.parquet, pick splits, subsample training sites and cut context windows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..choices import SPLITS
from ..errors import DnactxError
from ..provenance import sha256_file
from ..sequence import CONTEXT_CODES, context_slice

COLUMNS = ("context", "label", "split", "seq")


@dataclass
class Split:
    """One split's sites: cut sequences, labels, context codes/names and row positions in the parquet."""

    bases: np.ndarray  # uint8 (n, length) ASCII codes of the cut sequences, uppercase
    labels: np.ndarray  # int8
    context: np.ndarray  # str array (CG/CHG/CHH)
    context_id: np.ndarray  # int64 codes 0/1/2
    index: np.ndarray  # int64 row positions in dataset.parquet
    chrom: np.ndarray | None = None  # str chromosome of each site (None: the dataset has no chrom/pos columns)
    pos: np.ndarray | None = None  # int64 1-based position of each site
    feature: np.ndarray | None = None  # str genomic feature class (None: prepared without --annotation)
    mc: np.ndarray | None = None  # int64 methylated reads of each site (None: the dataset has no mc/cov columns)
    cov: np.ndarray | None = None  # int64 total reads of each site

    @property
    def level(self) -> np.ndarray | None:
        """The measured methylated fraction mc / cov (float64), None without read counts."""
        if self.mc is None or self.cov is None:
            return None
        return self.mc / np.maximum(self.cov, 1)

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
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    except json.JSONDecodeError:
        raise DnactxError(f"{meta_path} is not valid JSON; re-run `dnactx prepare`") from None
    if not meta.get("fingerprint"):
        meta["fingerprint"] = sha256_file(path)
    return meta


def _subsample(idx: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    if n is None or n >= idx.size:
        return idx
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(idx, size=n, replace=False))


def load_dataset(path: str | Path, size: int, mode: str, *, max_train: int | None = None,
                 train_fraction: float | None = None, seed: int = 0) -> Dataset:
    """Read dataset.parquet, subsample train deterministically, cut each split's context windows.

    Only the small columns are read whole; ``seq`` is streamed batch by batch and cut to the context at once,
    so memory follows the sites used and ``--size``, not the dataset's full windows.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "dataset.parquet"
    if not path.is_file():
        raise DnactxError(f"dataset {path} not found; run `dnactx prepare` first or pass --data DIR/dataset.parquet")
    meta = read_meta(path)
    try:
        pf = pq.ParquetFile(path)
        located = all(c in pf.schema_arrow.names for c in ("chrom", "pos"))
        annotated = "feature" in pf.schema_arrow.names
        counted = all(c in pf.schema_arrow.names for c in ("mc", "cov"))
        small = pf.read(columns=["split", "label", "context", *(("chrom", "pos") if located else ()),
                                 *(("feature",) if annotated else ()), *(("mc", "cov") if counted else ())])
    except (KeyError, ValueError, pa.ArrowException) as exc:
        raise DnactxError(f"{path} lacks the columns {', '.join(COLUMNS)} ({exc}); re-run `dnactx prepare`") from None
    if "seq" not in pf.schema_arrow.names:
        raise DnactxError(f"{path} has no seq column; re-run `dnactx prepare`")
    window = int(meta.get("window") or _first_length(pf) - 1)
    start, stop, center = context_slice(window, size, mode)
    split_code = _codes(small["split"], SPLITS)
    context_id = _codes(small["context"], tuple(CONTEXT_CODES))
    labels = small["label"].to_numpy().astype(np.int8)

    chosen: dict[str, np.ndarray] = {}
    for code, name in enumerate(SPLITS):
        idx = np.flatnonzero(split_code == code)
        if name == "train":
            if train_fraction is not None:
                idx = _subsample(idx, int(round(idx.size * train_fraction)), seed)
            idx = _subsample(idx, max_train, seed)
        if idx.size == 0:
            raise DnactxError(f"{path} has no {name!r} sites; re-run `dnactx prepare` with a split that fills it")
        bad = idx[context_id[idx] < 0]
        if bad.size:
            names = sorted(set(small["context"].take(pa.array(bad[:1000])).to_pylist()), key=str)[:3]
            raise DnactxError(f"{path} has contexts {names} outside CG/CHG/CHH; re-run `dnactx prepare`")
        chosen[name] = idx

    rows = np.sort(np.concatenate(list(chosen.values())))
    cut = _cut_rows(pf, rows, window, start, stop)
    context_names = np.array(list(CONTEXT_CODES))
    splits = {}
    for name, idx in chosen.items():
        at = np.searchsorted(rows, idx)
        where = _positions(small, idx) if located else (None, None)
        splits[name] = Split(bases=cut[at], labels=labels[idx], context=context_names[context_id[idx]],
                             context_id=context_id[idx].astype(np.int64), index=idx.astype(np.int64), chrom=where[0],
                             pos=where[1], feature=_strings(small, "feature", idx) if annotated else None,
                             mc=_ints(small, "mc", idx) if counted else None,
                             cov=_ints(small, "cov", idx) if counted else None)
    return Dataset(path=path, window=window, fingerprint=str(meta["fingerprint"]), splits=splits, center=center)


def _codes(column: pa.ChunkedArray, values: tuple[str, ...]) -> np.ndarray:
    """Position of each entry in ``values`` (int64), -1 where it is none of them."""
    found = pc.index_in(column, value_set=pa.array(values, type=pa.string()))
    return found.fill_null(-1).to_numpy().astype(np.int64)


def _strings(table: pa.Table, column: str, idx: np.ndarray) -> np.ndarray:
    """One string column's values at the given rows (str array)."""
    return np.asarray(table[column].take(pa.array(idx)).to_numpy(zero_copy_only=False)).astype(str)


def _ints(table: pa.Table, column: str, idx: np.ndarray) -> np.ndarray:
    """One integer column's values at the given rows (int64)."""
    return table[column].take(pa.array(idx)).to_numpy().astype(np.int64)


def _positions(table: pa.Table, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chrom as str, pos as int64) of the given rows."""
    rows = table.select(["chrom", "pos"]).take(pa.array(idx))
    chrom = np.asarray(rows["chrom"].to_numpy(zero_copy_only=False)).astype(str)
    return chrom, rows["pos"].to_numpy().astype(np.int64)


def _first_length(pf: pq.ParquetFile) -> int:
    for batch in pf.iter_batches(columns=["seq"], batch_size=1):
        return len(batch.column(0)[0].as_py()) if batch.num_rows else 1
    return 1


def _fixed_width(arr: pa.Array, width: int) -> np.ndarray:
    """A string column whose entries are all ``width`` ASCII bytes, as a zero-copy (n, width) uint8 view."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        raise DnactxError("dataset has missing sequences; re-run `dnactx prepare`")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    offsets = offsets[arr.offset:arr.offset + len(arr) + 1]
    if len(arr) and not np.all(np.diff(offsets) == width):
        found = int(np.diff(offsets)[np.diff(offsets) != width][0])
        raise DnactxError(f"dataset sequences are {found} bp but prepare.json says window {width - 1}; "
                          "re-run `dnactx prepare`")
    data = np.frombuffer(data_buf, dtype=np.uint8)
    return data[offsets[0]:offsets[-1]].reshape(len(arr), width)


def _cut_rows(pf: pq.ParquetFile, rows: np.ndarray, window: int, start: int, stop: int) -> np.ndarray:
    """``seq[start:stop]`` of the given sorted row positions, reading ``seq`` one batch at a time."""
    out = np.empty((rows.size, stop - start), dtype=np.uint8)
    done = offset = 0
    for batch in pf.iter_batches(columns=["seq"], batch_size=1 << 16):
        n = batch.num_rows
        hi = int(np.searchsorted(rows, offset + n))
        if hi > done:
            codes = _fixed_width(batch.column(0), window + 1)
            out[done:hi] = codes[rows[done:hi] - offset, start:stop]
            done = hi
        offset += n
    return out
