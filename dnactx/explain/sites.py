"""The sites to explain: the top-scoring positives, all positives, a seeded random sample of a run's dataset split,
or the cytosines of a BED file (from the dataset's own windows, or from the genome).

Every site comes with its window as dataset.parquet's ``seq`` holds it (uint8 (n, window + 1), 5'→3' on the site's
strand, the C at ``window // 2``) and its context, so the mutagenesis sees exactly what training saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..data.dataset import read_meta
from ..errors import DnactxError
from ..sequence import CONTEXT_CODES

SELECTIONS = ("top", "positives", "random")
SITE_COLUMNS = ["chrom", "pos", "strand", "context", "label", "split"]


@dataclass
class Sites:
    """n sites with their windows. ``label`` is -1 and ``row`` -1 for a site that is not in the dataset."""

    chrom: np.ndarray  # str (object)
    pos: np.ndarray  # int64, 1-based
    strand: np.ndarray  # int8, +1 / -1
    context_id: np.ndarray  # int64, 0 CG / 1 CHG / 2 CHH
    label: np.ndarray  # int8, 1 / 0 / -1 unknown
    windows: np.ndarray  # uint8 (n, window + 1)
    row: np.ndarray  # int64, row in dataset.parquet or -1
    notes: list[str]

    def __len__(self) -> int:
        return int(self.pos.size)

    def trinuc(self) -> np.ndarray:
        """uint8 (n, 3): the C and the two bases after it, on the site's strand."""
        c = (self.windows.shape[1] - 1) // 2
        return self.windows[:, c:c + 3]

    def table(self) -> pd.DataFrame:
        names = np.array(list(CONTEXT_CODES))
        return pd.DataFrame({"chrom": self.chrom, "pos": self.pos, "strand": np.where(self.strand > 0, "+", "-"),
                             "context": names[self.context_id], "label": self.label, "dataset_row": self.row})


def run_dataset(config: dict, window: int, run_id: str, *, required: bool = True) -> Path | None:
    """The dataset.parquet a run was trained on, checked to have the run's window (None when it is gone and not
    ``required``)."""
    data = config.get("data")
    path = Path(data) if data else None
    if (path is None or not path.is_file()) and not required:
        return None
    if path is None or not path.is_file():
        raise DnactxError(f"run {run_id} was trained on {data or 'a dataset config.json does not name'}, which is "
                          "gone; restore it, or give --sites BED with --genome FASTA")
    found = read_meta(path).get("window")
    if found is not None and int(found) != window:
        raise DnactxError(f"{path} has windows of {found} bp but run {run_id} was trained on {window}; it is not the "
                          "run's dataset any more: restore it or re-run `dnactx prepare` as before")
    return path


def read_site_table(path: Path) -> pd.DataFrame:
    """The dataset's small columns (no windows), one row per site in file order."""
    try:
        return pq.read_table(path, columns=SITE_COLUMNS).to_pandas()
    except (KeyError, ValueError, OSError) as exc:
        raise DnactxError(f"{path} lacks the columns {', '.join(SITE_COLUMNS)} ({exc}); re-run `dnactx prepare`") \
            from None


def read_windows(path: Path, rows: np.ndarray, window: int) -> np.ndarray:
    """uint8 (len(rows), window + 1): dataset.parquet's ``seq`` of ``rows`` (any order), read batch by batch."""
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    wanted = rows[order]
    out = np.empty((rows.size, window + 1), dtype=np.uint8)
    done = offset = 0
    for batch in pq.ParquetFile(path).iter_batches(columns=["seq"], batch_size=1 << 16):
        hi = int(np.searchsorted(wanted, offset + batch.num_rows))
        if hi > done:
            seqs = batch.column(0).take(wanted[done:hi] - offset).to_pylist()
            block = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
            if block.size != (hi - done) * (window + 1):
                raise DnactxError(f"{path}: windows are not {window + 1} bp as prepare.json says; re-run prepare")
            out[order[done:hi]] = block.reshape(hi - done, window + 1)
            done = hi
        offset += batch.num_rows
    return out


def dataset_sites(path: Path, table: pd.DataFrame, rows: np.ndarray, window: int, notes: list[str]) -> Sites:
    """The sites at dataset ``rows`` (in that order), with their windows."""
    rows = np.asarray(rows, dtype=np.int64)
    t = table.iloc[rows]
    context = t["context"].map(CONTEXT_CODES).to_numpy()
    return Sites(chrom=t["chrom"].astype(str).to_numpy(dtype=object), pos=t["pos"].to_numpy(np.int64),
                 strand=np.where(t["strand"].to_numpy() == "-", -1, 1).astype(np.int8),
                 context_id=context.astype(np.int64), label=t["label"].to_numpy().astype(np.int8),
                 windows=read_windows(path, rows, window), row=rows, notes=notes)


def select_sites(scorer, path: Path, split: str, how: str, n: int, seed: int) -> Sites:
    """``how`` top | positives | random sites of ``split`` in the dataset at ``path``, at most ``n`` (see README).

    top: the positives with the highest logits under ``scorer``; positives: all of them, or a seeded sample of
    ``n`` when there are more; random: a seeded sample of ``n`` sites of any label.
    """
    if how not in SELECTIONS:
        raise ValueError(how)
    if n < 1:
        raise DnactxError(f"--n must be at least 1, got {n}")
    table = read_site_table(path)
    in_split = np.flatnonzero(table["split"].to_numpy() == split)
    candidates = in_split if how == "random" else in_split[table["label"].to_numpy()[in_split] == 1]
    if not candidates.size:
        what = "sites" if how == "random" else "positive sites"
        raise DnactxError(f"the {split} split of {path} has no {what}: nothing to explain; choose another --split "
                          "or --sites random")
    recipe, notes = scorer.recipe, []
    if how == "top":
        sites = dataset_sites(path, table, candidates, recipe.window, notes)
        logits = scorer.logits(recipe.cut(sites.windows), sites.context_id)
        keep = np.argsort(-logits, kind="stable")[:n]
        notes.append(f"the {keep.size} highest-scoring of {candidates.size} {split} positives")
        return subset(sites, keep)
    rng = np.random.default_rng(seed)
    if candidates.size > n:
        notes.append(f"a random sample (seed {seed}) of {n} of the {candidates.size} {split} "
                     f"{'sites' if how == 'random' else 'positives'}")
        candidates = np.sort(rng.choice(candidates, size=n, replace=False))
    else:
        notes.append(f"all {candidates.size} {split} {'sites' if how == 'random' else 'positives'}")
    return dataset_sites(path, table, candidates, recipe.window, notes)


def subset(sites: Sites, keep: np.ndarray) -> Sites:
    return Sites(chrom=sites.chrom[keep], pos=sites.pos[keep], strand=sites.strand[keep],
                 context_id=sites.context_id[keep], label=sites.label[keep], windows=sites.windows[keep],
                 row=sites.row[keep], notes=sites.notes)
