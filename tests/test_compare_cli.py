"""``dnactx compare A B``: paired block-bootstrap verdicts on run folders, and clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_scored_run, make_tiny_dataset, ranked_scores, run_cli

from dnactx.errors import ExitCode


@pytest.fixture
def home_and_runs(tmp_path):
    data = make_tiny_dataset(tmp_path / "d", n=2000)
    home = tmp_path / "runs"
    trained = ranked_scores(2.0, 2.0, seed=1)
    shuffle = np.random.default_rng(7)

    def shuffled(split, y, ctx):
        return shuffle.permutation(trained(split, y, ctx))

    ids = {"trained": make_scored_run(home, data, trained, name="trained"),
           "shuffled": make_scored_run(home, data, shuffled, name="shuffled")}
    return home, data, ids


def _compare(capsys, home, *args):
    code, out, err = run_cli(["--home", str(home), "compare", *args], capsys)
    assert code == 0, err
    return out


def test_a_run_compared_with_itself_shows_no_detectable_difference(home_and_runs, capsys):
    home, _, ids = home_and_runs
    result = json.loads(_compare(capsys, home, ids["trained"], ids["trained"], "--json"))
    assert [c["metric"] for c in result["comparisons"]] == ["auprc", "within_auprc", "within_auroc"]
    for c in result["comparisons"]:
        assert c["verdict"] == "no detectable difference" and c["ci"][0] <= 0 <= c["ci"][1] and c["difference"] == 0
    text = _compare(capsys, home, ids["trained"][:12], ids["trained"], "--metric", "f1")
    assert "F1 at each run's threshold" in text and text.count("no detectable difference") == 3


def test_a_trained_model_beats_its_shuffled_scores_in_either_order(home_and_runs, capsys):
    home, _, ids = home_and_runs
    out = _compare(capsys, home, ids["trained"], ids["shuffled"])
    lines = out.splitlines()
    assert lines[0] == f"A = {ids['trained']} (trained)  vs  B = {ids['shuffled']} (shuffled)"
    assert "paired block resamples, seed 0" in lines[1]
    auprc = next(line for line in lines if line.startswith("AUPRC"))
    assert auprc.endswith("A better")
    result = json.loads(_compare(capsys, home, ids["shuffled"], ids["trained"], "--json", "--split", "val",
                                 "--metric", "auroc", "--bootstrap", "300", "--seed", "3"))
    first = result["comparisons"][0]
    assert first["metric"] == "auroc" and first["verdict"] == "B better" and first["ci"][1] < 0
    assert first["p_value"] < 0.01 and (first["n_resamples"], first["seed"]) == (300, 3) and result["split"] == "val"


def test_runs_of_different_datasets_are_refused_in_one_line(home_and_runs, tmp_path, capsys):
    home, _, ids = home_and_runs
    other = make_scored_run(home, make_tiny_dataset(tmp_path / "other", n=2000, seed=5), ranked_scores(1, 1),
                            name="elsewhere")
    code, _, err = run_cli(["--home", str(home), "compare", ids["trained"], other], capsys)
    assert code == ExitCode.USAGE and err.count("\n") == 1
    assert "were trained on different datasets (fingerprint" in err and "elsewhere" in err


def test_older_predictions_without_positions_take_them_from_the_dataset(home_and_runs, capsys):
    home, data, ids = home_and_runs
    for run_id in ids.values():
        path = home / run_id / "predictions_val_test.npz"
        with np.load(path) as npz:
            kept = {k: npz[k] for k in npz.files if not k.endswith(("_chrom", "_pos"))}
        np.savez(path, **kept)
    before = json.loads(_compare(capsys, home, ids["trained"], ids["shuffled"], "--json"))
    assert before["comparisons"][0]["verdict"] == "A better"
    data.unlink()
    code, _, err = run_cli(["--home", str(home), "compare", ids["trained"], ids["shuffled"]], capsys)
    assert code == ExitCode.USAGE and err.count("\n") == 1 and "has no site positions" in err and "is gone" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--metric", "accuracy"], "--metric must be one of"), (["--split", "train"], "--split must be val or test"),
    (["--bootstrap", "0"], "--bootstrap must be at least 1")])
def test_bad_options_are_one_line_errors(home_and_runs, capsys, args, message):
    home, _, ids = home_and_runs
    code, _, err = run_cli(["--home", str(home), "compare", ids["trained"], ids["shuffled"], *args], capsys)
    assert code == ExitCode.USAGE and err.count("\n") == 1 and message in err
