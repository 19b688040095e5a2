"""dnactx.explain without training: ISM against one-at-a-time re-scoring, mutant contexts, profile summaries, logo,
k-mers, site selection (top/positives/random/BED), strand handling, VCF reading and variant effects (lost, new,
context), and the CLI's one-line errors. The scorer is an lr with hand-set coefficients (no training)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_run_folder, make_tiny_dataset, run_cli

from dnactx.errors import DnactxError
from dnactx.explain import importance, ism, mutants, summarize, top_kmers
from dnactx.explain.bed_sites import bed_sites
from dnactx.explain.mutagenesis import Mutagenesis, mutant_contexts
from dnactx.explain.profile import logo_matrix, positional_profile
from dnactx.explain.sites import select_sites
from dnactx.explain.variants import largest_effects, variant_effects
from dnactx.inference import LrScorer, Recipe
from dnactx.io.fasta import FastaGenome
from dnactx.io.vcf import read_snvs
from dnactx.models.lr import KMAX, n_features
from dnactx.sequence import to_ascii


def lr_scorer(*, window: int = 200, size: int = 20, mode: str = "both", site_context: bool = True,
              coef: np.ndarray | None = None, seed: int = 0, scaling: str = "l2") -> LrScorer:
    recipe = Recipe(family="lr", model="lr", window=window, size=size, mode=mode, site_context=site_context,
                    lr_scaling=scaling, kmax=KMAX)
    rng = np.random.default_rng(seed)
    coef = rng.normal(0, 1, n_features(KMAX, site_context)) if coef is None else coef
    return LrScorer(recipe, coef, -0.5, batch_size=97)


def kmer_coef(kmer: str, weight: float = 5.0, site_context: bool = True) -> np.ndarray:
    """lr coefficients that score one 6-mer only: the model then looks at wherever that k-mer is."""
    coef = np.zeros(n_features(KMAX, site_context))
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    index = sum(4**k for k in range(1, 6)) + sum(code[b] * 4 ** (5 - i) for i, b in enumerate(kmer))
    coef[index] = weight
    return coef


def windows_with_c(n: int, window: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(n, window + 1))
    w[:, window // 2] = ord("C")
    return w


def naive_context(row: bytes, c: int) -> int:
    nxt, after = chr(row[c + 1]), chr(row[c + 2])
    return 0 if nxt == "G" else 1 if after == "G" else 2


# -- mutagenesis ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, scaling", [("both", "l2"), ("up", "frequency"), ("down", "l2")])
def test_ism_of_lr_equals_rescoring_each_mutant_one_at_a_time(mode: str, scaling: str) -> None:
    scorer = lr_scorer(mode=mode, scaling=scaling, window=40, size=12)
    r = scorer.recipe
    windows = windows_with_c(5, r.window, seed=1)
    windows[0, r.window // 2 + 1] = ord("G")  # a CG, whose G a mutant turns into CHG/CHH
    ctx = np.array([naive_context(w.tobytes(), r.window // 2) for w in windows])
    m = ism(scorer, r.cut(windows), ctx, windows[:, 20:23], chunk_rows=100)  # several chunks
    for i, window in enumerate(windows):
        x = r.cut(window[None])[0]
        before = scorer.logits(x[None], ctx[i:i + 1])[0]
        for j in range(r.length):
            for b, base in enumerate(b"ACGT"):
                if x[j] == base:
                    assert m.delta[i, j, b] == 0 and not m.alternative[i, j, b]
                    continue
                mutated_window = window.copy()
                mutated_window[r.start + j] = base
                new_ctx = naive_context(mutated_window.tobytes(), r.window // 2) if mode != "up" else ctx[i]
                one = scorer.logits(r.cut(mutated_window[None]), np.array([new_ctx]))[0]
                assert m.delta[i, j, b] == pytest.approx(one - before, abs=1e-12), (i, j, b)
    assert m.offsets[r.center] == 0 and m.offsets[0] == (0 if mode == "down" else -12)


def test_mutants_are_each_other_base_once_and_four_at_an_n() -> None:
    x = to_ascii(["ACNT"])
    rows, site, column, base = mutants(x)
    assert rows.shape == (3 + 3 + 4 + 3, 4)
    assert (np.bincount(column) == [3, 3, 4, 3]).all() and (site == 0).all()
    assert not any((row == x[0]).all() for row in rows)
    assert sorted(rows[column == 2, 2].tobytes()) == sorted(b"ACGT")


def test_a_mutant_that_changes_the_g_after_a_cg_is_scored_with_its_new_context() -> None:
    trinuc = to_ascii(["CGA", "CAG", "CTT"])
    ctx = np.array([0, 1, 2])
    site = np.array([0, 0, 1, 1, 2, 0])
    offset = np.array([1, 2, 2, 1, 2, -3])
    base = np.array([0, 2, 3, 2, 2, 2])  # A, G, T, G, G, G
    out = mutant_contexts(ctx, trinuc, site, offset, base)
    # CGA→CAA: CHH; CGA→CGG: still CG; CAG→CAT: CHH; CAG→CGG: CG; CTT→CTG: CHG; upstream: unchanged
    assert out.tolist() == [2, 0, 2, 0, 1, 0]
    assert mutant_contexts(ctx, None, site, offset, base).tolist() == [0, 0, 1, 1, 2, 0]


# -- profile, summary, logo, k-mers ---------------------------------------------------------------------------
def test_summary_shares_radius_and_peak_leave_the_c_itself_out() -> None:
    offsets = np.arange(-5, 6)
    profile = np.zeros(11)
    profile[offsets == 0] = 100.0  # the C: ignored
    profile[offsets == 1] = 6.0
    profile[offsets == -2] = 3.0
    profile[offsets == 5] = 1.0
    s = summarize(profile, offsets, radii=(2, 4))
    assert s["share_within"] == {"2": 0.9, "4": 0.9}
    assert s["radius_90"] == 2 and s["peak_offset"] == 1 and s["at_c"] == 100.0
    assert summarize(np.zeros(11), offsets)["radius_90"] is None
    assert s["local_span"] is None  # ±5 bp has no flanks to compare with


def test_a_flat_profile_has_a_wide_radius_but_its_local_span_says_what_stands_out() -> None:
    from dnactx.explain.artifact import sentence

    offsets = np.arange(-100, 101)
    profile = np.ones(201)
    profile[(offsets >= -3) & (offsets <= 2)] = 3.0
    profile[offsets == 1] = 40.0
    profile[offsets == -30] = 5.0  # a lone far peak is not part of the span
    s = summarize(profile, offsets)
    assert s["radius_90"] > 80 and s["local_span"] == [-3, 2] and s["flank_level"] == 1.0
    assert s["above_flank"] == pytest.approx((4 * 2 + 39 + 4) / (profile.sum() - 3.0))
    assert "above twice the flank level from -3 to +2 bp" in sentence(s)


def hand_made(deltas: dict[tuple[int, int, str], float], seqs: list[str], center: int) -> Mutagenesis:
    inputs = to_ascii(seqs)
    delta = np.zeros((len(seqs), inputs.shape[1], 4))
    for (i, j, b), v in deltas.items():
        delta[i, j, "ACGT".index(b)] = v
    alternative = inputs[:, :, None] != np.frombuffer(b"ACGT", np.uint8)[None, None, :]
    return Mutagenesis(delta, alternative, np.zeros(len(seqs)), inputs, center)


def test_profile_logo_and_kmers_follow_their_definitions() -> None:
    m = hand_made({(0, 0, "C"): -3.0, (0, 0, "G"): -3.0, (0, 0, "T"): -3.0, (1, 0, "A"): 6.0},
                  ["ACGTACGT", "TCGTACGT"], center=1)
    imp = importance(m)
    assert imp[0, 0] == 3.0 and imp[1, 0] == 2.0 and imp[:, 1:].sum() == 0
    profile = positional_profile(imp, m.offsets, np.array([0, 2]))
    assert profile.query("context == 'all' and offset == -1")["mean_abs_delta"].item() == 2.5
    assert profile.query("context == 'CG' and offset == -1")["mean_abs_delta"].item() == 3.0
    from dnactx.explain import attribution

    att = attribution(m)
    assert att[0, 0] == 3.0 and att[1, 0] == -2.0  # A raises the score; T lowers it
    logo = logo_matrix(m, att, np.array([True, True]), flank=1)
    assert logo.loc[-1, "A"] == 1.5 and logo.loc[-1, "T"] == -1.0 and logo.loc[0].abs().sum() == 0
    kmers = top_kmers(m, imp, att, k=3, top=3)
    assert kmers.iloc[0]["kmer"] == "TCG" and kmers.iloc[0]["mean_effect"] == 2.0
    acg = kmers.set_index("kmer").loc["ACG"]
    assert acg["count"] == 3 and acg["sites"] == 2 and acg["mean_effect"] == 1.0  # 3.0 once, 0 twice


# -- strand handling, through genome windows and a BED file -------------------------------------------------------
def strand_genome(tmp_path: Path) -> tuple[Path, int, int]:
    """A genome with a + strand C and a − strand C, each with GATTAC 10 bp upstream on its own strand."""
    rng = np.random.default_rng(3)
    seq = list(rng.choice(list("AT"), 400))  # no C/G except the sites and the motif: nothing else to find
    plus, minus = 100, 300  # 1-based
    seq[plus - 1] = "C"
    seq[plus - 1 - 10:plus - 1 - 4] = list("GATTAC")  # offsets -10..-5 on +
    seq[minus - 1] = "G"  # a C on −
    seq[minus - 1 + 5:minus - 1 + 11] = list("GTAATC")  # GATTAC on − at offsets -10..-5 of that strand
    path = tmp_path / "g.fa"
    path.write_text(">chrS\n" + "".join(seq) + "\n")
    return path, plus, minus


def test_a_minus_strand_sites_profile_offsets_are_on_its_own_strand(tmp_path: Path) -> None:
    fasta, plus, minus = strand_genome(tmp_path)
    scorer = lr_scorer(window=60, size=20, coef=kmer_coef("GATTAC"), scaling="frequency")
    bed = tmp_path / "s.bed"
    bed.write_text(f"chrS\t{plus - 1}\t{plus}\tp\t0\t+\nchrS\t{minus - 1}\t{minus}\tm\t0\t-\n")
    sites = bed_sites(bed, scorer.recipe, dataset=None, genome=FastaGenome(fasta), aliases={}, n=10)
    assert sites.strand.tolist() == [1, -1] and sites.pos.tolist() == [plus, minus]
    m = ism(scorer, scorer.recipe.cut(sites.windows), sites.context_id, sites.trinuc())
    imp = importance(m)
    for i in range(2):
        moved = m.offsets[imp[i] > 1e-9]
        assert moved.min() >= -10 and moved.max() <= -5 and set(range(-10, -4)) <= set(moved.tolist()), moved


def test_bed_intervals_name_every_cytosine_and_refuse_what_is_outside_the_genome(tmp_path: Path) -> None:
    fasta, plus, minus = strand_genome(tmp_path)
    genome = FastaGenome(fasta)
    recipe = lr_scorer(window=60).recipe
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\nchrS\t80\t110\n")  # a region without strand: both strands' cytosines
    sites = bed_sites(bed, recipe, dataset=None, genome=genome, aliases={}, n=100)
    # the site, and the motif's G (a C on −) and C: genome order, each on its strand
    assert sites.pos.tolist() == [plus - 10, plus - 5, plus] and sites.strand.tolist() == [-1, 1, 1]
    bed.write_text("1\t80\t110\n")
    assert len(bed_sites(bed, recipe, dataset=None, genome=genome, aliases={"1": "chrS"}, n=100)) == len(sites)
    bed.write_text("chrS\t380\t500\n")
    with pytest.raises(DnactxError, match="lies outside --genome .*past the end of chrS"):
        bed_sites(bed, recipe, dataset=None, genome=genome, aliases={}, n=10)
    bed.write_text("chrX\t1\t2\n")
    with pytest.raises(DnactxError, match="none of its chromosomes"):
        bed_sites(bed, recipe, dataset=None, genome=genome, aliases={}, n=10)
    bed.write_text("chrS\t0\t1\t.\t0\t+\n")
    with pytest.raises(DnactxError, match="not a C on \\+: is the file 0-based"):
        bed_sites(bed, recipe, dataset=None, genome=genome, aliases={}, n=10)


# -- site selection from a dataset ---------------------------------------------------------------------------
@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_tiny_dataset(tmp_path / "data")


def test_top_sites_are_the_highest_scoring_positives_of_the_split(dataset: Path) -> None:
    scorer = lr_scorer()
    df = pd.read_parquet(dataset)
    top = select_sites(scorer, dataset, "test", "top", 5, 0)
    positives = np.flatnonzero((df["split"] == "test").to_numpy() & (df["label"] == 1).to_numpy())
    windows = to_ascii(df["seq"].to_numpy()[positives].tolist())
    ctx = df["context"].map({"CG": 0, "CHG": 1, "CHH": 2}).to_numpy()[positives]
    logits = scorer.logits(scorer.recipe.cut(windows), ctx)
    assert len(top) == 5 and (top.label == 1).all()
    assert sorted(top.row.tolist()) == sorted(positives[np.argsort(-logits)[:5]].tolist())
    assert (top.windows == to_ascii(df["seq"].to_numpy()[top.row].tolist())).all()
    assert top.strand.tolist() == np.where(df["strand"].to_numpy()[top.row] == "-", -1, 1).tolist()


def test_positives_and_random_samples_are_seeded_and_an_empty_set_is_one_error(dataset: Path) -> None:
    scorer = lr_scorer()
    df = pd.read_parquet(dataset, columns=["split", "label"])
    every = select_sites(scorer, dataset, "val", "positives", 10_000, 0)
    assert len(every) == int(((df["split"] == "val") & (df["label"] == 1)).sum())
    a, b = (select_sites(scorer, dataset, "val", "random", 30, 7) for _ in range(2))
    c = select_sites(scorer, dataset, "val", "random", 30, 8)
    assert a.row.tolist() == b.row.tolist() != c.row.tolist() and len(a) == 30
    assert (df["split"].to_numpy()[a.row] == "val").all() and set(df["label"].to_numpy()[a.row]) == {0, 1}
    df_all = pd.read_parquet(dataset)
    df_all.loc[df_all["split"] == "test", "label"] = 0
    df_all.to_parquet(dataset, index=False)
    with pytest.raises(DnactxError, match="the test split of .* has no positive sites"):
        select_sites(scorer, dataset, "test", "top", 5, 0)


def test_bed_sites_come_from_the_dataset_without_a_genome(dataset: Path, tmp_path: Path) -> None:
    df = pd.read_parquet(dataset, columns=["chrom", "pos", "strand"])
    bed = tmp_path / "d.bed"
    bed.write_text("".join(f"chr1\t{p - 1}\t{p}\t.\t0\t{s}\n" for p, s in zip(df["pos"][:3], df["strand"][:3],
                                                                               strict=True)))
    sites = bed_sites(bed, lr_scorer().recipe, dataset=dataset, genome=None, aliases={}, n=10)
    assert sites.row.tolist() == [0, 1, 2]
    bed.write_text("chr1\t1\t2\n")
    with pytest.raises(DnactxError, match="holds no site of the run's dataset; pass --genome"):
        bed_sites(bed, lr_scorer().recipe, dataset=dataset, genome=None, aliases={}, n=10)


# -- VCF -------------------------------------------------------------------------------------------------------
VCF_HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def test_vcf_splits_multiallelic_records_trims_padding_and_counts_what_it_skips(tmp_path: Path) -> None:
    body = ("chr1\t10\trs1\tA\tG,T\t.\t.\t.\n"       # two SNVs
            "chr1\t20\t.\tCAT\tC,TAT\t.\t.\t.\n"     # a deletion and the SNV C→T
            "chr1\t30\t.\tCAT\tCGT\t.\t.\t.\n"       # padded SNV A→G at 31
            "chr1\t40\t.\tAC\tGT\t.\t.\t.\n"         # MNP
            "chr1\t50\t.\tA\t<DEL>,*\t.\t.\t.\n"     # symbolic
            "chr1\t60\t.\tA\tAT\t.\t.\t.\n")          # insertion
    path = tmp_path / "v.vcf.gz"
    half = len(body) // 2
    cut = body.rindex("\n", 0, half) + 1
    path.write_bytes(gzip.compress((VCF_HEADER + body[:cut]).encode()) + gzip.compress(body[cut:].encode()))  # bgzip
    snvs = read_snvs(path)
    assert list(zip(snvs.pos.tolist(), snvs.ref.tolist(), snvs.alt.tolist(), strict=True)) == [
        (10, "A", "G"), (10, "A", "T"), (20, "C", "T"), (31, "A", "G")]
    assert snvs.line.tolist() == [3, 3, 4, 5] and snvs.id.tolist()[:2] == ["rs1", "rs1"]
    c = snvs.counts
    assert (c["records"], c["multiallelic_records"], c["alleles"]) == (6, 3, 9)
    assert (c["snv"], c["indel"], c["mnp"], c["other"]) == (4, 2, 1, 2)


def variant_genome(tmp_path: Path) -> Path:
    """chrV: A/T only, with a + strand CG at 50-51 and 'TG' at 80-81 (a T→C at 80 makes a CG)."""
    seq = ["A", "T"] * 60
    seq[49], seq[50] = "C", "G"
    seq[79], seq[80] = "T", "G"
    path = tmp_path / "v.fa"
    path.write_text(">chrV\n" + "".join(seq) + "\n")
    return path


def write_vcf(path: Path, rows: list[str]) -> Path:
    path.write_text(VCF_HEADER + "".join(r + "\t.\t.\t.\n" for r in rows))
    return path


def test_a_c_to_t_at_a_site_loses_it_and_a_t_to_c_before_a_g_makes_a_new_one(tmp_path: Path) -> None:
    scorer = lr_scorer(window=40, size=10)
    genome = FastaGenome(variant_genome(tmp_path))
    vcf = write_vcf(tmp_path / "v.vcf", ["chrV\t50\tlose\tC\tT", "chrV\t80\tgain\tT\tC", "chrV\t51\tctx\tG\tA"])
    table, counts = variant_effects(scorer, genome, read_snvs(vcf), {}, "--variants v.vcf")
    at = table.set_index(["variant", "site_pos", "site_strand"])
    lost = at.loc[("lose", 50, "+")]
    assert lost["status"] == "lost" and np.isnan(lost["p_alt"]) and 0 < lost["p_ref"] < 1
    new = at.loc[("gain", 80, "+")]
    assert new["status"] == "new" and np.isnan(new["p_ref"]) and new["context_alt"] == "CG"
    ctx = at.loc[("ctx", 50, "+")]  # CG → CA·: the site stays, its context becomes CHH
    assert ctx["status"] == "context" and (ctx["context_ref"], ctx["context_alt"]) == ("CG", "CHH")
    assert ctx["delta_p"] == pytest.approx(ctx["p_alt"] - ctx["p_ref"])
    # the minus-strand C of the CG (the G at 51) is lost by the G→A too
    assert at.loc[("ctx", 51, "-")]["status"] == "lost"
    assert counts["sites_lost"] >= 2 and counts["sites_new"] >= 1
    bedgraph = largest_effects(table, genome.names)
    assert bedgraph["start"].tolist() == sorted(bedgraph["start"].tolist())


def test_every_cytosine_within_reach_is_scored_on_both_strands(tmp_path: Path) -> None:
    scorer = lr_scorer(window=40, size=10)
    fasta, plus, minus = strand_genome(tmp_path)
    genome = FastaGenome(fasta)
    text = fasta.read_text().split("\n")[1]
    flip = {"A": "T", "T": "A", "G": "C", "C": "G"}

    def snv(pos: int) -> str:
        return f"chrS\t{pos}\t.\t{text[pos - 1]}\t{flip[text[pos - 1]]}"

    vcf = write_vcf(tmp_path / "r.vcf", [snv(plus - 7), snv(minus + 12)])
    table, _ = variant_effects(scorer, genome, read_snvs(vcf), {}, "--variants r.vcf")
    first = table[table["pos"] == plus - 7]
    assert ((first["site_pos"] == plus) & (first["offset"] == -7)).sum() == 1
    # 12 bp beyond the − strand C is upstream on its strand, outside ±10: not scored
    assert not ((table["pos"] == minus + 12) & (table["site_pos"] == minus)).any()
    r_up = lr_scorer(window=40, size=10, mode="up")
    table_up, _ = variant_effects(r_up, genome, read_snvs(write_vcf(tmp_path / "u.vcf", [snv(minus - 6)])), {}, "v")
    assert ((table_up["site_pos"] == minus) & (table_up["offset"] == 6)).sum() == 0  # downstream on − : unseen


def test_a_ref_that_disagrees_with_the_genome_is_one_error_naming_the_build(tmp_path: Path) -> None:
    genome = FastaGenome(variant_genome(tmp_path))
    vcf = write_vcf(tmp_path / "bad.vcf", ["chrV\t50\t.\tC\tT", "chrV\t52\t.\tG\tA"])
    with pytest.raises(DnactxError, match=r"line 4: chrV:52 has REF G but the genome has T there \(1 of 2 variants "
                                          r"on chrV disagree\).*another genome build"):
        variant_effects(lr_scorer(window=40, size=10), genome, read_snvs(vcf), {}, "--variants bad.vcf")
    other = write_vcf(tmp_path / "o.vcf", ["V\t50\t.\tC\tT"])
    with pytest.raises(DnactxError, match="none of its chromosomes"):
        variant_effects(lr_scorer(window=40, size=10), genome, read_snvs(other), {}, "--variants o.vcf")
    table, _ = variant_effects(lr_scorer(window=40, size=10), genome, read_snvs(other), {"V": "chrV"}, "o")
    assert (table["status"] == "lost").any()


# -- CLI errors --------------------------------------------------------------------------------------------------
def test_explain_cli_bad_input_is_one_error_line(tmp_path: Path, capsys) -> None:
    home = tmp_path / "runs"
    home.mkdir()
    code, _, err = run_cli(["explain", "nosuchrun", "--out", str(tmp_path / "o"), "--home", str(home)], capsys)
    assert code == 2 and "no run under" in err and err.count("error:") == 1
    folder = make_run_folder(home, model="lr")  # no lr.safetensors
    code, _, err = run_cli(["explain", folder.id, "--out", str(tmp_path / "o"), "--home", str(home)], capsys)
    assert code == 2 and "has no saved model" in err
    code, _, err = run_cli(["explain", folder.id, "--out", str(tmp_path / "o"), "--sites", "best", "--home",
                            str(home)], capsys)
    assert code == 2 and "--sites must be top, positives, random or a BED file" in err
    code, _, err = run_cli(["explain", folder.id, "--out", str(tmp_path / "o"), "--variants", "x.vcf"], capsys)
    assert code == 2 and "--variants needs --genome" in err
    code, _, err = run_cli(["explain", folder.id, "--out", "o", "--variants", "x.vcf", "--n", "5"], capsys)
    assert code == 2 and "--n does not apply with --variants" in err
    assert not (tmp_path / "o").exists()


# -- diagnose's rule ---------------------------------------------------------------------------------------------
def test_diagnose_finds_a_model_that_looks_only_at_the_site_context_and_not_one_that_looks_further() -> None:
    from dnactx.analysis.diagnose import rule_attribution
    from dnactx.explain import explanation_summary

    def explanation(near: float) -> dict:
        summary = {"share_within": {"2": near, "10": 0.97, "50": 0.99}, "radius_90": 2 if near >= 0.9 else 40,
                   "peak_offset": 1}
        from dnactx.explain.artifact import sentence

        return explanation_summary({"summary": {"all": summary}, "sentence": sentence(summary),
                                    "selection": {"sites": "top", "split": "test"}, "sites": {"n": 500}})

    local = rule_attribution({"explanation": explanation(0.95)})
    assert local["code"] == "site_context_only" and local["severity"] == 2
    assert local["evidence"].startswith("the model's attribution is 95% within ±2 bp (ISM of 500 top sites of test")
    assert "site context and little else" in local["conclusion"]
    assert rule_attribution({"explanation": explanation(0.5)}) is None
    assert rule_attribution({}) is None
