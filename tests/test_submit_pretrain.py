"""dnactx submit pretrain: one job that always resumes --out, under accelerate launch for several GPUs, with the
same preflight, exports and requeue as submit train; its options are checked before any script is written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import cli_exit_code as cli


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.fa").write_text(">chr1\n" + "ACGT" * 500 + "\n")
    return tmp_path


def test_submit_pretrain_writes_one_job_that_resumes_its_out_folder(workdir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--home", "h", "submit", "pretrain", "--gpus", "1", "--job-name", "lm", "--time", "08:00:00",
               "--genome", "g.fa", "--out", "models/lm", "--steps", "1000", "--requeue") == 0
    script = workdir / "jobs" / "lm" / "pretrain.sbatch"
    assert capsys.readouterr().out.strip() == f"sbatch {script}"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    lines = text.splitlines()
    assert "--array" not in text and "#SBATCH --job-name=lm" in lines and "#SBATCH --gres=gpu:1" in lines
    assert f"-m dnactx --home {workdir / 'h'} pretrain --genome g.fa --out models/lm --steps 1000 --resume &" in text
    assert text.index("dnactx.slurm.preflight --gpus 1") < text.index("-m dnactx --home")
    assert "export HF_HUB_OFFLINE=1" in text and 'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-4}"' in text
    assert "#SBATCH --requeue" in lines and 'if [ "$rc" -eq 4 ]; then' in lines
    assert not (workdir / "models").exists()  # nothing of the model is made before the job runs


def test_several_gpus_pretrain_under_accelerate_launch(workdir: Path) -> None:
    assert cli("submit", "pretrain", "--gpus", "4", "--genome", "g.fa", "--out", "lm", "--resume",
               "--script-dir", "scripts") == 0
    text = (workdir / "scripts" / "pretrain.sbatch").read_text()
    assert '"$PY" -m accelerate.commands.launch --multi_gpu --num_processes 4 --num_machines 1' in text
    [command] = [line for line in text.splitlines() if " pretrain --genome" in line]
    assert "#SBATCH --gres=gpu:4" in text and command.split().count("--resume") == 1


@pytest.mark.parametrize("extra,message", [(["--mask-rate", "0.7"], "--mask-rate must be in (0, 0.5)"),
                                           (["--genome", "missing.fa"], "--genome missing.fa does not exist"),
                                           (["--stepz", "3"], "No such option: --stepz")])
def test_bad_pretrain_options_are_refused_before_any_script(extra: list[str], message: str, workdir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("submit", "pretrain", "--genome", "g.fa", "--out", "lm", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (workdir / "jobs").exists()


def test_an_out_folder_holding_something_else_is_refused_at_submit(workdir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "lm").mkdir()
    (workdir / "lm" / "notes.txt").write_text("mine")
    assert cli("submit", "pretrain", "--genome", "g.fa", "--out", "lm") == 2
    assert "holds no dnactx pretrain" in capsys.readouterr().err
    assert not (workdir / "jobs").exists()
