"""Shell quoting and validation: user values reach a job script only quoted, or after a strict pattern check."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from ..errors import DnactxError

# #SBATCH lines are parsed by sbatch, not by bash, so their values are checked, never quoted.
_DIRECTIVE_PATTERNS = {
    "partition": (r"[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*", "a partition name (or a comma list), e.g. gpu"),
    "account": (r"[A-Za-z0-9._-]+", "an account name, e.g. plantlab"),
    "qos": (r"[A-Za-z0-9._-]+", "a QOS name, e.g. normal"),
    "time": (r"(\d+-)?\d+(:\d{1,2}){0,2}", "minutes, HH:MM:SS or D-HH:MM:SS, e.g. 12:00:00"),
    "mem": (r"\d+(\.\d+)?[KMGTkmgt]?[Bb]?", "a size such as 32G or 64000M"),
    "job-name": (r"[A-Za-z0-9._-]{1,64}", "1-64 letters, digits, '.', '_' or '-'"),
}
# Paths that may appear unquoted in an #SBATCH --output line; anything else is left to SLURM's default.
_SAFE_PATH = re.compile(r"[A-Za-z0-9._/+@=-]+")


def q(value: object) -> str:
    """One shell word, whatever ``value`` holds (spaces, quotes, ``$(...)``, backticks, newlines)."""
    return shlex.quote(str(value))


def join(argv: Iterable[object]) -> str:
    return " ".join(q(a) for a in argv)


def check_directive(option: str, value: str) -> str:
    """``value`` if it is a valid, inert value for ``#SBATCH --option=``; a DnactxError otherwise."""
    pattern, example = _DIRECTIVE_PATTERNS[option]
    if not re.fullmatch(pattern, value):
        raise DnactxError(f"--{option} {value!r} is not {example}")
    return value


def safe_path(path: str) -> bool:
    return bool(_SAFE_PATH.fullmatch(path))


def split_setup(command: str) -> list[str]:
    """A ``--setup`` command as words: each is quoted in the script, so it runs as one plain command.

    ``module load cuda/12.1`` and ``source /opt/env.sh`` work; shell syntax (``$VAR``, ``$(...)``, pipes,
    ``&&``, redirections, newlines) is passed as literal text, never interpreted.
    """
    try:
        words = shlex.split(command, comments=False, posix=True)
    except ValueError as exc:
        raise DnactxError(f"--setup {command!r}: {exc}; quote it as one command such as 'module load cuda'") from None
    if not words:
        raise DnactxError("--setup needs a command, such as 'module load cuda'")
    return words
