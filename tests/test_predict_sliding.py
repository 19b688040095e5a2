"""predict --method sliding (issue 21): a cnn convolved once per chromosome stretch scores every site as the
per-window path does (to 1e-5), on both strands, at chromosome ends and N runs, for up/down/both cuts of several
window sizes and random weights; on real A. thaliana sequence and on synthetic sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import REAL_FASTA, scramble_batchnorm

from dnactx.errors import DnactxError
from dnactx.inference import Recipe, TorchScorer
from dnactx.io.formats import CONTEXTS
from dnactx.models.cnn import CNN
from dnactx.models.sliding import slice_features
from dnactx.predict.options import PredictOptions
from dnactx.predict.score import score_sites
from dnactx.predict.sites import cytosines
from dnactx.prepare.windows import Stranded, window_pad

# (window, size, mode, site_context): input lengths 201, 151 (down), 101 (up), 64 and 67 (odd pooling tails)
CUTS = [(400, 100, "both", True), (300, 150, "down", False), (200, 100, "up", True), (200, 63, "up", False),
        (200, 66, "down", True)]


def cnn_scorer(window: int, size: int, mode: str, site_context: bool, seed: int) -> TorchScorer:
    """A random cnn with BatchNorm statistics far from the identity, as after training."""
    recipe = Recipe(family="cnn", model="cnn", window=window, size=size, mode=mode, site_context=site_context,
                    cnn_channels=(16, 24))
    torch.manual_seed(seed)
    model = CNN(center=recipe.center, site_context=site_context, channels=16, channels2=24).eval()
    scramble_batchnorm(model)
    with torch.no_grad():
        # logits spread over several units around 0, so that 1e-5 in probability is strict everywhere
        model.head.net[-1].weight.mul_(10)
        batch = {"codes": torch.randint(0, 4, (256, recipe.length)), "context_id": torch.randint(0, 3, (256,))}
        model.head.net[-1].bias.sub_(model(batch).median())
    return TorchScorer(recipe, model, forward=model.fused(), device="cpu")


def stranded(bases: bytes, window: int) -> Stranded:
    """A chromosome of ``bases`` padded with N for ``window``, as load_chromosome holds one."""
    pad = window_pad(window)
    raw = np.frombuffer(b"N" * pad + bases + b"N" * pad, dtype=np.uint8)
    buffer = np.empty(2 * raw.size, dtype=np.uint8)
    buffer[:raw.size] = raw
    return Stranded(buffer[:raw.size], buffer, pad=pad)


def assert_sliding_equals_windows(bases: bytes, seed: int) -> None:
    for window, size, mode, site_context in CUTS:
        scorer = cnn_scorer(window, size, mode, site_context, seed)
        chrom = stranded(bases, window)
        pos, strand, ctx = cytosines(chrom, 0, len(bases), CONTEXTS)
        assert (strand > 0).any() and (strand < 0).any()
        windows = score_sites(scorer, chrom, pos, strand, ctx, "windows")
        sliding = score_sites(scorer, chrom, pos, strand, ctx, "sliding")
        np.testing.assert_allclose(sliding, windows, rtol=0, atol=1e-5, err_msg=f"{window} {size} {mode} {seed}")
        assert windows.std() > 2e-3 and 0.05 < np.median(windows) < 0.95  # not one score, not saturated


def with_n_runs(bases: bytes) -> bytes:
    """N runs near the start, in the middle and 3 bp from the end, so windows end on and straddle them."""
    arr = bytearray(bases)
    for start, length in ((150, 40), (len(arr) // 2, 500), (len(arr) - 30, 27)):
        arr[start:start + length] = b"N" * length
    return bytes(arr)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sliding_scores_synthetic_sequence_as_the_per_window_path(seed) -> None:
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, 4_000)].tobytes()
    assert_sliding_equals_windows(with_n_runs(bases), seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sliding_scores_real_arabidopsis_sequence_as_the_per_window_path(shared_data, seed) -> None:
    from dnactx.io.fasta import FastaGenome

    genome = FastaGenome(REAL_FASTA)
    start = 200_000 + 50_000 * seed
    bases = genome.region(genome.names[0], start, start + 5_000).tobytes().upper()
    assert_sliding_equals_windows(with_n_runs(bases), seed)


def test_features_from_shared_maps_equal_encode_at_every_start() -> None:
    """Every start of a stretch (all four pooling phases, both ends), the unfused module too."""
    scorer = cnn_scorer(200, 40, "both", False, 3)
    length = scorer.recipe.length
    codes = torch.randint(0, 5, (600,))
    starts = torch.arange(0, 600 - length + 1)
    for module in (scorer.model, scorer.forward):
        with torch.inference_mode():
            expected = module.encode(codes[starts[:, None] + torch.arange(length)])
            torch.testing.assert_close(slice_features(module, codes, starts, length), expected, rtol=0, atol=2e-5)


def test_sparse_and_unsorted_starts_score_as_the_per_window_path() -> None:
    """Starts far apart (scored input by input) and close together, in any order, in one call."""
    scorer = cnn_scorer(200, 100, "both", True, 4)
    rng = np.random.default_rng(4)
    seq = np.frombuffer(b"ACGTN", dtype=np.uint8)[rng.integers(0, 5, 300_000)]
    starts = np.concatenate([rng.integers(0, 1000, 300), rng.integers(0, seq.size - 201, 40)])
    ctx = rng.integers(0, 3, starts.size)
    rng.shuffle(starts)
    np.testing.assert_allclose(scorer.probs_along(seq, starts, ctx),
                               scorer.probs_along(seq, starts, ctx, sliding=False), rtol=0, atol=1e-5)


def test_method_defaults_to_sliding_for_a_cnn_and_refuses_it_elsewhere(tmp_path) -> None:
    options = PredictOptions(model="x", genome=tmp_path / "g.fa", out=tmp_path / "o")
    assert options.scoring_method(True, "cnn") == "sliding"
    assert options.scoring_method(False, "lr") == "windows"
    options.method = "sliding"
    with pytest.raises(DnactxError, match="--method sliding needs a cnn"):
        options.scoring_method(False, "transformer")
    options.method = "windows"
    assert options.scoring_method(True, "cnn") == "windows"
    assert not cnn_scorer(200, 20, "both", False, 0).slides  # a 41-bp input is too short to share


def test_unknown_method_is_refused_before_any_work(tmp_path) -> None:
    genome = tmp_path / "g.fa"
    genome.write_text(">c\nACGT\n")
    with pytest.raises(DnactxError, match="--method must be one of sliding, windows"):
        PredictOptions(model="x", genome=genome, out=tmp_path / "o", method="fast").validate()


@pytest.mark.parametrize("window,size,mode,site_context", CUTS)
def test_features_at_a_stretch_end_equal_encode_for_every_input_length(window, size, mode, site_context) -> None:
    """Inputs ending at the stretch's last base, for each pooling tail: their ends are corrected against maps that
    must reach past them."""
    scorer = cnn_scorer(window, size, mode, site_context, 5)
    length = scorer.recipe.length
    codes = torch.randint(0, 4, (length + 40,), generator=torch.Generator().manual_seed(5))
    starts = torch.arange(0, 41)
    with torch.inference_mode():
        expected = scorer.forward.encode(codes[starts[:, None] + torch.arange(length)])
        torch.testing.assert_close(slice_features(scorer.forward, codes, starts, length), expected, rtol=0,
                                   atol=5e-6)


def test_sliding_under_bf16_precision_computes_its_features_in_float32() -> None:
    """--precision bf16: the sliding path's maps stay float32 (its end corrections subtract nearly equal values), so
    it lands where float32 does, up to the head's bf16 rounding; the windows path under bf16 is as far off."""
    exact = cnn_scorer(400, 100, "both", True, 0)
    bf16 = TorchScorer(exact.recipe, exact.model, forward=exact.model.fused(), device="cpu", precision="bf16")
    rng = np.random.default_rng(0)
    seq = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, 50_000)]
    starts, ctx = rng.integers(0, seq.size - 201, 3000), rng.integers(0, 3, 3000)
    reference = exact.probs_along(seq, starts, ctx, sliding=False)
    sliding, windows = bf16.probs_along(seq, starts, ctx), bf16.probs_along(seq, starts, ctx, sliding=False)
    assert np.abs(sliding - reference).max() < 0.03 and np.abs(windows - reference).max() < 0.03
    assert np.abs(sliding - reference).mean() <= np.abs(windows - reference).mean() + 1e-3
