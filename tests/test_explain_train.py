"""dnactx explain on trained models: a CNN trained (through prepare and train) on a synthetic genome whose labels
depend only on a motif 30 bp upstream finds it; the CLI's ISM, diagnose/report tie-in and --variants end to end;
ISM of Hugging Face encoders (frozen and top:N) equals scoring the same mutants one at a time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_dataset, run_cli

pytestmark = pytest.mark.slow

MOTIF = "TAGGATCA"  # 8 bp starting 30 bp upstream of each positive C, on its strand: offsets -30 … -23
MOTIF_START = -30
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def revcomp(s: str) -> str:
    return s.translate(COMPLEMENT)[::-1]


def strand_context(seq: str, i: int, strand: int) -> tuple[str, str]:
    """(context, dinucleotide) of the C at 0-based ``i`` on ``strand`` of ``seq``."""
    nxt = seq[i + 1:i + 3] if strand > 0 else revcomp(seq[i - 2:i])
    context = "CG" if nxt[0] == "G" else "CHG" if nxt[1] == "G" else "CHH"
    return context, "C" + nxt[0]


def motif_genome(root: Path, length: int = 300_000, spacing: int = 100, seed: int = 0) -> tuple[Path, Path]:
    """A FASTA and a CGmap: a site every ``spacing`` bp on alternating strands, methylated (10/10 reads) exactly
    where MOTIF sits 30 bp upstream on the site's strand (half of them), unmethylated (0/10) elsewhere."""
    rng = np.random.default_rng(seed)
    seq = list(rng.choice(list("ACGT"), length))
    sites = []
    for k, pos in enumerate(range(2 * spacing, length - 2 * spacing, spacing)):
        strand, positive = (1 if k % 2 == 0 else -1), bool(rng.random() < 0.5)
        seq[pos] = "C" if strand > 0 else "G"
        if positive:
            if strand > 0:
                seq[pos + MOTIF_START:pos + MOTIF_START + len(MOTIF)] = list(MOTIF)
            else:
                seq[pos - MOTIF_START - len(MOTIF) + 1:pos - MOTIF_START + 1] = list(revcomp(MOTIF))
        sites.append((pos, strand, positive))
    text = "".join(seq)
    fasta = root / "genome.fa"
    fasta.write_text(">chr1\n" + "\n".join(text[i:i + 80] for i in range(0, length, 80)) + "\n")
    rows = []
    for pos, strand, positive in sites:
        context, dinuc = strand_context(text, pos, strand)
        mc = 10 if positive else 0
        rows.append(f"chr1\t{'C' if strand > 0 else 'G'}\t{pos + 1}\t{context}\t{dinuc}\t{mc / 10:.2f}\t{mc}\t10")
    calls = root / "calls.CGmap"
    calls.write_text("\n".join(rows) + "\n")
    return fasta, calls


@pytest.fixture(scope="module")
def motif_run(tmp_path_factory) -> tuple[Path, Path, str]:
    """(home, genome, run id) of a CNN trained on the motif genome through `dnactx prepare` and `dnactx train`."""
    from conftest import cli_exit_code

    root = tmp_path_factory.mktemp("motif")
    fasta, calls = motif_genome(root)
    assert cli_exit_code("prepare", "--genome", str(fasta), "--calls", str(calls), "--out", str(root / "data"),
                         "--window", "200", "--block-size", "5000") == 0
    home = root / "runs"
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    result = train_run(TrainConfig(data=str(root / "data" / "dataset.parquet"), model="cnn", size=50, mode="both",
                                   epochs=8, patience=8, name="motif-cnn"), home, quiet=True)
    assert result["status"] == "completed"
    assert result["metrics"]["test"]["auroc"] > 0.9  # it learned the motif
    return home, fasta, result["run_id"]


def test_a_cnn_trained_on_a_motif_30_bp_upstream_peaks_there_on_both_strands(motif_run, tmp_path: Path,
                                                                             capsys) -> None:
    home, _, run_id = motif_run
    out = tmp_path / "explain"
    code, stdout, err = run_cli(["explain", run_id, "--home", str(home), "--out", str(out), "--sites", "positives",
                                 "--n", "120", "--json"], capsys)
    assert code == 0, err
    result = json.loads(stdout)
    motif = range(MOTIF_START, MOTIF_START + len(MOTIF))
    assert result["summary"]["all"]["peak_offset"] in motif
    npz = np.load(out / "ism.npz")
    imp = (np.abs(npz["delta"]) * npz["alternative"]).sum(-1) / npz["alternative"].sum(-1)
    for strand in (1, -1):
        profile = imp[npz["strand"] == strand].mean(0)
        profile[npz["offsets"] == 0] = 0
        assert npz["offsets"][np.argmax(profile)] in motif, strand
    assert {"profile.csv", "profile.png", "logo.png", "kmers.tsv", "sites.tsv", "explain.json"} <= \
        {p.name for p in out.iterdir()}
    assert result["stored_in_run"] and (home / run_id / "explain_profile.png").is_file()
    kmers = pd.read_csv(out / "kmers.tsv", sep="\t")
    assert any(k in MOTIF for k in kmers["kmer"].head(5))  # the motif's 6-mers move the score most


