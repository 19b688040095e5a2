"""dnactx.stats.bootstrap: exact weighted metrics, seeded stratified block draws, honest interval widths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from dnactx.errors import DnactxError
from dnactx.stats.bootstrap import (
    block_ids,
    block_summary,
    bootstrap_ci,
    draw_block_counts,
    observed,
    percentile_interval,
    resample_metrics,
    resampled,
)


@pytest.fixture
def tied_sites():
    """600 sites in 25 blocks, 6% positives, scores rounded to 2 decimals so many are tied across classes."""
    rng = np.random.default_rng(7)
    blocks = np.sort(rng.integers(0, 25, 600))
    y = (rng.random(600) < 0.06).astype(int)
    p = np.round(np.clip(rng.normal(0.3 + 0.25 * y, 0.2), 0, 1), 2)
    return y, p, blocks


def correlated_sites(seed: int = 0, n_blocks: int = 60, per_block: int = 300):
    """Sites whose methylation rate and score offset are shared within a block (block random effects)."""
    rng = np.random.default_rng(seed)
    blocks = np.repeat(np.arange(n_blocks), per_block)
    rate_effect = rng.normal(0, 1.5, n_blocks)[blocks]
    score_effect = rng.normal(0, 1.0, n_blocks)[blocks]
    signal = rng.normal(0, 1, blocks.size)
    y = (rng.random(blocks.size) < 1 / (1 + np.exp(-(-4.0 + rate_effect + 1.5 * signal)))).astype(int)
    p = 1 / (1 + np.exp(-(signal + score_effect + rng.normal(0, 1, blocks.size))))
    return y, p, blocks


def test_block_ids_group_sites_by_chromosome_and_10kb_bin():
    chrom = np.array(["chr2", "chr1", "chr1", "chr1", "chr2", "chr1"])
    pos = np.array([5, 1, 10_000, 10_001, 9_999, 25_000])
    ids = block_ids(chrom, pos)
    # chr1: 1 and 10,000 share block 1-10,000; 10,001 starts the next; 25,000 is the third; chr2 one block
    assert ids.tolist() == [3, 0, 0, 1, 3, 2]
    assert block_ids(chrom, pos, block_bp=1_000_000).tolist() == [1, 0, 0, 0, 1, 0]


def test_block_ids_refuse_zero_based_positions():
    with pytest.raises(DnactxError, match="1-based"):
        block_ids(np.array(["chr1"]), np.array([0]))


def test_weighted_auroc_ap_f1_equal_scikit_learn_with_sample_weight_and_ties(tied_sites):
    y, p, blocks = tied_sites
    counts = draw_block_counts(np.bincount(blocks, weights=y, minlength=25) > 0, 40, np.random.default_rng(0))
    got = resample_metrics(y, p, blocks, counts, threshold=0.5)
    for r in range(40):
        w = counts[r][blocks]
        assert got["auroc"][r] == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)
        assert got["auprc"][r] == pytest.approx(average_precision_score(y, p, sample_weight=w), abs=1e-12)
        assert got["f1"][r] == pytest.approx(f1_score(y, p >= 0.5, sample_weight=w), abs=1e-12)


def test_weights_of_zero_drop_sites_as_scikit_learn_does(tied_sites):
    y, p, blocks = tied_sites
    counts = np.ones((1, 25), dtype=int)
    counts[0, ::3] = 0
    counts[0, 1] = 4
    w = counts[0][blocks]
    got = resample_metrics(y, p, blocks, counts)
    assert got["auroc"][0] == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)
    assert got["auprc"][0] == pytest.approx(average_precision_score(y, p, sample_weight=w), abs=1e-12)


def test_per_site_thresholds_give_f1_of_the_per_site_calls(tied_sites):
    y, p, blocks = tied_sites
    thr = np.where(np.arange(y.size) % 2 == 0, 0.4, 0.6)
    counts = draw_block_counts(np.bincount(blocks, weights=y, minlength=25) > 0, 5, np.random.default_rng(1))
    got = resample_metrics(y, p, blocks, counts, threshold=thr)
    for r in range(5):
        assert got["f1"][r] == pytest.approx(f1_score(y, p >= thr, sample_weight=counts[r][blocks]), abs=1e-12)


def test_observed_metrics_are_the_unweighted_ones(tied_sites):
    y, p, _ = tied_sites
    (got,) = observed(y, [p], thresholds=[0.5])
    assert got["auroc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert got["auprc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert got["f1"] == pytest.approx(f1_score(y, p >= 0.5), abs=1e-12)


def test_same_seed_same_interval_other_seed_other_draws(tied_sites):
    y, p, blocks = tied_sites
    first = bootstrap_ci(y, p, blocks, n_resamples=200, seed=3)
    assert bootstrap_ci(y, p, blocks, n_resamples=200, seed=3) == first
    assert bootstrap_ci(y, p, blocks, n_resamples=200, seed=4)["auprc"] != first["auprc"]


def test_drawing_in_chunks_gives_the_rows_of_one_draw():
    has_pos = np.array([True, False, False, True, False])
    whole = draw_block_counts(has_pos, 10, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    chunks = np.vstack([draw_block_counts(has_pos, 4, rng), draw_block_counts(has_pos, 6, rng)])
    assert np.array_equal(whole, chunks)


def test_every_resample_keeps_its_positive_blocks_even_when_they_are_few():
    has_pos = np.zeros(200, dtype=bool)
    has_pos[[17, 150]] = True  # 2 positive blocks among 200: unstratified, 1 resample in 7 would miss both
    counts = draw_block_counts(has_pos, 2000, np.random.default_rng(0))
    assert (counts[:, has_pos].sum(axis=1) == 2).all()
    assert (counts[:, ~has_pos].sum(axis=1) == 198).all()
    assert counts[:, 17].max() == 2 and counts[:, 17].min() == 0  # still resampled, not fixed


def test_stratified_resamples_always_define_auroc_and_auprc():
    y = np.zeros(2000, dtype=int)
    y[[10, 1500]] = 1
    blocks = np.arange(2000) // 10
    p = np.random.default_rng(0).random(2000)
    got = resampled(y, [p], blocks, n_resamples=500, seed=0)[0]
    assert np.isfinite(got["auroc"]).all() and np.isfinite(got["auprc"]).all()


def test_block_interval_is_wider_than_site_interval_on_spatially_correlated_sites():
    y, p, blocks = correlated_sites()
    block = bootstrap_ci(y, p, blocks, n_resamples=500, seed=0)
    site = bootstrap_ci(y, p, np.arange(y.size), n_resamples=500, seed=0)
    for metric in ("auroc", "auprc"):
        block_width = block[metric][1] - block[metric][0]
        site_width = site[metric][1] - site[metric][0]
        assert block_width > 1.5 * site_width, (metric, block_width, site_width)


def test_interval_holds_the_estimate_and_reports_blocks(tied_sites):
    y, p, blocks = tied_sites
    ci = bootstrap_ci(y, p, blocks, threshold=0.5, n_resamples=300)
    assert ci["auroc"][0] < roc_auc_score(y, p) < ci["auroc"][1]
    assert ci["auprc"][0] < average_precision_score(y, p) < ci["auprc"][1]
    assert ci["f1"][0] < f1_score(y, p >= 0.5) < ci["f1"][1]
    assert ci["n_blocks"] == 25 and ci["approximate"]  # fewer than 30 blocks
    assert ci["n_blocks_with_positives"] == np.unique(blocks[y == 1]).size
    assert ci["n_resamples"] == 300 and ci["level"] == 0.95


def test_thirty_blocks_or_more_are_not_approximate():
    assert not block_summary(np.array([1, 0] * 30), np.repeat(np.arange(30), 2))["approximate"]
    assert block_summary(np.array([1, 0] * 29), np.repeat(np.arange(29), 2))["approximate"]


def test_per_context_intervals_and_the_within_context_macro(tied_sites):
    y, p, blocks = tied_sites
    context = np.array(["CG", "CHG", "CHH"])[np.arange(y.size) % 3]
    ci = bootstrap_ci(y, p, blocks, context=context, n_resamples=100)
    assert set(ci["by_context"]) == {"CG", "CHG", "CHH"}
    runs = resampled(y, [p], blocks, context=context, n_resamples=100)[0]
    per_context = np.vstack([runs["by_context"][c]["auroc"] for c in ("CG", "CHG", "CHH")])
    assert np.isnan(per_context).any()  # a context without positives in some resample: left out of the mean
    assert np.allclose(runs["within_context"]["auroc"], np.nanmean(per_context, axis=0))
    assert ci["within_context"]["auprc"] == percentile_interval(runs["within_context"]["auprc"])


def test_a_split_without_positives_is_refused():
    with pytest.raises(DnactxError, match="no positive"):
        bootstrap_ci(np.zeros(10, dtype=int), np.linspace(0, 1, 10), np.arange(10), n_resamples=10)


def test_mismatched_lengths_are_refused():
    with pytest.raises(DnactxError, match="one length"):
        bootstrap_ci(np.array([0, 1, 0]), np.array([0.1, 0.9]), np.array([0, 0, 1]), n_resamples=10)


def test_chunked_resamples_equal_one_chunk(tied_sites, monkeypatch):
    """Small work arrays (many chunks of draws and of evaluation) give exactly the same intervals."""
    import dnactx.stats.bootstrap as bootstrap

    y, p, blocks = tied_sites
    whole = bootstrap_ci(y, p, blocks, threshold=0.5, n_resamples=120, seed=2)
    monkeypatch.setattr(bootstrap, "_CELLS", 100)  # 4 resamples per chunk of draws, 2 per evaluation
    assert bootstrap_ci(y, p, blocks, threshold=0.5, n_resamples=120, seed=2) == whole
