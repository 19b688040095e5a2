"""Exactness at genome level (issue 12 item 4): runs trained on a dataset that prepare made from a genome and its
calls; predict on that genome and those calls gives, at the run's own val and test sites, the probabilities of
predictions_val_test.npz to 1e-6 and prepare's labels, for lr, cnn and dnabert6-tiny; an export predicts the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli, train_on_a_small_genome

pytestmark = pytest.mark.slow  # trains three models

CASES = {"lr": dict(model="lr", C=10), "cnn": dict(model="cnn"), "dnabert6-tiny": dict(model="dnabert6-tiny")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    return train_on_a_small_genome(tmp_path_factory.mktemp("genome-exact"), CASES)


def _predict(trained: dict, model: str, out: Path, capsys) -> pd.DataFrame:
    code, _, err = run_cli(["--home", str(trained["home"]), "predict", model, "--genome", str(trained["genome"]),
                            "--out", str(out), "--calls", str(trained["calls"]), "--bootstrap", "0", "-q"], capsys)
    assert code == 0, err
    return pd.read_parquet(out / "predictions.parquet")


@pytest.mark.parametrize("case", list(CASES))
def test_genome_wide_predictions_equal_the_runs_own_at_its_val_and_test_sites(trained, tmp_path, capsys, case):
    run_id = trained["runs"][case]
    df = _predict(trained, run_id, tmp_path / "pred", capsys)
    ds = pd.read_parquet(trained["dataset"], columns=["chrom", "pos", "strand", "label"])
    npz = np.load(trained["home"] / run_id / "predictions_val_test.npz")
    for split in ("val", "test"):
        sites = ds.iloc[npz[f"{split}_index"]].reset_index(drop=True)
        found = sites.merge(df, on=["chrom", "pos", "strand"], how="left", suffixes=("", "_predict"))
        assert len(found) == len(sites) > 100 and found["prob"].notna().all()
        np.testing.assert_allclose(found["prob"].to_numpy(), npz[f"{split}_prob"], rtol=0, atol=1e-6,
                                   err_msg=f"{case} {split}")
        assert (found["label_predict"] == found["label"]).all()
        np.testing.assert_array_equal(found["label"], npz[f"{split}_label"])


@pytest.mark.parametrize("case", ["cnn", "dnabert6-tiny"])
def test_predict_from_an_export_equals_predict_from_the_run(trained, tmp_path, capsys, case):
    from dnactx.inference.export import export_model

    run_id = trained["runs"][case]
    export_model(run_id, tmp_path / "model", trained["home"])
    from_run = _predict(trained, run_id, tmp_path / "from-run", capsys)
    from_export = _predict(trained, str(tmp_path / "model"), tmp_path / "from-export", capsys)
    pd.testing.assert_frame_equal(from_export, from_run)


def test_compiled_cnn_predicts_what_the_run_does(trained, tmp_path, capsys):
    run_id = trained["runs"]["cnn"]
    plain = _predict(trained, run_id, tmp_path / "plain", capsys)
    code, _, err = run_cli(["--home", str(trained["home"]), "predict", run_id, "--genome", str(trained["genome"]),
                            "--out", str(tmp_path / "compiled"), "--compile", "--batch-size", "700", "-q"], capsys)
    assert code == 0, err
    compiled = pd.read_parquet(tmp_path / "compiled" / "predictions.parquet")
    np.testing.assert_allclose(compiled["prob"], plain["prob"], rtol=0, atol=1e-6)
