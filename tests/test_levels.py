"""``--target level``: the binomial and beta-binomial losses by hand, the lr binomial GLM at its optimum, the level
metrics against scipy, level runs of each family end to end, and compare/report never ranking a label run against a
level run on a metric only the level run has."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from conftest import make_tiny_dataset, run_cli
from scipy.stats import pearsonr, spearmanr

from dnactx.errors import DnactxError, ExitCode
from dnactx.losses import betabinomial_nll, binomial_nll, make_loss
from dnactx.models.lr import fit_glm, glm_rows
from dnactx.runs import RunFolder
from dnactx.stats.levels import level_evaluation, level_metrics
from dnactx.train.config import TrainConfig, grid_fields
from dnactx.train.run import train_run

torch.set_num_threads(1)


# -- losses ---------------------------------------------------------------------------------------------------
def test_binomial_loss_equals_the_hand_computed_likelihood_per_read():
    logits = torch.tensor([0.0, 1.0, -2.0])
    counts = torch.tensor([[3.0, 4.0], [0.0, 2.0], [5.0, 5.0]])  # (mc, cov)
    sig = 1 / (1 + math.exp(-1.0))
    by_hand = (-(3 * math.log(0.5) + 1 * math.log(0.5))  # site 1: p = 0.5
               - 2 * math.log(1 - sig)  # site 2: 0 of 2 methylated
               - 5 * math.log(1 / (1 + math.exp(2.0))))  # site 3: 5 of 5 at p = sigmoid(-2)
    assert binomial_nll(logits, counts).item() == pytest.approx(by_hand / 11, rel=1e-6)


def test_binomial_loss_is_bce_on_levels_weighted_by_reads_so_deep_sites_weigh_more():
    logits = torch.tensor([0.3, -0.7])
    counts = torch.tensor([[30.0, 40.0], [1.0, 3.0]])
    level, cov = counts[:, 0] / counts[:, 1], counts[:, 1]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, level, weight=cov, reduction="sum")
    assert binomial_nll(logits, counts).item() == pytest.approx((bce / cov.sum()).item(), rel=1e-6)
    # both sites at level 0.5 and predicted exactly: the same error costs the 40-read site more than the 2-read one
    halves = torch.tensor([[20.0, 40.0], [1.0, 2.0]])
    exact = binomial_nll(torch.zeros(2), halves)
    deep = binomial_nll(torch.tensor([1.0, 0.0]), halves) - exact
    shallow = binomial_nll(torch.tensor([0.0, 1.0]), halves) - exact
    assert deep.item() == pytest.approx(20 * shallow.item(), rel=1e-5) and shallow.item() > 0


def test_betabinomial_of_one_read_is_minus_log_p_and_tends_to_binomial_as_rho_falls():
    logits = torch.tensor([0.4])
    one_read = torch.tensor([[1.0, 1.0]])  # P(1 of 1) = mean of the beta = p, whatever rho
    for rho in (0.01, 0.3, 0.9):
        assert betabinomial_nll(logits, one_read, rho).item() == pytest.approx(-math.log(torch.sigmoid(logits)),
                                                                               abs=1e-4)  # float32 lgamma
    counts = torch.tensor([[3.0, 10.0], [7.0, 8.0]], dtype=torch.float64)
    logits = torch.tensor([-0.5, 1.5], dtype=torch.float64)
    # dropped binomial coefficients aside (they do not depend on p): the same gradient as the binomial in the limit
    a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    betabinomial_nll(a, counts, 1e-6).backward()
    binomial_nll(b, counts).backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-4)
    # over-dispersed: a site far from the mean costs less than under the binomial
    far = torch.tensor([[10.0, 10.0]])
    assert betabinomial_nll(torch.tensor([-2.0]), far, 0.3) < binomial_nll(torch.tensor([-2.0]), far)


def test_level_losses_come_from_make_loss_and_take_read_counts():
    fn, info = make_loss("binomial", np.zeros(3))
    assert info == {} and fn(torch.zeros(2), torch.tensor([[1.0, 2.0], [1.0, 2.0]])).item() == pytest.approx(
        math.log(2))
    with pytest.raises(DnactxError, match="--overdispersion"):
        make_loss("betabinomial", np.zeros(3), overdispersion=1.5)


# -- options ----------------------------------------------------------------------------------------------------
def test_target_level_turns_the_default_loss_into_the_binomial_and_refuses_label_losses():
    assert TrainConfig(model="cnn", target="level").loss == "binomial"
    assert TrainConfig(model="cnn", target="level", loss="betabinomial").loss == "betabinomial"
    with pytest.raises(DnactxError, match="--target level trains with --loss binomial or betabinomial"):
        TrainConfig(model="cnn", target="level", loss="focal")
    with pytest.raises(DnactxError, match="add --target level"):
        TrainConfig(model="cnn", loss="binomial")
    with pytest.raises(DnactxError, match="lr fits the binomial GLM only"):
        TrainConfig(model="lr", target="level", loss="betabinomial")
    with pytest.raises(DnactxError, match="--target must be label or level"):
        TrainConfig(model="cnn", target="levels")
    with pytest.raises(DnactxError, match="--overdispersion must be"):
        TrainConfig(model="cnn", target="level", overdispersion=0.0)
    assert "target" in {f.name for f in grid_fields()}  # a matrix axis: --target label,level


# -- the lr binomial GLM ----------------------------------------------------------------------------------------
def test_glm_rows_split_each_site_into_its_methylated_and_unmethylated_reads():
    x = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    rows, labels, weights = glm_rows(x, np.array([3, 0]), np.array([4, 5]))
    assert rows.toarray().tolist() == [[1, 0], [1, 0], [0, 2]]  # site 2 has no methylated read: one row
    assert labels.tolist() == [1, 0, 0] and weights.tolist() == [3, 1, 5]


def test_glm_intercept_alone_is_the_logit_of_the_pooled_level():
    x = sp.csr_matrix(np.zeros((4, 1)))
    mc, cov = np.array([1, 4, 0, 7]), np.array([3, 10, 2, 9])
    model, converged = fit_glm(x, mc, cov, C=1.0, seed=0)
    pooled = mc.sum() / cov.sum()
    assert converged and model.intercept_[0] == pytest.approx(math.log(pooled / (1 - pooled)), abs=1e-4)


def test_glm_equals_a_direct_minimisation_of_the_penalised_binomial_likelihood():
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    cov = rng.integers(1, 40, size=300)
    mc = rng.binomial(cov, 1 / (1 + np.exp(-(x @ np.array([1.0, -0.5, 0.0, 0.3]) - 0.2))))
    C = 2.0

    def objective(w: np.ndarray) -> float:  # ½‖β‖² − C · Σ log-likelihood of the reads, the intercept unpenalised
        z = x @ w[:4] + w[4]
        log_lik = -mc * np.logaddexp(0, -z) - (cov - mc) * np.logaddexp(0, z)
        return 0.5 * w[:4] @ w[:4] - C * log_lik.sum()

    reference = minimize(objective, np.zeros(5), method="BFGS", options={"gtol": 1e-8}).x
    model, converged = fit_glm(sp.csr_matrix(x), mc, cov, C=C, seed=0)
    assert converged
    np.testing.assert_allclose(model.coef_[0], reference[:4], atol=1e-3)
    assert model.intercept_[0] == pytest.approx(reference[4], abs=1e-3)


# -- level metrics ----------------------------------------------------------------------------------------------
def test_level_metrics_equal_scipy_and_the_read_weighted_r2_by_hand():
    rng = np.random.default_rng(1)
    level, pred, cov = rng.random(200), rng.random(200), rng.integers(1, 30, 200)
    m = level_metrics(level, pred, cov)
    assert m["pearson"] == pytest.approx(pearsonr(pred, level)[0])
    assert m["spearman"] == pytest.approx(spearmanr(pred, level)[0])
    assert m["mae"] == pytest.approx(np.mean(np.abs(pred - level)))
    mean = np.sum(cov * level) / cov.sum()
    assert m["r2_weighted"] == pytest.approx(1 - np.sum(cov * (level - pred) ** 2) / np.sum(cov * (level - mean) ** 2))
    assert level_metrics(level, level, cov)["r2_weighted"] == pytest.approx(1.0)


def test_level_intervals_hold_the_observed_value_and_repeat_with_the_seed():
    rng = np.random.default_rng(2)
    n = 3000
    level = rng.random(n)
    pred = np.clip(level + rng.normal(0, 0.2, n), 0, 1)
    cov = rng.integers(3, 30, n)
    context = rng.choice(["CG", "CHG", "CHH"], n)
    blocks = np.arange(n) // 50
    first = level_evaluation(level, pred, cov, context, blocks, n_resamples=300, seed=0, block_bp=1000)
    again = level_evaluation(level, pred, cov, context, blocks, n_resamples=300, seed=0, block_bp=1000)
    assert first == again
    for metric in ("pearson", "spearman", "mae", "r2_weighted"):
        lo, hi = first["ci"][metric]
        assert lo <= first[metric] <= hi and hi - lo < 0.2
        for c in ("CG", "CHG", "CHH"):
            lo, hi = first["by_context"][c]["ci"][metric]
            assert lo <= first["by_context"][c][metric] <= hi
    assert first["n"] == n and first["reads"] == int(cov.sum()) and first["ci"]["n_blocks"] == 60


# -- level runs end to end --------------------------------------------------------------------------------------
def _levelled_dataset(folder):
    """The tiny dataset with binomial read counts around a per-site level that depends on context and motif (the
    stock one has only all-or-nothing sites); labels at 0.5 as prepare's."""
    path = make_tiny_dataset(folder, n=900)
    df = pd.read_parquet(path)
    c = 100
    motif = (df["seq"].str[c - 3] == "A") & (df["seq"].str[c - 2] == "T")
    true = np.where(df["context"] == "CG", 0.5, 0.05) + 0.35 * motif
    rng = np.random.default_rng(0)
    df["mc"] = rng.binomial(df["cov"].to_numpy(), true).astype("int32")
    df["level"] = (df["mc"] / df["cov"]).astype("float32")
    df["label"] = (df["level"] >= 0.5).astype("int8")
    df.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def level_runs(tmp_path_factory):
    """One dataset; lr label, lr level and cnn level runs on it (~20 s: the tests that use it are marked slow)."""
    root = tmp_path_factory.mktemp("levels")
    data = _levelled_dataset(root / "data")
    home = root / "runs"
    common = dict(data=str(data), size=20, bootstrap=200, bootstrap_block=2000)
    runs = {"lr-label": TrainConfig(model="lr", C=1.0, **common),
            "lr-level": TrainConfig(model="lr", target="level", C=1.0, **common),
            "cnn-level": TrainConfig(model="cnn", target="level", epochs=2, batch_size=64, **common)}
    ids = {name: train_run(config, home, quiet=True)["run_id"] for name, config in runs.items()}
    return home, data, ids


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lr-level", "cnn-level"])
def test_a_level_run_completes_with_level_metrics_per_split_and_context(level_runs, name):
    home, data, ids = level_runs
    folder = RunFolder.open(home, ids[name])
    assert folder.status["status"] == "completed"
    assert folder.config["target"] == "level" and folder.config["loss"] == "binomial"
    m = folder.metrics
    pred = np.load(folder.path / "predictions_val_test.npz")
    level = pred["test_mc"] / pred["test_cov"]
    entry = m["level"]["test"]
    assert entry["pearson"] == pytest.approx(pearsonr(pred["test_prob"], level)[0], abs=1e-6)
    assert set(entry["by_context"]) == {"CG", "CHG", "CHH"} and entry["ci"]["n_resamples"] == 200
    assert all(entry["ci"][k] is not None for k in ("pearson", "spearman", "mae", "r2_weighted"))
    # beside the usual AUROC/AUPRC of the predicted level against the label, where the registry reads them
    assert m["test"]["pearson"] == entry["pearson"] and m["test"]["auprc"] is not None
    assert m["by_context"]["test"]["CG"]["pearson"] == entry["by_context"]["CG"]["pearson"]
    from dnactx.inference.run_model import recipe_of_run

    assert recipe_of_run(folder.path).target == "level"


