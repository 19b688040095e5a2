"""Preflight for job scripts: print the interpreter and library versions, stop early if they cannot work.

Run as ``python -m dnactx.slurm.preflight --gpus G`` before any data is read; exit 3 with a clear message
when torch is missing or older than 2.6, or when GPUs are requested and none (or too few) are visible.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys

MIN_TORCH = (2, 6)
EXIT_FAILED = 3


def version_tuple(text: str) -> tuple[int, ...]:
    """``"2.13.0+cu121"`` → ``(2, 13, 0)``; leading numeric parts only."""
    parts = []
    for piece in text.split("+")[0].split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def problems(torch_version: str | None, gpus_visible: int, gpus_wanted: int) -> list[str]:
    """Why this environment cannot run the job, one message per problem (empty when it can)."""
    found = []
    if torch_version is None:
        found.append(f"torch is not installed for {sys.executable}; install torch>={'.'.join(map(str, MIN_TORCH))} "
                     "into this environment or point the job at another one (--python/--venv/--conda-env)")
    elif version_tuple(torch_version) < MIN_TORCH:
        found.append(f"torch {torch_version} is older than {'.'.join(map(str, MIN_TORCH))} (needed for safe "
                     f"weights loading); upgrade it in {sys.prefix} or use another environment")
    if gpus_wanted > 0 and gpus_visible < gpus_wanted:
        found.append(f"{gpus_wanted} GPU(s) requested but {gpus_visible} visible to torch "
                     f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); check the job's "
                     "--gres/--gpus request, the partition, and that torch is a CUDA build")
    return found


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    """Python path and prefix, torch/transformers/CUDA versions, visible GPUs and their names."""
    info: dict = {"python": sys.executable, "prefix": sys.prefix, "python_version": sys.version.split()[0],
                  "torch": None, "transformers": _version("transformers"), "cuda": None, "gpus": []}
    try:
        import torch
    except ImportError:
        return info
    info["torch"] = torch.__version__
    info["cuda"] = torch.version.cuda
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dnactx.slurm.preflight", description=__doc__)
    parser.add_argument("--gpus", type=int, default=0, help="GPUs the job needs (0: CPU only).")
    args = parser.parse_args(argv)
    info = environment()
    print(f"preflight: python {info['python']} ({info['python_version']}, prefix {info['prefix']})")
    print(f"preflight: torch {info['torch']}, transformers {info['transformers']}, CUDA {info['cuda']}")
    print(f"preflight: GPUs {', '.join(info['gpus']) or 'none'}; "
          f"SLURM job {os.environ.get('SLURM_JOB_ID', '-')} task {os.environ.get('SLURM_ARRAY_TASK_ID', '-')}",
          flush=True)
    found = problems(info["torch"], len(info["gpus"]), args.gpus)
    for message in found:
        print(f"preflight failed: {message}", file=sys.stderr)
    return EXIT_FAILED if found else 0


if __name__ == "__main__":
    sys.exit(main())
