"""dnactx.inference without training: recipes, calibration maps, the lr scorer against scikit-learn, windows from a
genome against prepare's, loading errors, and export of a hand-made lr run (card, manifest, refusals)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import flat_scores, make_run_folder, make_scored_run, run_cli

from dnactx.errors import DnactxError
from dnactx.inference import (
    Calibration,
    Recipe,
    genome_contexts,
    genome_windows,
    load_chromosome,
    load_scorer,
    locate_model,
    read_calibration,
)
from dnactx.io.fasta import FastaGenome
from dnactx.models.lr import kmer_features, n_features
from dnactx.sequence import to_ascii

PREPARE_GENOME = Path(__file__).parent / "data" / "prepare" / "genome.fa"


def lr_recipe(**kw) -> Recipe:
    return Recipe(**{"family": "lr", "model": "lr", "window": 200, "size": 20, "mode": "both", "site_context": True,
                     "lr_scaling": "l2", "kmax": 6, **kw})


# -- Recipe ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, length, center", [("both", 41, 20), ("up", 21, 20), ("down", 21, 0)])
def test_recipe_cut_puts_the_c_at_center(mode: str, length: int, center: int) -> None:
    windows = np.full((2, 201), ord("A"), dtype=np.uint8)
    windows[:, 100] = ord("C")
    windows[:, 80] = ord("G")  # 20 bp upstream
    windows[:, 120] = ord("T")  # 20 bp downstream
    r = lr_recipe(mode=mode)
    cut = r.cut(windows)
    assert cut.shape == (2, length) and r.length == length and r.center == center
    assert (cut[:, r.center] == ord("C")).all()
    if mode != "down":
        assert (cut[:, 0] == ord("G")).all()
    if mode != "up":
        assert (cut[:, -1] == ord("T")).all()


def test_recipe_json_round_trip_keeps_every_field() -> None:
    recipe = Recipe(family="transformer", model="dnabert6-tiny", window=800, size=100, mode="up", site_context=False,
                    finetune="top:2", max_tokens=512, tokenizer="kmer", tokenizer_k=6, truncation="centred",
                    calibration=Calibration("isotonic", x=(0.0, 0.5, 1.0), y=(0.0, 0.2, 0.9)))
    again = Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))  # as dnactx_model.json holds it
    assert again == recipe
    cnn = lr_recipe(family="cnn", model="cnn", lr_scaling=None, kmax=None, cnn_channels=(32, 48))
    assert Recipe.from_dict(json.loads(json.dumps(cnn.to_dict()))) == cnn


def test_recipe_refuses_unknown_fields_a_too_large_size_and_missing_family_parts() -> None:
    with pytest.raises(DnactxError, match="does not know"):
        Recipe.from_dict({**lr_recipe().to_dict(), "pooling": "cls"})
    with pytest.raises(DnactxError, match="larger than the dataset's window"):
        lr_recipe(size=101)
    with pytest.raises(DnactxError, match="needs lr_scaling"):
        lr_recipe(lr_scaling=None)
    with pytest.raises(DnactxError, match=r"shape \(n, 201\)"):
        lr_recipe().cut(np.zeros((3, 200), dtype=np.uint8))


# -- calibration.json ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_file_reproduces_the_fitted_calibrator(tmp_path: Path, method: str) -> None:
    from dnactx.stats.calibration import fit_calibrator

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 * y + 0.7 * rng.random(400), 0, 1)
    fitted = fit_calibrator(y, p, method)
    if method == "platt":
        values = fitted.params()
    else:
        table = fitted.model
        values = {"method": "isotonic", "x": table.X_thresholds_.tolist(), "y": table.y_thresholds_.tolist()}
    (tmp_path / "calibration.json").write_text(json.dumps({**values, "fitted_on": "val"}))
    calibration = read_calibration(tmp_path)
    q = np.concatenate([rng.random(200), [0.0, 1e-9, 1.0]])
    np.testing.assert_allclose(calibration(q), fitted(q), rtol=0, atol=1e-12)


def test_calibration_none_or_absent_is_none_and_a_broken_file_is_one_line(tmp_path: Path) -> None:
    assert read_calibration(tmp_path) is None
    (tmp_path / "calibration.json").write_text('{"method": "none"}')
    assert read_calibration(tmp_path) is None
    (tmp_path / "calibration.json").write_text('{"method": "platt", "slope": 1.0}')
    with pytest.raises(DnactxError, match="needs slope and intercept"):
        read_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text('{"method": "beta"}')
    with pytest.raises(DnactxError, match="must be one of none, platt, isotonic"):
        read_calibration(tmp_path)


# -- the lr scorer ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("scaling, site_context, mode, size", [
    ("frequency", True, "both", 20), ("l2", True, "both", 20), ("l2", False, "down", 20),
    ("frequency", True, "up", 2), ("l2", True, "up", 3),  # inputs shorter than the longest k-mers
])
def test_lr_scorer_equals_scikit_learn_predict_proba(scaling: str, site_context: bool, mode: str, size: int) -> None:
    from sklearn.linear_model import LogisticRegression

    from dnactx.inference import LrScorer

    rng = np.random.default_rng(1)
    recipe = lr_recipe(lr_scaling=scaling, site_context=site_context, mode=mode, size=size)
    width = n_features(6, site_context)
    coef, intercept = rng.normal(0, 3, (1, width)), rng.normal(0, 1, 1)
    rows = ["".join(rng.choice(list("ACGTN"), recipe.length, p=[.24] * 4 + [.04])) for _ in range(300)]
    bases = to_ascii(rows[:-1] + ["N" * recipe.length])  # a row without any k-mer: no features but the context
    ctx = rng.integers(0, 3, 300)
    model = LogisticRegression()
    model.classes_, model.coef_, model.intercept_, model.n_features_in_ = np.array([0, 1]), coef, intercept, width
    x = kmer_features(bases, ctx if site_context else None, scaling=scaling, dtype=np.float64)
    scorer = LrScorer(recipe, coef, intercept, batch_size=64)  # several feature blocks
    np.testing.assert_allclose(scorer.probs(bases, ctx), model.predict_proba(x)[:, 1], rtol=0, atol=1e-12)


def test_mutagenesis_as_the_package_docstring_shows_it_scores_each_mutant_as_if_alone() -> None:
    from dnactx.inference import LrScorer

    rng = np.random.default_rng(4)
    scorer = LrScorer(lr_recipe(), rng.normal(0, 1, n_features()), 0.1, batch_size=50)
    r = scorer.recipe
    x = to_ascii(["".join(rng.choice(list("ACGT"), r.length))])[0]
    L = r.length
    mutants = np.repeat(x[None], 4 * L, axis=0)
    mutants[np.arange(4 * L), np.repeat(np.arange(L), 4)] = np.tile(np.frombuffer(b"ACGT", np.uint8), L)
    ctx = np.full(4 * L, 2)
    delta = (scorer.logits(mutants, ctx) - scorer.logits(x[None], ctx[:1])).reshape(L, 4)
    reference = np.frombuffer(b"ACGT", np.uint8)[None, :] == x[:, None]
    assert (delta[reference] == 0).all() and (delta[~reference] != 0).all()
    one = mutants[7 * 4 + 1]
    assert delta[7, 1] == scorer.logits(one[None], ctx[:1])[0] - scorer.logits(x[None], ctx[:1])[0]


def test_scorer_refuses_wrong_inputs_in_one_line() -> None:
    from dnactx.inference import LrScorer

    scorer = LrScorer(lr_recipe(), np.zeros(n_features()), 0.0)
    good = np.full((4, 41), ord("A"), dtype=np.uint8)
    with pytest.raises(DnactxError, match=r"shape \(n, 41\)"):
        scorer.logits(np.full((4, 40), ord("A"), dtype=np.uint8), np.zeros(4, dtype=int))
    with pytest.raises(DnactxError, match="pass context_id"):
        scorer.logits(good)
    with pytest.raises(DnactxError, match="must be 0 \\(CG\\)"):
        scorer.logits(good, np.array([0, 1, 2, 3]))
    assert scorer.logits(good[:0], np.zeros(0, dtype=int)).shape == (0,)
    with pytest.raises(DnactxError, match="makes 5463 features"):
        LrScorer(lr_recipe(), np.zeros(10), 0.0)


def test_calibrated_probs_apply_the_recipe_calibration_and_logits_stay_raw() -> None:
    from dnactx.inference import LrScorer

    rng = np.random.default_rng(2)
    calibration = Calibration("platt", slope=0.5, intercept=-1.0)
    plain = LrScorer(lr_recipe(), rng.normal(0, 1, n_features()), 0.3)
    calibrated = LrScorer(lr_recipe(calibration=calibration), plain.coef, 0.3)
    bases = to_ascii(["".join(rng.choice(list("ACGT"), 41)) for _ in range(20)])
    ctx = rng.integers(0, 3, 20)
    np.testing.assert_array_equal(calibrated.logits(bases, ctx), plain.logits(bases, ctx))
    np.testing.assert_allclose(calibrated.probs(bases, ctx), calibration(plain.probs(bases, ctx)), atol=1e-15)
    np.testing.assert_array_equal(calibrated.probs(bases, ctx, calibrated=False), plain.probs(bases, ctx))


# -- windows from a genome ---------------------------------------------------------------------------------
def _every_c_calls(genome: Path, out: Path) -> Path:
    """Bismark coverage lines for every C and G of ``genome`` (strand comes from the reference base)."""
    lines = []
    for name, bases in FastaGenome(genome).chromosomes():
        for i in np.flatnonzero(np.isin(bases, np.frombuffer(b"CGcg", np.uint8))):
            lines.append(f"{name}\t{i + 1}\t{i + 1}\t50.0\t{1 + i % 3}\t{1 + i % 2}")
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("compressed", [False, True])
def test_genome_windows_equal_prepares_windows_at_ends_gaps_and_soft_masked_bases(tmp_path: Path,
                                                                                   compressed: bool) -> None:
    from dnactx.prepare import LabelRules, PrepareOptions, prepare_dataset

    genome = tmp_path / "genome.fa"
    shutil.copyfile(PREPARE_GENOME, genome)
    if compressed:  # read front to back, not through a .fai index
        genome = tmp_path / "genome.fa.gz"
        genome.write_bytes(gzip.compress(PREPARE_GENOME.read_bytes()))
    calls = _every_c_calls(PREPARE_GENOME, tmp_path / "calls.cov")
    window = 30  # wider than chrC: every window reaches past a chromosome end
    prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=tmp_path / "out", window=window,
                                   labels=LabelRules(min_coverage=1), split="chroms", val_chroms=("chrB",),
                                   test_chroms=("chrC",)))
    df = pd.read_parquet(tmp_path / "out" / "dataset.parquet")
    fasta = FastaGenome(genome)
    assert set(df["strand"]) == {"+", "-"} and df["repeat"].any()
    for name, rows in df.groupby("chrom"):
        chrom = load_chromosome(fasta, name, window)
        windows = genome_windows(chrom, rows["pos"].to_numpy(), rows["strand"].to_numpy(), window)
        np.testing.assert_array_equal(windows, to_ascii(rows["seq"].tolist()))
        contexts = np.array(["CG", "CHG", "CHH"])[genome_contexts(chrom, rows["pos"].to_numpy(), rows["strand"])]
        np.testing.assert_array_equal(contexts, rows["context"].to_numpy())
    assert (df["seq"].str[:1] == "N").any() and (df["seq"].str[-1:] == "N").any()  # both ends padded
    assert not df["seq"].str.contains("[acgt]").any()


def test_genome_windows_reuse_one_buffer_and_refuse_positions_off_the_chromosome() -> None:
    from dnactx.inference import chromosome_buffer

    fasta = FastaGenome(PREPARE_GENOME)
    buffer = chromosome_buffer(fasta, 10)
    first = genome_windows(load_chromosome(fasta, "chrA", 10, buffer), np.array([2]), np.array([1]), 10)
    load_chromosome(fasta, "chrC", 10, buffer)  # overwrites the buffer: windows already cut are copies
    assert first.tobytes() == b"NNNNACGTTCA"
    chrom = load_chromosome(fasta, "chrC", 10)
    with pytest.raises(ValueError, match="within the chromosome"):
        genome_windows(chrom, np.array([21]), np.array([1]), 10)
    # chrC ends ...CAACGG: the G at 20 is a C on the minus strand, whose 5' side lies past the chromosome's end
    assert genome_windows(chrom, np.array([20]), np.array(["-"]), 10).tobytes() == b"NNNNNCCGTTG"


# -- loading --------------------------------------------------------------------------------------------------
def hand_made_lr_run(home: Path, dataset: Path, seed: int = 0) -> str:
    """A completed lr run (size 20, both, window 200) with random lr.safetensors weights, recorded."""
    from safetensors.numpy import save_file

    from dnactx.runs import RunFolder

    run_id = make_scored_run(home, dataset, flat_scores(seed), name=f"lr-{seed}", model="lr", size=20)
    folder = RunFolder(home / run_id)
    rng = np.random.default_rng(seed)
    save_file({"coef": rng.normal(0, 1, (1, n_features())), "intercept": np.array([-1.0])},
              str(folder.path / "lr.safetensors"), metadata={"scaling": "l2", "kmax": "6"})
    folder.add_artifact(folder.path / "lr.safetensors", "weights")
    return run_id


def test_load_scorer_by_prefix_folder_and_registry_free_home(tmp_path: Path, tiny_dataset: Path) -> None:
    home = tmp_path / "runs"
    run_id = hand_made_lr_run(home, tiny_dataset)
    by_prefix = load_scorer(run_id[:10], home)
    assert by_prefix.recipe == lr_recipe() and by_prefix.origin.run_id == run_id
    assert load_scorer(home / run_id).recipe == by_prefix.recipe
    (home / "registry.sqlite").unlink()  # run folders alone still resolve
    assert locate_model(run_id[:10], home).path == home / run_id


def test_runs_without_weights_and_unknown_models_are_one_line_errors(tmp_path: Path) -> None:
    home = tmp_path / "runs"
    failed = make_run_folder(home, model="cnn", status="failed")
    with pytest.raises(DnactxError, match=r"\(failed\) has no saved model: model.safetensors is missing.*train it"):
        load_scorer(failed.id, home)
    preempted = make_run_folder(home, model="lr", status="preempted", seed=1)
    with pytest.raises(DnactxError, match=f"train --resume {preempted.id}"):
        load_scorer(preempted.path, home)
    with pytest.raises(DnactxError, match="no run under .* has that id"):
        load_scorer("zzz", home)
    (tmp_path / "plain").mkdir()
    with pytest.raises(DnactxError, match="neither a run folder"):
        load_scorer(tmp_path / "plain", home)
    with pytest.raises(DnactxError, match="no such folder"):
        load_scorer(str(tmp_path / "typo"), home)


# -- export of a hand-made lr run ------------------------------------------------------------------------------
def test_export_writes_manifest_card_and_weights_that_load_to_the_same_scores(tmp_path: Path, tiny_dataset: Path,
                                                                             capsys) -> None:
    home, out = tmp_path / "runs", tmp_path / "model"
    run_id = hand_made_lr_run(home, tiny_dataset)
    code, stdout, stderr = run_cli(["--home", str(home), "export", run_id[:8], "--out", str(out), "--species",
                                    "Arabidopsis thaliana"], capsys)
    assert code == 0, stderr
    assert stdout.strip() == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "dnactx_model.json", "lr.safetensors"]
    manifest = json.loads((out / "dnactx_model.json").read_text())
    assert manifest["format"] == "dnactx-model" and manifest["format_version"] == 1
    assert manifest["provenance"]["run_id"] == run_id and manifest["provenance"]["exported_with"]["torch"]
    assert Recipe.from_dict(manifest["recipe"]) == lr_recipe()
    card = (out / "README.md").read_text()
    lo, hi = json.loads((home / run_id / "metrics.json").read_text())["test"]["ci"]["auprc"]
    assert "Arabidopsis thaliana" in card and "95% CI" in card and f"{lo:.3f}, {hi:.3f}" in card
    rng = np.random.default_rng(3)
    bases = to_ascii(["".join(rng.choice(list("ACGT"), 41)) for _ in range(50)])
    ctx = rng.integers(0, 3, 50)
    exported, original = load_scorer(out), load_scorer(run_id, home)
    assert exported.origin.kind == "export" and exported.origin.run_id == run_id
    np.testing.assert_array_equal(exported.probs(bases, ctx), original.probs(bases, ctx))


def test_model_card_says_intervals_were_not_computed_for_a_run_without_them(tmp_path: Path, tiny_dataset: Path,
                                                                            capsys) -> None:
    home, out = tmp_path / "runs", tmp_path / "model"
    run_id = hand_made_lr_run(home, tiny_dataset)
    path = home / run_id / "metrics.json"
    metrics = json.loads(path.read_text())
    for split in ("val", "test"):
        metrics[split].pop("ci")
        for by_context in metrics["by_context"][split].values():
            by_context.pop("ci", None)
    path.write_text(json.dumps(metrics))
    code, _, stderr = run_cli(["--home", str(home), "export", run_id, "--out", str(out)], capsys)
    assert code == 0, stderr
    assert "Intervals: not computed" in (out / "README.md").read_text()


def test_card_shows_intervals_where_metrics_have_them(tmp_path: Path, tiny_dataset: Path) -> None:
    from dnactx.inference.export import export_model
    from dnactx.runs import RunFolder

    home = tmp_path / "runs"
    folder = RunFolder(home / hand_made_lr_run(home, tiny_dataset))
    metrics = folder.metrics
    metrics["test"]["ci"] = {"auroc": [0.61, 0.72], "auprc": [0.1, 0.3], "f1": [0.2, 0.4], "approximate": True}
    metrics["test"]["context_floor"] = {"auroc": 0.55, "auprc": 0.12}
    folder.write_metrics(metrics)
    export_model(folder.id, tmp_path / "model", home)
    card = (tmp_path / "model" / "README.md").read_text()
    test_row = next(line for line in card.splitlines() if line.startswith("| test | all |"))
    test_row = test_row.replace("\\", "")  # the table escapes Markdown's brackets
    assert "[0.610, 0.720]" in test_row and "[0.100, 0.300]" in test_row and "[0.200, 0.400]" in test_row
    assert "context floor: scoring each test site by its context's training rate alone gives AUROC 0.550" in card


def test_export_refuses_a_non_empty_folder_and_force_replaces_only_an_earlier_export(tmp_path: Path,
                                                                                     tiny_dataset: Path,
                                                                                     capsys) -> None:
    home, out = tmp_path / "runs", tmp_path / "model"
    run_id = hand_made_lr_run(home, tiny_dataset)
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, stderr = run_cli(["--home", str(home), "export", run_id, "--out", str(out)], capsys)
    assert code == 2 and "is not empty" in stderr and "--force" in stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    code, _, stderr = run_cli(["--home", str(home), "export", "nope", "--out", str(tmp_path / "other")], capsys)
    assert code == 2 and "error:" in stderr and not (tmp_path / "other").exists()
    code, _, stderr = run_cli(["--home", str(home), "export", run_id, "--out", str(out), "--force"], capsys)
    assert code == 2 and "keep.txt" in stderr  # --force replaces an earlier export only, never anyone's files
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "keep.txt").unlink()
    for _ in range(2):  # the second --force replaces the first export
        code, _, stderr = run_cli(["--home", str(home), "export", run_id, "--out", str(out), "--force"], capsys)
        assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "dnactx_model.json", "lr.safetensors"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]


def test_only_completed_runs_are_exported(tmp_path: Path, tiny_dataset: Path) -> None:
    from dnactx.inference.export import export_model
    from dnactx.runs import RunFolder

    home = tmp_path / "runs"
    folder = RunFolder(home / hand_made_lr_run(home, tiny_dataset))
    folder.set_status("failed", error="killed after saving its weights")
    assert load_scorer(folder.id, home).recipe.family == "lr"  # its weights still score
    with pytest.raises(DnactxError, match="is failed .* only completed runs are exported"):
        export_model(folder.id, tmp_path / "model", home)
    assert not (tmp_path / "model").exists()


def test_an_exported_folder_from_a_newer_dnactx_is_refused(tmp_path: Path, tiny_dataset: Path) -> None:
    from dnactx.inference.export import export_model

    home, out = tmp_path / "runs", tmp_path / "model"
    export_model(hand_made_lr_run(home, tiny_dataset), out, home)
    manifest = json.loads((out / "dnactx_model.json").read_text())
    (out / "dnactx_model.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(DnactxError, match="newer than this dnactx reads"):
        load_scorer(out)
