"""lr's ``--C auto``: the feature scalings, the validation search over C, class weights and scaling, the flag."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from dnactx.errors import DnactxError
from dnactx.metrics import auprc
from dnactx.models.lr import (
    C_GRID,
    C_START,
    CLASS_WEIGHTS,
    SCALINGS,
    frequencies_to_l2,
    kmer_features,
    l2_to_frequencies,
    search_lr,
)
from dnactx.runs import RunFolder
from dnactx.sequence import to_ascii
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run


def _counts(seq: str, kmax: int) -> np.ndarray:
    row = []
    for k in range(1, kmax + 1):
        windows = [seq[i:i + k] for i in range(len(seq) - k + 1)]
        row += [windows.count("".join(p)) for p in itertools.product("ACGT", repeat=k)]
    return np.array(row, dtype=float)


def test_l2_scaling_is_kmer_counts_of_unit_norm_with_the_context_one_hot_kept():
    seqs = ["ACGTACGGTA", "TTTTNCCCAA", "GATTACAGAT"]
    x = kmer_features(to_ascii(seqs), np.array([0, 2, 1]), kmax=3, scaling="l2").toarray()
    for i, s in enumerate(seqs):
        counts = _counts(s, 3)
        np.testing.assert_allclose(x[i, :-3], counts / np.linalg.norm(counts), rtol=1e-6)
    assert x[:, -3:].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_converting_frequencies_in_place_equals_building_l2_features():
    rng = np.random.default_rng(0)
    bases = rng.choice(np.frombuffer(b"ACGTN", dtype=np.uint8), size=(5000, 41), p=[0.24] * 4 + [0.04])
    context = rng.integers(0, 3, 5000)
    x = kmer_features(bases, context)
    frequencies_to_l2(x, 41)
    assert abs(x - kmer_features(bases, context, scaling="l2")).max() < 1e-6


def _split(rng: np.random.Generator, n: int):
    """Sequences whose label follows a 3-mer motif near the centre: a learnable, imbalanced problem."""
    bases = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=(n, 31))
    motif = (bases[:, 14] == ord("A")) & (bases[:, 15] == ord("T")) & (bases[:, 16] == ord("G"))
    y = (rng.random(n) < np.where(motif, 0.6, 0.03)).astype(int)
    return bases, y


def test_l2_conversion_is_undone_by_its_norms():
    rng = np.random.default_rng(3)
    bases = rng.choice(np.frombuffer(b"ACGTN", dtype=np.uint8), size=(3000, 31), p=[0.24] * 4 + [0.04])
    x = kmer_features(bases, rng.integers(0, 3, 3000))
    before = x.copy()
    l2_to_frequencies(x, frequencies_to_l2(x, 31), 31)
    assert abs(x - before).max() < 1e-6


@pytest.mark.slow
def test_search_picks_scaling_and_weights_at_C_10_then_walks_C_for_the_winner():
    rng = np.random.default_rng(1)
    bases, y = _split(rng, 600)
    val_bases, y_val = _split(rng, 300)
    x, x_val = kmer_features(bases, kmax=3), kmer_features(val_bases, kmax=3)
    model, choice, p_val, grid = search_lr(x, y, x_val, y_val, length=31, seed=0)
    stage1 = [(g["scaling"], g["class_weight"], g["C"]) for g in grid[:4]]
    assert stage1 == list(itertools.product(SCALINGS, CLASS_WEIGHTS, [C_START]))
    winner = max(grid[:4], key=lambda g: g["val_auprc"])
    walked = grid[4:]
    assert 1 <= len(walked) <= len(C_GRID) - 1 and len(grid) < len(SCALINGS) * len(CLASS_WEIGHTS) * len(C_GRID)
    assert all((g["scaling"], g["class_weight"]) == (winner["scaling"], winner["class_weight"]) for g in walked)
    assert walked[0]["C"] == C_GRID[C_GRID.index(C_START) + 1]  # upwards first
    assert all(g["fit_seconds"] > 0 and g["n_iter"] >= 1 and isinstance(g["converged"], bool) for g in grid)
    assert choice["val_auprc"] == max(g["val_auprc"] for g in grid) >= grid[0]["val_auprc"]
    assert auprc(y_val, p_val) == choice["val_auprc"]
    refit = model.predict_proba(kmer_features(val_bases, kmax=3, scaling=choice["scaling"]))[:, 1]
    np.testing.assert_allclose(refit, p_val, rtol=1e-5)


@pytest.mark.slow
def test_auto_never_does_worse_on_val_than_the_former_fixed_default(tmp_path):
    from conftest import make_tiny_dataset

    for seed in (0, 1):
        data = make_tiny_dataset(tmp_path / f"d{seed}", n=800, seed=seed)
        fixed = train_run(TrainConfig(data=str(data), model="lr", size=30, C=10, class_weight="balanced"),
                          tmp_path / "runs", quiet=True)["metrics"]
        auto = train_run(TrainConfig(data=str(data), model="lr", size=30), tmp_path / "runs", quiet=True)["metrics"]
        assert auto["val"]["auprc"] >= fixed["val"]["auprc"]
        assert auto["facts"]["lr"]["choice"]["val_auprc"] == pytest.approx(auto["val"]["auprc"], abs=1e-6)
        assert 5 <= len(auto["facts"]["lr"]["grid"]) <= 7


@pytest.mark.slow
def test_auto_records_the_grid_and_choice_in_metrics_and_train_log(tiny_dataset, tmp_path):
    result = train_run(TrainConfig(data=str(tiny_dataset), model="lr", size=20), tmp_path, quiet=True)
    folder = RunFolder.open(tmp_path, result["run_id"])
    lines = [json.loads(line) for line in (folder.path / "train_log.jsonl").read_text().splitlines()]
    candidates = [line for line in lines if "candidate" in line]
    assert len(candidates) == len(result["metrics"]["facts"]["lr"]["grid"]) >= 5
    assert {"val_auprc", "fit_seconds", "C", "class_weight", "scaling"} <= set(candidates[0])
    assert lines[-1]["choice"] == result["metrics"]["facts"]["lr"]["choice"] == folder.metrics["facts"]["lr"]["choice"]
    from safetensors import safe_open

    with safe_open(str(folder.path / "lr.safetensors"), "np") as fh:
        assert fh.metadata()["scaling"] == result["metrics"]["facts"]["lr"]["choice"]["scaling"]


@pytest.mark.slow
def test_a_numeric_C_fits_exactly_one_model(tiny_dataset, tmp_path):
    from conftest import cli_exit_code

    assert cli_exit_code("--home", str(tmp_path), "train", "--data", str(tiny_dataset), "--model", "lr", "--size",
                         "20", "--C", "10", "--class-weight", "none", "-q") == 0
    (folder,) = [p for p in tmp_path.iterdir() if (p / "train_log.jsonl").is_file()]
    lines = (folder / "train_log.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["choice"] == {"scaling": "frequency", "C": 10.0,
                                                                   "class_weight": "none"}
    assert "grid" not in json.loads((folder / "metrics.json").read_text())["facts"]["lr"]


@pytest.mark.parametrize(("given", "parsed"), [("auto", "auto"), ("AUTO", "auto"), ("10", 10.0), (0.5, 0.5)])
def test_C_is_auto_or_a_positive_number(given, parsed):
    assert TrainConfig(C=given).C == parsed


@pytest.mark.parametrize("given", ["0", "-1", "ten", "nan", "inf"])
def test_a_bad_C_is_refused_in_one_line(given):
    with pytest.raises(DnactxError, match="--C must be auto or a positive number"):
        TrainConfig(C=given)


def test_auto_C_gets_no_regularise_remedy_since_it_already_chose_on_validation():
    from dnactx.analysis.remedies import remedy

    assert remedy("regularise", {"model": "lr", "family": "lr", "C": "auto"}) is None
    assert remedy("regularise", {"model": "lr", "family": "lr", "C": 10.0})["flags"] == "--C 1.0"
