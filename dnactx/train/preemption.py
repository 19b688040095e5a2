"""Preemption: a SIGTERM flag, and a resumable checkpoint (weights, optimiser, scheduler, RNG, loop state).

Everything is written as safetensors, JSON, or ``torch.save`` of plain tensors/numbers that load under
``weights_only=True`` (torch ≥ 2.6's default), never arbitrary pickles.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..atomic import atomic_dir

CHECKPOINT = "checkpoint"


class Preempted(Exception):
    """Raised by the trainer after it saved a checkpoint on SIGTERM."""


@dataclass
class LoopState:
    epoch: int = 0  # current epoch (0-based)
    batch: int = 0  # batches already consumed in the current epoch
    step: int = 0  # optimiser steps so far
    best_auprc: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0
    loss_sum: float = 0.0
    loss_n: int = 0
    samples: int = 0
    step_seconds: float = 0.0
    seconds: float = 0.0
    tokens: int = 0  # tokens trained on (pretrain's budget and rate)
    history: list[dict] = field(default_factory=list)

    def next_epoch(self) -> None:
        """Move to the start of the next epoch; the running training loss starts again."""
        self.epoch += 1
        self.batch, self.loss_sum, self.loss_n = 0, 0.0, 0


class StopFlag:
    requested = False


@contextlib.contextmanager
def sigterm_flag() -> Iterator[StopFlag]:
    """While inside, SIGTERM sets ``flag.requested`` instead of killing the process (main thread only)."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag.requested = True

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the module's weights on the CPU, detached from the device and from training."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}


def save_checkpoint(run_dir: Path, model: torch.nn.Module, optimizer, scheduler, state: LoopState,
                    best: dict[str, torch.Tensor] | None) -> Path:
    """Write ``<run>/checkpoint/`` atomically."""
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    with atomic_dir(Path(run_dir) / CHECKPOINT) as tmp:
        save_file(cpu_state(model), str(tmp / "model.safetensors"))
        if best is not None:
            save_file(best, str(tmp / "best.safetensors"))
        save_file(rng, str(tmp / "rng.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optim.pt")
        (tmp / "state.json").write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    return Path(run_dir) / CHECKPOINT


def has_checkpoint(run_dir: Path) -> bool:
    return (Path(run_dir) / CHECKPOINT / "state.json").is_file()


def load_checkpoint(run_dir: Path, model: torch.nn.Module, optimizer, scheduler
                    ) -> tuple[LoopState, dict[str, torch.Tensor] | None]:
    """Restore model, optimiser, scheduler and RNG in place; return the loop state and best weights."""
    ckpt = Path(run_dir) / CHECKPOINT
    model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
    optim = torch.load(ckpt / "optim.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(optim["optimizer"])
    scheduler.load_state_dict(optim["scheduler"])
    rng = load_file(str(ckpt / "rng.safetensors"))
    torch.set_rng_state(rng["cpu"])
    if torch.cuda.is_available():
        cuda = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    best = load_file(str(ckpt / "best.safetensors")) if (ckpt / "best.safetensors").is_file() else None
    state = LoopState(**json.loads((ckpt / "state.json").read_text(encoding="utf-8")))
    return state, best
