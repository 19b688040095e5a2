"""A run trained with --calibrate keeps its map in calibration.json, and everything that scores with the model
applies it (issue 20 item 3): ``load_scorer`` on the run, ``predict`` and an export give the run's own calibrated
val/test predictions (``*_prob``), not the model's raw ones (``*_prob_raw``); runs written before the file either
rebuild Platt's map from metrics.json or say, in one warning line, that their scores are raw."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli_exit_code, run_cli, train_on_a_small_genome

from dnactx.errors import DnactxError
from dnactx.inference import CALIBRATION_FILE, Calibration, load_scorer
from dnactx.inference.export import export_model
from dnactx.runs import RunFolder
from dnactx.sequence import CONTEXT_CODES, to_ascii

pytestmark = pytest.mark.slow  # trains five models

CASES = {
    "lr-platt": dict(model="lr", C=10, calibrate="platt"),
    "lr-isotonic": dict(model="lr", C=10, calibrate="isotonic"),
    "cnn-platt": dict(model="cnn", max_train=1500, calibrate="platt"),
    "cnn-isotonic": dict(model="cnn", max_train=1500, calibrate="isotonic"),
    "tiny-platt": dict(model="dnabert6-tiny", max_train=1500, calibrate="platt"),
}
PREDICTED = [c for c in CASES if not c.startswith("tiny")]  # genome-wide predict: lr and cnn
RAW_NOISE = 2e-6  # how far a rerun of the model may move its raw probability (float32 storage and arithmetic)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    return train_on_a_small_genome(tmp_path_factory.mktemp("calibrated"), CASES)


def split_windows(dataset: Path, npz, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's dataset windows (uint8 ASCII) and context ids, in the order of predictions_val_test.npz."""
    df = pd.read_parquet(dataset, columns=["seq", "context"])
    index = npz[f"{split}_index"]
    contexts = np.array([CONTEXT_CODES[c] for c in df["context"].to_numpy()[index]])
    return to_ascii(df["seq"].to_numpy()[index].tolist()), contexts


def assert_the_runs_calibrated_predictions(probs: np.ndarray, npz, split: str, calibration: Calibration) -> None:
    """``probs`` are the run's own ``*_prob`` to 1e-6, and far from its raw ``*_prob_raw``.

    Platt's map is smooth: 1e-6 everywhere. An isotonic map rises steeply between adjacent validation scores, so
    there the model's own float noise in the raw probability (RAW_NOISE) moves the calibrated one further; such
    sites may differ by as much as that noise moves the map there, and they must be few.
    """
    expected, raw = npz[f"{split}_prob"].astype(np.float64), npz[f"{split}_prob_raw"].astype(np.float64)
    assert np.abs(expected - raw).max() > 0.01 and np.abs(probs - raw).max() > 0.01  # calibration changes scores
    if calibration.method == "platt":
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-6, err_msg=split)
        return
    at = calibration(raw)
    slack = np.maximum(np.abs(calibration(raw + RAW_NOISE) - at), np.abs(at - calibration(raw - RAW_NOISE)))
    assert (slack > 1e-6).mean() < 0.05, "most sites sit on the map's flat or gentle stretches"
    off = np.abs(probs - expected)
    assert np.all(off <= 1e-6 + slack), f"{split}: {np.sum(off > 1e-6 + slack)} sites beyond the map's noise"


@pytest.mark.parametrize("case", list(CASES))
def test_the_runs_scorer_gives_its_calibrated_val_and_test_predictions(trained, case: str) -> None:
    home, run_id = trained["home"], trained["runs"][case]
    scorer = load_scorer(run_id, home, device="cpu")
    written = json.loads((home / run_id / CALIBRATION_FILE).read_text())
    assert scorer.recipe.calibration == Calibration.from_dict(written)
    assert scorer.recipe.calibration.method == CASES[case]["calibrate"] and written["fitted_on"] == "val"
    npz = np.load(home / run_id / "predictions_val_test.npz")
    for split in ("val", "test"):
        windows, contexts = split_windows(trained["dataset"], npz, split)
        inputs = scorer.recipe.cut(windows)
        np.testing.assert_allclose(scorer.probs(inputs, contexts, calibrated=False), npz[f"{split}_prob_raw"], rtol=0,
                                   atol=1e-6)
        assert_the_runs_calibrated_predictions(scorer.probs(inputs, contexts), npz, split, scorer.recipe.calibration)


