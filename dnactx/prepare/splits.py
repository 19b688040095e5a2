"""Deterministic train/val/test assignment by genomic block or chromosome, the leakage guard, subsampling.

Every draw is a hash of (seed, chromosome, block or position), so results do not depend on the order of the
calls file or on chunking.
"""

from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("train", "val", "test")
TRAIN, VAL, TEST = 0, 1, 2
_SALT_BLOCK = 0x5BD1E995
_SALT_SAMPLE = 0x27D4EB2F


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


def group_size(val_frac: float, test_frac: float) -> int:
    """Blocks per shuffled group: at least 20, and enough that the smaller fraction gets one block."""
    return int(min(1000, max(20, np.ceil(1.0 / min(val_frac, test_frac) - 1e-9))))


def block_splits(keys: np.ndarray, blocks: np.ndarray, seed: int, val_frac: float, test_frac: float) -> np.ndarray:
    """Split code of each (chromosome key, block index).

    Consecutive blocks form groups of :func:`group_size`; a seeded shuffle of each group gives test the first
    ``test_frac`` of its blocks and val the next ``val_frac``. So every stretch of the genome gets its share
    (a small genome never ends up with an empty split by bad luck), yet each block's fate depends only on
    (seed, chromosome, block index).
    """
    m = group_size(val_frac, test_frac)
    keys = np.asarray(keys, dtype=np.uint64)
    blocks = np.asarray(blocks, dtype=np.int64)
    members = (blocks // m * m)[:, None] + np.arange(m)[None, :]
    draws = uniform(seed, _SALT_BLOCK, np.repeat(keys, m), members.ravel()).reshape(-1, m)
    own = draws[np.arange(blocks.size), blocks % m]
    u = ((draws < own[:, None]).sum(axis=1) + 0.5) / m
    return np.where(u < test_frac, TEST, np.where(u < test_frac + val_frac, VAL, TRAIN)).astype(np.int8)


def assign_blocks(chrom: np.ndarray, pos: np.ndarray, keys: np.ndarray, lengths: np.ndarray, *, seed: int,
                  block_size: int, val_frac: float, test_frac: float, half: int) -> tuple[np.ndarray, np.ndarray]:
    """(split, crosses) per site, given its chromosome index and position and per-chromosome keys and lengths.

    ``crosses`` marks sites whose window [pos-half, pos+half] reaches into a neighbouring block of another
    split; dropping them leaves no window of one split overlapping a window of another.
    """
    block = (pos - 1) // block_size
    uniq, inverse = np.unique(chrom.astype(np.int64) * 2**40 + block, return_inverse=True)
    u_chrom, u_block = uniq // 2**40, uniq % 2**40
    u_key = keys[u_chrom]

    def splits(b: np.ndarray) -> np.ndarray:
        return block_splits(u_key, b, seed, val_frac, test_frac)

    own = splits(u_block)
    left_differs = (splits(np.maximum(u_block - 1, 0)) != own) & (u_block > 0)
    right_differs = splits(u_block + 1) != own
    inverse = inverse.ravel()
    split = own[inverse]
    start = block * block_size + 1
    end = start + block_size - 1
    left = (pos - half < start) & left_differs[inverse]
    right = (pos + half > end) & (end < lengths[chrom]) & right_differs[inverse]  # no neighbour past the end
    return split, left | right


def subsample(keys: np.ndarray, pos: np.ndarray, strand: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Keep mask for a deterministic ``fraction`` of sites (a site's fate depends only on seed and site)."""
    if fraction >= 1.0:
        return np.ones(pos.size, dtype=bool)
    return uniform(seed, _SALT_SAMPLE, keys, pos * 2 + (strand < 0)) < fraction
