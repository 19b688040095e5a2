"""dnactx predict on a small synthetic genome with calls and an lr model written by hand (no training): every
cytosine scored with the run's recipe, prepare's labels, the tracks read back, the evaluation and its registry
rows, regions, resuming, identity, export round trip, and one error line for each kind of bad input; and (trained,
slow) two level models' folders compared on level metrics."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import _site_context, make_genome_with_calls, make_lr_run, make_run_folder, run_cli

from dnactx.inference import load_scorer
from dnactx.sequence import to_ascii


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """The genome, calls, an lr run and one complete predict with --calls (computed once)."""
    root = tmp_path_factory.mktemp("predict")
    genome, calls = make_genome_with_calls(root / "inputs")
    home = root / "runs"
    run_id = make_lr_run(home)
    out = root / "pred"
    from conftest import cli_exit_code

    code = cli_exit_code("--home", str(home), "predict", run_id[:8], "--genome", str(genome), "--out", str(out),
                         "--calls", str(calls), "--bootstrap", "100", "-q")
    assert code == 0
    return {"root": root, "genome": genome, "calls": calls, "home": home, "run_id": run_id, "out": out}


def predictions(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "predictions.parquet")


def fasta_records(path: Path) -> dict[str, str]:
    records, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            records[name] = ""
        else:
            records[name] += line.strip()
    return records


def cytosines_by_hand(path: Path) -> list[tuple[str, int, str, str]]:
    """(chrom, pos, strand, context) of every C on + and G on − whose context the genome decides."""
    out = []
    for name, seq in fasta_records(path).items():
        seq = seq.upper()
        for i, base in enumerate(seq):
            strand = "+" if base == "C" else "-" if base == "G" else None
            context = _site_context(seq, i, strand) if strand else None
            if context:
                out.append((name, i + 1, strand, context))
    return out


def test_every_cytosine_of_the_genome_is_scored_once_in_genome_order(world) -> None:
    df = predictions(world["out"])
    expected = cytosines_by_hand(world["genome"])
    got = list(zip(df["chrom"], df["pos"], df["strand"], df["context"], strict=True))
    assert got == expected
    assert df["prob"].between(0, 1).all() and df["prob"].dtype == np.float32


def test_probabilities_are_the_scorers_on_prepares_windows(world, tmp_path: Path) -> None:
    from dnactx.prepare import PrepareOptions, prepare_dataset

    prepare_dataset(PrepareOptions(genome=world["genome"], calls=world["calls"], out=tmp_path / "d", window=200,
                                   block_size=2000))
    ds = pd.read_parquet(tmp_path / "d" / "dataset.parquet", columns=["chrom", "pos", "strand", "context", "seq"])
    scorer = load_scorer(world["run_id"], world["home"])
    codes = ds["context"].map({"CG": 0, "CHG": 1, "CHH": 2}).to_numpy()
    expected = scorer.probs(scorer.recipe.cut(to_ascii(ds["seq"].tolist())), codes)
    merged = ds.merge(predictions(world["out"]), on=["chrom", "pos", "strand", "context"], how="left")
    np.testing.assert_allclose(merged["prob"].to_numpy(), expected, rtol=0, atol=1e-6)


def test_labels_counts_and_levels_are_exactly_prepares(world, tmp_path: Path) -> None:
    from dnactx.prepare import PrepareOptions, prepare_dataset

    summary = prepare_dataset(PrepareOptions(genome=world["genome"], calls=world["calls"], out=tmp_path / "d",
                                             window=200, block_size=2000))
    ds = pd.read_parquet(tmp_path / "d" / "dataset.parquet", columns=["chrom", "pos", "strand", "mc", "cov", "level",
                                                                      "label"])
    df = predictions(world["out"])
    merged = ds.merge(df, on=["chrom", "pos", "strand"], suffixes=("", "_p"))
    assert len(merged) == len(ds)
    for column in ("mc", "cov", "label"):
        assert (merged[column] == merged[f"{column}_p"]).all()
    np.testing.assert_array_equal(merged["level"], merged["level_p"])
    # predict labels every site prepare keeps; prepare also leaves out sites whose window crosses a split boundary
    assert df["label"].notna().sum() == len(ds) + summary["skipped"]["split_boundary"]
    zero = df[df["cov"].isna()]
    assert len(zero) and zero[["mc", "level", "label"]].isna().all().all()  # no coverage: nulls, not zeros


def test_tracks_hold_every_sites_prediction_and_read_back(world) -> None:
    import pyBigWig

    df = predictions(world["out"])
    lengths = {name: len(seq) for name, seq in fasta_records(world["genome"]).items()}
    for context in ("CG", "CHG", "CHH"):
        sites = df[df["context"] == context]
        with gzip.open(world["out"] / f"{context}.bedGraph.gz", "rt") as fh:
            track, *lines = fh.read().splitlines()
        assert track.startswith("track type=bedGraph") and f'name="{context} ' in track
        rows = pd.DataFrame([line.split("\t") for line in lines], columns=["chrom", "start", "end", "value"])
        assert (rows["chrom"] == sites["chrom"].to_numpy()).all()
        assert (rows["start"].astype(int) == sites["pos"].to_numpy() - 1).all()
        assert (rows["end"].astype(int) == sites["pos"].to_numpy()).all()
        np.testing.assert_allclose(rows["value"].astype(float), sites["prob"], rtol=1e-3, atol=1e-7)
        bw = pyBigWig.open(str(world["out"] / f"{context}.bw"))
        assert bw.isBigWig() and bw.chroms() == lengths
        # (pyBigWig's header() shows minVal/maxVal as integers: check the summary through stats())
        assert bw.header()["nBasesCovered"] == len(sites) and bw.header()["nLevels"] >= 1
        assert bw.header()["sumData"] == pytest.approx(sites["prob"].sum(), abs=1)
        for chrom in lengths:
            intervals = np.array(bw.intervals(chrom))
            mine = sites[sites["chrom"] == chrom]
            np.testing.assert_array_equal(intervals[:, 0], mine["pos"] - 1)
            np.testing.assert_array_equal(intervals[:, 1], mine["pos"])
            np.testing.assert_allclose(intervals[:, 2], mine["prob"], rtol=0, atol=1e-7)
            assert bw.stats(chrom, type="max")[0] == pytest.approx(mine["prob"].max(), abs=1e-6)
        bw.close()


def test_predict_json_names_the_model_genome_counts_timing_and_files(world) -> None:
    from dnactx.provenance import sha256_file

    summary = json.loads((world["out"] / "predict.json").read_text())
    df = predictions(world["out"])
    assert summary["status"] == "complete" and summary["genome"]["sha256"] == sha256_file(world["genome"])
    assert summary["model"]["kind"] == "run" and summary["model"]["run_id"] == world["run_id"]
    assert summary["model"]["recipe"]["family"] == "lr" and summary["model"]["recipe"]["size"] == 20
    counts = summary["counts"]["by_chromosome"]
    for (chrom, context), n in df.groupby(["chrom", "context"]).size().items():
        assert counts[chrom][context] == n
    assert summary["counts"]["total"]["all"] == len(df)
    assert summary["counts"]["total"]["labelled"] == df["label"].notna().sum()
    assert summary["timing"]["sites_per_s"] > 0 and summary["timing"]["processes"] == 1
    assert set(summary["outputs"]) == {"predictions.parquet", "tracks.png", "CG.bedGraph.gz", "CHG.bedGraph.gz",
                                       "CHH.bedGraph.gz", "CG.bw", "CHG.bw", "CHH.bw"}
    assert not (world["out"] / ".dnactx-predict").exists()  # the state goes once merged


def test_predict_json_holds_only_what_its_contract_declares(world) -> None:
    from dnactx.contracts import PredictIdentity, PredictSummary

    summary = json.loads((world["out"] / "predict.json").read_text())
    assert set(summary) <= PredictSummary.__annotations__.keys()
    assert set(summary["identity"]) <= PredictIdentity.__annotations__.keys()


def test_evaluation_equals_scikit_learn_and_binned_means(world) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    evaluation = json.loads((world["out"] / "predict.json").read_text())["evaluation"]
    df = predictions(world["out"]).dropna(subset=["label"])
    assert evaluation["labelled_sites"] == len(df)
    for name, part in [("all", df)] + list(df.groupby("context")):
        m = evaluation["sites"][name]
        assert m["n"] == len(part) and m["positives"] == part["label"].sum()
        assert m["auroc"] == pytest.approx(roc_auc_score(part["label"], part["prob"]), abs=1e-9)
        assert m["auprc"] == pytest.approx(average_precision_score(part["label"], part["prob"]), abs=1e-9)
        assert m["auroc_ci"][0] <= m["auroc"] <= m["auroc_ci"][1]
    assert evaluation["sites"]["bootstrap"]["n_resamples"] == 100
    bins = df.assign(bin=(df["pos"] - 1) // 10_000).groupby(["chrom", "bin"])[["level", "prob"]].mean()
    r = np.corrcoef(bins["level"], bins["prob"])[0, 1]
    assert evaluation["bins"]["10kb"]["all"]["pearson_r"] == pytest.approx(r, abs=1e-6)
    assert evaluation["bins"]["10kb"]["all"]["bins"] == len(bins)


def test_evaluation_is_listed_by_runs_show_and_restored_by_rebuild(world, tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    shutil.copytree(world["home"], home)
    code, out, _ = run_cli(["--home", str(home), "runs", "show", world["run_id"], "--json"], capsys)
    assert code == 0
    evaluations = json.loads(out)["evaluations"]
    assert len(evaluations) == 1 and evaluations[0]["out"] == str(world["out"].resolve())
    assert evaluations[0]["n_labelled"] == predictions(world["out"])["label"].notna().sum()
    (home / "registry.sqlite").unlink()
    assert run_cli(["--home", str(home), "runs", "sync", "--rebuild"], capsys)[0] == 0
    code, out, _ = run_cli(["--home", str(home), "runs", "show", world["run_id"][:8], "--json"], capsys)
    assert json.loads(out)["evaluations"] == evaluations
    code, out, _ = run_cli(["--home", str(home), "runs", "show", world["run_id"][:8]], capsys)
    assert "evaluations on new data" in out and str(world["out"].resolve())[:20] in out


def test_tracks_png_is_drawn(world) -> None:
    from matplotlib.image import imread

    image = imread(world["out"] / "tracks.png")
    assert image.shape[1] > 800 and image.shape[0] > 300
    rgb = (image[..., :3] * 255).astype(np.int64)
    assert np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]).size > 20  # not a blank canvas


def test_regions_limit_the_sites_and_overlapping_intervals_merge(world, tmp_path: Path, capsys) -> None:
    bed = tmp_path / "regions.bed"
    bed.write_text("track name=x\n# a comment\nchr1\t1000\t3000\nchr1\t2500\t4000\nchr2\t0\t500\n")
    out = tmp_path / "pred"
    code, stdout, _ = run_cli(["--home", str(world["home"]), "predict", world["run_id"], "--genome",
                               str(world["genome"]), "--out", str(out), "--regions", str(bed), "-q"], capsys)
    assert code == 0 and stdout.strip() == str(out)
    df = predictions(out)
    inside = ((df["chrom"] == "chr1") & df["pos"].between(1001, 4000)) | ((df["chrom"] == "chr2") & (df["pos"] <= 500))
    assert inside.all()
    full = predictions(world["out"])
    expected = full[((full["chrom"] == "chr1") & full["pos"].between(1001, 4000))
                    | ((full["chrom"] == "chr2") & (full["pos"] <= 500))]
    np.testing.assert_array_equal(df["prob"], expected["prob"])
    assert "label" not in df.columns and not (out / "tracks.png").exists()  # no --calls, no evaluation


def test_chromosome_names_need_not_match_the_training_data(world, tmp_path: Path, capsys) -> None:
    renamed = tmp_path / "renamed.fa"
    renamed.write_text(world["genome"].read_text().replace(">chr1", ">Scaffold_A").replace(">chr2", ">Scaffold_B"))
    out = tmp_path / "pred"
    code, _, err = run_cli(["--home", str(world["home"]), "predict", world["run_id"], "--genome", str(renamed),
                            "--out", str(out), "--chroms", "Scaffold_B", "-q"], capsys)
    assert code == 0, err
    df = predictions(out)
    full = predictions(world["out"])
    assert set(df["chrom"]) == {"Scaffold_B"}
    np.testing.assert_array_equal(df["prob"], full.loc[full["chrom"] == "chr2", "prob"])


def test_a_rerun_skips_finished_chromosomes_and_a_complete_one_does_nothing(world, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pred"
    base = ["--home", str(world["home"]), "predict", world["run_id"], "--genome", str(world["genome"]), "--out",
            str(out), "--calls", str(world["calls"]), "--bootstrap", "100"]
    code, _, err = run_cli(base + ["--group", "0", "--groups", "2"], capsys)
    assert code == 0 and "predict chr1:" in err and "1 of 2 chromosomes are scored" in err
    assert not (out / "predict.json").exists() and (out / ".dnactx-predict" / "parts" / "00000.parquet").is_file()
    code, _, err = run_cli(base, capsys)
    assert code == 0 and "predict chr2:" in err and "predict chr1:" not in err  # chr1 was done
    pd.testing.assert_frame_equal(predictions(out), predictions(world["out"]))
    code, _, err = run_cli(base, capsys)
    assert code == 0 and "already complete" in err


def test_another_model_in_the_same_out_is_refused_until_forced(world, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pred"
    other = make_lr_run(world["home"], seed=1)
    common = ["--home", str(world["home"]), "predict", "--genome", str(world["genome"]), "--out", str(out),
              "--chroms", "chr2", "-q"]
    assert run_cli(common[:3] + [world["run_id"]] + common[3:], capsys)[0] == 0
    first = predictions(out)
    code, _, err = run_cli(common[:3] + [other] + common[3:], capsys)
    assert code == 2 and "holds predictions of another model" in err and "--force" in err
    pd.testing.assert_frame_equal(predictions(out), first)  # untouched
    assert run_cli(common[:3] + [other] + common[3:] + ["--force"], capsys)[0] == 0
    assert not np.array_equal(predictions(out)["prob"], first["prob"])


def test_export_round_trip_and_where_its_evaluation_goes(world, tmp_path: Path, capsys) -> None:
    from dnactx.inference.export import export_model

    model = tmp_path / "model"
    export_model(world["run_id"], model, world["home"])
    home = tmp_path / "home"
    shutil.copytree(world["home"], home)
    out = tmp_path / "pred"
    args = ["predict", str(model), "--genome", str(world["genome"]), "--out", str(out), "--calls",
            str(world["calls"]), "--bootstrap", "100", "-q"]
    assert run_cli(["--home", str(home)] + args, capsys)[0] == 0
    pd.testing.assert_frame_equal(predictions(out), predictions(world["out"]))
    summary = json.loads((out / "predict.json").read_text())
    assert summary["model"]["kind"] == "export" and summary["registry"]["recorded"]
    assert summary["registry"]["run_id"] == world["run_id"]
    out2 = tmp_path / "pred2"
    empty = tmp_path / "empty-home"
    assert run_cli(["--home", str(empty)] + args[:5] + [str(out2)] + args[6:], capsys)[0] == 0
    registry = json.loads((out2 / "predict.json").read_text())["registry"]
    assert not registry["recorded"] and "predict.json only" in registry["note"]
    assert not (empty / "registry.sqlite").exists()


def _bad(tmp_path: Path, world: dict, kind: str) -> tuple[list[str], str]:
    genome = str(world["genome"])
    bed = tmp_path / "r.bed"
    if kind == "protein":
        protein = tmp_path / "protein.fa"
        protein.write_text(">sp|P69905|HBA_HUMAN\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADAL\n"
                           ">sp|P68871|HBB_HUMAN\nMVHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDLSTPDAVMGNPKVKAHG\n")
        return ["--genome", str(protein)], "is not DNA"
    if kind == "empty-bed":
        bed.write_text("# nothing here\n")
        return ["--genome", genome, "--regions", str(bed)], "holds no intervals"
    if kind == "bed-outside":
        bed.write_text("chr2\t15000\t16001\n")
        return ["--genome", genome, "--regions", str(bed)], "outside the genome (chr2 has 16,000 bp)"
    if kind == "bed-chromosome":
        bed.write_text("chrX\t0\t100\n")
        return ["--genome", genome, "--regions", str(bed)], "chromosome 'chrX' is not in --genome"
    if kind == "chroms":
        return ["--genome", genome, "--chroms", "chr9"], "--chroms: 'chr9' is not a chromosome"
    failed = make_run_folder(world["home"], status="failed")
    return ["--genome", genome, "--model-id", failed.id], "has no saved model"


@pytest.mark.parametrize("kind", ["protein", "empty-bed", "bed-outside", "bed-chromosome", "chroms", "no-model"])
def test_bad_input_is_one_line_and_leaves_no_output(world, tmp_path: Path, capsys, kind: str) -> None:
    args, message = _bad(tmp_path, world, kind)
    model = world["run_id"]
    if "--model-id" in args:
        model = args.pop(args.index("--model-id") + 1)
        args.remove("--model-id")
    out = tmp_path / "pred"
    code, stdout, err = run_cli(["--home", str(world["home"]), "predict", model, "--out", str(out), *args], capsys)
    assert code == 2 and stdout == ""
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1 and message in " ".join(err.split()), err
    assert not out.exists()


def test_a_folder_that_holds_other_files_is_not_used_as_out(world, tmp_path: Path, capsys) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    code, _, err = run_cli(["--home", str(world["home"]), "predict", world["run_id"], "--genome", str(world["genome"]),
                            "--out", str(out)], capsys)
    assert code == 2 and "holds 1 entry it did not write (chapter1.tex)" in err
    assert [p.name for p in out.iterdir()] == ["chapter1.tex"]


def test_a_gzip_genome_read_front_to_back_gives_the_same_predictions(world, tmp_path: Path, capsys) -> None:
    packed = tmp_path / "genome.fa.gz"
    with gzip.open(packed, "wt") as fh:
        fh.write(world["genome"].read_text())
    out = tmp_path / "pred"
    code, _, err = run_cli(["--home", str(world["home"]), "predict", world["run_id"], "--genome", str(packed),
                            "--out", str(out), "-q"], capsys)
    assert code == 0, err
    full = predictions(world["out"])
    pd.testing.assert_frame_equal(predictions(out), full[["chrom", "pos", "strand", "context", "prob"]])


def test_compare_pairs_two_models_on_the_same_new_sites(world, tmp_path: Path, capsys) -> None:
    from sklearn.metrics import average_precision_score

    home, out = str(world["home"]), str(world["out"])
    code, same, _ = run_cli(["--home", home, "compare", out, out, "--bootstrap", "200", "--json"], capsys)
    assert code == 0
    first = json.loads(same)["comparisons"][0]
    assert first["difference"] == 0 and first["ci"][0] <= 0 <= first["ci"][1]
    assert first["verdict"] == "no detectable difference"

    other = tmp_path / "other"
    common = ["--genome", str(world["genome"]), "--calls", str(world["calls"]), "--bootstrap", "100", "-q"]
    assert run_cli(["--home", home, "predict", make_lr_run(world["home"], seed=1), "--out", str(other)] + common,
                   capsys)[0] == 0
    code, text, _ = run_cli(["--home", home, "compare", out, str(other), "--bootstrap", "200", "--json"], capsys)
    assert code == 0
    result = json.loads(text)
    a, b = predictions(world["out"]), predictions(other)
    labelled = a["label"].notna()
    assert result["split"] == "predict" and result["n_sites"] == int(labelled.sum())
    auprc = result["comparisons"][0]
    assert auprc["metric"] == "auprc"
    assert auprc["a"] == pytest.approx(average_precision_score(a.loc[labelled, "label"], a.loc[labelled, "prob"]))
    assert auprc["b"] == pytest.approx(average_precision_score(b.loc[labelled, "label"], b.loc[labelled, "prob"]))
    assert auprc["ci"][0] <= auprc["difference"] <= auprc["ci"][1]
    code, text, _ = run_cli(["--home", home, "compare", out, str(other), "--bootstrap", "200"], capsys)
    assert code == 0 and "labelled sites of --calls" in text and "within-context AUROC" in text


@pytest.mark.parametrize("kind", ["a run", "no calls", "other region"])
def test_compare_refuses_predictions_of_different_sites_in_one_line(world, tmp_path: Path, capsys, kind) -> None:
    home, out = str(world["home"]), str(world["out"])
    other = tmp_path / "other"
    args = ["--home", home, "predict", world["run_id"], "--genome", str(world["genome"]), "--out", str(other), "-q"]
    if kind == "a run":
        other_arg, expected = world["run_id"], "is a predict folder and the other is not"
    elif kind == "no calls":
        assert run_cli(args + ["--chroms", "chr2"], capsys)[0] == 0
        other_arg, expected = str(other), "predicted without --calls"
    else:
        assert run_cli(args + ["--chroms", "chr2", "--calls", str(world["calls"]), "--bootstrap", "0"], capsys)[0] == 0
        other_arg, expected = str(other), "not evaluated on the same sites: their --chroms differ"
    code, _, err = run_cli(["--home", home, "compare", out, other_arg], capsys)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def level_predictions(tmp_path_factory) -> dict:
    """Two lr level models and an lr label model trained on one small genome, each predicted on it with --calls."""
    from conftest import cli_exit_code, train_on_a_small_genome

    cases = {"level-a": {"model": "lr", "target": "level", "C": 1.0},
             "level-b": {"model": "lr", "target": "level", "C": 0.01}, "label": {"model": "lr", "C": 1.0}}
    world = train_on_a_small_genome(tmp_path_factory.mktemp("predict-levels"), cases)
    for name, run_id in world["runs"].items():
        world[name] = world["root"] / f"pred-{name}"
        assert cli_exit_code("--home", str(world["home"]), "predict", run_id, "--genome", str(world["genome"]),
                             "--calls", str(world["calls"]), "--out", str(world[name]), "--bootstrap", "0", "-q") == 0
    return world


def _pearson_on_calls(out: Path) -> float:
    frame = predictions(out)
    called = frame[frame["cov"].fillna(0) > 0]
    return float(np.corrcoef(called["prob"].astype(np.float64), called["mc"] / called["cov"])[0, 1])


@pytest.mark.slow
def test_compare_ranks_two_level_models_predict_folders_on_a_level_metric(level_predictions, capsys) -> None:
    w = level_predictions
    home, a, b = str(w["home"]), str(w["level-a"]), str(w["level-b"])
    args = ["--home", home, "compare", a, b, "--metric", "pearson", "--bootstrap", "200", "--bootstrap-block", "2000"]
    code, text, err = run_cli(args + ["--json", "--by-context"], capsys)
    assert code == 0, err
    result = json.loads(text)
    first = result["comparisons"][0]
    called = predictions(w["level-a"])["cov"].fillna(0) > 0
    assert result["split"] == "predict" and result["n_sites"] == int(called.sum()) > int(result["n_positives"])
    assert first["metric"] == "pearson" and result["targets"] == ["level", "level"]
    assert first["a"] == pytest.approx(_pearson_on_calls(w["level-a"]), abs=1e-9)
    assert first["difference"] == pytest.approx(_pearson_on_calls(w["level-a"]) - _pearson_on_calls(w["level-b"]),
                                                abs=1e-9)
    assert first["ci"] is not None and first["ci"][0] <= first["ci"][1] and first["verdict"]
    assert [c["metric"] for c in result["comparisons"]] == ["pearson", "spearman", "mae", "r2_weighted"]
    assert set(result["by_context"]) == {"CG", "CHG", "CHH"}
    code, text, _ = run_cli(args, capsys)
    assert code == 0 and "sites with a call in --calls" in text and "Pearson r (level)" in text and "[" in text
    code, text, _ = run_cli(["--home", home, "compare", a, a, "--metric", "mae", "--bootstrap", "100"], capsys)
    assert code == 0 and "no detectable difference" in text


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["label model", "unknown metric"])
def test_compare_refuses_a_level_metric_it_cannot_rank_in_one_line(level_predictions, capsys, kind) -> None:
    w = level_predictions
    if kind == "label model":
        args, expected = [str(w["level-a"]), str(w["label"]), "--metric", "spearman"], "learned the label and has no"
    else:
        args, expected = [str(w["level-a"]), str(w["level-b"]), "--metric", "pearsn"], "--metric must be one of"
    code, out, err = run_cli(["--home", str(w["home"]), "compare", *args], capsys)
    assert code == 2 and out == "" and expected in err and len(err.strip().splitlines()) == 1
    if kind == "label model":  # on what both have they are ranked, with the note saying so
        code, text, err = run_cli(["--home", str(w["home"]), "compare", *args[:2], "--json", "--bootstrap", "100"],
                                  capsys)
        assert code == 0, err
        assert json.loads(text)["targets"] == ["level", "label"] and "which both have" in json.loads(text)["note"]
