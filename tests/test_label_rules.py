"""The label rules are one set of options, shared by `dnactx prepare` and `dnactx predict`."""

from __future__ import annotations

import typer

from dnactx.cli import app
from dnactx.cli.labels import NAMES


def _options(command: str) -> dict[str, tuple]:
    params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
    return {p.name: (tuple(p.opts), p.default, p.multiple, p.nargs, p.help) for p in params if p.name in NAMES}


def test_prepare_and_predict_take_the_same_label_rule_options():
    prepare, predict = _options("prepare"), _options("predict")
    assert set(prepare) == set(NAMES)
    assert prepare == predict
    assert prepare["exclude_between"][0] == ("--exclude-between",) and prepare["min_coverage"][1] == 3

