"""The cytosines of a BED file as sites to explain: from the run's dataset when it holds them, else from the genome.

An interval [start, end) (0-based, BED) names every cytosine in it on the strand of column 6, or on both strands when
the file gives none ('.' or fewer columns). Without ``--genome`` each interval must hold at least one site of the
dataset (any split: the BED names its sites); with it, every C/G of the interval is a site, windows are cut from the
genome by prepare's own code and labels are taken from the dataset where it has the site (-1 elsewhere).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DnactxError
from ..inference import chromosome_buffer, genome_contexts, genome_windows, load_chromosome
from ..io.bed import BedIntervals, read_bed
from ..io.fasta import FastaGenome
from .names import match_chroms
from .sites import Sites, dataset_sites, read_site_table, subset

C, G = ord("C"), ord("G")


def bed_sites(path: Path, recipe, *, dataset: Path | None, genome: FastaGenome | None,
              aliases: dict[str, str], n: int) -> Sites:
    """At most ``n`` sites (the first in file order) from the BED file at ``path``; see the module docstring."""
    bed = read_bed(path)
    table = read_site_table(dataset) if dataset is not None else None
    if table is not None:
        rows, missing = _dataset_rows(bed, table, aliases, required=genome is None)
        if missing is None:
            sites = dataset_sites(dataset, table, rows[:n], recipe.window, [])
            return _capped(sites, rows.size, n, f"the {rows.size} dataset sites of {path.name}")
        if genome is None:
            raise DnactxError(f"--sites {path} {bed.where(missing)} holds no site of the run's dataset; pass --genome "
                              "FASTA to explain cytosines outside it")
    if genome is None:
        raise DnactxError(f"--sites {path}: the run's dataset is not available, so its sites need --genome FASTA")
    sites = _genome_sites(bed, genome, recipe.window, aliases, path)
    if table is not None:
        sites.label, sites.row = _labels(sites, table)
    total = len(sites)
    return _capped(subset(sites, np.arange(min(total, n))), total, n, f"the {total} cytosines of {path.name}")


def _capped(sites: Sites, total: int, n: int, what: str) -> Sites:
    if not len(sites):
        raise DnactxError(f"{what.split(' of ')[-1]} names no cytosine with a decided context: nothing to explain")
    sites.notes.append(f"{what}" if total <= n else f"the first {n} (--n) of {what}")
    return sites


def _dataset_rows(bed: BedIntervals, table: pd.DataFrame, aliases: dict[str, str],
                  required: bool) -> tuple[np.ndarray, int | None]:
    """Dataset rows inside the intervals (file order, no repeats) and the first interval holding none (or None)."""
    names = match_chroms(bed.chrom, sorted(set(table["chrom"].astype(str))), aliases, "--sites (the run's dataset)",
                         required=required)
    chrom = table["chrom"].astype(str).to_numpy()
    pos, strand = table["pos"].to_numpy(np.int64), np.where(table["strand"].to_numpy() == "-", -1, 1)
    by_chrom = {c: np.flatnonzero(chrom == c) for c in set(names.values())}
    by_chrom = {c: idx[np.argsort(pos[idx], kind="stable")] for c, idx in by_chrom.items()}
    found, missing = [], None
    for i in range(len(bed)):
        idx = by_chrom.get(names.get(bed.chrom[i]), np.zeros(0, dtype=np.int64))
        sorted_pos = pos[idx]
        inside = idx[np.searchsorted(sorted_pos, bed.start[i] + 1):np.searchsorted(sorted_pos, bed.end[i], "right")]
        if bed.strand[i]:
            inside = inside[strand[inside] == bed.strand[i]]
        if not inside.size and missing is None:
            missing = i
        found.append(inside)
    rows = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    _, first = np.unique(rows, return_index=True)
    return rows[np.sort(first)], missing


def _genome_sites(bed: BedIntervals, genome: FastaGenome, window: int, aliases: dict[str, str], path: Path) -> Sites:
    names = match_chroms(bed.chrom, genome.names, aliases, f"--sites {path}")
    for i in range(len(bed)):
        name = names.get(bed.chrom[i])
        if name is None or bed.end[i] > genome.length(name):
            where = "a chromosome the genome lacks" if name is None else f"past the end of {name} " \
                                                                         f"({genome.length(name):,} bp)"
            raise DnactxError(f"--sites {path} {bed.where(i)} lies outside --genome {genome.path} ({where}); check "
                              "the genome build and the chromosome names (--chrom-alias)")
    pieces, buffer = {}, chromosome_buffer(genome, window, sorted(set(names.values())))
    for name in dict.fromkeys(names[c] for c in bed.chrom):  # each chromosome loaded once
        chrom = load_chromosome(genome, name, window, buffer)
        for i in np.flatnonzero([names[c] == name for c in bed.chrom]):
            p, s = _interval_sites(chrom, bed, int(i), path)
            pieces[int(i)] = (p, s, genome_windows(chrom, p, s, window), genome_contexts(chrom, p, s))
    parts = [pieces[i] for i in sorted(pieces)]
    pos, strand = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    win, ctx = np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]).astype(np.int64)
    chrom = np.concatenate([[names[bed.chrom[i]]] * pieces[i][0].size for i in sorted(pieces)]).astype(object)
    key = pd.Series([f"{c}:{p}:{s}" for c, p, s in zip(chrom, pos, strand, strict=True)])
    keep = np.flatnonzero(~key.duplicated().to_numpy() & (ctx >= 0))
    return Sites(chrom=chrom[keep], pos=pos[keep], strand=strand[keep].astype(np.int8),
                 context_id=ctx[keep].astype(np.int64), label=np.full(keep.size, -1, dtype=np.int8),
                 windows=win[keep], row=np.full(keep.size, -1, dtype=np.int64), notes=[])


def _interval_sites(chrom, bed: BedIntervals, i: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(1-based positions, strands) of the cytosines of interval ``i``."""
    pos = np.arange(bed.start[i] + 1, bed.end[i] + 1, dtype=np.int64)
    base = chrom.seq[chrom.index(pos)]
    plus, minus = base == C, base == G
    if bed.strand[i] > 0:
        minus[:] = False
    elif bed.strand[i] < 0:
        plus[:] = False
    if pos.size == 1 and not (plus | minus).any():
        wanted = {1: "a C on +", -1: "a G (C on −)", 0: "a C or G"}[int(bed.strand[i])]
        raise DnactxError(f"--sites {path} {bed.where(i)}: the genome has {chr(base[0])} at position {pos[0]}, not "
                          f"{wanted}: is the file 0-based (BED: p-1 p for 1-based p) and from this genome build?")
    sites_pos = np.concatenate([pos[plus], pos[minus]])
    sites_strand = np.concatenate([np.ones(plus.sum(), np.int8), -np.ones(minus.sum(), np.int8)])
    order = np.lexsort((-sites_strand, sites_pos))
    return sites_pos[order], sites_strand[order]


def _labels(sites: Sites, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Label and dataset row of each site found in the dataset (chrom, pos, strand), else -1."""
    keys = pd.Index(table["chrom"].astype(str) + ":" + table["pos"].astype(str) + ":" + table["strand"].astype(str))
    wanted = [f"{c}:{p}:{'+' if s > 0 else '-'}" for c, p, s in zip(sites.chrom, sites.pos, sites.strand, strict=True)]
    at = keys.get_indexer(wanted)
    labels = np.where(at >= 0, table["label"].to_numpy()[np.maximum(at, 0)], -1).astype(np.int8)
    return labels, at.astype(np.int64)

