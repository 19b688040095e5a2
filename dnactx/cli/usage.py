"""How a usage mistake is reported: one ``error:`` line saying what, where and how to fix, with a hint for the slip
people make most (a space after a comma in a list)."""

from __future__ import annotations

import typer


def usage_message(exc: typer.TyperException, argv: list[str]) -> str:
    """``Invalid value for '--size': ...; see `dnactx train --help``` (or the comma hint where it applies)."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "dnactx"
    message = exc.format_message().rstrip(".")
    if message.startswith("No such option: --home") and ctx is not None:
        if hasattr(ctx.command, "commands"):  # `dnactx runs --home DIR ls`: between two command words
            return f"--home goes first or last: `dnactx --home DIR {where.partition(' ')[2]} ...`"
        return f"{where} does not use the run registry, so it takes no --home"
    return f"{message}; {comma_space_hint(argv) or f'see `{where} --help`'}"


def comma_space_hint(argv: list[str]) -> str | None:
    """``--sizes 50, 100`` reaches us as ``--sizes``, ``50,``, ``100``: say how to write it."""
    for i in range(1, len(argv)):
        flag, pieces = argv[i - 1], [argv[i]]
        if not flag.startswith("--") or argv[i].startswith("-"):
            continue
        for word in argv[i + 1:]:
            if word.startswith("-") or not (pieces[-1].endswith(",") or word.startswith(",")):
                break
            pieces.append(word)
        if len(pieces) > 1:
            joined = ",".join(p.strip(",") for p in pieces)
            return f"write {flag} {joined} without spaces, or quote it: {flag} '{' '.join(pieces)}'"
    return None
