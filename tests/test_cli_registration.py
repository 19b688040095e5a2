"""Every command is registered one way: a module-level function of its cli module, handed to ``app.command`` (or a
sub-app's ``command``) by that module's ``register(app)``."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import typer

from dnactx.cli import app
from dnactx.cli.command import DnactxCommand


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            out |= _commands(command, f"{prefix}{name} ")
        else:
            out[prefix + name] = command
    return out


def test_every_command_is_a_module_level_function_of_a_cli_module():
    commands = _commands(typer.main.get_command(app))
    assert {"prepare", "predict", "explain", "runs ls", "submit predict"} <= commands.keys()
    for name, command in commands.items():
        function = inspect.unwrap(command.callback)
        module = importlib.import_module(function.__module__)
        assert module.__name__.startswith("dnactx.cli."), name
        assert "<locals>" not in function.__qualname__, f"{name}: defined inside register(); define it at module level"
        assert isinstance(command, DnactxCommand), name
