"""The one place that decides rank, world size and "am I the main process".

Under ``torchrun`` or ``accelerate launch`` every process runs the same command; rank 0 writes the run folder,
the registry rows and the output, the others train alongside it. The launchers say which process is which in
``RANK`` / ``WORLD_SIZE``; everything in dnactx asks this module rather than reading them itself. Standard
library only at import time (torch is imported where a collective needs it), so run folders can use it too.
"""

from __future__ import annotations

import os


def world_size() -> int:
    """How many processes run this command together (1 outside a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's index among them (0 outside a launcher)."""
    return int(os.environ.get("RANK", "0"))


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    """True in the process that writes files and speaks for the run: rank 0, or the only process."""
    return rank() == 0


def share_run_id(run_id: str | None) -> str | None:
    """Rank 0's run id, on every rank (a no-op in a single process)."""
    if not is_distributed():
        return run_id
    import torch
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    # initialises torch.distributed from the launcher's environment (gloo on CPU-only machines)
    PartialState(cpu=not torch.cuda.is_available())
    box = [run_id]
    broadcast_object_list(box, from_process=0)
    return box[0]
