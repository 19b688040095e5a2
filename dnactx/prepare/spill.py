"""Parsed calls set aside on disk by genome stretch, so that sites are built one chromosome at a time whatever
the order, number and size of the call files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

RECORD = np.dtype([
    ("chrom", "<i4"), ("pos", "<i8"), ("strand", "i1"), ("context", "i1"), ("motif", "u1", (3,)),
    ("merged", "?"), ("mc", "<i8"), ("cov", "<i8"), ("line", "<i8"), ("file", "<u2"),
])
BIN_SHIFT = 22  # 4.2 Mb of genome per spill file: at most a few million records in memory at a time
_FLUSH_BYTES = 64 << 20


class Spill:
    """Append records (``RECORD``) to one file per 2**BIN_SHIFT bp of the concatenated genome; read them back
    bin by bin in genome order, sorted by (chromosome, position)."""

    def __init__(self, folder: Path, lengths: np.ndarray) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.ends = self.starts + np.asarray(lengths, dtype=np.int64)
        self._buffers: dict[int, list[np.ndarray]] = defaultdict(list)
        self._buffered = 0
        self.bins: set[int] = set()
        self.chroms: set[int] = set()  # chromosome indices that have records
        self.records = 0

    def add(self, records: np.ndarray) -> None:
        if not records.size:
            return
        bins = (self.starts[records["chrom"]] + records["pos"] - 1) >> BIN_SHIFT
        if (np.diff(bins) < 0).any():  # call files are usually sorted already
            order = np.argsort(bins, kind="stable")
            bins, records = bins[order], records[order]
        cuts = np.flatnonzero(np.diff(bins)) + 1
        for b, part in zip(bins[np.r_[0, cuts]].tolist(), np.split(records, cuts), strict=True):
            self._buffers[b].append(part)
        self._buffered += records.nbytes
        self.records += records.size
        self.chroms.update(np.unique(records["chrom"]).tolist())
        if self._buffered >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        for b, parts in self._buffers.items():
            try:
                with open(self._path(b), "ab") as fh:
                    for part in parts:  # fh.write, not ndarray.tofile: a full disk is then an OSError with errno
                        fh.write(part.tobytes())
            except OSError as exc:
                exc.filename = exc.filename or str(self._path(b))  # so the one line names where it was writing
                raise
            self.bins.add(b)
        self._buffers.clear()
        self._buffered = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each bin's records sorted by (chromosome, position, stated strand), in genome order."""
        self.flush()
        for b in sorted(self.bins):
            yield _sorted(np.fromfile(self._path(b), dtype=RECORD))

    def chromosome(self, chrom: int) -> np.ndarray:
        """The records of chromosome ``chrom`` (its index in the genome), sorted as ``__iter__`` sorts them."""
        self.flush()
        first = int(self.starts[chrom]) >> BIN_SHIFT
        last = max(int(self.ends[chrom]) - 1, int(self.starts[chrom])) >> BIN_SHIFT
        parts = [np.fromfile(self._path(b), dtype=RECORD) for b in sorted(self.bins) if first <= b <= last]
        records = np.concatenate(parts) if parts else np.zeros(0, dtype=RECORD)
        return _sorted(records[records["chrom"] == chrom])

    def _path(self, b: int) -> Path:
        return self.folder / f"bin{b:08d}.rec"


def _sorted(records: np.ndarray) -> np.ndarray:
    """Records sorted by (chromosome, position, stated strand); as they are when they already are."""
    key = (records["chrom"].astype(np.int64) << 37) | (records["pos"] << 2) | (records["strand"] + 1)
    if (np.diff(key) < 0).any():
        records = records[np.argsort(key, kind="stable")]
    return records
