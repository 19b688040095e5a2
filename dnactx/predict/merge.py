"""Part files of finished chromosomes → predictions.parquet and the tracks, streamed batch by batch in genome order,
collecting the labelled sites (for the evaluation) and the first stretch of the region (for the plot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..choices import CONTEXTS
from ..io.annotation import FEATURES
from .plot import PLOT_BP
from .regions import Target
from .sites import schema
from .state import PREDICTIONS, OutFolder
from .tracks import ContextTrack

BATCH_ROWS = 1 << 18
_FIELDS = ("chrom", "pos", "context", "label", "level", "prob", "feature")


@dataclass
class Collected:
    """What the merge keeps besides the files: labelled sites (``chrom`` as genome index codes) and the sites of
    the first ``PLOT_BP`` of the region (on ``plot_chrom``)."""

    labelled: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in _FIELDS})
    window: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in _FIELDS + ("labelled",)})
    plot_chrom: str | None = None
    plot_end: int | None = None
    track_sites: dict[str, int] = field(default_factory=dict)

    def arrays(self, which: str) -> dict[str, np.ndarray]:
        parts = self.labelled if which == "labelled" else self.window
        return {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}


def merge_parts(folder: OutFolder, plan: Sequence[Target], stage: Path, chrom_sizes: list[tuple[str, int]],
                contexts: Sequence[str], *, with_calls: bool, label: str, annotated: bool = False,
                level: bool = False) -> Collected:
    """Write ``stage``/predictions.parquet and each context's tracks from the part files of ``plan``."""
    collected = Collected()
    tracks = {c: ContextTrack(stage, c, chrom_sizes, label, level) for c in contexts}
    try:
        with pq.ParquetWriter(stage / PREDICTIONS, schema(with_calls, annotated), compression="zstd",
                              use_dictionary=["chrom", "strand", "context", "feature"]) as writer:
            for target in plan:
                for batch in pq.ParquetFile(folder.part(target)).iter_batches(BATCH_ROWS):
                    writer.write_batch(batch)
                    columns = _columns(batch, target, with_calls)
                    for track in tracks.values():
                        mask = columns["context"] == CONTEXTS.index(track.context)
                        track.add(target.name, columns["pos"][mask], columns["prob"][mask])
                    _collect(collected, target, columns, with_calls)
    finally:
        for track in tracks.values():
            track.close()
    collected.track_sites = {c: t.sites for c, t in tracks.items()}
    return collected


def _columns(batch: pa.RecordBatch, target: Target, with_calls: bool) -> dict[str, np.ndarray]:
    n = batch.num_rows
    out = {"chrom": np.full(n, target.index, dtype=np.int32), "pos": batch.column("pos").to_numpy(),
           "context": pc.index_in(batch.column("context"), value_set=pa.array(CONTEXTS)).to_numpy().astype(np.int8),
           "prob": batch.column("prob").to_numpy()}
    if with_calls:
        out["label"] = batch.column("label").fill_null(-1).to_numpy().astype(np.int8)
        out["level"] = batch.column("level").fill_null(np.nan).to_numpy()
    else:
        out["label"], out["level"] = np.full(n, -1, dtype=np.int8), np.full(n, np.nan, dtype=np.float32)
    out["feature"] = (pc.index_in(batch.column("feature"), value_set=pa.array(FEATURES)).to_numpy().astype(np.int8)
                      if "feature" in batch.schema.names else np.full(n, -1, dtype=np.int8))
    return out


def _collect(collected: Collected, target: Target, columns: dict[str, np.ndarray], with_calls: bool) -> None:
    labelled = columns["label"] >= 0
    if with_calls and labelled.any():
        for k in _FIELDS:
            collected.labelled[k].append(columns[k][labelled])
    if not columns["pos"].size:
        return
    if collected.plot_chrom is None:
        collected.plot_chrom, collected.plot_end = target.name, int(columns["pos"][0]) + PLOT_BP
    if collected.plot_chrom == target.name:
        inside = columns["pos"] < collected.plot_end
        for k in _FIELDS:
            collected.window[k].append(columns[k][inside])
        collected.window["labelled"].append(labelled[inside])
