"""The one place that decides rank, world size and "am I the main process", and how a rank leaves.

Under ``torchrun`` or ``accelerate launch`` every process runs the same command; rank 0 writes the run folder,
the registry rows and the output, the others train alongside it. The launchers say which process is which in
``RANK`` / ``WORLD_SIZE``; everything in dnactx asks this module rather than reading them itself. Standard
library only at import time (torch is imported where a collective needs it), so run folders can use it too.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


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
    return broadcast_object(run_id)


def _process_state():
    """Accelerate's view of this process; initialises torch.distributed from the launcher's environment (gloo on
    CPU-only machines)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def broadcast_object(obj: object) -> object:
    """Rank 0's ``obj`` (anything picklable), on every rank (a no-op in a single process)."""
    if not is_distributed():
        return obj
    from accelerate.utils import broadcast_object_list

    _process_state()
    box = [obj]
    broadcast_object_list(box, from_process=0)
    return box[0]


def all_gather_objects(obj: object) -> list:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` in a single process)."""
    if not is_distributed():
        return [obj]
    import torch.distributed as dist

    _process_state()
    out: list = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def process_device() -> str | None:
    """This process's device under a launcher (its own GPU, or the CPU); None in a single process (the caller
    chooses)."""
    return str(_process_state().device) if is_distributed() else None


def close_process_group() -> None:
    """Tear torch.distributed down, as torch asks before exit. Local to this rank: no rank waits for another."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def exit_code(code: object) -> int:
    """The status ``sys.exit(code)`` would leave with (None → 0, an int → itself, anything else → 1)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def exit_process(code: object = 0) -> NoReturn:
    """Leave the process with ``code`` once the process group is torn down.

    A single process leaves through ``sys.exit`` as usual. A rank of a multi-process run leaves through
    ``os._exit`` after flushing its output: interpreter finalization can otherwise abort it ("terminate called
    without an active exception", SIGABRT) when gloo's worker threads still hold tensors as the interpreter
    tears down (pytorch/pytorch#179291), and the launcher then reports a completed run as failed. ``os._exit``
    skips atexit handlers and C++ static destructors, which is the point; dnactx writes every file atomically
    before this, so nothing is left to finalize.
    """
    close_process_group()
    if not is_distributed():
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what sys.exit would print for a message
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(exit_code(code))
