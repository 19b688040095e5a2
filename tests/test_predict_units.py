"""predict's small parts on hand-made inputs: BED intervals, chromosome groups, the calls join, track values,
the evaluation's edge cases, the not-DNA check."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from dnactx.errors import DnactxError
from dnactx.io.fasta import FastaGenome
from dnactx.predict.calls import join_calls
from dnactx.predict.evaluate import binned_correlation, discrimination
from dnactx.predict.regions import Target, groups_by_length, merge, read_bed, targets
from dnactx.predict.tracks import rounded


@pytest.fixture
def genome(tmp_path: Path) -> FastaGenome:
    path = tmp_path / "g.fa"
    path.write_text(">a\n" + "ACGT" * 250 + "\n>b\n" + "CCGG" * 100 + "\n>c\n" + "AT" * 50 + "\n")
    return FastaGenome(path)


def test_overlapping_and_touching_intervals_merge_and_the_rest_stay_apart() -> None:
    got = merge(np.array([[50, 60], [0, 10], [10, 20], [5, 8], [30, 40], [35, 45]]))
    np.testing.assert_array_equal(got, [[0, 20], [30, 45], [50, 60]])
    assert merge(np.zeros((0, 2), dtype=np.int64)).shape == (0, 2)


def test_a_gzip_bed_is_read_per_chromosome_in_genome_order(genome: FastaGenome, tmp_path: Path) -> None:
    bed = tmp_path / "r.bed.gz"
    with gzip.open(bed, "wt") as fh:
        fh.write("browser position a:1-10\nb 10 20 name 0 +\na\t0\t5\na\t3\t9\n")
    assert {k: v.tolist() for k, v in read_bed(bed, genome).items()} == {"b": [[10, 20]], "a": [[0, 9]]}
    plan = targets(genome, bed)
    assert [t.name for t in plan] == ["a", "b"] and [t.bases for t in plan] == [9, 10]


def test_bed_lines_that_are_not_intervals_say_where(genome: FastaGenome, tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    for text, message in [("a\tx\t5\n", "line 1: expected chrom<TAB>start<TAB>end"),
                          ("a\t5\t5\n", "is empty or negative"), ("a\t-1\t5\n", "is empty or negative")]:
        bed.write_text(text)
        with pytest.raises(DnactxError, match=message):
            read_bed(bed, genome)


def test_chromosome_groups_balance_bases_and_keep_genome_order() -> None:
    items = [Target(i, f"c{i}", n, np.array([[0, n]])) for i, n in enumerate([100, 30, 80, 60, 10, 90])]
    groups = groups_by_length(items, 3)
    assert [[t.name for t in g] for g in groups] == [["c0", "c4"], ["c1", "c5"], ["c2", "c3"]]
    assert sorted(sum(t.bases for t in g) for g in groups) == [110, 120, 140]
    assert groups_by_length(items[:1], 2)[1] == []  # more groups than chromosomes: some are empty


def test_calls_join_by_position_and_strand() -> None:
    called = {"key": np.array([10 * 2, 11 * 2 + 1, 15 * 2]), "mc": np.array([3, 0, 0]), "cov": np.array([4, 0, 9]),
              "level": np.array([0.75, np.nan, 0.0]), "label": np.array([1, -1, 0], dtype=np.int8)}
    got = join_calls(called, np.array([10, 11, 12, 15]), np.array([1, -1, 1, -1]))
    assert got["found"].tolist() == [True, False, False, False]  # 11: no coverage; 15: the other strand
    assert got["labelled"].tolist() == [True, False, False, False]
    assert got["mc"].tolist() == [3, 0, 0, 0] and got["level"].tolist() == [0.75, 0, 0, 0]
    empty = {k: v[:0] for k, v in called.items()}
    assert not join_calls(empty, np.array([1, 2]), np.array([1, 1]))["found"].any()


def test_track_values_keep_four_significant_digits() -> None:
    np.testing.assert_array_equal(rounded(np.array([0.123456, 0.000123456, 1.0, 0.0, 0.99994])),
                                  [0.1235, 0.0001235, 1.0, 0.0, 0.9999])


def test_evaluation_without_positives_has_metrics_but_no_intervals() -> None:
    y, p = np.zeros(50, dtype=int), np.linspace(0, 1, 50)
    got = discrimination(y, p, np.zeros(50, dtype=int), np.zeros(50, dtype=int), np.arange(1, 51) * 1000,
                         n_resamples=20)
    assert got["all"]["auroc"] is None and got["all"]["auroc_ci"] is None and got["bootstrap"] is None
    assert set(got) == {"all", "CG", "bootstrap"}


def test_binned_correlation_needs_three_bins_and_counts_them() -> None:
    chrom, pos = np.zeros(6, dtype=int), np.array([1, 2, 1001, 1002, 2001, 2002])
    level, prob = np.array([0, 0.2, 0.5, 0.5, 1, 0.8]), np.array([0.1, 0.1, 0.4, 0.6, 0.9, 0.9])
    got = binned_correlation(chrom, pos, level, prob, np.zeros(6, dtype=int))
    assert got["1kb"]["all"]["bins"] == 3 and got["1kb"]["all"]["pearson_r"] == pytest.approx(
        np.corrcoef([0.1, 0.5, 0.9], [0.1, 0.5, 0.9])[0, 1])
    assert got["10kb"]["all"] == {"pearson_r": None, "bins": 1}


def test_a_region_without_cytosines_gives_empty_outputs_and_says_so(tmp_path: Path, capsys) -> None:
    from conftest import make_lr_run, run_cli

    fasta = tmp_path / "at.fa"
    fasta.write_text(">chrA\n" + "AT" * 500 + "\n")
    home = tmp_path / "runs"
    run_id = make_lr_run(home)
    code, _, err = run_cli(["--home", str(home), "predict", run_id, "--genome", str(fasta), "--out",
                            str(tmp_path / "p")], capsys)
    assert code == 0 and "holds no cytosine" in err
    assert (tmp_path / "p" / "predictions.parquet").is_file()