@pytest.mark.slow
def test_the_lr_level_run_learns_the_level(level_runs):
    home, _, ids = level_runs
    m = RunFolder.open(home, ids["lr-level"]).metrics
    assert m["level"]["test"]["pearson"] > 0.5 and m["facts"]["lr"]["choice"]["class_weight"] == "none"


@pytest.mark.slow
def test_a_label_run_has_no_level_section(level_runs):
    home, _, ids = level_runs
    m = RunFolder.open(home, ids["lr-label"]).metrics
    assert "level" not in m and "pearson" not in m["test"]


def _compare(capsys, home, *args):
    return run_cli(["--home", str(home), "compare", *args], capsys)


@pytest.mark.slow
def test_compare_refuses_a_level_metric_across_targets_and_says_what_both_have(level_runs, capsys):
    home, _, ids = level_runs
    code, _, err = _compare(capsys, home, ids["lr-level"], ids["lr-label"], "--metric", "pearson")
    assert code == ExitCode.USAGE and len(err.strip().splitlines()) == 1
    assert "learned the label and has no predicted level" in err and "--metric auprc or auroc" in err
    code, out, err = _compare(capsys, home, ids["lr-level"], ids["lr-label"], "--json", "--by-context",
                              "--bootstrap", "200")
    assert code == 0, err
    result = json.loads(out)
    assert result["targets"] == ["level", "label"] and "which both have" in result["note"]
    assert result["comparisons"][0]["metric"] == "auprc"
    assert {c["metric"] for c in result["by_context"]["CG"]} == {"auprc", "auroc"}
    # a context with fewer than 10 methylated test sites gets no interval and no winner, only the count
    for rows in result["by_context"].values():
        for c in rows:
            if c["verdict"].startswith("too few positives"):
                assert c["ci"] is None and c["p_value"] is None and c["n_positives"] < 10
            else:
                assert c["ci"] is not None


