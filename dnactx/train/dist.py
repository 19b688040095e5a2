"""Under ``accelerate launch``: one run folder for all processes; rank 0 writes it, the others follow."""

from __future__ import annotations

import os
from pathlib import Path

from ..registry.folder import RunFolder


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return os.environ.get("RANK", "0") == "0"


def share_run_id(run_id: str | None) -> str | None:
    """Rank 0's run id, on every rank (a no-op in a single process)."""
    if world_size() == 1:
        return run_id
    import torch
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    # initialises torch.distributed from the launcher's environment (gloo on CPU-only machines)
    PartialState(cpu=not torch.cuda.is_available())
    box = [run_id]
    broadcast_object_list(box, from_process=0)
    return box[0]


class ReplicaFolder(RunFolder):
    """Rank > 0's view of the run folder: reads as usual, writes nothing (rank 0 owns the files)."""

    writable = False

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def update_config(self, **values) -> None:
        return None

    def set_status(self, status: str, *, error: str | None = None) -> None:
        return None

    def write_metrics(self, metrics: dict) -> None:
        return None

    def add_artifact(self, path: Path, kind: str) -> dict:
        return {}


def writable(folder: RunFolder) -> bool:
    return getattr(folder, "writable", True)
