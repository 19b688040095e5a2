"""dnactx submit: valid bash, quoted hostile values, a pinned interpreter, preflight, templates, sbatch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cli_exit_code as cli

from dnactx.errors import DnactxError
from dnactx.slurm import preflight
from dnactx.slurm.interpreter import resolve_python
from dnactx.slurm.sbatch import parse_job_id

# Relative targets: the script cds into the submit folder, so anything executed would land under tmp_path.
HOSTILE = "a b'c\"d $(touch pwned1) `touch pwned2` ;touch pwned3 &&\nx $HOME \\ %x"


def bash_n(path: Path) -> None:
    res = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_matrix_script_defaults(tiny_dataset, workdir, capsys):
    home = workdir / "home"
    assert cli("--home", str(home), "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20,50",
               "--modes", "up,down", "--model", "dnabert6-tiny", "--name", "ctx", "--partition", "gpu",
               "--max-parallel", "3", "--time", "2-00:00:00", "--account", "lab", "--qos", "normal") == 0
    out = workdir / "jobs" / "ctx"
    script = out / "matrix.sbatch"
    assert capsys.readouterr().out.strip() == f"sbatch {script}"
    text = script.read_text()
    bash_n(script)
    assert os.access(script, os.X_OK)
    for line in ("#SBATCH --job-name=ctx", "#SBATCH --partition=gpu", "#SBATCH --array=0-4%3",
                 "#SBATCH --gres=gpu:1", "#SBATCH --time=2-00:00:00", "#SBATCH --account=lab",
                 "#SBATCH --qos=normal", "#SBATCH --signal=B:TERM@120", f"#SBATCH --output={out}/logs/%x-%A_%a.out"):
        assert line in text.splitlines()
    # The interpreter that ran submit, by absolute path and not symlink-resolved (a venv's python is a symlink).
    assert f"PY={os.path.abspath(sys.executable)}" in text.splitlines()
    assert text.index("dnactx.slurm.preflight --gpus 1") < text.index("-m dnactx --home")
    assert '--cell "$SLURM_ARRAY_TASK_ID" &' in text and "accelerate" not in text
    manifest = json.loads((out / "cells.json").read_text())
    assert manifest["array"] == "0-4" and len(manifest["cells"]) == 5 and manifest["cells"][-1]["baseline"]
    assert manifest["cells"][1]["cell"] == {"model": "dnabert6-tiny", "size": 20, "mode": "down"}
    assert (out / "logs").is_dir()
    from dnactx.registry import Registry

    assert [m["name"] for m in Registry.open(home).matrices()] == ["ctx"]


def test_several_gpus_run_under_accelerate_launch(tiny_dataset, workdir):
    assert cli("--home", "h", "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "g",
               "--gpus", "4", "--baseline", "none") == 0
    script = workdir / "jobs" / "g" / "matrix.sbatch"
    bash_n(script)
    text = script.read_text()
    assert "#SBATCH --gres=gpu:4" in text and "#SBATCH --array=0-0" in text
    assert '"$PY" -m accelerate.commands.launch --multi_gpu --num_processes 4 --num_machines 1' in text
    assert " -m dnactx --home " in text


def test_gpu_count_zero_is_a_cpu_job(tiny_dataset, workdir):
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "c", "--gpus", "0") == 0
    text = (workdir / "jobs" / "c" / "matrix.sbatch").read_text()
    assert "--gres" not in text and "preflight --gpus 0" in text


def _stub_python(folder: Path) -> Path:
    """An 'interpreter' that records its arguments, one per line, so a test can see exactly what bash passed."""
    folder.mkdir(parents=True)
    stub = folder / "py"
    stub.write_text('#!/bin/bash\nfor a in "$@"; do printf "%s\\0" "$a"; done >> "$ARGV_LOG"\n')
    stub.chmod(0o755)
    return stub


@pytest.mark.slow
def test_hostile_values_are_passed_verbatim_and_never_executed(tiny_dataset, tmp_path, monkeypatch):
    p = tmp_path
    weird = HOSTILE
    work = p / weird
    work.mkdir()
    monkeypatch.chdir(work)
    data_dir = work / ("data " + weird.replace("/", "_"))
    shutil.copytree(tiny_dataset.parent, data_dir)
    stub = _stub_python(work / "bin $(touch pwned4)")
    home = work / ("home `touch pwned5`")
    out = work / ("out $(touch pwned6)")
    model = f"/models/{weird}"
    assert cli("--home", str(home), "submit", "matrix", "--data", str(data_dir), "--sizes", "20",
               "--model", model, "--name", "ok_name", "--python", str(stub), "--out", str(out), "--gpus", "0",
               "--baseline", "none") == 0
    script = out / "matrix.sbatch"
    bash_n(script)
    assert "--output" not in script.read_text()  # a path that would need quoting stays out of #SBATCH lines
    log = p / "argv.log"
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "0", "ARGV_LOG": str(log)}
    res = subprocess.run(["bash", str(script)], cwd="/", env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    calls = log.read_text().split("\0")[:-1]
    preflight_call, matrix_call = calls[:6], calls[6:]
    assert preflight_call == ["-m", "dnactx.slurm.preflight", "--gpus", "0", "--model", model]
    assert matrix_call == ["-m", "dnactx", "--home", str(home), "matrix", "--data", str(data_dir / "dataset.parquet"),
                           "--name", "ok_name", "--baseline", "none", "--model", model, "--sizes", "20",
                           "--cell", "0"]
    found = [f for f in p.rglob("pwned*")]
    assert found == []


@pytest.mark.slow
def test_hostile_setup_is_one_plain_command(tiny_dataset, workdir):
    marker = workdir / "pwned"
    setup = f"printf [%s] 'module load' $(touch {marker}) `touch {marker}` ';' 'touch {marker}' > {marker}"
    stub = _stub_python(workdir / "bin")
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "s", "--gpus", "0",
               "--python", str(stub), "--setup", setup, "--setup", "true\ntouch " + str(marker)) == 0
    script = workdir / "jobs" / "s" / "matrix.sbatch"
    bash_n(script)
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "0", "ARGV_LOG": str(workdir / "argv.log")}
    res = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    # shlex splits the command into words; each word reaches printf literally: no substitution, no redirect.
    assert res.stdout.startswith(f"[module load][$(touch][{marker})][`touch][{marker}`][;][touch {marker}][>]"
                                 f"[{marker}]")
    assert not marker.exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--name", "x$(id)", "not allowed"),
    ("--partition", "gpu\n#SBATCH --wrap=id", "not a partition"),
    ("--time", "12h; id", "not minutes"),
    ("--mem", "32G $(id)", "not a size"),
    ("--account", "a b", "not an account"),
    ("--setup", "echo 'unbalanced", "No closing quotation"),
])
def test_bad_values_are_refused_before_writing(tiny_dataset, workdir, capsys, flag, value, message):
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", flag, value) == 2
    assert message in capsys.readouterr().err
    assert not (workdir / "jobs").exists() or not list((workdir / "jobs").rglob("*.sbatch"))


@pytest.mark.slow
def test_executing_the_array_script_completes_a_cell(tiny_dataset, workdir):
    """The generated script, run as SLURM would run array task 1: CPU, dnabert6-tiny, tiny data."""
    home = workdir / "home"
    assert cli("--home", str(home), "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20,30",
               "--modes", "up", "--model", "dnabert6-tiny", "--epochs", "1", "--max-train", "96",
               "--name", "local", "--gpus", "0", "--setup", "export OMP_NUM_THREADS=1") == 0
    script = workdir / "jobs" / "local" / "matrix.sbatch"
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "1", "SLURM_JOB_ID": "777", "SLURM_ARRAY_JOB_ID": "776"}
    res = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "preflight: torch" in res.stdout
    from dnactx.registry import Registry

    runs = Registry.open(home).runs(matrix="local")
    assert len(runs) == 1
    run = runs[0]
    assert run["status"] == "completed"
    assert run["config"]["cell"] == {"model": "dnabert6-tiny", "size": 30, "mode": "up", "epochs": 1, "max_train": 96}
    assert run["slurm_job_id"] == "777"
    status = json.loads((home / run["id"] / "status.json").read_text())
    assert status["slurm_array_task_id"] == "1"


@pytest.mark.slow
def test_preflight_fails_clearly_without_a_gpu():
    res = subprocess.run([sys.executable, "-m", "dnactx.slurm.preflight", "--gpus", "1"], capture_output=True,
                         text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert res.returncode == preflight.EXIT_FAILED
    assert "preflight: python " + sys.executable in res.stdout and "preflight: torch" in res.stdout
    assert "preflight failed: 1 GPU(s) requested but 0 visible" in res.stderr


def test_preflight_rules():
    assert preflight.problems("2.13.0+cpu", 0, 0) == []
    assert preflight.problems("2.6.0", 2, 2) == []
    assert "older than 2.6" in preflight.problems("2.5.1+cu121", 1, 1)[0]
    assert "not installed" in preflight.problems(None, 0, 0)[0]
    assert "2 GPU(s) requested but 1 visible" in preflight.problems("2.7.0", 1, 2)[0]
    assert preflight.version_tuple("2.10.0a0+git") == (2, 10, 0)


def test_interpreter_choice(tmp_path):
    assert resolve_python() == os.path.abspath(sys.executable)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    os.symlink(sys.executable, venv / "bin" / "python")
    assert resolve_python(venv=str(venv)) == str(venv / "bin" / "python")  # the symlink itself, not its target
    assert resolve_python(conda_env=str(venv)) == str(venv / "bin" / "python")
    with pytest.raises(DnactxError, match="not an executable Python"):
        resolve_python(venv=str(tmp_path / "nope"))
    with pytest.raises(DnactxError, match="only one of"):
        resolve_python(python=sys.executable, venv=str(venv))


@pytest.mark.slow
def test_submit_runs_sbatch_and_records_the_job_id(tiny_dataset, workdir, monkeypatch, capsys):
    fake = workdir / "fakebin"
    fake.mkdir()
    (fake / "sbatch").write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$PWD/sbatch.args"\necho "4242;cluster"\n')
    (fake / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    home = workdir / "home"
    assert cli("--home", str(home), "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20",
               "--name", "sub", "--submit") == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "4242"
    script = workdir / "jobs" / "sub" / "matrix.sbatch"
    assert (workdir / "sbatch.args").read_text().split() == ["--parsable", str(script)]
    history = json.loads((script.parent / "submissions.json").read_text())
    assert [h["job_id"] for h in history] == ["4242"]
    from dnactx.registry import Registry

    spec = next(m for m in Registry.open(home).matrices() if m["name"] == "sub")["spec"]
    assert [s["job_id"] for s in spec["submissions"]] == ["4242"]
    assert parse_job_id("99\n") == "99"
    with pytest.raises(DnactxError):
        parse_job_id("Submitted batch job")


def test_submit_without_sbatch_keeps_the_script(tiny_dataset, workdir, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "n", "--submit") == 2
    assert "sbatch is not on PATH" in capsys.readouterr().err
    assert (workdir / "jobs" / "n" / "matrix.sbatch").is_file()


def test_user_template(tiny_dataset, workdir, capsys):
    tpl = workdir / "my.sbatch"
    tpl.write_text("#!/bin/bash\n{{DIRECTIVES}}\n#SBATCH --constraint=a100\nPY={{PYTHON}}\n{{PREFLIGHT}}\n"
                   "srun {{COMMAND}}\n")
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "t",
               "--template", str(tpl)) == 0
    text = (workdir / "jobs" / "t" / "matrix.sbatch").read_text()
    assert "#SBATCH --constraint=a100" in text and 'srun "$PY" -m dnactx --home' in text
    bad = workdir / "bad.sbatch"
    bad.write_text("#!/bin/bash\nPY={{PYTHON}}\n{{PREFLIGHT}}\n{{CMD}}\n")
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "t2",
               "--template", str(bad)) == 2
    err = capsys.readouterr().err
    assert "unknown placeholders ['CMD']" in err and "missing ['COMMAND']" in err
    broken = workdir / "broken.sbatch"
    broken.write_text("#!/bin/bash\nPY={{PYTHON}}\n{{PREFLIGHT}}\nif {{COMMAND}}\n")
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "t3",
               "--template", str(broken)) == 2
    assert "is not valid bash" in capsys.readouterr().err
    assert not (workdir / "jobs" / "t3" / "matrix.sbatch").exists()


def test_submit_train_writes_one_job(tiny_dataset, workdir, capsys):
    assert cli("submit", "train", "--gpus", "0", "--job-name", "one", "--time", "01:00:00", "--data",
               str(tiny_dataset), "--model", "lr", "--size", "20", "--no-site-context") == 0
    script = workdir / "jobs" / "one" / "train.sbatch"
    bash_n(script)
    text = script.read_text()
    assert "--array" not in text and "#SBATCH --job-name=one" in text and "#SBATCH --time=01:00:00" in text
    assert f"-m dnactx --home {workdir / 'runs'} train --data {tiny_dataset} --model lr --size 20 " \
           f"--no-site-context --run-id-file {script}.run-id &" in text
    assert cli("submit", "train", "--data", str(tiny_dataset), "--epochz", "3") == 2
    assert "No such option: --epochz" in capsys.readouterr().err


@pytest.mark.slow
def test_sigterm_to_the_batch_shell_reaches_the_trainer(tiny_dataset, workdir):
    """--signal=B:TERM signals only the batch shell; the script must pass it on and return the child's status."""
    stub = workdir / "py"
    stub.write_text('#!/bin/bash\n[ "$2" = dnactx.slurm.preflight ] && exit 0\n'
                    'trap \'echo term > "$MARK"; exit 7\' TERM\necho started > "$MARK"\n'
                    'for i in $(seq 600); do sleep 0.1; done\n')
    stub.chmod(0o755)
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "sig", "--gpus", "0",
               "--python", str(stub)) == 0
    mark = workdir / "mark"
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "0", "MARK": str(mark)}
    proc = subprocess.Popen(["bash", str(workdir / "jobs" / "sig" / "matrix.sbatch")], env=env)
    deadline = time.monotonic() + 30
    while not (mark.exists() and mark.read_text().strip() == "started") and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 7
    assert mark.read_text().strip() == "term"


