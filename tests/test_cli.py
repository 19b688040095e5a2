"""The command line behaves the same everywhere: options from TrainConfig, choices in --help and completion, one
exit-code scheme, one-line usage errors with hints, no repeated options."""

import dataclasses
import re

import pytest
import typer
from conftest import REPO, run_cli

from dnactx.cli import app
from dnactx.cli.options import config_from_options
from dnactx.cli.usage import comma_space_hint
from dnactx.errors import EXIT_CODE_MEANINGS, DnactxError, ExitCode, exit_code_for
from dnactx.matrix.axes import axis_flags, parse_axis
from dnactx.train.config import TrainConfig, flag_of, grid_fields
from dnactx.train.fields import parse_value, type_label


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # help tables on one line per option


def _command(*path: str):
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _option_names(cmd) -> set[str]:
    return {name for p in cmd.params for name in (*p.opts, *p.secondary_opts)}


def test_train_and_matrix_options_come_from_trainconfig():
    train, matrix, submit = _command("train"), _command("matrix"), _command("submit", "matrix")
    assert {flag_of(f) for f in dataclasses.fields(TrainConfig)} <= _option_names(train)
    for cmd in (matrix, submit):
        assert {flag for f in grid_fields() for flag in axis_flags(f)} <= _option_names(cmd)
    # Every default word parses back to the field's default: the options and TrainConfig cannot drift apart.
    ctx = train.make_context("train", ["--data", "d.parquet"])
    assert config_from_options(ctx.params) == TrainConfig(data="d.parquet")
    ctx = train.make_context("train", ["--data", "d", "--size", "7", "--mode", "upstream", "--focal-alpha", "none",
                                       "--no-site-context", "--C", "0.5"])
    assert config_from_options(ctx.params) == TrainConfig(data="d", size=7, mode="up", focal_alpha=None,
                                                          site_context=False, C=0.5)


def test_choices_are_listed_and_flags_take_no_value_in_help(wide, capsys):
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert code == 0
    for choices in ("[up|down|both]", "[frozen|top:N|full|lora:R]", "[no|bf16|fp16]",
                    "[bce|weighted|focal|binomial|betabinomial]", "[label|level]", "[balanced|none]", "[lbfgs|saga]"):
        assert choices in out
    assert re.search(r"--json\s+Print", out) and re.search(r"--help\s+Show this message", out)
    for argv in (["--help"], ["train", "--help"], ["matrix", "--help"], ["submit", "matrix", "--help"],
                 ["runs", "ls", "--help"], ["report", "--help"], ["prepare", "--help"]):
        code, out, _ = run_cli(argv, capsys)
        assert code == 0 and "<bool>" not in out, argv
    _, out, _ = run_cli(["matrix", "--help"], capsys)
    assert "[bce|weighted|focal|binomial|betabinomial],…" in out and "<int>,…" in out and "[true|false],…" in out


def _complete(monkeypatch, capsys, line: str) -> list[str]:
    words = line.split(" ")
    monkeypatch.setenv("_DNACTX_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    code, out, _ = run_cli(words[1:], capsys)
    assert code == 0
    return out.split()


def test_shell_completion_offers_choices_and_list_items(monkeypatch, capsys):
    assert _complete(monkeypatch, capsys, "dnactx train --loss ") == ["bce", "weighted", "focal", "binomial",
                                                                       "betabinomial"]
    assert _complete(monkeypatch, capsys, "dnactx train --finetune ") == ["frozen", "top:", "full", "lora:"]
    assert _complete(monkeypatch, capsys, "dnactx matrix --modes up,") == ["up,up", "up,down", "up,both"]
    assert _complete(monkeypatch, capsys, "dnactx matrix --precision no,b") == ["no,bf16"]
    assert _complete(monkeypatch, capsys, "dnactx matrix --site-context t") == ["true"]


def test_install_completion_writes_the_script(tmp_path, monkeypatch, capsys):
    shellingham = pytest.importorskip("shellingham")
    try:
        shell, _ = shellingham.detect_shell()
    except shellingham.ShellDetectionFailure:
        pytest.skip("no shell to detect from this process")
    monkeypatch.setenv("HOME", str(tmp_path))
    code, out, _ = run_cli(["--install-completion"], capsys)
    assert code == 0 and f"{shell} completion installed in {tmp_path}" in out


def test_a_space_after_a_comma_gets_a_hint(tiny_dataset, capsys):
    code, out, err = run_cli(["matrix", "--data", str(tiny_dataset), "--sizes", "50,", "100", "--dry-run"], capsys)
    assert (code, out) == (ExitCode.USAGE, "") and err.count("\n") == 1
    assert "extra argument(s) (100)" in err and "write --sizes 50,100 without spaces, or quote it" in err
    assert comma_space_hint(["matrix", "--modes", "up", ",down", "-q"]) == \
        "write --modes up,down without spaces, or quote it: --modes 'up ,down'"
    assert comma_space_hint(["train", "--size", "50", "--mode", "up"]) is None


def test_usage_errors_are_one_line_naming_the_help(capsys):
    code, out, err = run_cli(["train", "--data", "d", "--sizes", "5"], capsys)
    assert (code, out) == (ExitCode.USAGE, "")
    assert err.startswith("error: No such option: --sizes") and err.endswith("; see `dnactx train --help`\n")
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["train", "--data", "d", "--size", "50", "--size", "100"],
    ["train", "--data", "d", "--site-context", "--no-site-context"],
    ["matrix", "--data", "d", "--sizes", "50", "--size", "100"],
    ["--home", "a", "--home", "b", "runs", "ls"],
])
def test_an_option_given_twice_is_refused(argv, capsys):
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (ExitCode.USAGE, "") and err.count("\n") == 1 and "given 2 times; give it once" in err


def test_repeatable_options_stay_repeatable(tiny_dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "r",
                            "--setup", "true", "--setup", "true"], capsys)
    assert code == 0, err


def test_exit_codes_are_one_scheme_documented_in_help_and_readme(wide, capsys):
    assert exit_code_for(["completed", "skipped"]) == ExitCode.OK
    assert exit_code_for(["completed", "failed"]) == exit_code_for(["busy"]) == ExitCode.RUN_FAILED
    assert exit_code_for(["failed", "preempted"]) == ExitCode.PREEMPTED
    _, out, _ = run_cli(["--help"], capsys)
    readme = (REPO / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", readme, flags=re.M))
    assert {int(code) for code in rows} == {int(code) for code in ExitCode}
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert re.search(rf"^\s*{int(code)}\s+{re.escape(meaning[:40])}", out, flags=re.M), code
        assert rows[str(int(code))] == meaning.replace("|", "\\|")


@dataclasses.dataclass
class _NumberOrWord:
    C: float | str = "auto"  # as lr's --C: "auto" or a number (a real type here, not a postponed string)
    alpha: float | None = 0.25


def test_a_field_that_takes_a_number_or_a_word_is_parsed_from_its_type():
    c, alpha = dataclasses.fields(_NumberOrWord)
    assert parse_value(c, "auto") == "auto" and parse_value(c, " 0.5") == 0.5 and type_label(c) == "float|str"
    assert parse_axis(c, "auto,0.1,auto") == ["auto", 0.1]
    assert parse_value(alpha, "none") is None and type_label(alpha) == "float|none"
    with pytest.raises(DnactxError, match=r"--alpha: 'x' is not a number or none"):
        parse_value(alpha, "x")


def test_version_is_the_installed_distributions(capsys):
    from importlib.metadata import version

    code, out, _ = run_cli(["--version"], capsys)
    assert (code, out) == (0, f"dnactx {version('dnactx')}\n")
