"""Deterministic train/val/test assignment by genomic block or chromosome, the leakage guard, subsampling.

Every draw is a hash of (seed, chromosome, block or position), so results do not depend on the order of the
calls file or on chunking.

The block rule. A chromosome's blocks of ``block_size`` bp are laid in index groups of :func:`group_size`
consecutive blocks (block // m). Only blocks that hold calls ("occupied") take part: an index group with fewer
than :func:`min_blocks` occupied blocks is merged with the groups after it until it has that many (a short
tail joins the group before it), and chromosomes with fewer occupied blocks than that are pooled, in FASTA
order, into groups of their own. Within each group of k occupied blocks a seeded hash of (chromosome, block)
ranks the members; the first ``floor(test_frac·k + u)`` go to test and the next ones up to
``floor((test_frac + val_frac)·k + u)`` to val, with ``u`` a seeded hash of (chromosome, group). So:

- every group, hence every region with at least ``1/min(val_frac, test_frac)`` occupied blocks, gets val and
  test, wherever the region starts;
- the shares are exact in expectation (stochastic rounding), also over many small scaffolds;
- on a chromosome whose every block holds calls (a whole-genome methylome) a block's split is a pure function
  of (seed, chromosome, block index): the same blocks as the rule before occupancy was considered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

TRAIN, VAL, TEST = 0, 1, 2
UNOCCUPIED = -1
_SALT_BLOCK = 0x5BD1E995
_SALT_SAMPLE = 0x27D4EB2F
_SALT_GROUP = 0x165667B1
_POOL_KEY = 0x2545F4914F6CDD1D  # the hash key of pooled small chromosomes' groups


def chrom_key(name: str) -> int:
    """A stable 63-bit key for a chromosome name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniform(seed: int, salt: int, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Floats in [0, 1), one per (key, value) pair, fixed by ``seed``."""
    mixed = _splitmix64(np.asarray(keys, dtype=np.uint64) ^ np.uint64((seed * 0x100000001B3 + salt) % 2**64))
    mixed = _splitmix64(mixed ^ _splitmix64(np.asarray(values, dtype=np.int64).astype(np.uint64)))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(2**53)


def min_blocks(val_frac: float, test_frac: float) -> int:
    """Occupied blocks a group needs so that both val and test get at least one: 1/min(val_frac, test_frac)."""
    return int(np.ceil(1.0 / min(val_frac, test_frac) - 1e-9))


def group_size(val_frac: float, test_frac: float) -> int:
    """Blocks per index group: at least 20, and enough that the smaller fraction gets one block."""
    return max(20, min_blocks(val_frac, test_frac))


def _merge_counts(counts: np.ndarray, need: int) -> np.ndarray:
    """Merged-group id per unit, merging consecutive units until each group counts ≥ ``need``."""
    gid = np.empty(counts.size, dtype=np.int64)
    current = acc = 0
    for j, k in enumerate(counts.tolist()):
        gid[j] = current
        acc += k
        if acc >= need:
            current, acc = current + 1, 0
    if acc and current:  # a short tail joins the group before it
        gid[gid == current] = current - 1
    return gid


def _groups(blocks: np.ndarray, m: int, need: int) -> np.ndarray:
    """Group id per sorted occupied block of one chromosome (see the module docstring)."""
    base = blocks // m
    uniq, inverse, counts = np.unique(base, return_inverse=True, return_counts=True)
    return _merge_counts(counts, need)[inverse.ravel()]


def _assign(keys: np.ndarray, blocks: np.ndarray, group: np.ndarray, group_keys: np.ndarray, seed: int,
            val_frac: float, test_frac: float) -> np.ndarray:
    """Split code per member, given each member's group id (non-decreasing) and its group's hash key."""
    draw = uniform(seed, _SALT_BLOCK, keys, blocks)
    order = np.lexsort((draw, group))
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    k = np.diff(np.r_[starts, g_sorted.size])
    first = order[starts]
    u = uniform(seed, _SALT_GROUP, group_keys[first], blocks[first])
    n_test = np.floor(test_frac * k + u).astype(np.int64)
    n_tv = np.floor((test_frac + val_frac) * k + u).astype(np.int64)
    rank = np.arange(g_sorted.size) - np.repeat(starts, k)
    which = np.repeat(np.arange(k.size), k)
    codes = np.where(rank < n_test[which], TEST, np.where(rank < n_tv[which], VAL, TRAIN)).astype(np.int8)
    out = np.empty_like(codes)
    out[order] = codes
    return out


@dataclass
class BlockSplits:
    """The split of every occupied block, per chromosome (index in FASTA order)."""

    block_size: int
    blocks: list[np.ndarray]  # sorted occupied block indices (block = (pos - 1) // block_size)
    codes: list[np.ndarray]  # int8 split code of each

    @classmethod
    def build(cls, occupied: list[np.ndarray], names: list[str], block_size: int, *, seed: int,
              val_frac: float, test_frac: float) -> BlockSplits:
        m, need = group_size(val_frac, test_frac), min_blocks(val_frac, test_frac)
        codes = [np.empty(0, np.int8) for _ in occupied]
        pooled = [i for i, b in enumerate(occupied) if 0 < b.size < need]
        for i, blocks in enumerate(occupied):
            if blocks.size >= need:
                key = np.full(blocks.size, chrom_key(names[i]), dtype=np.uint64)
                codes[i] = _assign(key, blocks, _groups(blocks, m, need), key, seed, val_frac, test_frac)
        if pooled:
            blocks = np.concatenate([occupied[i] for i in pooled])
            keys = np.concatenate([np.full(occupied[i].size, chrom_key(names[i]), np.uint64) for i in pooled])
            group = _merge_counts(np.ones(blocks.size, np.int64), need) // max(1, m // need)
            pool = _assign(keys, blocks, group, np.full(blocks.size, _POOL_KEY, np.uint64), seed, val_frac,
                           test_frac)
            for i, part in zip(pooled, np.split(pool, np.cumsum([occupied[i].size for i in pooled])[:-1]),
                               strict=True):
                codes[i] = part
        return cls(block_size, occupied, codes)

    def lookup(self, chrom: int, block: np.ndarray) -> np.ndarray:
        """Split code of each block of chromosome ``chrom``; UNOCCUPIED where the block holds no calls."""
        blocks, codes = self.blocks[chrom], self.codes[chrom]
        if not blocks.size:
            return np.full(block.shape, UNOCCUPIED, np.int8)
        at = np.minimum(np.searchsorted(blocks, block), blocks.size - 1)
        return np.where(blocks[at] == block, codes[at], UNOCCUPIED).astype(np.int8)

    def assign(self, chrom: int, pos: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
        """(split, crosses) per site of chromosome ``chrom``.

        ``crosses`` marks sites whose window [pos-half, pos+half] reaches into a neighbouring block of another
        split; dropping them leaves no window of one split overlapping a window of another. A neighbour that
        holds no calls has no sites to overlap.
        """
        block = (pos - 1) // self.block_size
        own = self.lookup(chrom, block)
        if (own == UNOCCUPIED).any():
            raise RuntimeError("a site lies in a block that was not seen holding calls")
        start = block * self.block_size + 1
        end = start + self.block_size - 1
        left, right = self.lookup(chrom, block - 1), self.lookup(chrom, block + 1)
        crosses = ((pos - half < start) & (left != UNOCCUPIED) & (left != own)) | \
                  ((pos + half > end) & (right != UNOCCUPIED) & (right != own))
        return own, crosses


def subsample(keys: np.ndarray, pos: np.ndarray, strand: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Keep mask for a deterministic ``fraction`` of sites (a site's fate depends only on seed and site)."""
    if fraction >= 1.0:
        return np.ones(pos.size, dtype=bool)
    return uniform(seed, _SALT_SAMPLE, keys, pos * 2 + (strand < 0)) < fraction