def test_diagnose_cites_the_explanation_and_the_report_shows_its_profile(motif_run, tmp_path: Path, capsys) -> None:
    home, _, run_id = motif_run
    if not (home / run_id / "explain.json").is_file():
        assert run_cli(["explain", run_id, "--home", str(home), "--out", str(tmp_path / "e"), "--n", "40"],
                       capsys)[0] == 0
    code, stdout, err = run_cli(["diagnose", run_id, "--home", str(home), "--json"], capsys)
    assert code == 0, err
    diagnosis = json.loads(stdout)
    assert any("in-silico mutagenesis" in n and "90% of the attribution" in n for n in diagnosis["notes"])
    assert diagnosis["explanation"]["share_within"]["2"] < 0.9
    assert "site_context_only" not in {f["code"] for f in diagnosis["findings"]}
    code, _, err = run_cli(["report", "--home", str(home), "--out", str(tmp_path / "report")], capsys)
    assert code == 0, err
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "What the selected run looks at" in markdown and "](explain_profile.png)" in markdown
    assert (tmp_path / "report" / "explain_profile.png").is_file()
    assert "data:image/png;base64," in (tmp_path / "report" / "report.html").read_text()


def test_variants_from_a_vcf_give_lost_and_new_sites_through_the_cli(motif_run, tmp_path: Path, capsys) -> None:
    home, fasta, run_id = motif_run
    text = "".join(fasta.read_text().split("\n")[1:])
    site = 200  # 0-based: the first site, a C on +
    new = next(i for i in range(5000, 6000) if text[i] == "T" and text[i + 1] == "G")
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   f"chr1\t{site + 1}\tlose\tC\tT,A\t.\t.\t.\n"
                   f"chr1\t{new + 1}\tgain\tT\tC\t.\t.\t.\n"
                   f"chr1\t{new + 3}\tindel\t{text[new + 2]}\t{text[new + 2]}A\t.\t.\t.\n")
    out = tmp_path / "variants"
    code, _, err = run_cli(["explain", run_id, "--home", str(home), "--variants", str(vcf), "--genome", str(fasta),
                            "--out", str(out)], capsys)
    assert code == 0, err
    assert "3 SNVs" in err and "1 indels" in err and "1 multi-allelic" in err
    table = pd.read_csv(out / "variants.tsv", sep="\t")
    lost = table[(table["variant"] == "lose") & (table["site_pos"] == site + 1) & (table["site_strand"] == "+")]
    assert len(lost) == 2 and (lost["status"] == "lost").all() and lost["p_alt"].isna().all()
    gained = table[(table["variant"] == "gain") & (table["site_pos"] == new + 1) & (table["site_strand"] == "+")]
    assert len(gained) == 1 and gained["status"].item() == "new" and np.isnan(gained["p_ref"].item())
    bedgraph = (out / "variants.bedGraph").read_text().splitlines()
    assert bedgraph[0].startswith("track type=bedGraph") and len(bedgraph) >= 2
    bad = tmp_path / "bad.vcf"
    bad.write_text(vcf.read_text().replace(f"{site + 1}\tlose\tC", f"{site + 1}\tlose\tA"))
    code, _, err = run_cli(["explain", run_id, "--home", str(home), "--variants", str(bad), "--genome", str(fasta),
                            "--out", str(tmp_path / "bad")], capsys)
    assert code == 2 and "has REF A but the genome has C" in err and err.count("error:") == 1


@pytest.fixture(scope="module")
def transformer_runs(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    root = tmp_path_factory.mktemp("tiny")
    dataset = make_tiny_dataset(root / "data")
    runs = {}
    for finetune, mode in (("frozen", "both"), ("top:1", "down")):
        result = train_run(TrainConfig(data=str(dataset), model="dnabert6-tiny", size=20, mode=mode, epochs=1,
                                       finetune=finetune, name=finetune), root / "runs", quiet=True)
        runs[finetune] = result["run_id"]
    return root / "runs", dataset, runs


@pytest.mark.parametrize("finetune", ["frozen", "top:1"])
def test_ism_of_a_transformer_equals_scoring_its_mutants_one_at_a_time(transformer_runs, finetune: str) -> None:
    from dnactx.explain import ism
    from dnactx.explain.sites import select_sites
    from dnactx.inference import load_scorer

    home, dataset, runs = transformer_runs
    scorer = load_scorer(runs[finetune], home, device="cpu")
    sites = select_sites(scorer, dataset, "test", "random", 2, 0)
    r = scorer.recipe
    inputs = r.cut(sites.windows)
    m = ism(scorer, inputs, sites.context_id, sites.trinuc(), chunk_rows=50)
    assert m.delta.shape == (2, r.length, 4) and np.abs(m.delta).max() > 0
    rng = np.random.default_rng(0)
    for i, j in zip(rng.integers(0, 2, 12), rng.integers(0, r.length, 12), strict=True):
        for b, base in enumerate(b"ACGT"):
            if inputs[i, j] == base:
                continue
            row = inputs[i].copy()
            row[j] = base
            ctx = np.array([sites.context_id[i]])
            offset = j - r.center
            if offset in (1, 2):
                tri = bytearray(sites.trinuc()[i].tobytes())
                tri[offset] = base
                ctx = np.array([0 if tri[1] == ord("G") else 1 if tri[2] == ord("G") else 2])
            alone = scorer.logits(row[None], ctx)[0] - scorer.logits(inputs[i:i + 1], sites.context_id[i:i + 1])[0]
            assert m.delta[i, j, b] == pytest.approx(alone, abs=1e-5)
