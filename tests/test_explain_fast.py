"""explain --method fast (issue 21): lr mutants by difference (only the k-mers covering the changed base) equal
scoring every mutant, for both scalings, with and without site context (its CG→CHG changes included), N bases,
repeats among the changed k-mers and inputs shorter than kmax; the l2 norm's change equals recounting exactly."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from conftest import scramble_batchnorm

from dnactx.explain.fast_lr import squared_count_changes
from dnactx.explain.mutagenesis import ism
from dnactx.inference import LrScorer, Recipe, TorchScorer
from dnactx.models.cnn import CNN
from dnactx.models.lr import n_features


def lr_inputs(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Random codes (N = 4) with the cases the norm update must pair exactly: runs and short periods (equal k-mers
    among the changed ones), Ns next to each other, at every third column and at the window's ends."""
    codes = rng.choice(5, size=(n, length), p=[.3, .2, .2, .25, .05])
    codes[0, :length // 2] = 0
    codes[1] = np.tile([0, 1], length)[:length]
    codes[2] = np.tile([2, 2, 3], length)[:length]
    codes[3, ::3] = 4
    codes[4, :2] = codes[4, -2:] = 4
    return codes


@pytest.mark.parametrize("length", [41, 13, 7, 6, 5, 2, 1])
def test_squared_count_changes_equal_recounting(length) -> None:
    kmax = 6

    def squared_counts(row: list[int]) -> int:
        return sum(v * v for k in range(1, kmax + 1)
                   for v in Counter(tuple(row[i:i + k]) for i in range(len(row) - k + 1)
                                    if 4 not in row[i:i + k]).values())

    codes = lr_inputs(np.random.default_rng(length), 6, length)
    padded = np.concatenate([codes, np.full((6, kmax - 1), 4)], axis=1)
    ids = padded[:, :length].copy()
    for j in range(1, kmax):
        ids = ids * 5 + padded[:, j:j + length]
    squares, changes = squared_count_changes(codes, ids, np.arange(4)[None, None] - codes[:, :, None], kmax)
    for i, row in enumerate(codes.tolist()):
        assert squares[i] == squared_counts(row)
        for column in range(length):
            for base in range(4):
                if base != row[column]:
                    mutant = row[:column] + [base] + row[column + 1:]
                    assert changes[i, column, base] == squared_counts(mutant) - squares[i], (i, column, base)


@pytest.mark.parametrize("scaling", ["frequency", "l2"])
@pytest.mark.parametrize("site_context", [True, False])
@pytest.mark.parametrize("mode,size", [("both", 20), ("down", 60), ("up", 3), ("both", 1)])
def test_fast_lr_mutagenesis_equals_scoring_every_mutant(scaling, site_context, mode, size) -> None:
    rng = np.random.default_rng(7)
    recipe = Recipe(family="lr", model="lr", window=120, size=size, mode=mode, site_context=site_context,
                    lr_scaling=scaling, kmax=5)
    scorer = LrScorer(recipe, rng.normal(size=n_features(5, site_context)), 0.3)
    inputs = np.frombuffer(b"ACGTN", np.uint8)[lr_inputs(rng, 6, recipe.length)].copy()
    inputs[:, recipe.center] = ord("C")
    if recipe.center + 1 < recipe.length:
        inputs[5, recipe.center + 1] = ord("G")  # a CG whose G mutates to CHG
    context = rng.integers(0, 3, 6) if site_context else None
    trinuc = np.full((6, 3), ord("A"), np.uint8)
    tail = inputs[:, recipe.center:recipe.center + 3]
    trinuc[:, :tail.shape[1]] = tail
    fast = ism(scorer, inputs, context, trinuc, method="fast")
    plain = ism(scorer, inputs, context, trinuc, method="plain")
    np.testing.assert_allclose(fast.delta, plain.delta, rtol=0, atol=1e-12)
    assert np.abs(plain.delta).max() > 1e-3
    np.testing.assert_array_equal(fast.alternative, plain.alternative)


def random_cnn_scorer(mode: str, size: int, site_context: bool, seed: int) -> TorchScorer:
    """A random cnn with BatchNorm statistics far from the identity, logits spread over a few units."""
    recipe = Recipe(family="cnn", model="cnn", window=2 * size + 20, size=size, mode=mode, site_context=site_context,
                    cnn_channels=(16, 24))
    torch.manual_seed(seed)
    model = CNN(center=recipe.center, site_context=site_context, channels=16, channels2=24).eval()
    scramble_batchnorm(model)
    with torch.no_grad():
        model.head.net[-1].weight.mul_(10)
    return TorchScorer(recipe, model, forward=model.fused(), device="cpu")


# (mode, size): input lengths 61 (both), 33 (up: the C last), 46 (down: the C first, a pooling tail of 2), 5
CNN_CUTS = [("both", 30), ("up", 32), ("down", 45), ("both", 2)]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("site_context", [True, False])
@pytest.mark.parametrize("mode,size", CNN_CUTS)
def test_fast_cnn_mutagenesis_equals_scoring_every_mutant(mode, size, site_context, seed) -> None:
    rng = np.random.default_rng(seed)
    scorer = random_cnn_scorer(mode, size, site_context, seed)
    n, length, c = 6, scorer.recipe.length, scorer.recipe.center
    inputs = np.frombuffer(b"ACGTN", np.uint8)[rng.choice(5, size=(n, length), p=[.3, .2, .2, .25, .05])].copy()
    inputs[:, c] = ord("C")
    if c + 1 < length:
        inputs[1, c + 1] = ord("G")  # a CG whose G mutates to CHG
    context = rng.integers(0, 3, n) if site_context else None
    windows = np.full((n, 3), ord("A"), np.uint8)
    tail = inputs[:, c:c + 3]
    windows[:, :tail.shape[1]] = tail
    fast = ism(scorer, inputs, context, windows, method="fast", chunk_rows=3 * length * 4)  # 4 sites a chunk
    plain = ism(scorer, inputs, context, windows, method="plain")
    np.testing.assert_allclose(fast.delta, plain.delta, rtol=0, atol=1e-5)
    assert np.abs(plain.delta).max() > 0.02  # far above the tolerance
    np.testing.assert_array_equal(fast.alternative, plain.alternative)


@pytest.mark.parametrize("site_context", [True, False])
def test_fast_cnn_mutagenesis_with_ties_dead_channels_and_small_blocks(site_context) -> None:
    """Runs and period-4 repeats (ties within a pooled block and among conv2's maxima over the input), conv1 and
    conv2 channels negative everywhere (pooled blocks and conv2 outputs all 0 after ReLU, whatever the change),
    and mutants computed a few at a time (blocks that end inside a site)."""
    from dnactx.explain.fast_cnn import CnnDeltas
    from dnactx.explain.mutagenesis import mutant_contexts, mutant_index
    from dnactx.tokenize import base_codes

    scorer = random_cnn_scorer("both", 30, site_context, seed=4)
    model = scorer.model
    with torch.no_grad():
        model.conv1[1].bias[:4] = -100.0
        model.conv2[2].bias[:5] = -100.0
    scorer = TorchScorer(scorer.recipe, model, forward=model.fused(), device="cpu")
    length, c = scorer.recipe.length, scorer.recipe.center
    rng = np.random.default_rng(4)
    inputs = np.stack([np.frombuffer((b"ACGT" * length)[:length], np.uint8),
                       np.full(length, ord("A"), np.uint8),
                       np.frombuffer((b"AAAAAAAACCCCCCCCGGGGTTTTNNNN" * length)[:length], np.uint8),
                       np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, length)]])
    inputs[:, c] = ord("C")
    z1 = model.fused().conv1[0](model.onehot[torch.from_numpy(base_codes(inputs)).long()].transpose(1, 2))
    assert (z1[:, :4] < 0).all() and (z1[:, 4:] > 0).any()  # dead channels next to live ones
    context = rng.integers(0, 3, len(inputs)) if site_context else None
    trinuc = inputs[:, c:c + 3]
    fast = ism(scorer, inputs, context, trinuc, method="fast")
    plain = ism(scorer, inputs, context, trinuc, method="plain")
    np.testing.assert_allclose(fast.delta, plain.delta, rtol=0, atol=1e-5)
    assert np.abs(plain.delta).max() > 0.02

    site, column, base = mutant_index(inputs)
    mutant_ctx = None if context is None else mutant_contexts(context, trinuc, site, column - c, base)
    small = CnnDeltas(model, torch.device("cpu"), block=7).deltas(base_codes(inputs), site, column, base, context,
                                                                  mutant_ctx)
    np.testing.assert_allclose(small, plain.delta[site, column, base], rtol=0, atol=1e-5)
