"""diagnose and report on runs trained for real by ``train_run`` (lr and a 1-epoch dnabert6-tiny)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli

from dnactx.registry import Registry
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run

pytestmark = pytest.mark.slow  # trains two models


def test_trained_runs_diagnose_and_report(tmp_path, tiny_dataset, capsys):
    torch.set_num_threads(1)
    home = tmp_path / "runs"
    ids = [train_run(TrainConfig(data=str(tiny_dataset), model=model, size=20, epochs=1, seed=0), home,
                     matrix="e2e", quiet=True)["run_id"] for model in ("lr", "dnabert6-tiny")]

    code, out, err = run_cli(["--home", str(home), "diagnose", ids[1], "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["run"]["model"] == "dnabert6-tiny" and d["source"] == "predictions"
    assert set(d["by_repeat"]["test"]) == {"repeat", "non_repeat"} and d["findings"] and d["remedies"]
    assert d["baseline"]["id"] == ids[0]  # the lr run on the same dataset
    assert all(r["command"] is None or r["command"].startswith("dnactx train --data") for r in d["remedies"])

    code, out, err = run_cli(["--home", str(home), "report", "--matrix", "e2e", "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    reg = Registry.open(home)
    runs = {i: reg.run(i)["metrics"] for i in ids}
    best = max(ids, key=lambda i: (runs[i]["val"]["auprc"], i == ids[0]))
    assert r["selected"]["id"] == best and r["selected"]["test"] == runs[best]["test"]
    assert {row["id"] for row in r["runs"]} == set(ids)