@pytest.mark.slow
def test_two_level_runs_compare_on_level_metrics_per_context(level_runs, capsys):
    home, _, ids = level_runs
    code, out, err = _compare(capsys, home, ids["lr-level"], ids["cnn-level"], "--metric", "pearson", "--json",
                              "--by-context", "--bootstrap", "200")
    assert code == 0, err
    result = json.loads(out)
    first = result["comparisons"][0]
    a = RunFolder.open(home, ids["lr-level"]).metrics["level"]["test"]["pearson"]
    assert first["metric"] == "pearson" and first["a"] == pytest.approx(a) and first["ci"] is not None
    assert [c["metric"] for c in result["comparisons"]] == ["pearson", "spearman", "mae", "r2_weighted"]
    assert set(result["by_context"]) == {"CG", "CHG", "CHH"}
    code, out, _ = _compare(capsys, home, ids["lr-level"], ids["lr-level"], "--metric", "mae", "--bootstrap", "100")
    assert code == 0 and "MAE (level)" in out and "no detectable difference" in out


@pytest.mark.slow
def test_report_refuses_to_rank_label_runs_on_a_level_only_metric(level_runs, capsys, tmp_path):
    home, _, _ = level_runs
    code, _, err = run_cli(["--home", str(home), "report", "--metric", "val_pearson", "--out",
                            str(tmp_path / "report")], capsys)
    assert code == ExitCode.USAGE and len(err.strip().splitlines()) == 1
    assert "learned the label and have no predicted level" in err and "val_auprc" in err


