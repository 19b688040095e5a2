"""explain --method fast (issue 21): lr mutants by difference (only the k-mers covering the changed base) equal
scoring every mutant, for both scalings, with and without site context (its CG→CHG changes included), N bases and
repeats among the changed k-mers."""

from __future__ import annotations

import numpy as np
import pytest

from dnactx.explain.mutagenesis import ism
from dnactx.inference import LrScorer, Recipe
from dnactx.models.lr import n_features


@pytest.mark.parametrize("scaling", ["frequency", "l2"])
@pytest.mark.parametrize("site_context", [True, False])
@pytest.mark.parametrize("mode", ["both", "down"])
def test_fast_lr_mutagenesis_equals_scoring_every_mutant(scaling, site_context, mode) -> None:
    rng = np.random.default_rng(7)
    recipe = Recipe(family="lr", model="lr", window=120, size=40, mode=mode, site_context=site_context,
                    lr_scaling=scaling, kmax=5)
    scorer = LrScorer(recipe, rng.normal(size=n_features(5, site_context)), 0.3)
    inputs = np.frombuffer(b"ACGTN", np.uint8)[rng.choice(5, size=(5, recipe.length), p=[.3, .2, .2, .25, .05])]
    inputs = inputs.copy()
    inputs[0, :15] = ord("A")  # a run: equal k-mers leave and arrive together
    inputs[:, recipe.center] = ord("C")
    inputs[1, recipe.center + 1] = ord("G")  # a CG whose G mutates to CHG
    context = rng.integers(0, 3, 5) if site_context else None
    trinuc = inputs[:, recipe.center:recipe.center + 3]
    fast = ism(scorer, inputs, context, trinuc, method="fast")
    plain = ism(scorer, inputs, context, trinuc, method="plain")
    np.testing.assert_allclose(fast.delta, plain.delta, rtol=0, atol=1e-6)
    assert np.abs(plain.delta).max() > 1e-3
    np.testing.assert_array_equal(fast.alternative, plain.alternative)
