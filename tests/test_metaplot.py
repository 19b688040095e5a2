"""dnactx metaplot: features scaled to bins with flanks, oriented by strand, observed vs predicted per context."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from dnactx.errors import DnactxError
from dnactx.predict.metaplot import COLUMNS, Layout, profile

# + strand gene [1000, 2000), − strand gene [5000, 6000): 0-based half-open, far apart
GENES = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [1000, 5000], "end": [2000, 6000], "strand": ["+", "-"]})
LAYOUT = Layout(flank=500, bins=10, flank_bins=5)


def _track(genes: pd.DataFrame, length: int = 8000) -> pd.DataFrame:
    """A site at every bp of CG: observed 1 inside any gene body, 0 outside; predicted the fraction of the way
    from the gene's 5' end (minus-strand genes run right to left), 0 outside."""
    x = np.arange(length)
    observed, predicted = np.zeros(length), np.zeros(length)
    for s, e, strand in genes[["start", "end", "strand"]].itertuples(index=False):
        body = (x >= s) & (x < e)
        observed[body] = 1.0
        predicted[body] = ((x[body] - s) if strand == "+" else (e - 1 - x[body])) / (e - s)
    return pd.DataFrame({"chrom": "chr1", "pos": x + 1, "context": "CG", "observed": observed,
                         "predicted": predicted})


def test_a_known_track_gives_exactly_flat_flanks_a_full_body_and_a_5_to_3_prime_gradient_on_both_strands():
    table = profile(_track(GENES), GENES, LAYOUT)
    assert list(table.columns) == list(COLUMNS)
    cg = table[table["context"] == "CG"].set_index(["region", "bin"])
    assert (cg.loc["upstream", "observed"] == 0).all() and (cg.loc["downstream", "observed"] == 0).all()
    assert (cg.loc["body", "observed"] == 1).all()
    # 100 bp per body bin and 100 bp per flank bin, from each of the two genes
    assert (cg["sites"] == 200).all()
    # mean of (x - s) / 1000 over a bin's 100 bp: the same on both strands only if the minus gene was flipped
    expected = (100 * np.arange(10) + 49.5) / 1000
    np.testing.assert_allclose(cg.loc["body", "predicted"].to_numpy(), expected)
    # CHG/CHH have no sites: their rows are there, empty
    other = table[table["context"] != "CG"]
    assert len(other) == 2 * 20 and (other["sites"] == 0).all() and other["observed"].isna().all()


def _brute_force(sites: pd.DataFrame, genes: pd.DataFrame, layout: Layout) -> dict:
    """Per (region, bin): the list of observed values, one per (site, gene) pair, by a plain loop."""
    out: dict = {}
    side, flank = layout.side, layout.flank
    for s, e, strand in genes[["start", "end", "strand"]].itertuples(index=False):
        for x0, value in zip(sites["pos"] - 1, sites["observed"], strict=True):
            if not s - flank <= x0 < e + flank:
                continue
            x = x0 if strand == "+" else s + e - 1 - x0
            if x < s:
                key = ("upstream", int((x - (s - flank)) * side // flank))
            elif x >= e:
                key = ("downstream", int((x - e) * side // flank))
            else:
                key = ("body", int((x - s) * layout.bins // (e - s)))
            out.setdefault(key, []).append(value)
    return out


def test_overlapping_features_each_count_a_shared_site_as_a_loop_over_every_pair_does():
    genes = pd.concat([GENES, pd.DataFrame({"chrom": ["chr1"], "start": [1700], "end": [2300], "strand": ["-"]}),
                       pd.DataFrame({"chrom": ["chr1"], "start": [5900], "end": [6437], "strand": ["+"]})],
                      ignore_index=True)
    sites = _track(genes).iloc[::7]
    table = profile(sites, genes, LAYOUT).set_index(["context", "region", "bin"]).loc["CG"]
    expected = _brute_force(sites, genes, LAYOUT)
    assert set(expected) == set(table.index[table["sites"] > 0])
    for key, values in expected.items():
        assert table.loc[key, "sites"] == len(values)
        assert table.loc[key, "observed"] == pytest.approx(np.mean(values))
    # the overlap puts gene bodies into neighbours' flanks: some flank bins are no longer 0
    assert table.loc["upstream", "observed"].max() > 0


def test_bad_layouts_stop_before_any_work():
    for kwargs in ({"bins": 0}, {"flank": -1}, {"flank_bins": 0}):
        with pytest.raises(DnactxError, match="--"):
            Layout(**kwargs)


GFF = """##gff-version 3
chr1\tt\tgene\t1001\t2000\t.\t+\t.\tID=g1
chr1\tt\tmRNA\t1001\t2000\t.\t+\t.\tID=t1;Parent=g1
chr1\tt\texon\t1001\t2000\t.\t+\t.\tID=e1;Parent=t1
chr1\tt\tgene\t5001\t6000\t.\t-\t.\tID=g2
"""


def _predict_folder(folder, with_calls: bool) -> None:
    track = _track(GENES)
    columns = {"chrom": pa.array(track["chrom"]), "pos": pa.array(track["pos"], pa.int64()),
               "strand": pa.array(["+"] * len(track)), "context": pa.array(track["context"]),
               "prob": pa.array(track["predicted"], pa.float32())}
    if with_calls:
        columns |= {"mc": pa.array(np.full(len(track), 3), pa.int32()), "cov": pa.array(np.full(len(track), 3),
                                                                                      pa.int32()),
                    "level": pa.array(track["observed"], pa.float32()),
                    "label": pa.array(track["observed"].astype(np.int8), pa.int8())}
    folder.mkdir(parents=True)
    pq.write_table(pa.table(columns), folder / "predictions.parquet")


@pytest.mark.parametrize("with_calls", [True, False])
def test_the_command_writes_the_tsv_with_its_exact_columns_and_the_png(tmp_path, capsys, with_calls):
    _predict_folder(tmp_path / "pred", with_calls)
    gff = tmp_path / "a.gff3"
    gff.write_text(GFF)
    code, out, err = run_cli(["metaplot", str(tmp_path / "pred"), "--annotation", str(gff), "--out",
                              str(tmp_path / "mp"), "--flank", "500", "--bins", "10"], capsys)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "mp" / "metaplot.tsv", sep="\t")
    assert list(table.columns) == ["context", "region", "bin", "observed", "predicted", "sites"]
    body = table[(table["context"] == "CG") & (table["region"] == "body")]
    assert len(body) == 10 and (table["region"] == "upstream").sum() == 3 * 5  # flank bins default bins/2
    assert (body["observed"] == 1).all() if with_calls else body["observed"].isna().all()
    assert (tmp_path / "mp" / "metaplot.png").stat().st_size > 1000


def test_a_feature_type_the_gff_lacks_is_one_line_naming_the_types_it_has(tmp_path, capsys):
    _predict_folder(tmp_path / "pred", True)
    gff = tmp_path / "a.gff3"
    gff.write_text(GFF)
    code, _, err = run_cli(["metaplot", str(tmp_path / "pred"), "--annotation", str(gff), "--out",
                            str(tmp_path / "mp"), "--feature", "transposable_element"], capsys)
    assert code != 0 and "gene" in err and "Traceback" not in err and not (tmp_path / "mp").exists()


@pytest.mark.slow
def test_real_cg_methylation_is_higher_mid_gene_than_at_the_tss_and_tes(shared_data):
    """TAIR10 genes over the real Col-0 calls: the known gene-body shape (CG low at TSS/TES, high mid-body)."""
    from dnactx.io.annotation import read_annotation

    calls = pd.read_csv(shared_data / "athaliana_chr1_2mb.CGmap.gz", sep="\t", header=None,
                        names=["chrom", "nuc", "pos", "context", "dinuc", "level", "mc", "cov"])
    calls = calls[(calls["chrom"] == "chr1") & (calls["cov"] >= 3) & calls["context"].isin(["CG", "CHG", "CHH"])]
    sites = pd.DataFrame({"chrom": "chr1", "pos": calls["pos"].to_numpy(), "context": calls["context"].to_numpy(),
                          "observed": (calls["mc"] / calls["cov"]).to_numpy(), "predicted": 0.0})
    genes = read_annotation(shared_data / "athaliana_tair10_chr1_2mb.gff3.gz", ["chr1"]).spans("gene")
    table = profile(sites, genes, Layout(flank=2000, bins=40))
    body = table[(table["context"] == "CG") & (table["region"] == "body")]["observed"].to_numpy()
    mid = body[15:25].mean()
    assert mid > 2 * body[:3].mean() and mid > 2 * body[-3:].mean()
