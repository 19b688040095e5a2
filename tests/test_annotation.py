"""--annotation: every site's genomic feature class from a GFF3 (strand-aware flanks, a stated priority), as a
column of prepare's dataset and predict's predictions, metrics by feature, and the predict metaplot."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import make_genome_with_calls, make_lr_run, run_cli

from dnactx.errors import DnactxError
from dnactx.io.annotation import read_annotation

# chr1: a + gene [1000, 3000) with one mRNA (exons 1000-1400 and 2000-3000, CDS 1200-1400 and 2000-2600), a −
# gene [6000, 7000) with a non-coding transcript, a pseudogene inside the + gene's intron, a TE over the − gene's
# 3' end. GFF coordinates are 1-based inclusive.
GFF = """##gff-version 3
##sequence-region Chr1 1 20000
Chr1\tt\tgene\t1001\t3000\t.\t+\t.\tID=g1
Chr1\tt\tmRNA\t1001\t3000\t.\t+\t.\tID=t1;Parent=g1
Chr1\tt\texon\t1001\t1400\t.\t+\t.\tID=e1;Parent=t1
Chr1\tt\texon\t2001\t3000\t.\t+\t.\tID=e2;Parent=t1
Chr1\tt\tCDS\t1201\t1400\t.\t+\t0\tID=c1;Parent=t1
Chr1\tt\tCDS\t2001\t2600\t.\t+\t0\tID=c1;Parent=t1
Chr1\tt\tpseudogene\t1601\t1700\t.\t+\t.\tID=p1
Chr1\tt\tgene\t6001\t7000\t.\t-\t.\tID=g2
Chr1\tt\tlnc_RNA\t6001\t7000\t.\t-\t.\tID=t2;Parent=g2
Chr1\tt\texon\t6001\t7000\t.\t-\t.\tID=e3;Parent=t2
Chr1\tt\ttransposable_element\t5901\t6100\t.\t+\t.\tID=te1
NC_999\tt\tgene\t1\t100\t.\t+\t.\tID=g9
"""

EXPECTED = {  # 1-based position → class
    500: "promoter", 999: "promoter", 1001: "UTR", 1200: "UTR", 1201: "CDS", 1500: "intron", 1650: "pseudogene",
    2600: "CDS", 2601: "UTR", 3000: "UTR", 3001: "downstream", 4000: "downstream", 4001: "intergenic",
    5899: "downstream", 5900: "downstream", 5901: "transposable_element", 6101: "exon", 7000: "exon",
    7001: "promoter", 8000: "promoter", 8001: "intergenic",
}


@pytest.fixture
def gff(tmp_path: Path) -> Path:
    path = tmp_path / "a.gff3.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(GFF)
    return path


def test_each_site_gets_the_first_class_covering_it_with_flanks_on_the_genes_own_strand(gff):
    annotation = read_annotation(gff, ["chr1", "chr2"], chrom_alias={"Chr1": "chr1"})
    pos = np.array(list(EXPECTED))
    assert dict(zip(pos.tolist(), annotation.names("chr1", pos).tolist(), strict=True)) == EXPECTED
    assert set(annotation.names("chr2", np.array([5, 50]))) == {"unannotated"}
    assert any("NC_999" in w for w in annotation.warnings) and any("chr2" in w for w in annotation.warnings)


def test_flank_lengths_are_options(gff):
    annotation = read_annotation(gff, ["chr1"], chrom_alias={"Chr1": "chr1"}, promoter_bp=200, downstream_bp=50)
    assert annotation.names("chr1", np.array([799, 801, 3050, 3051, 7200, 7201])).tolist() == [
        "intergenic", "promoter", "downstream", "intergenic", "promoter", "intergenic"]


def test_gff_names_matching_no_fasta_chromosome_stop_with_the_alias_to_use(gff):
    with pytest.raises(DnactxError, match="--chrom-alias Chr1=chr1"):
        read_annotation(gff, ["chr1"])


def test_a_file_that_is_not_gff_is_one_line(tmp_path):
    bad = tmp_path / "x.gff3"
    bad.write_text("# nothing\n")
    with pytest.raises(DnactxError, match="no feature rows"):
        read_annotation(bad, ["chr1"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("annot")
    genome, calls = make_genome_with_calls(root / "inputs", lengths=(24_000,))
    gff = root / "inputs" / "a.gff3"
    gff.write_text(GFF.replace("NC_999", "chr9"))
    home = root / "home"
    return {"root": root, "genome": genome, "calls": calls, "gff": gff, "home": home, "run": make_lr_run(home)}


def test_prepare_writes_the_feature_column_and_counts_it(world, capsys):
    w, out = world, world["root"] / "prep"
    code, _, err = run_cli(["prepare", "--genome", str(w["genome"]), "--calls", str(w["calls"]), "--out", str(out),
                            "--annotation", str(w["gff"]), "--chrom-alias", "Chr1=chr1", "--window", "100",
                            "--block-size", "2000"], capsys)
    assert code == 0, err
    table = pq.read_table(out / "dataset.parquet", columns=["pos", "feature"]).to_pandas()
    annotation = read_annotation(w["gff"], ["chr1"], chrom_alias={"Chr1": "chr1"})
    assert table["feature"].tolist() == annotation.names("chr1", table["pos"].to_numpy()).tolist()
    summary = json.loads((out / "prepare.json").read_text())
    assert sum(sum(c.values()) for c in summary["annotation"]["counts"].values()) == len(table)
    assert summary["parameters"]["annotation"] == str(w["gff"])


def test_predict_with_calls_and_annotation_gives_features_metrics_by_feature_and_a_metaplot(world, capsys):
    w, out = world, world["root"] / "pred"
    code, _, err = run_cli(["predict", w["run"], "--genome", str(w["genome"]), "--calls", str(w["calls"]),
                            "--out", str(out), "--annotation", str(w["gff"]), "--chrom-alias", "Chr1=chr1",
                            "--bootstrap", "50", "--home", str(w["home"]), "-q"], capsys)
    assert code == 0, err
    table = pq.read_table(out / "predictions.parquet", columns=["pos", "feature", "label"]).to_pandas()
    annotation = read_annotation(w["gff"], ["chr1"], chrom_alias={"Chr1": "chr1"})
    assert table["feature"].tolist() == annotation.names("chr1", table["pos"].to_numpy()).tolist()
    summary = json.loads((out / "predict.json").read_text())
    by_feature = summary["evaluation"]["by_feature"]
    labelled = table[table["label"].notna()]
    assert {k: v["n"] for k, v in by_feature.items()} == labelled["feature"].value_counts().to_dict()
    assert (out / "metaplot.png").is_file() and (out / "metaplot.tsv").is_file()
    assert summary["annotation"]["metaplot"]["features"] == 2


def _feature_evidence(promoter_ci: list[float]) -> dict:
    table = {"CDS": {"n": 5000, "n_pos": 300, "auroc": 0.93, "ci": {"auroc": [0.91, 0.95]}},
             "promoter": {"n": 2000, "n_pos": 60, "auroc": 0.70, "ci": {"auroc": promoter_ci}},
             "exon": {"n": 100, "n_pos": 3, "auroc": 0.40, "ci": {"auroc": [0.1, 0.6]}}}
    return {"test": {"auroc": 0.90, "n_pos": 363}, "measured": {"test": {"ci": {"auroc": [0.88, 0.92]}}},
            "by_feature": {"test": table}}


def test_diagnose_names_a_feature_ranked_worse_beyond_both_intervals_and_not_one_within_noise():
    from dnactx.analysis.diagnose import rule_feature_gap

    finding = rule_feature_gap(_feature_evidence([0.62, 0.78]))
    assert finding is not None and finding["figures"]["feature"] == "promoter"
    assert "[0.62, 0.78]" in finding["evidence"] and "[0.88, 0.92]" in finding["evidence"]
    # the same gap with an interval that reaches the split's: noise, no finding (and exon has too few positives)
    assert rule_feature_gap(_feature_evidence([0.55, 0.89])) is None
