"""Preflight for job scripts: print the interpreter and library versions, stop early if they cannot work.

Run as ``python -m dnactx.slurm.preflight --gpus G [--model M ...]`` before any data is read; exit 3 with a clear
message when torch is missing or older than 2.6, when GPUs are requested and none (or too few) are visible, or
when a Hugging Face model is not in the local cache (jobs run with HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys
from pathlib import Path

MIN_TORCH = (2, 6)
EXIT_FAILED = 3
# Models that need no download: the built-in families and dnabert6-tiny (models.checkpoint.TINY; not imported
# here, because that module needs torch and the preflight must speak even where torch is missing).
BUILT_IN_MODELS = ("lr", "cnn", "dnabert6-tiny")


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


def hub_cache() -> Path:
    """The Hugging Face hub cache as the job will see it: $HF_HUB_CACHE, else $HF_HOME/hub, else the default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def uncached_models(models: list[str]) -> list[str]:
    """One message per model the job cannot load offline: a Hugging Face id missing from the local cache, or a
    local checkpoint folder that does not exist. Built-in models and existing folders need nothing."""
    found = []
    for model in dict.fromkeys(models):
        if model in BUILT_IN_MODELS or Path(model).expanduser().is_dir():
            continue
        if model.startswith(("/", ".", "~")) or model.count("/") > 1:
            found.append(f"model {model}: no such checkpoint folder on this node; check the path (a folder with "
                         "config.json and weights)")
            continue
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(model, local_files_only=True, cache_dir=hub_cache(), allow_patterns=["config.json"])
        except Exception:  # noqa: BLE001 - any failure means: not usable offline
            found.append(f"model {model} is not in the Hugging Face cache {hub_cache()} and jobs run offline "
                         f"(HF_HUB_OFFLINE=1); on a login node run `huggingface-cli download {model}` with the same "
                         "HF_HOME as the job (or pass --model /path/to/checkpoint_dir)")
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
    parser.add_argument("--model", action="append", default=[], help="A model the job loads (repeatable).")
    args = parser.parse_args(argv)
    info = environment()
    print(f"preflight: python {info['python']} ({info['python_version']}, prefix {info['prefix']})")
    print(f"preflight: torch {info['torch']}, transformers {info['transformers']}, CUDA {info['cuda']}")
    print(f"preflight: GPUs {', '.join(info['gpus']) or 'none'}; "
          f"SLURM job {os.environ.get('SLURM_JOB_ID', '-')} task {os.environ.get('SLURM_ARRAY_TASK_ID', '-')}",
          flush=True)
    found = problems(info["torch"], len(info["gpus"]), args.gpus) + uncached_models(args.model)
    for message in found:
        print(f"preflight failed: {message}", file=sys.stderr)
    return EXIT_FAILED if found else 0


if __name__ == "__main__":
    sys.exit(main())
