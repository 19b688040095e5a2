"""Mutagenesis of an lr model by difference: a single-base change alters only the k-mers that cover the base.

``kmer_logits`` scores a window as one gather per position of the folded ``kmax``-mer table (models/lr.py). A
mutant at column c changes only the ``kmax``-mer ids that start at c - kmax + 1 … c (one base-5 digit each), so
its weighted sum moves by the table's difference at those ≤ kmax ids: 4 × length × kmax gathers per site instead
of ~3 × length mutants × length gathers.

For ``l2`` scaling the norm of the k-mer counts changes too. For each k the ≤ k k-mers x_i covering c leave
(sign s_i = −1) and ≤ k arrive (+1), so Σ count² moves by Σ_i s_i (2 c(x_i) + d(x_i)), with c the site's own
counts and d(x_i) = Σ_j s_j [x_j = x_i] (equal k-mers among the changed ones). Exact integers throughout:

* Σ_i s_i c(x_i): the counts of the arriving k-mers are gathered from a dense table per k (base-5 ids, so a
  k-mer holding an N finds a zero); the leaving ones are the site's own k-mers, summed per column once.
* Σ_ij s_i s_j [x_i = x_j] without comparing k-mers pairwise: two changed k-mers starting p > 0 apart both
  contain column c, and are equal exactly when the bases p apart agree along them. With D_p(t) = [base t ≠ base
  t + p] (an N or a position outside the window agrees with nothing) and W(s) = Σ D_p over the k positions from
  s, the old k-mers at s and s + p are equal iff W(s) = 0; old at s and new at s + p iff W(s) = D_p(c − p) and
  base c − p is the new base; new at s and old at s + p iff W(s) = D_p(c) and base c + p is the new base; both new
  iff W(s) = D_p(c − p) + D_p(c) and both bases are the new one. So per column only the number of starts with
  W(s) = 0, 1 and 2 is needed (three small counts packed into one integer, summed over k and s at once), and the
  new base enters through two one-hot lookups per p. p = 0 with D_0 = [N] counts the valid k-mers (the diagonal).

Equal to scoring every mutant (``ism``) to float64 rounding (~1e-12); the integer part is exact.
"""

from __future__ import annotations

import numpy as np

from ..models.lr import _first_n, _folded_table, n_features
from ..sequence import base_codes

_BITS = 8  # per packed count: a column has at most 1 + 2 + … + kmax starts with a given W
_MASK = (1 << _BITS) - 1


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
    change = np.arange(4)[None, None, :] - codes[:, :, None]  # (n, length, 4): new digit − old digit at each column
    d_weighted = np.zeros((n, length, 4))
    for j in range(min(kmax, length)):
        old = ids[:, :length - j]
        d_weighted[:, j:, :] += table[old[:, :, None] + change[:, j:, :] * 5 ** (kmax - 1 - j)] - table[old][:, :, None]
    total = np.full(n, float(intercept))
    mut_total = np.full((n, length, 4), float(intercept))
    if context_id is not None:
        total += coef[nf + context_id]
        mut_total += coef[nf + mutant_context]
    if r.lr_scaling != "l2":
        return (mut_total + (weighted[:, None, None] + d_weighted)) - (total + weighted)[:, None, None]
    squares, d_squares = squared_count_changes(codes, ids, change, kmax)
    ref = total + weighted / np.sqrt(np.maximum(squares, 1))
    mut = mut_total + (weighted[:, None, None] + d_weighted) / np.sqrt(
        np.maximum(squares[:, None, None] + d_squares, 1))
    return mut - ref[:, None, None]


