"""Which Python a job script runs: an absolute path fixed at submit time, never whatever is first on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import DnactxError


def _absolute(path: str | Path) -> str:
    # abspath, not resolve(): a venv's bin/python is a symlink to the base interpreter, and following it
    # would lose the venv (its site-packages are found from the symlink's own location).
    return os.path.abspath(os.path.expanduser(str(path)))


def _executable(path: str, how: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise DnactxError(f"{how}: {path} is not an executable Python; check the path on this login node")
    return path


def conda_prefix(env: str) -> Path:
    """A conda environment's folder: a path as given, or a name looked up with ``conda env list --json``."""
    candidate = Path(env).expanduser()
    if "/" in env or candidate.is_dir():
        return candidate
    conda = os.environ.get("CONDA_EXE") or shutil.which("conda")
    if not conda:
        raise DnactxError(f"--conda-env {env}: conda is not on PATH to look the name up; pass the "
                          "environment's folder instead (e.g. --conda-env ~/miniforge3/envs/NAME)")
    try:
        out = subprocess.run([conda, "env", "list", "--json"], capture_output=True, text=True, check=True,
                             timeout=120).stdout
        envs = [Path(p) for p in json.loads(out).get("envs", [])]
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as exc:
        raise DnactxError(f"--conda-env {env}: `conda env list --json` failed ({exc}); pass the folder") from None
    if env == "base" and envs:
        return envs[0]
    matches = [p for p in envs if p.name == env]
    if len(matches) != 1:
        found = ", ".join(p.name for p in envs) or "none"
        raise DnactxError(f"--conda-env {env}: {'no' if not matches else 'several'} conda environments "
                          f"named so (found: {found}); pass the environment's folder")
    return matches[0]


def resolve_python(*, python: str | None = None, venv: str | None = None, conda_env: str | None = None) -> str:
    """The absolute interpreter path a job runs as ``"$PY"``.

    Default: the interpreter running this command. ``--venv P`` → P/bin/python. ``--conda-env`` → the env's
    bin/python, found now, so the job needs no ``conda activate`` and cannot fall back to a cluster Anaconda.
    """
    given = [n for n, v in (("--python", python), ("--venv", venv), ("--conda-env", conda_env)) if v]
    if len(given) > 1:
        raise DnactxError(f"give only one of --python, --venv, --conda-env (got {', '.join(given)})")
    if python:
        return _executable(_absolute(python), "--python")
    if venv:
        return _executable(_absolute(Path(venv).expanduser() / "bin" / "python"), "--venv")
    if conda_env:
        return _executable(_absolute(conda_prefix(conda_env) / "bin" / "python"), "--conda-env")
    return _absolute(sys.executable)
