"""Run a matrix's cells: skip completed ones, resume preempted ones, sequentially or in parallel processes."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..distributed import is_distributed
from ..errors import DnactxError
from ..storage import StorageError, from_os_error, is_storage_error
from .spec import Cell, MatrixSpec
from .state import cell_lock, cell_states, mark_stale, matrix_runs


@dataclass
class Outcome:
    """What happened to one cell in this invocation."""

    index: int
    status: str  # completed | skipped | failed | preempted | busy | storage (the disk is full or read-only)
    run_id: str | None = None
    error: str | None = None
    resumed: bool = False


def run_cell(home: Path, spec: MatrixSpec, cell: Cell, *, quiet: bool = True) -> Outcome:
    """Train one cell unless it is done: completed → skipped, preempted → resumed, failed/stale → new run."""
    # Under `accelerate launch` every rank trains the same cell together, so the cell lock would split them.
    # (lr is fitted by rank 0 alone: train_run returns "skipped" on the other ranks.)
    together = is_distributed()
    with cell_lock(home, spec.name, cell, enabled=not together) as got:
        if not got:
            return Outcome(cell.index, "busy", error="another process is training this cell")
        state = cell_states(matrix_runs(home, spec.name), spec, [cell])[0]
        if state.completed:
            return Outcome(cell.index, "skipped", state.completed["id"])
        for run in state.runs:
            if run.get("status") in ("running", "queued") and not together:  # we hold the lock: its process is gone
                run["status"] = mark_stale(home, run) or run["status"]
        resume = state.resumable
        if resume and not _has_checkpoint(home, state.latest):
            resume = None  # stopped before its first checkpoint: nothing to continue, so start afresh
        from ..train.run import train_run

        try:
            result = train_run(cell.config, Path(home), matrix=spec.name, cell=cell.values, resume=resume,
                               quiet=quiet)
        except StorageError as exc:  # a full disk stops the matrix: the next cells would fail the same way
            return Outcome(cell.index, "storage", error=exc.message, resumed=resume is not None)
        except DnactxError as exc:
            return Outcome(cell.index, "failed", error=exc.message, resumed=resume is not None)
        except Exception as exc:  # a bug or a crash in one cell must not stop the others
            if is_storage_error(exc):
                return Outcome(cell.index, "storage", error=from_os_error(exc, home).message)
            return Outcome(cell.index, "failed", error=f"{type(exc).__name__}: {exc}", resumed=resume is not None)
        return Outcome(cell.index, result.get("status", "failed"), result.get("run_id"), resumed=resume is not None)


def _has_checkpoint(home: Path, run: dict | None) -> bool:
    from ..train.preemption import has_checkpoint

    return run is not None and has_checkpoint(Path(run.get("folder") or Path(home) / run["id"]))


STOPS = ("preempted", "storage")  # outcomes after which no further cell is started


# -- parallel -----------------------------------------------------------------------------------------
_GPU: str | None = None


def _init_worker(gpus: mp.Queue | None) -> None:
    """Pin this worker to one GPU before anything imports torch; ignore Ctrl-C (the parent handles it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus.get()


def _work(home: Path, spec: MatrixSpec, cell: Cell) -> Outcome:
    return run_cell(home, spec, cell, quiet=True)


def visible_gpus() -> list[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES if set, else what torch counts (none on CPU)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def run_cells(home: Path, spec: MatrixSpec, cells: list[Cell], *, jobs: int = 1, quiet: bool = True,
              on_start: Callable[[Cell], None] | None = None,
              on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run ``cells``; ``on_start`` (sequential only) and ``on_done`` feed the live table and summary files.

    Stops starting new cells once one comes back preempted (SIGTERM; the next invocation resumes it) or stopped by
    a full or read-only disk (``STOPS``).
    """
    outcomes: list[Outcome] = []
    if jobs <= 1:
        for cell in cells:
            if on_start:
                on_start(cell)
            outcome = run_cell(home, spec, cell, quiet=quiet)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
            if outcome.status in STOPS:
                break
        return outcomes

    ctx = mp.get_context("spawn")
    gpus = visible_gpus()
    queue = None
    if len(gpus) > 1:  # one GPU per worker, round-robin when there are more workers than GPUs
        queue = ctx.Queue()
        for i in range(jobs):
            queue.put(gpus[i % len(gpus)])
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                initargs=(queue,)) as pool:
        previous = signal.getsignal(signal.SIGTERM)

        def forward(signum, frame):  # SLURM's time-limit SIGTERM: let each trainer checkpoint and stop
            for proc in list(getattr(pool, "_processes", {}).values()):
                if proc.is_alive():
                    os.kill(proc.pid, signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        try:
            futures = {}
            for cell in cells:
                futures[pool.submit(_work, home, spec, cell)] = cell
            for fut in cf.as_completed(futures):
                if fut.cancelled():  # not started because another cell was preempted
                    continue
                try:
                    outcome = fut.result()
                except Exception as exc:  # the worker process itself died
                    outcome = Outcome(futures[fut].index, "failed", error=f"worker died: {exc}")
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
                if outcome.status in STOPS:
                    for other in futures:
                        other.cancel()
        finally:
            signal.signal(signal.SIGTERM, previous)
    return sorted(outcomes, key=lambda o: o.index)