def test_calibration_json_is_listed_among_the_runs_artifacts_with_its_hash(trained) -> None:
    from dnactx.provenance import sha256_file

    folder = RunFolder(trained["home"] / trained["runs"]["lr-isotonic"])
    entry = next(a for a in folder.artifacts if a["kind"] == "calibration")
    assert entry["path"] == CALIBRATION_FILE and entry["sha256"] == sha256_file(folder.path / CALIBRATION_FILE)
    table = json.loads((folder.path / CALIBRATION_FILE).read_text())
    assert len(table["x"]) == len(table["y"]) == folder.metrics["calibration"]["n_breakpoints"]


@pytest.mark.parametrize("case", PREDICTED)
def test_predict_gives_the_runs_calibrated_predictions_at_its_val_and_test_sites(trained, tmp_path, capsys,
                                                                                  case: str) -> None:
    home, run_id = trained["home"], trained["runs"][case]
    code, _, err = run_cli(["--home", str(home), "predict", run_id, "--genome", str(trained["genome"]), "--out",
                            str(tmp_path / "pred"), "--calls", str(trained["calls"]), "--bootstrap", "0", "-q"],
                           capsys)
    assert code == 0, err
    predicted = pd.read_parquet(tmp_path / "pred" / "predictions.parquet")
    sites_table = pd.read_parquet(trained["dataset"], columns=["chrom", "pos", "strand"])
    npz = np.load(home / run_id / "predictions_val_test.npz")
    calibration = load_scorer(run_id, home, device="cpu").recipe.calibration
    for split in ("val", "test"):
        sites = sites_table.iloc[npz[f"{split}_index"]].reset_index(drop=True)
        found = sites.merge(predicted, on=["chrom", "pos", "strand"], how="left")
        assert len(found) == len(sites) > 100 and found["prob"].notna().all()
        assert_the_runs_calibrated_predictions(found["prob"].to_numpy(np.float64), npz, split, calibration)


@pytest.mark.parametrize("case", list(CASES))
def test_an_export_carries_the_calibration_and_scores_as_the_run(trained, tmp_path, case: str) -> None:
    home, run_id = trained["home"], trained["runs"][case]
    out = tmp_path / "model"
    files = export_model(run_id, out, home)["files"]
    exported = load_scorer(out, device="cpu")
    run_calibration = load_scorer(run_id, home, device="cpu").recipe.calibration
    assert exported.recipe.calibration == run_calibration
    assert CALIBRATION_FILE in files and json.loads((out / CALIBRATION_FILE).read_text())["method"] == \
        CASES[case]["calibrate"]
    card = (out / "README.md").read_text()
    assert "**calibrated**" in card and ("Platt" if "platt" in case else "isotonic") in card
    npz = np.load(home / run_id / "predictions_val_test.npz")
    for split in ("val", "test"):
        windows, contexts = split_windows(trained["dataset"], npz, split)
        assert_the_runs_calibrated_predictions(exported.probs(exported.recipe.cut(windows), contexts), npz, split,
                                               run_calibration)


def test_an_export_whose_calibration_json_was_edited_is_refused(trained, tmp_path) -> None:
    out = tmp_path / "model"
    export_model(trained["runs"]["lr-platt"], out, trained["home"])
    values = json.loads((out / CALIBRATION_FILE).read_text())
    (out / CALIBRATION_FILE).write_text(json.dumps({**values, "slope": values["slope"] + 1}))
    with pytest.raises(DnactxError, match="differs from the calibration in .*dnactx_model.json.*export the model "
                                          "again"):
        load_scorer(out, device="cpu")


_DRIVER = """
import json, sys
import numpy
args = json.load(open(sys.argv[1]))
p = 1 / (1 + numpy.exp(-numpy.asarray(logits(args["seqs"], args["contexts"]), dtype="float64")))
numpy.save(sys.argv[2], calibrated(p))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dnactx", "sklearn", "pandas"))
assert not loaded, f"the snippet needed {loaded}"
"""


