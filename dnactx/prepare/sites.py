"""Genome lookups per site on one chromosome, vectorised: strand from the reference base, trinucleotide,
context, cross-checks. ``seq`` is a padded chromosome in upper-case A/C/G/T/N (``windows.Stranded.seq``);
``idx`` the index of each site's C in it."""

from __future__ import annotations

import numpy as np

from ..sequence import COMPLEMENT

C, G, N = ord("C"), ord("G"), ord("N")
_H = np.zeros(256, dtype=bool)
_H[[ord("A"), ord("C"), ord("T")]] = True
UNDETERMINED = -1


def reference_strand(seq: np.ndarray, idx: np.ndarray, strand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(strand, agrees): strand from the reference base where the file has none (C → +, G → −), and whether
    the reference has a C on the site's strand (a C on +, a G on −)."""
    base = seq[idx]
    derived = np.where(base == C, 1, np.where(base == G, -1, 0)).astype(np.int8)
    strand = np.where(strand == 0, derived, strand).astype(np.int8)
    agrees = ((strand == 1) & (base == C)) | ((strand == -1) & (base == G))
    return strand, agrees


def site_bases(seq: np.ndarray, idx: np.ndarray, strand: np.ndarray, k: int = 3) -> np.ndarray:
    """(n, k) uint8: the k upper-case bases from the cytosine 5'→3' on its own strand (needs padding ≥ k - 1)."""
    step = np.where(strand < 0, -1, 1)[:, None]
    out = seq[idx[:, None] + step * np.arange(k)[None, :]]
    minus = strand < 0
    out[minus] = COMPLEMENT[out[minus]]
    return out


def context_codes(tri: np.ndarray) -> np.ndarray:
    """CG (0) when the next base is G; CHG (1) when it is A/C/T and the one after is G; CHH (2) when both are
    A/C/T; UNDETERMINED (-1) when an N decides it (chromosome ends, gaps)."""
    b1, b2 = tri[:, 1], tri[:, 2]
    h1 = _H[b1]
    out = np.full(tri.shape[0], UNDETERMINED, dtype=np.int8)
    out[b1 == G] = 0
    out[h1 & (b2 == G)] = 1
    out[h1 & _H[b2]] = 2
    return out


def motif_disagrees(motif: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Rows where the file's bases and the genome's differ at a position both know (neither is N)."""
    return np.any((motif != N) & (tri != N) & (motif != tri), axis=1)


def shift_hits(seq: np.ndarray, idx: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """For sites with a stated strand: how many have the expected C/G at offsets -1, 0 and +1 bp, and how many
    were looked at, as a length-4 int64 array (hits at -1, 0, +1, total)."""
    known = strand != 0
    g, s = idx[known], strand[known]
    expect = np.where(s == 1, C, G)
    hits = [int(np.sum(seq[np.clip(g + k, 0, seq.size - 1)] == expect)) for k in (-1, 0, 1)]
    return np.array([*hits, g.size], dtype=np.int64)
