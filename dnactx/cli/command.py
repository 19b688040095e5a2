"""The Typer command and group classes every dnactx command uses: flags shown as flags, repeats refused."""

from __future__ import annotations

from collections import Counter

import typer
from typer.core import TyperCommand, TyperGroup


class _Conventions:
    """What every dnactx command does the same way, whatever its options."""

    def get_params(self, ctx: typer.Context) -> list:
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # `--json`, not `--json <bool>`: a flag takes no value
        return params

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:  # shell completion parses half-typed lines: let it
            _refuse_repeats(self, ctx, args)
        return super().parse_args(ctx, args)


def _refuse_repeats(command, ctx: typer.Context, args: list[str]) -> None:
    """An option given twice is an error, never a silent "the last one wins" (lists are comma lists here)."""
    _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    counts = Counter(p for p in order if p.param_type_name == "option" and not p.multiple and not p.count)
    for param, n in counts.items():
        if n > 1:
            raise typer.BadParameter(f"given {n} times; give it once (several values: one comma list, "
                                     "e.g. `dnactx matrix --sizes 50,100`)", ctx=ctx, param=param)


class DnactxCommand(_Conventions, TyperCommand):
    pass


class DnactxGroup(_Conventions, TyperGroup):
    pass