@pytest.mark.slow
def test_report_notes_that_mixed_targets_are_ranked_on_what_both_have(level_runs):
    from dnactx.analysis.report import check_targets
    from dnactx.registry import Registry

    home, _, _ = level_runs
    rows = Registry.open(home).runs(status="completed")
    assert "which both have" in check_targets(rows, "auprc")[0]
    assert check_targets([r for r in rows if r["config"].get("target") == "level"], "pearson") == []


def test_level_run_on_a_dataset_without_read_counts_is_one_line(tmp_path):
    data = make_tiny_dataset(tmp_path / "d", n=300)
    df = pd.read_parquet(data).drop(columns=["mc", "cov"])
    df.to_parquet(data, index=False)
    with pytest.raises(DnactxError, match="has no read counts"):
        train_run(TrainConfig(data=str(data), model="lr", target="level", size=20, C=1.0, bootstrap=0),
                  tmp_path / "runs", quiet=True)


@pytest.mark.slow
def test_a_frozen_transformer_level_run_completes_with_level_metrics(tmp_path):
    data = _levelled_dataset(tmp_path / "data")
    result = train_run(TrainConfig(data=str(data), model="dnabert6-tiny", target="level", size=20, epochs=1,
                                   bootstrap=100, bootstrap_block=2000), tmp_path / "runs", quiet=True)
    m = result["metrics"]
    assert result["status"] == "completed" and m["level"]["test"]["ci"]["pearson"] is not None
    assert set(m["level"]["val"]["by_context"]) == {"CG", "CHG", "CHH"}


