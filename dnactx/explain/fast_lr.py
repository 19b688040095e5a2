"""Mutagenesis of an lr model by difference: a single-base change alters only the k-mers that cover the base.

``kmer_logits`` scores a window as one gather per position of the folded ``kmax``-mer table (models/lr.py). A
mutant at column c changes only the ``kmax``-mer ids that start at c - kmax + 1 … c (one base-5 digit each), so
its weighted sum moves by the table's difference at those ≤ kmax ids: 4 × length × kmax gathers per site instead
of ~3 × length mutants × length gathers. For ``l2`` scaling the norm of the k-mer counts changes too: for each k,
the ≤ k k-mers covering c leave and ≤ k new ones arrive, so sum(count²) moves by 2·Σ count·d + Σ d² with d the
count changes (the site's own counts gathered from a dense table per k, equal k-mers among the changed ones paired
exactly). Equal to scoring every mutant (``ism``) to float64 rounding (~1e-12).
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
    """Per mutant (n, length, 4), the change of Σ_k Σ_kmer count² (see the module docstring).

    For each k, the ≤ 2k changed k-mers x_i (the old ones covering the column, sign s_i = −1, and the new ones,
    +1) move the sum by Σ_x d_x (2 c_x + d_x) = Σ_i s_i (2 c(x_i) + d(x_i)), with c the site's counts (one dense
    table per k, looked up by gather) and d(x_i) = Σ_j s_j [x_j = x_i] (equal k-mers among the changed ones: a
    (2k × 2k) comparison, for the old ones once per column rather than per base)."""
    n, length = ids.shape
    first_n = _first_n(kmax)
    out = np.zeros((n, length, 4))
    row = np.arange(n)[:, None, None]
    valid_old_all = first_n[ids]
    valid_new_all = [first_n[new] for new in new_ids]
    for k in range(1, kmax + 1):
        scale, size = 5 ** (kmax - k), 5 ** k
        prefix = ids // scale
        counts = np.bincount((np.arange(n)[:, None] * size + prefix)[valid_old_all >= k], minlength=n * size)
        # the k-mers covering column c start at c - j for j < k: old (n, length, k) and new (n, length, 4, k);
        # -1 - (a distinct number) where a k-mer holds an N or the column has no such start, so it pairs with none
        old_key = np.broadcast_to(-1 - np.arange(k, dtype=np.int64), (n, length, k)).copy()
        new_key = np.broadcast_to(-1 - k - np.arange(4 * k, dtype=np.int64).reshape(4, k), (n, length, 4, k)).copy()
        for j in range(k):
            old_key[:, j:, j] = np.where(valid_old_all[:, :length - j] >= k, prefix[:, :length - j], old_key[:, j:, j])
            new_key[:, j:, :, j] = np.where(valid_new_all[j] >= k, new_ids[j] // scale, new_key[:, j:, :, j])
        old_count = np.where(old_key >= 0, counts[row * size + np.maximum(old_key, 0)], 0)
        new_count = np.where(new_key >= 0, counts[row[..., None] * size + np.maximum(new_key, 0)], 0)
        # Σ_i s_i d(x_i) = Σ_ij s_i s_j [x_i = x_j]: old-old once per column, old-new and new-new per base
        # (an invalid entry equals only itself: its diagonal term is taken back)
        oo = (old_key[..., :, None] == old_key[..., None, :]).sum((-2, -1)) - (old_key < 0).sum(-1)
        on = (old_key[..., None, :, None] == new_key[..., None, :]).sum((-2, -1))
        nn = (new_key[..., :, None] == new_key[..., None, :]).sum((-2, -1)) - (new_key < 0).sum(-1)
        pairs = oo[..., None] - 2 * on + nn
        out += 2.0 * (new_count.sum(-1) - old_count.sum(-1)[..., None]) + pairs
    return out