@pytest.mark.parametrize("case", ["lr-platt", "lr-isotonic"])
def test_the_model_cards_code_applies_the_calibration_without_dnactx(trained, tmp_path, case: str) -> None:
    out = tmp_path / "model"
    export_model(trained["runs"][case], out, trained["home"])
    blocks = re.findall(r"```python\n(.*?)```", (out / "README.md").read_text(), re.S)
    assert len(blocks) == 2  # the model's logits, then its calibration
    scorer = load_scorer(out, device="cpu")
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), scorer.recipe.length)) for _ in range(200)]
    contexts = rng.integers(0, 3, 200)
    (tmp_path / "in.json").write_text(json.dumps({"seqs": seqs, "contexts": contexts.tolist()}))
    proc = subprocess.run([sys.executable, "-c", "\n".join(blocks) + _DRIVER, str(tmp_path / "in.json"),
                           str(tmp_path / "out.npy")], cwd=out, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = scorer.probs(to_ascii(seqs), contexts)
    assert np.abs(expected - scorer.probs(to_ascii(seqs), contexts, calibrated=False)).max() > 0.01
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=0, atol=1e-9)


def _as_written_before_calibration_json(trained, case: str, dest: Path) -> Path:
    """A copy of a calibrated run as a dnactx before calibration.json left it: no file, no artifact entry."""
    folder = dest / trained["runs"][case]
    shutil.copytree(trained["home"] / trained["runs"][case], folder)
    (folder / CALIBRATION_FILE).unlink()
    artifacts = json.loads((folder / "artifacts.json").read_text())
    (folder / "artifacts.json").write_text(json.dumps([a for a in artifacts if a["kind"] != "calibration"]))
    return folder


def test_an_older_platt_run_rebuilds_its_map_from_metrics_json(trained, tmp_path, capsys) -> None:
    folder = _as_written_before_calibration_json(trained, "lr-platt", tmp_path)
    scorer = load_scorer(folder, device="cpu")
    assert "warning" not in capsys.readouterr().err
    metrics = json.loads((folder / "metrics.json").read_text())["calibration"]
    assert scorer.recipe.calibration == Calibration("platt", slope=metrics["slope"], intercept=metrics["intercept"])
    npz = np.load(folder / "predictions_val_test.npz")
    windows, contexts = split_windows(trained["dataset"], npz, "test")
    assert_the_runs_calibrated_predictions(scorer.probs(scorer.recipe.cut(windows), contexts), npz, "test",
                                           scorer.recipe.calibration)


def test_an_older_isotonic_run_says_in_one_line_that_its_scores_are_raw(trained, tmp_path, capsys) -> None:
    folder = _as_written_before_calibration_json(trained, "lr-isotonic", tmp_path)
    scorer = load_scorer(folder, device="cpu")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning:") and "--calibrate isotonic" in err
    assert "raw, uncalibrated" in err and "train it again" in err
    assert scorer.recipe.calibration is None
    npz = np.load(folder / "predictions_val_test.npz")
    windows, contexts = split_windows(trained["dataset"], npz, "test")
    np.testing.assert_allclose(scorer.probs(scorer.recipe.cut(windows), contexts), npz["test_prob_raw"], rtol=0,
                               atol=1e-6)
    export_model(folder, tmp_path / "model", trained["home"])
    card = (tmp_path / "model" / "README.md").read_text()
    assert "**not calibrated**" in card and "`--calibrate isotonic`" in card
    assert not (tmp_path / "model" / CALIBRATION_FILE).exists()


def test_every_cell_of_a_calibrated_matrix_carries_its_calibration(tmp_path) -> None:
    from conftest import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "d")
    home = tmp_path / "runs"
    assert cli_exit_code("--home", str(home), "matrix", "--data", str(data), "--model", "lr", "--sizes", "20,30",
                         "--calibrate", "isotonic", "--baseline", "none", "-q") == 0
    cells = [p for p in home.iterdir() if (p / "status.json").is_file()]
    assert len(cells) == 2
    for cell in cells:
        assert RunFolder(cell).status["status"] == "completed"
        assert load_scorer(cell, device="cpu").recipe.calibration.method == "isotonic"
