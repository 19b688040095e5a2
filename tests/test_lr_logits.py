"""lr scores without a feature matrix (models.lr.kmer_logits, the folded k-mer table and the sorted-run l2 norm)
equal the k-mer features times the coefficients, for N anywhere, windows shorter than kmax and both scalings."""

from __future__ import annotations

import numpy as np
import pytest

from dnactx.models.lr import KMAX, kmer_features, kmer_logits, n_features


@pytest.mark.parametrize("scaling", ["frequency", "l2"])
@pytest.mark.parametrize("length", [401, 41, 6, 5, 2, 1])
def test_kmer_logits_equal_features_times_coefficients(scaling: str, length: int) -> None:
    rng = np.random.default_rng(length)
    bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (300, length))].copy()
    bases[rng.random(bases.shape) < 0.02] = ord("N")  # scattered Ns
    bases[0, :] = ord("N")  # a window of N only
    bases[1, : length // 2] = ord("N")  # a run of N at the start
    bases[2] = bases[2, :1]  # one base repeated: the largest counts
    context = rng.integers(0, 3, 300)
    coef = rng.normal(size=n_features(KMAX, True))
    expected = kmer_features(bases, context, scaling=scaling, dtype=np.float64) @ coef + 0.25
    got = kmer_logits(bases, context, coef, 0.25, scaling=scaling)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    no_context = kmer_features(bases, None, scaling=scaling, dtype=np.float64) @ coef[:-3] - 1.0
    np.testing.assert_allclose(kmer_logits(bases, None, coef[:-3], -1.0, scaling=scaling), no_context, atol=1e-12)
