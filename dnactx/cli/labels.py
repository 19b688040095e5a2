"""The label-rule options, declared once for `dnactx prepare` and `dnactx predict` (which labels --calls exactly
as prepare does): ``label_options`` gives a command --format, --mod-code, --min-coverage, --threshold,
--exclude-between and --chrom-alias in place of its ``labels: LabelRules`` parameter; ``label_rules`` reads them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer

from ..prepare.labels import LabelRules, parse_aliases

FORMAT_HELP = "auto | cgmap | cx_report | bismark_cov | methyldackel | bedmethyl | allc (auto reads the content)."


def _options(panel: str | None) -> list[inspect.Parameter]:
    """The six options, each a keyword parameter named as its LabelRules field."""
    def option(name: str, annotation: Any, default: Any, help: str, **settings: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=Annotated[
            annotation, typer.Option(help=help, rich_help_panel=panel, **settings)])

    return [
        option("format", str, "auto", FORMAT_HELP),
        option("mod_code", str, "m", "modkit rows to read: m (5mC), h (5hmC) or m+h (either: reads called 5mC or "
                                     "5hmC)."),
        option("min_coverage", int, 3, "Label only sites with at least this many reads (drop the others)."),
        option("threshold", float, 0.5, "Label 1 when the methylated fraction is ≥ this."),
        option("exclude_between", tuple[float, float] | None, None, "Leave out ambiguous sites with LO < level < HI.",
               metavar="LO HI"),
        option("chrom_alias", list[str] | None, None, "NAME=FASTA_NAME for a calls-file chromosome named differently "
                                                      "(repeatable).", metavar="NAME=FASTA_NAME"),
    ]


NAMES = tuple(p.name for p in _options(None))


def label_rules(params: Mapping[str, Any]) -> LabelRules:
    """The parsed label options of a command line (``ctx.params`` or a command's keyword arguments)."""
    return LabelRules(format=params["format"], mod_code=params["mod_code"], min_coverage=params["min_coverage"],
                      threshold=params["threshold"], exclude_between=params["exclude_between"],
                      chrom_alias=parse_aliases(params["chrom_alias"]))


def label_options(panel: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command whose ``labels: LabelRules`` parameter becomes the six options (in its place in --help,
    in ``panel``); the command is called with them as one LabelRules."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn, eval_str=True)
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            params.extend(_options(panel) if param.name == "labels" else [param])

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            rules = label_rules(kwargs)
            for name in NAMES:
                del kwargs[name]
            return fn(*args, labels=rules, **kwargs)

        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
