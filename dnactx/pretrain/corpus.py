"""The pretraining corpus: non-overlapping windows of ``length`` bp from every genome, each read on both strands.

Genomes are read one chromosome at a time (:class:`~dnactx.io.fasta.FastaGenome`: plain, gzip or bgzip). A
chromosome is cut into blocks of :func:`block_size` bp and each block into whole windows; a seeded hash of
(chromosome, block) holds a fixed share of blocks out for MLM evaluation (a genome too small for any held-out
block gives its last twentieth of windows instead). Windows holding an N, or any excluded base (``--exclude``
BED, ``--exclude-dataset``'s val and test blocks with the dataset's window margin), are dropped. Bases keep
their case, so soft-masked repeats stay in the corpus and evaluation can tell them apart; the reverse strand is
made at batch time (example ``2i + 1`` is window ``i`` reverse-complemented), so memory is one byte per corpus
base.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DnactxError
from ..io.fasta import FastaGenome
from ..sequence import CANON, COMPLEMENT, N

HELDOUT_SHARE = 0.05  # share of blocks held out for evaluation
MIN_BLOCK = 10_000  # bp; blocks are at least 4 windows long


def block_size(length: int) -> int:
    return max(MIN_BLOCK, 4 * length)


def heldout_draw(seed: int, chrom: str, blocks: np.ndarray) -> np.ndarray:
    """A uniform [0, 1) draw per block from (seed, chromosome, block index) alone."""
    key = int.from_bytes(hashlib.sha256(f"{seed}:{chrom}".encode()).digest()[:8], "little")
    x = (blocks.astype(np.uint64) + np.uint64(key)) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass
class Exclusions:
    """Intervals (0-based, half-open) per chromosome name that never enter the corpus, and where they came from."""

    intervals: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, chrom: str, start: int, end: int) -> None:
        if end > start:
            self.intervals.setdefault(chrom, []).append((max(0, int(start)), int(end)))

    def merged(self) -> dict[str, list[tuple[int, int]]]:
        out = {}
        for chrom, spans in self.intervals.items():
            spans = sorted(spans)
            merged = [list(spans[0])]
            for s, e in spans[1:]:
                if s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            out[chrom] = [(s, e) for s, e in merged]
        return out

    def mask(self, chrom: str, length: int) -> np.ndarray | None:
        spans = self.intervals.get(chrom)
        if not spans:
            return None
        mask = np.zeros(length, dtype=bool)
        for s, e in spans:
            mask[s:min(e, length)] = True
        return mask

    def bed_lines(self) -> list[str]:
        return [f"{c}\t{s}\t{e}" for c, spans in sorted(self.merged().items()) for s, e in spans]


def read_bed(path: Path, into: Exclusions) -> None:
    """BED intervals (chrom, start, end; header, track and comment lines skipped) added to ``into``."""
    path = Path(path)
    if not path.is_file():
        raise DnactxError(f"--exclude {path} does not exist; give a BED file of regions to leave out")
    import gzip

    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            try:
                chrom, start, end = parts[0], int(parts[1]), int(parts[2])
            except (IndexError, ValueError):
                raise DnactxError(f"--exclude {path} line {n} is not BED (chrom, start, end): {line.strip()[:60]!r}; "
                                  "fix or remove that line") from None
            into.add(chrom, start, end)
    into.sources.append(f"bed:{path}")


def read_dataset_holdout(path: Path, into: Exclusions) -> None:
    """The val and test blocks of a prepared dataset (a dataset.parquet or its folder), widened by half its window
    on each side (a site's window reaches that far), added to ``into``. With chromosome splits, whole val/test
    chromosomes."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ..atomic import read_json

    path = Path(path)
    parquet = path / "dataset.parquet" if path.is_dir() else path
    if not parquet.is_file():
        raise DnactxError(f"--exclude-dataset {path} has no dataset.parquet; give a folder made by `dnactx prepare`")
    meta = read_json(parquet.parent / "prepare.json", fix="run `dnactx prepare` again") or {}
    window = int(meta.get("window") or 0)
    block = (meta.get("block_size") or {}).get("used")
    table = pq.read_table(parquet, columns=["chrom", "pos", "split"])
    held = table.filter(pc.is_in(table["split"], value_set=__import__("pyarrow").array(["val", "test"])))
    chroms = held["chrom"].to_numpy(zero_copy_only=False).astype(str)
    pos = held["pos"].to_numpy().astype(np.int64)
    margin = window // 2
    for chrom in np.unique(chroms):
        p = pos[chroms == chrom]
        if block is None:
            into.add(str(chrom), 0, 1 << 62)
            continue
        for b in np.unique((p - 1) // int(block)):
            into.add(str(chrom), int(b) * int(block) - margin, (int(b) + 1) * int(block) + margin)
    into.sources.append(f"dataset:{parquet} (val+test blocks of {block or 'whole-chromosome'} bp ± {margin} bp)")


@dataclass
class Corpus:
    """Forward-strand windows (uint8 ASCII, case kept) for training and held-out evaluation, and what was read."""

    length: int
    train: np.ndarray
    heldout: np.ndarray
    genomes: list[dict]
    excluded_bases: int
    skipped_n_windows: int

    @property
    def train_examples(self) -> int:
        return 2 * len(self.train)

    def summary(self) -> dict:
        return {"length": self.length, "genomes": self.genomes,
                "train_windows": len(self.train), "heldout_windows": len(self.heldout),
                "train_bases": int(self.train.size) * 2, "heldout_bases": int(self.heldout.size) * 2,
                "strands": "both", "heldout_share_of_blocks": HELDOUT_SHARE, "block_size": block_size(self.length),
                "excluded_bases": self.excluded_bases, "windows_with_n_skipped": self.skipped_n_windows,
                "soft_masked_fraction": float(soft_fraction(self.train))}


def soft_fraction(windows: np.ndarray) -> float:
    return float((windows >= ord("a")).mean()) if windows.size else 0.0


def examples(windows: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Examples ``index`` (window i//2, reverse strand when odd) as (upper-case ACGT uint8, soft-masked bool)."""
    index = np.asarray(index, dtype=np.int64)
    raw = windows[index // 2]
    soft = raw >= ord("a")
    bases = CANON[raw]
    rev = (index % 2).astype(bool)
    if rev.any():
        bases[rev] = COMPLEMENT[bases[rev]][:, ::-1]
        soft[rev] = soft[rev][:, ::-1]
    return bases, soft


def build_corpus(genome_paths: list[Path], length: int, exclusions: Exclusions, seed: int = 0) -> Corpus:
    """Cut every genome into the corpus (see the module docstring)."""
    block = block_size(length)
    per_block = block // length
    train, heldout, genomes = [], [], []
    excluded = skipped = 0
    for path in genome_paths:
        genome = FastaGenome(path)
        info = {"path": str(path), "sha256": genome.sha256(), "bases": int(genome.lengths.sum()),
                "chromosomes": len(genome.names)}
        for chrom, bases in genome.chromosomes():
            n_blocks = len(bases) // block + (1 if len(bases) % block >= length else 0)
            if n_blocks == 0:
                continue
            starts = (np.arange(n_blocks)[:, None] * block + np.arange(per_block)[None, :] * length).ravel()
            blocks = np.repeat(np.arange(n_blocks), per_block)
            keep = starts + length <= len(bases)
            starts, blocks = starts[keep], blocks[keep]
            windows = sliding_window_view(bases, length)[starts]
            has_n = (CANON[windows] == N).any(axis=1)
            mask = exclusions.mask(chrom, len(bases))
            out = (np.zeros(len(starts), dtype=bool) if mask is None
                   else sliding_window_view(mask, length)[starts].any(axis=1))
            if mask is not None:
                excluded += int(mask.sum())
            skipped += int((has_n & ~out).sum())
            draw = heldout_draw(seed, chrom, np.arange(n_blocks))
            held_block = draw < HELDOUT_SHARE
            held = held_block[blocks]
            ok = ~has_n & ~out
            train.append(windows[ok & ~held])
            heldout.append(windows[ok & held])
        genomes.append(info)
    train_w = np.concatenate(train) if train else np.zeros((0, length), np.uint8)
    held_w = np.concatenate(heldout) if heldout else np.zeros((0, length), np.uint8)
    if not len(held_w) and len(train_w) >= 2:  # a tiny genome: hold out its last windows rather than none
        cut = max(1, len(train_w) // 20)
        train_w, held_w = train_w[:-cut], train_w[-cut:]
    if not len(train_w):
        raise DnactxError(f"no {length}-bp window without N or excluded bases in --genome "
                          f"{', '.join(map(str, genome_paths))}; lower --length or check --exclude")
    return Corpus(length, np.ascontiguousarray(train_w), np.ascontiguousarray(held_w), genomes, excluded, skipped)
