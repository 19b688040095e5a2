"""Where a result came from: file hashes, package and library versions, host and device, and when (UTC)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import socket
import sys
from datetime import datetime, timezone

from . import __version__

_LIBRARIES = ("numpy", "pandas", "pyarrow", "scikit-learn", "torch", "transformers", "accelerate", "sqlmodel")


def utcnow() -> str:
    """Now, in UTC, to the second (ISO 8601): the timestamp run folders, the registry and job files share."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str | None]:
    """Versions of dnactx, Python and the libraries whose behaviour changes results."""
    out: dict[str, str | None] = {"dnactx": __version__, "python": sys.version.split()[0]}
    for name in _LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def host_info() -> dict[str, str | None]:
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
    }