# -- issue 13 item 6: threads, offline hub, requeue, dependent report, versions, preflight cache check -----------
def _fake_bin(folder: Path, name: str, body: str) -> Path:
    """A stand-in for a SLURM command on PATH that records its arguments (one per line, a blank line per call)."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" >> "{folder}/{name}.args"\necho >> "{folder}/{name}.args"\n'
                    + body)
    tool.chmod(0o755)
    return tool


def _calls(folder: Path, name: str) -> list[list[str]]:
    text = (folder / f"{name}.args").read_text()
    return [call.split("\n") for call in text.strip("\n").split("\n\n")]


def test_scripts_export_threads_from_slurm_and_an_offline_hub(tiny_dataset, workdir):
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "env", "--cpus", "6") == 0
    assert cli("submit", "train", "--job-name", "one", "--data", str(tiny_dataset), "--model", "cnn") == 0
    for script in (workdir / "jobs" / "env" / "matrix.sbatch", workdir / "jobs" / "one" / "train.sbatch"):
        bash_n(script)
        lines = script.read_text().splitlines()
        fallback = "6" if "env" in str(script) else "4"
        assert f'export OMP_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-{fallback}}}"' in lines
        assert any(line.startswith("export HF_HUB_OFFLINE=1") for line in lines)
        assert "#SBATCH --requeue" not in lines  # only when asked for
        text = "\n".join(lines)
        assert text.index("export OMP_NUM_THREADS") < text.index("dnactx.slurm.preflight")


def test_same_submit_reuses_its_script_and_a_changed_one_gets_a_new_version(tiny_dataset, workdir, capsys):
    args = ["submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "v"]
    assert cli(*args) == 0
    first = workdir / "jobs" / "v" / "matrix.sbatch"
    original = first.read_text()
    assert cli(*args) == 0
    err = capsys.readouterr().err
    assert "unchanged" in err and not (workdir / "jobs" / "v" / "matrix.2.sbatch").exists()
    assert cli(*args, "--time", "02:00:00") == 0
    out, err = capsys.readouterr()
    second = workdir / "jobs" / "v" / "matrix.2.sbatch"
    assert first.read_text() == original and "#SBATCH --time=02:00:00" in second.read_text()
    assert (workdir / "jobs" / "v" / "cells.2.json").is_file() and out.strip() == f"sbatch {second}"
    assert "matrix.sbatch there differs and is kept" in " ".join(err.split())


def test_submit_says_the_matrix_name_it_chose_and_how_to_report_it(tiny_dataset, workdir, capsys):
    assert cli("--home", "h", "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20,50") == 0
    err = " ".join(capsys.readouterr().err.split())
    name = json.loads(next((workdir / "jobs").glob("*/cells.json")).read_text())["matrix"]
    script = workdir / "jobs" / name / "matrix.sbatch"
    assert f"matrix {name}: wrote {script} (3 tasks)" in err
    assert f"dnactx --home h report --matrix {name}" in err


def test_requeue_adds_the_directive_and_the_requeue_step(tiny_dataset, workdir):
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "rq", "--requeue",
               "--max-requeues", "3") == 0
    script = workdir / "jobs" / "rq" / "matrix.sbatch"
    bash_n(script)
    lines = script.read_text().splitlines()
    assert "#SBATCH --requeue" in lines and 'scontrol requeue "$SLURM_JOB_ID" || echo "dnactx: scontrol requeue ' \
        'failed; submit the same script again to resume" >&2' in [ln.strip() for ln in lines]
    assert '  if [ "${SLURM_RESTART_COUNT:-0}" -lt 3 ]; then' in lines


def test_a_template_without_the_requeue_step_cannot_requeue(tiny_dataset, workdir, capsys):
    tpl = workdir / "my.sbatch"
    tpl.write_text("#!/bin/bash\n{{DIRECTIVES}}\nPY={{PYTHON}}\n{{PREFLIGHT}}\nsrun {{COMMAND}}\n")
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "t", "--template",
               str(tpl), "--requeue") == 2
    assert "--requeue needs {{REQUEUE}}" in capsys.readouterr().err
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "t", "--template",
               str(tpl)) == 0
    text = (workdir / "jobs" / "t" / "matrix.sbatch").read_text()  # no {{ENVIRONMENT}}: exports before preflight
    assert text.index("export HF_HUB_OFFLINE=1") < text.index("dnactx.slurm.preflight")


@pytest.mark.slow
def test_a_preempted_task_requeues_itself_with_slurm_threads(tiny_dataset, workdir):
    """The script run as SLURM would: the 'trainer' exits 4 (preempted, checkpointed) → scontrol requeue."""
    stub = workdir / "py"
    stub.write_text('#!/bin/bash\n[ "$2" = dnactx.slurm.preflight ] && exit 0\n'
                    'echo "$OMP_NUM_THREADS $HF_HUB_OFFLINE" > "$MARK"\nexit 4\n')
    stub.chmod(0o755)
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "rq", "--gpus", "0",
               "--python", str(stub), "--requeue", "--max-requeues", "2") == 0
    fake = workdir / "fakebin"
    _fake_bin(fake, "scontrol", "exit 0\n")
    mark = workdir / "mark"
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "SLURM_ARRAY_TASK_ID": "0", "SLURM_JOB_ID": "777",
           "SLURM_CPUS_PER_TASK": "3", "MARK": str(mark)}
    script = str(workdir / "jobs" / "rq" / "matrix.sbatch")
    res = subprocess.run(["bash", script], env=env, capture_output=True, text=True)
    assert res.returncode == 4 and "requeueing job 777" in res.stderr
    assert _calls(fake, "scontrol") == [["requeue", "777"]] and mark.read_text().split() == ["3", "1"]
    res = subprocess.run(["bash", script], env={**env, "SLURM_RESTART_COUNT": "2"}, capture_output=True, text=True)
    assert res.returncode == 4 and "already requeued 2 times" in res.stderr
    assert len(_calls(fake, "scontrol")) == 1  # not again
    env.pop("SLURM_CPUS_PER_TASK")
    subprocess.run(["bash", script], env=env, capture_output=True, text=True)
    assert mark.read_text().split() == ["4", "1"]  # outside SLURM: the --cpus value


def test_then_report_without_submit_prints_the_chained_sbatch_line(tiny_dataset, workdir, capsys):
    assert cli("--home", "h", "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "m",
               "--then-report") == 0
    out = capsys.readouterr().out.strip()
    folder = workdir / "jobs" / "m"
    assert out == (f"jid=$(sbatch --parsable {folder / 'matrix.sbatch'}) && "
                   f"sbatch --dependency=afterany:\"${{jid%%;*}}\" {folder / 'report.sbatch'}")
    report = folder / "report.sbatch"
    bash_n(report)
    text = report.read_text()
    assert f"-m dnactx --home {workdir / 'h'} report --matrix m" in text
    assert "#SBATCH --job-name=m-report" in text and "--gres" not in text and "--array" not in text


@pytest.mark.slow
def test_then_report_submits_a_job_that_waits_for_the_array(tiny_dataset, workdir, monkeypatch, capsys):
    fake = workdir / "fakebin"
    _fake_bin(fake, "sbatch", 'n=$(grep -c "^$" "$0.args"); echo "$((4241 + n));cluster"\n')
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    assert cli("--home", "h", "submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "dep",
               "--submit", "--then-report") == 0
    folder = workdir / "jobs" / "dep"
    assert _calls(fake, "sbatch") == [["--parsable", str(folder / "matrix.sbatch")],
                                      ["--parsable", "--dependency=afterany:4242", str(folder / "report.sbatch")]]
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == "4242" and "submitted job 4243" in err
    history = json.loads((folder / "submissions.json").read_text())
    assert history[-1]["job_id"] == "4242" and history[-1]["then"]["job_id"] == "4243"


def test_preflight_stops_when_a_hub_model_is_not_in_the_local_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    (tmp_path / "hf").mkdir()
    assert preflight.uncached_models(["lr", "cnn", "dnabert6-tiny", str(tmp_path)]) == []
    [message] = preflight.uncached_models(["zhihan1996/DNA_bert_6"])
    assert "model zhihan1996/DNA_bert_6 is not in the Hugging Face cache" in message
    assert "`huggingface-cli download zhihan1996/DNA_bert_6`" in message and str(tmp_path / "hf" / "hub") in message
    assert "no such checkpoint folder" in preflight.uncached_models([str(tmp_path / "nope")])[0]
    assert preflight.main(["--gpus", "0", "--model", "lr", "--model", "zhihan1996/DNA_bert_6"]) == preflight.EXIT_FAILED
    assert "preflight failed: model zhihan1996/DNA_bert_6" in capsys.readouterr().err


def test_preflight_accepts_a_model_in_the_cache(tmp_path, monkeypatch):
    repo = tmp_path / "hf" / "hub" / "models--org--dna"  # the hub cache's layout: refs/main → snapshots/<commit>
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert preflight.uncached_models(["org/dna"]) == []
    from dnactx.models.checkpoint import TINY

    assert TINY in preflight.BUILT_IN_MODELS


def test_matrix_preflight_checks_every_model_of_the_grid(tiny_dataset, workdir):
    assert cli("submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "mm", "--model",
               "dnabert6-tiny,zhihan1996/DNA_bert_6") == 0
    text = (workdir / "jobs" / "mm" / "matrix.sbatch").read_text()
    assert ('"$PY" -m dnactx.slurm.preflight --gpus 1 --model dnabert6-tiny --model lr '
            "--model zhihan1996/DNA_bert_6") in text


def test_submit_train_refuses_its_own_resume_options(tiny_dataset, workdir, capsys):
    assert cli("submit", "train", "--data", str(tiny_dataset), "--run-id-file", "x") == 2
    assert "writes its own --run-id-file" in capsys.readouterr().err
