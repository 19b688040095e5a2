"""Calling sbatch and remembering what was submitted (job id, script, cells) beside the script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from ..atomic import write_json
from ..errors import DnactxError
from ..provenance import utcnow
from .quoting import join


def sbatch_line(script: Path) -> str:
    """The command to print: what a user types on the login node to submit ``script``."""
    return join(["sbatch", str(script)])


def chained_line(first: Path, then: Path) -> str:
    """Submit ``first``, then ``then`` to start once ``first`` (every task of an array) has ended, in one line."""
    return (f"jid=$({join(['sbatch', '--parsable', str(first)])}) && "
            f"{join(['sbatch', '--dependency=afterany:'])}\"${{jid%%;*}}\" {join([str(then)])}")


def parse_job_id(stdout: str) -> str:
    """``sbatch --parsable`` prints ``JOBID`` or ``JOBID;CLUSTER``."""
    first = stdout.strip().splitlines()[-1].split(";")[0].strip() if stdout.strip() else ""
    if not re.fullmatch(r"\d+", first):
        raise DnactxError(f"sbatch printed {stdout.strip()[:200]!r}, not a job id; check `squeue -u $USER`")
    return first


def submit(script: Path, workdir: Path, *, after: str | None = None) -> str:
    """Run ``sbatch --parsable SCRIPT`` from ``workdir`` (``after``: a job id that must end first, whatever its
    outcome: ``--dependency=afterany:ID``); the job id, or a DnactxError saying what failed."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise DnactxError(f"sbatch is not on PATH here; the script is written: run `{sbatch_line(script)}` "
                          "on a SLURM login node")
    try:
        dependency = [f"--dependency=afterany:{after}"] if after else []
        res = subprocess.run([sbatch, "--parsable", *dependency, str(script)], cwd=workdir, capture_output=True,
                             text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DnactxError(f"sbatch {script} failed to run ({exc})") from None
    if res.returncode != 0:
        raise DnactxError(f"sbatch rejected {script}: {' '.join(res.stderr.split())[:500] or 'no message'}")
    return parse_job_id(res.stdout)


def record_submission(out_dir: Path, entry: dict) -> list[dict]:
    """Append ``entry`` (job id, script, when) to ``submissions.json`` beside the script; returns the list."""
    path = Path(out_dir) / "submissions.json"
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        history = []
    history = [*history, {"submitted": utcnow(), **entry}]
    write_json(path, history)
    return history
