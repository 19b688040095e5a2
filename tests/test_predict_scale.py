"""predict at scale: two processes under torchrun (sites shared, outputs merged once by rank 0; an lr, and a cnn on
its sliding path), and the SLURM job array of `dnactx submit predict` (one task per length-balanced chromosome
group, the last one merges), each giving the same outputs as one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_exit_code, make_genome_with_calls, make_lr_run, run_cli, train_on_a_small_genome


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("scale")
    genome, calls = make_genome_with_calls(root / "inputs", lengths=(12_000, 30_000, 9_000))
    home = root / "runs"
    run_id = make_lr_run(home)
    out = root / "single"
    assert cli_exit_code("--home", str(home), "predict", run_id, "--genome", str(genome), "--out", str(out),
                         "--calls", str(calls), "--bootstrap", "50", "-q") == 0
    return {"root": root, "genome": genome, "calls": calls, "home": home, "run_id": run_id, "single": out}


def _env() -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_ARRAY_TASK_ID"):
        env.pop(var, None)
    return env


def _same_outputs(out: Path, single: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(out / "predictions.parquet"),
                                  pd.read_parquet(single / "predictions.parquet"))
    for name in ("CG.bedGraph.gz", "CHH.bw"):
        assert (out / name).read_bytes() == (single / name).read_bytes()
    a, b = (json.loads((p / "predict.json").read_text()) for p in (out, single))
    assert a["evaluation"] == b["evaluation"] and a["counts"] == b["counts"]


@pytest.mark.slow
def test_two_processes_under_torchrun_give_the_single_process_outputs(world) -> None:
    out = world["root"] / "torchrun"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "dnactx",
           "--home", str(world["home"]), "predict", world["run_id"], "--genome", str(world["genome"]), "--out",
           str(out), "--calls", str(world["calls"]), "--bootstrap", "50"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [str(out)]  # rank 0 alone speaks
    assert json.loads((out / "predict.json").read_text())["timing"]["processes"] == 2
    _same_outputs(out, world["single"])


@pytest.mark.slow
def test_submitted_job_array_tasks_each_score_a_group_and_the_last_merges(world, tmp_path, capsys,
                                                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "array"
    code, stdout, _ = run_cli(["--home", str(world["home"]), "submit", "predict", world["run_id"], "--genome",
                               str(world["genome"]), "--out", str(out), "--calls", str(world["calls"]),
                               "--bootstrap", "50", "--tasks", "2", "--gpus", "0"], capsys)
    assert code == 0
    script = tmp_path / "jobs" / "dnactx-predict" / "predict.sbatch"
    assert stdout.strip() == f"sbatch {script}"
    groups = json.loads((script.parent / "groups.json").read_text())["groups"]
    assert [[c["chrom"] for c in g["chromosomes"]] for g in groups] == [["chr2"], ["chr1", "chr3"]]
    logs = []
    for task in (1, 0):  # in either order: the one that finds every chromosome done merges
        env = {**_env(), "SLURM_ARRAY_TASK_ID": str(task)}
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=600,
                              cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        logs.append(proc.stderr)
    assert "the task that finishes last merges" in logs[0] and "scored" in logs[1]
    _same_outputs(out, world["single"])


def test_submit_predict_writes_a_balanced_array_and_refuses_group_options(world, tmp_path, capsys,
                                                                         monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["--home", str(world["home"]), "submit", "predict", world["run_id"], "--genome", str(world["genome"]),
            "--out", "pred dir", "--partition", "gpu", "--time", "04:00:00"]
    assert run_cli(base + ["--script-dir", "jobs/p"], capsys)[0] == 0
    script = tmp_path / "jobs" / "p" / "predict.sbatch"
    text = script.read_text()
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "#SBATCH --array=0-2" in text and "#SBATCH --partition=gpu" in text
    assert "--out 'pred dir'" in text and '--group "$SLURM_ARRAY_TASK_ID" --groups 3 &' in text
    groups = json.loads((script.parent / "groups.json").read_text())["groups"]
    assert sorted(g["bases"] for g in groups) == [9_000, 12_000, 30_000]
    code, _, err = run_cli(base + ["--group", "1"], capsys)
    assert code == 2 and "leave them out" in err
    code, _, err = run_cli(base[:5] + ["--genome", str(world["genome"]), "--out", "x", "--contexts", "CA"], capsys)
    assert code == 2 and "--contexts" in err


@pytest.mark.slow
def test_two_processes_slide_a_cnn_as_one_process_does(tmp_path) -> None:
    """The cnn's sliding path under torchrun: each process convolves the stretches of its share of every chunk
    (boundaries that differ from one process's), so probabilities agree to float32 rounding, not bit for bit."""
    import numpy as np

    cnn = train_on_a_small_genome(tmp_path, {})  # the genome and dataset; the cnn at size 40 (81 bp) slides
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    home = cnn["home"]
    run_id = train_run(TrainConfig(data=str(cnn["dataset"]), name="cnn-81", model="cnn", size=40, epochs=1), home,
                       quiet=True)["run_id"]
    single, pair = tmp_path / "single", tmp_path / "pair"
    base = ["--home", str(home), "predict", run_id, "--genome", str(cnn["genome"]), "--calls", str(cnn["calls"]),
            "--bootstrap", "20"]
    assert cli_exit_code(*base, "--out", str(single), "-q") == 0
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "dnactx", *base, "--out", str(pair)], capture_output=True, text=True, env=_env(),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = (json.loads((p / "predict.json").read_text()) for p in (pair, single))
    assert a["timing"]["method"] == b["timing"]["method"] == "sliding" and a["timing"]["processes"] == 2
    assert a["counts"] == b["counts"]
    pa, pb = (pd.read_parquet(p / "predictions.parquet") for p in (pair, single))
    pd.testing.assert_frame_equal(pa.drop(columns="prob"), pb.drop(columns="prob"))
    np.testing.assert_allclose(pa["prob"], pb["prob"], rtol=0, atol=1e-5)