@pytest.mark.slow
def test_predict_with_a_level_model_writes_tracks_that_say_level(level_runs, tmp_path, capsys):
    import gzip

    from conftest import make_genome_with_calls

    home, _, ids = level_runs
    genome, _ = make_genome_with_calls(tmp_path / "g", lengths=(3000,))
    out = tmp_path / "pred"
    code, _, err = run_cli(["--home", str(home), "predict", ids["lr-level"], "--genome", str(genome), "--out",
                            str(out)], capsys)
    assert code == 0, err
    with gzip.open(out / "CG.bedGraph.gz", "rt") as fh:
        header = fh.readline()
    assert " level " in header and "predicted methylation level of CG sites" in header
    code, _, err = run_cli(["--home", str(home), "predict", ids["lr-label"], "--genome", str(genome), "--out",
                            str(tmp_path / "pred-label")], capsys)
    assert code == 0, err
    with gzip.open(tmp_path / "pred-label" / "CG.bedGraph.gz", "rt") as fh:
        assert "P(methylated) of CG sites" in fh.readline()


def test_target_is_a_matrix_axis_whose_cells_take_the_loss_their_target_trains_with(tmp_path):
    from dnactx.matrix.spec import build_spec

    data = make_tiny_dataset(tmp_path / "d", n=300)
    spec = build_spec(data, {"model": "lr,cnn", "target": "label,level", "loss": "bce,focal,betabinomial",
                             "size": "20"}, baseline="none")
    cells = {(c.config.model, c.config.target, c.config.loss) for c in spec.cells()}
    assert cells == {("lr", "label", "bce"), ("lr", "level", "binomial"),  # lr ignores --loss
                     ("cnn", "label", "bce"), ("cnn", "label", "focal"),
                     ("cnn", "level", "binomial"), ("cnn", "level", "betabinomial")}


def test_diagnose_remedies_for_a_level_run_keep_its_target_and_never_suggest_label_losses():
    from dnactx.analysis.remedies import remedy, train_command

    config = {"data": "d.parquet", "model": "cnn", "family": "cnn", "size": 100, "mode": "both", "target": "level",
              "loss": "binomial", "epochs": 3, "patience": 1}
    assert "--target level --loss binomial" in train_command(config, {"epochs": 10})
    assert "--target" not in train_command({**config, "target": "label", "loss": "bce"}, {})
    for key in ("loss_weighted", "loss_focal", "loss_bce"):
        assert remedy(key, config, 0.5) is None
    assert remedy("loss_focal", {**config, "target": "label", "loss": "bce"}, 0.5) is not None


@pytest.mark.slow
def test_train_cli_prints_the_level_figures_of_a_level_run(tmp_path, capsys):
    data = _levelled_dataset(tmp_path / "data")
    code, out, err = run_cli(["--home", str(tmp_path / "runs"), "train", "--data", str(data), "--model", "lr",
                              "--target", "level", "--size", "20", "--C", "1", "--bootstrap", "50",
                              "--bootstrap-block", "2000"], capsys)
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("test level (mc/cov):"))
    assert "Pearson r 0." in line and "read-weighted R²" in line and "CG" in line
    assert RunFolder.open(tmp_path / "runs", out.strip().splitlines()[-1]).config["target"] == "level"


@pytest.mark.slow
def test_the_export_card_of_a_level_model_says_its_output_is_a_level(level_runs, tmp_path, capsys):
    home, _, ids = level_runs
    code, _, err = run_cli(["--home", str(home), "export", ids["lr-level"], "--out", str(tmp_path / "model")], capsys)
    assert code == 0, err
    card = (tmp_path / "model" / "README.md").read_text()
    assert "predicted methylation level" in card and "--target level" in card
    recipe = json.loads((tmp_path / "model" / "dnactx_model.json").read_text())["recipe"]
    assert recipe["target"] == "level"
