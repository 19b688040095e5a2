"""Mutagenesis of an lr model by difference: a single-base change alters only the k-mers that cover the base.

``kmer_logits`` scores a window as one gather per position of the folded ``kmax``-mer table (models/lr.py). A
mutant at column c changes only the ``kmax``-mer ids that start at c - kmax + 1 … c (one base-5 digit each), so
its weighted sum moves by the table's difference at those ≤ kmax ids: 4 × length × kmax gathers per site instead
of ~3 × length mutants × length gathers. For ``l2`` scaling the norm of the k-mer counts changes too: for each k,
the ≤ k k-mers covering c leave and ≤ k new ones arrive, so sum(count²) moves by 2·Σ count·d + Σ d² with d the
count changes (the site's own counts looked up once, equal k-mers among the changed ones paired exactly). Equal
to scoring every mutant (``ism``) to float64 rounding (~1e-12).
"""

from __future__ import annotations

import numpy as np

from ..models.lr import _first_n, _folded_table, _squared_counts, n_features
from ..sequence import base_codes


def lr_deltas(scorer, inputs: np.ndarray, context_id: np.ndarray | None,
              mutant_context: np.ndarray | None) -> np.ndarray:
    """logit(mutant) − logit(reference), float64 (n, length, 4), of every base at every column (the reference's own
    base included: its entry is meaningless, ``ism`` zeroes it). ``mutant_context``: (n, length, 4) context ids
    of the mutants (None without site context)."""
    r = scorer.recipe
    kmax, coef, intercept = r.kmax, scorer.coef, scorer.intercept
    codes = base_codes(inputs).astype(np.int64)
    n, length = codes.shape
    nf = n_features(kmax, site_context=False)
    table = _folded_table(coef[:nf].tobytes(), length, kmax, r.lr_scaling)
    padded = np.concatenate([codes, np.full((n, kmax - 1), 4, dtype=np.int64)], axis=1)
    ids = padded[:, :length].copy()
    for j in range(1, kmax):
        ids = ids * 5 + padded[:, j:j + length]
    weighted = table[ids].sum(axis=1)
    bases = np.arange(4)
    change = bases[None, None, :] - codes[:, :, None]  # (n, length, 4): new digit − old digit at each column
    d_weighted = np.zeros((n, length, 4))
    new_ids = []  # per j: the kmax-mer starting j before the column, mutated, (n, length - j, 4)
    for j in range(kmax):
        old = ids[:, :length - j]
        new = old[:, :, None] + change[:, j:, :] * 5 ** (kmax - 1 - j)
        d_weighted[:, j:, :] += table[new] - table[old][:, :, None]
        new_ids.append(new)
    total = np.full(n, float(intercept))
    mut_total = np.full((n, length, 4), float(intercept))
    if context_id is not None:
        total += coef[nf + context_id]
        mut_total += coef[nf + mutant_context]
    if r.lr_scaling != "l2":
        return (mut_total + (weighted[:, None, None] + d_weighted)) - (total + weighted)[:, None, None]
    squares = _squared_counts(ids, kmax)
    d_squares = _d_squared_counts(ids, new_ids, kmax)
    ref = total + weighted / np.sqrt(np.maximum(squares, 1))
    mut = mut_total + (weighted[:, None, None] + d_weighted) / np.sqrt(
        np.maximum(squares[:, None, None] + d_squares, 1))
    return mut - ref[:, None, None]


def _d_squared_counts(ids: np.ndarray, new_ids: list[np.ndarray], kmax: int) -> np.ndarray:
    """Per mutant (n, length, 4), the change of Σ_k Σ_kmer count² (see the module docstring)."""
    n, length = ids.shape
    first_n = _first_n(kmax)
    out = np.zeros((n, length, 4))
    rows = np.arange(n)[:, None]
    for k in range(1, kmax + 1):
        scale = 5 ** (kmax - k)
        prefix = ids // scale
        keyed = np.sort(prefix + rows * 5**k, axis=1).ravel()  # each row's k-prefixes, sorted, rows apart

        def count(keys: np.ndarray, row: np.ndarray, keyed: np.ndarray = keyed, k: int = k) -> np.ndarray:
            key = keys + row * 5**k
            return np.searchsorted(keyed, key, side="right") - np.searchsorted(keyed, key, side="left")

        # the k-mers covering column c start at c - j for j < k: old (n, length, k) and new (n, length, 4, k)
        old_key = np.full((n, length, k), -1, dtype=np.int64)
        new_key = np.full((n, length, 4, k), -1, dtype=np.int64)
        for j in range(k):
            old = ids[:, :length - j]
            new = new_ids[j]
            old_key[:, j:, j] = np.where(first_n[old] >= k, old // scale, -1)
            new_key[:, j:, :, j] = np.where(first_n[new] >= k, new // scale, -1)
        row3 = np.broadcast_to(np.arange(n)[:, None, None], old_key.shape)
        old_count = np.where(old_key >= 0, count(np.maximum(old_key, 0), row3), 0)
        new_count = np.where(new_key >= 0, count(np.maximum(new_key, 0), row3[:, :, None, :]), 0)
        cross = 2.0 * (new_count.sum(-1) - old_count.sum(-1)[:, :, None])
        # Σ d²: every pair of changed k-mers that are equal, signed (+ new, − old); invalid ones pair with nothing
        entries = np.concatenate([np.broadcast_to(old_key[:, :, None, :], new_key.shape), new_key], axis=-1)
        sign = np.concatenate([-np.ones(k), np.ones(k)])
        valid = entries >= 0
        equal = (entries[..., :, None] == entries[..., None, :]) & valid[..., :, None] & valid[..., None, :]
        out += cross + np.einsum("...xy,x,y->...", equal.astype(np.float64), sign, sign)
    return out