def squared_count_changes(codes: np.ndarray, ids: np.ndarray, change: np.ndarray,
                          kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Σ_k Σ_kmer count² of each site (int64 (n,)) and its change by each mutant (int32 (n, length, 4)); see the
    module docstring. ``codes``: (n, length) base codes (N = 4); ``ids``: their base-5 ``kmax``-mer ids as in
    :func:`lr_deltas`; ``change``: new base − old base per column and base."""
    n, length = codes.shape
    steps = [(change * 5**e).astype(np.int64) for e in range(kmax)]
    valid_for = _first_n(kmax)[ids]  # how many leading bases of the kmax-mer at each start hold no N
    squares = np.zeros(n, dtype=np.int64)
    arriving = np.zeros((n, length, 4), dtype=np.int32)
    leaving = np.zeros((n, length), dtype=np.int32)
    suffix = np.zeros((n, length), dtype=np.int32)  # Σ over k' ≥ k of the count of the k'-mer at each start
    for k in range(kmax, 0, -1):
        size = 5**k
        kmer = ids // 5 ** (kmax - k) + (np.arange(n, dtype=np.int64) * size)[:, None]
        counted = np.where(valid_for >= k, kmer, n * size)  # invalid k-mers go to one spare entry, zeroed
        counts = np.bincount(counted.ravel(), minlength=n * size + 1).astype(np.int32)
        counts[-1] = 0
        own = counts[counted]
        squares += own.sum(axis=1)
        suffix += own
        if k <= length:
            leaving[:, k - 1:] += suffix[:, :length - k + 1]  # the k-mers starting k - 1 before the column
        for j in range(min(k, length)):  # the new k-mer starting j before the column
            arriving[:, j:] += counts[kmer[:, :length - j, None] + steps[k - 1 - j][:, j:]]
    return squares, 2 * (arriving - leaving[:, :, None]) + _pair_terms(codes, kmax)


def _pair_terms(codes: np.ndarray, kmax: int) -> np.ndarray:
    """Σ_ij s_i s_j [x_i = x_j] over the changed k-mers of each mutant, all k (int32 (n, length, 4))."""
    if kmax * (kmax + 1) // 2 > _MASK:
        raise ValueError(f"kmax {kmax}: the packed counts hold at most {_MASK} starts")
    n, length = codes.shape
    left = kmax  # margins wide enough for every start and shift: outside the window agrees with nothing
    width = left + length + 2 * kmax
    bases = np.arange(5, 5 + width, dtype=np.int32)[None, :].repeat(n, axis=0)  # each N and margin unique
    inside = bases[:, left:left + length]
    inside[...] = np.where(codes < 4, codes, inside)
    onehot = (bases[:, :, None] == np.arange(4, dtype=np.int32)).astype(np.int32)
    pack = np.zeros(kmax + 1, dtype=np.int32)
    pack[:3] = 1 << (_BITS * np.arange(3))
    span = left + length  # starts from -kmax to length - 1
    diagonal = np.zeros((n, length), dtype=np.int32)
    pairs = np.zeros((n, length, 4), dtype=np.int32)
    for p in range(kmax):
        differs = bases >= 5 if p == 0 else bases[:, :-p] != bases[:, p:]
        cum = np.zeros((n, differs.shape[1] + 1), dtype=np.int32)
        np.cumsum(differs, axis=1, out=cum[:, 1:])
        # packed(c) = Σ_k Σ_{s = c-k+1 … c-p} pack[W(s)]: summed over k first (suffix), then one shifted add per k
        suffix = np.zeros((n, span), dtype=np.int32)
        packed = np.zeros((n, length), dtype=np.int32)
        for k in range(kmax, p, -1):
            suffix += pack[cum[:, k:k + span] - cum[:, :span]]
            packed += suffix[:, left - k + 1:left - k + 1 + length]
        if p == 0:  # valid old k-mers (no N) and valid new ones (no N but the changed base)
            at = differs[:, left:left + length]
            diagonal += (packed & _MASK) + ((packed >> (_BITS * at)) & _MASK)
            continue
        before = differs[:, left - p:left - p + length].astype(np.int32)
        at = differs[:, left:left + length].astype(np.int32)
        diagonal += 2 * (packed & _MASK)  # old-old pairs, both orders
        old_new = ((packed >> (_BITS * before)) & _MASK)[:, :, None]
        new_old = ((packed >> (_BITS * at)) & _MASK)[:, :, None]
        new_new = ((packed >> (_BITS * (before + at))) & _MASK)[:, :, None]
        is_before, is_after = onehot[:, left - p:left - p + length], onehot[:, left + p:left + p + length]
        pairs += 2 * (is_before * (is_after * new_new - old_new) - is_after * new_old)
    return pairs + diagonal[:, :, None]
