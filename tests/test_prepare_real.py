"""`dnactx prepare` on the real TAIR10 chr1 slice and BSseeker2 CGmap in ../shared/data (skipped when absent)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dnactx.cli import main

pytestmark = pytest.mark.integration
WINDOW = 800


@pytest.fixture(scope="module")
def prepared(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real") / "prepared"
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--genome", str(shared_data / "athaliana_tair10_chr1_2mb.fa.gz"),
              "--calls", str(shared_data / "athaliana_chr1_2mb.CGmap.gz"), "--out", str(out),
              "--control-chrom", "L"])
    assert exc.value.code == 0
    return out


@pytest.fixture(scope="module")
def genome_text(shared_data: Path) -> str:
    """chr1 as a plain Python string, read independently of dnactx (case kept)."""
    with gzip.open(shared_data / "athaliana_tair10_chr1_2mb.fa.gz", "rt") as fh:
        return "".join(line.strip() for line in fh if not line.startswith(">"))


@pytest.fixture(scope="module")
def sites(prepared: Path) -> pd.DataFrame:
    return pq.read_table(prepared / "dataset.parquet", columns=[
        "chrom", "pos", "strand", "context", "trinuc", "mc", "cov", "level", "label", "split", "repeat"]).to_pandas()


@pytest.fixture(scope="module")
def seq(prepared: Path) -> pa.ChunkedArray:
    return pq.read_table(prepared / "dataset.parquet", columns=["seq"]).column("seq")


def test_every_window_is_centred_on_a_c(seq: pa.ChunkedArray) -> None:
    assert pc.all(pc.equal(pc.utf8_slice_codeunits(seq, WINDOW // 2, WINDOW // 2 + 1), "C")).as_py()
    assert pc.min_max(pc.utf8_length(seq)).as_py() == {"min": WINDOW + 1, "max": WINDOW + 1}


def test_context_and_trinuc_agree_with_genome(sites: pd.DataFrame, genome_text: str, shared_data: Path) -> None:
    g = genome_text.upper()
    comp = str.maketrans("ACGTN", "TGCAN")
    tri = [g[p - 1:p + 2] if s == "+" else g[max(p - 3, 0):p][::-1].translate(comp)
           for p, s in zip(sites["pos"].tolist(), sites["strand"].tolist(), strict=True)]
    assert (sites["trinuc"].to_numpy() == np.array(tri)).all()
    nxt, nxt2 = sites["trinuc"].str[1], sites["trinuc"].str[2]
    assert (sites["context"] == np.where(nxt == "G", "CG", np.where(nxt2 == "G", "CHG", "CHH"))).all()
    # and with BSseeker2's own calls for every chr1 site
    cg = pd.read_csv(shared_data / "athaliana_chr1_2mb.CGmap.gz", sep="\t", header=None,
                     names=["chrom", "nuc", "pos", "ctx", "dinuc", "lvl", "mc", "cov"], dtype={"chrom": str})
    cg = cg[cg["chrom"] == "chr1"].assign(strand=lambda d: np.where(d["nuc"] == "C", "+", "-"))
    both = sites.merge(cg, on=["pos", "strand"], suffixes=("", "_cgmap"), validate="one_to_one")
    assert len(both) == len(sites)
    assert (both["context"] == both["ctx"]).all() and (both["trinuc"].str[:2] == both["dinuc"]).all()
    assert (both["mc"] == both["mc_cgmap"]).all() and (both["cov"] == both["cov_cgmap"]).all()


def test_sampled_windows_match_an_independent_cut(seq: pa.ChunkedArray, sites: pd.DataFrame, genome_text: str) -> None:
    g, half = genome_text.upper(), WINDOW // 2
    comp = str.maketrans("ACGTN", "TGCAN")
    rows = np.random.default_rng(0).choice(len(sites), 2000, replace=False)
    for i, s in zip(rows.tolist(), seq.take(rows).to_pylist(), strict=True):
        p, strand = int(sites["pos"].iat[i]), sites["strand"].iat[i]
        lo, hi = p - 1 - half, p + half
        w = "N" * max(0, -lo) + g[max(lo, 0):hi] + "N" * max(0, hi - len(g))
        assert s == (w if strand == "+" else w[::-1].translate(comp))
        assert bool(sites["repeat"].iat[i]) == genome_text[p - 1].islower()


def test_lambda_skipped_and_non_conversion_reported(prepared: Path, sites: pd.DataFrame) -> None:
    summary = json.loads((prepared / "prepare.json").read_text())
    assert summary["skipped"]["control_chromosome"] == 24_146
    control = summary["control"]
    assert control["chrom"] == "L" and 0.0 < control["non_conversion_rate"] < 0.05
    assert set(sites["chrom"]) == {"chr1"}


def test_label_rate_at_default_coverage_and_threshold(prepared: Path, sites: pd.DataFrame) -> None:
    summary = json.loads((prepared / "prepare.json").read_text())
    assert summary["parameters"]["min_coverage"] == 3 and summary["parameters"]["threshold"] == 0.5
    assert (sites["cov"] >= 3).all()
    assert 0.025 <= sites["label"].mean() <= 0.030
    assert summary["label_rate"] == pytest.approx(sites["label"].mean())
    # every covered chr1 site is either in the dataset or skipped for a stated reason
    skipped = summary["skipped"]
    assert len(sites) + skipped["low_coverage"] + skipped["split_boundary"] == 648_665


def test_no_cross_split_window_overlap(sites: pd.DataFrame) -> None:
    ordered = sites.sort_values("pos")
    pos, split = ordered["pos"].to_numpy(), ordered["split"].to_numpy()
    changes = split[1:] != split[:-1]
    assert changes.any()
    assert (np.diff(pos)[changes] > WINDOW).all()
    assert set(split) == {"train", "val", "test"}


def test_real_region_starting_mid_group_fills_every_split(shared_data: Path, tmp_path: Path) -> None:
    """TAIR10 chr1 930,000-2,000,000 cut out and renumbered from 1 (11 blocks of 100 kb): with block groups laid
    over block indices this gave 'the val split is empty (train 224,145, val 0, test 25,737)'."""
    start, end = 930_000, 2_000_000
    with gzip.open(shared_data / "athaliana_tair10_chr1_2mb.fa.gz", "rt") as fh:
        seq = "".join(line.strip() for line in fh if not line.startswith(">"))[start - 1:end]
    genome = tmp_path / "region.fa"
    genome.write_text(">chr1\n" + "\n".join(seq[i:i + 80] for i in range(0, len(seq), 80)) + "\n")
    cg = pd.read_csv(shared_data / "athaliana_chr1_2mb.CGmap.gz", sep="\t", header=None, dtype={0: str})
    cg = cg[(cg[0] == "chr1") & cg[2].between(start, end)].copy()
    cg[2] -= start - 1
    calls = tmp_path / "region.CGmap"
    cg.to_csv(calls, sep="\t", header=False, index=False)
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--genome", str(genome), "--calls", str(calls), "--out", str(tmp_path / "out")])
    assert exc.value.code == 0
    summary = json.loads((tmp_path / "out" / "prepare.json").read_text())
    counts = {s: summary["counts"][s]["all"] for s in ("train", "val", "test")}
    assert min(counts.values()) > 10_000 and summary["block_size"]["used"] == 100_000
