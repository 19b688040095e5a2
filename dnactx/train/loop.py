"""The one trainer every neural model uses, in the shape of accelerate's nlp_example.

AdamW with separate encoder/head learning rates, linear warm-up then decay, gradient accumulation, mixed
precision and DDP through Accelerate; early stopping on validation AUPRC; SIGTERM → checkpoint → Preempted.
``fit`` reads top to bottom; each piece it calls (prepare, train_epoch, validate, keep_best, preempt) does one job.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.torchdata import ColumnDataset, EpochSampler, make_loader
from ..distributed import is_main
from ..errors import DnactxError
from ..losses import LossFn
from ..metrics import auprc, auroc
from ..progress import Progress
from .config import LoopConfig
from .preemption import LoopState, Preempted, StopFlag, cpu_state, load_checkpoint, save_checkpoint, sigterm_flag

# Called with the global optimiser step after every step (progress displays, tests that simulate preemption).
STEP_HOOKS: list[Callable[[int], None]] = []
# Batch losses stay on the device and are read back this often: a read per step would make the host wait for
# the GPU every step, so it could never queue the next step's kernels while the current ones run.
LOSS_READBACK_EVERY = 50
TRAIN_LOG = "train_log.jsonl"  # one JSON line per epoch, in the run folder
# --target level: the column of read counts (n, 2: mc, cov) the loss reads in place of the labels. Early stopping
# still reads val AUPRC of the predicted level against the label, the ground level and label runs share.
LEVEL_COUNTS = "counts"


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    epochs_run: int
    train_seconds: float
    samples_per_s: float
    history: list[dict]
    predictions: dict[str, np.ndarray]


@dataclass
class Prepared:
    """What one fit trains with, as ``accelerator.prepare`` returned it, and the sampler that orders each epoch."""

    accelerator: Any
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    train_loader: Any
    val_loader: Any
    sampler: EpochSampler

    @property
    def unwrapped(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model)


def make_accelerator(precision: str, grad_accum: int):
    """An Accelerator; in a single process, earlier runs' global state is cleared so settings may change."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState, PartialState

    if PartialState._shared_state and PartialState().num_processes == 1:
        # accelerate keeps process-wide singletons; a second run in one process (tests, matrix) may use
        # another precision, which it would otherwise refuse.
        AcceleratorState._reset_state()
        GradientState._reset_state()
    try:
        return Accelerator(mixed_precision=precision, gradient_accumulation_steps=grad_accum,
                           cpu=not torch.cuda.is_available())
    except (ValueError, RuntimeError) as exc:
        raise DnactxError(f"--precision {precision} is not usable here ({exc}); use --precision no or bf16") from None


def param_groups(model: nn.Module, encoder_lr: float, head_lr: float, weight_decay: float = 0.01) -> list[dict]:
    """Trainable parameters split into the head (``head.*``) and everything else (the encoder)."""
    head, encoder = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (head if name.startswith("head.") else encoder).append(p)
    groups = [{"params": head, "lr": head_lr, "weight_decay": weight_decay}]
    if encoder:
        groups.append({"params": encoder, "lr": encoder_lr, "weight_decay": weight_decay})
    return groups


def make_optimizer(groups: list[dict]) -> torch.optim.Optimizer:
    """AdamW, fused (one kernel for all parameters) where this torch build supports it on the device."""
    try:
        return torch.optim.AdamW(groups, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(groups)


@torch.no_grad()
def predict(accelerator, model: nn.Module, loader) -> np.ndarray:
    """Sigmoid probabilities in dataset order, gathered across processes without padding duplicates."""
    model.eval()
    out = []
    for batch in loader:
        logits = model(batch).float()
        out.append(accelerator.gather_for_metrics(torch.sigmoid(logits)).cpu())
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)


def fit(model: nn.Module, train_ds: ColumnDataset, val_ds: ColumnDataset, loss_fn: LossFn, accelerator,
        cfg: LoopConfig, *, predict_on: dict[str, ColumnDataset] | None = None) -> FitResult:
    """Train with early stopping on val AUPRC; return the best epoch's weights (CPU), timings, and the best
    weights' probabilities on each ``predict_on`` dataset."""
    run = prepare(model, train_ds, val_ds, accelerator, cfg)
    state, best = LoopState(), None
    if cfg.resume:
        state, best = load_checkpoint(cfg.run_dir, run.unwrapped, run.optimizer, run.scheduler)
    started = time.perf_counter() - state.seconds
    sites = len(train_ds)
    with sigterm_flag() as sigterm, Progress("train", sites, "sites", enabled=not cfg.quiet and is_main()) as progress:
        while state.epoch < cfg.epochs:
            epoch_started = time.perf_counter()
            progress.restart(f"epoch {state.epoch + 1}/{cfg.epochs}", sites,
                             done=min(sites, state.batch * cfg.batch_size * accelerator.num_processes))
            if train_epoch(run, state, loss_fn, sigterm, progress):  # SIGTERM: every rank agreed to stop
                raise preempt(run, state, best, cfg.run_dir, started)
            train_seconds = time.perf_counter() - epoch_started
            record = validate(run, state, val_ds.columns["labels"].numpy(), epoch_started)
            log_epoch(cfg.run_dir, record)
            progress.chunk(epoch_note(record), keep=True, rate_seconds=train_seconds)
            best = keep_best(run, state, record["val_auprc"], best)
            state.next_epoch()
            if state.bad_epochs >= cfg.patience:  # early stopping
                break
    seconds = time.perf_counter() - started
    run.unwrapped.load_state_dict(best)
    predictions = {name: predict(accelerator, run.model, accelerator.prepare(make_loader(ds, cfg.batch_size * 2)))
                   for name, ds in (predict_on or {}).items()}
    return FitResult(best_state=best, best_epoch=state.best_epoch, epochs_run=state.epoch, train_seconds=seconds,
                     samples_per_s=state.samples / max(state.step_seconds, 1e-9), history=state.history,
                     predictions=predictions)


def prepare(model: nn.Module, train_ds: ColumnDataset, val_ds: ColumnDataset, accelerator,
            cfg: LoopConfig) -> Prepared:
    """Loaders (training order from (seed, epoch) alone), AdamW and the warm-up/decay schedule, prepared."""
    from transformers import get_scheduler

    sampler = EpochSampler(len(train_ds), cfg.seed)
    train_loader = make_loader(train_ds, cfg.batch_size, sampler=sampler)
    val_loader = make_loader(val_ds, cfg.batch_size * 2)
    total_steps = max(1, cfg.epochs * math.ceil(len(train_loader) / cfg.grad_accum))
    optimizer = make_optimizer(param_groups(model, cfg.encoder_lr, cfg.head_lr))
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=int(cfg.warmup * total_steps),
                              num_training_steps=total_steps)
    model, optimizer, train_loader, val_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, val_loader, scheduler)
    return Prepared(accelerator, model, optimizer, scheduler, train_loader, val_loader, sampler)


def train_epoch(run: Prepared, state: LoopState, loss_fn: LossFn, sigterm: StopFlag, progress: Progress) -> bool:
    """One pass over the training data from batch ``state.batch`` on (a resumed epoch skips what it had done).

    Returns True when SIGTERM asks to stop, after the ranks agreed (``should_stop``); ``state`` then holds
    everything a checkpoint needs to continue from the next batch.
    """
    acc = run.accelerator
    run.sampler.set_epoch(state.epoch)
    if hasattr(run.train_loader, "set_epoch"):  # accelerate's loader re-sets the sampler's epoch from its own
        run.train_loader.set_epoch(state.epoch)
    run.model.train()
    loader = acc.skip_first_batches(run.train_loader, state.batch) if state.batch else run.train_loader
    t0 = time.perf_counter()
    pending: list[torch.Tensor] = []  # batch losses × batch sizes, still on the device
    stop = False
    for batch in loader:
        n = int(batch["labels"].shape[0]) * acc.num_processes
        pending.append(train_step(run, batch, loss_fn) * n)
        state.batch, state.samples, state.loss_n = state.batch + 1, state.samples + n, state.loss_n + n
        if len(pending) >= LOSS_READBACK_EVERY:
            _read_back(state, pending)
        if acc.sync_gradients:
            state.step += 1
            for hook in STEP_HOOKS:
                hook(state.step)
        progress.advance(n, info=None if pending else f"loss {state.loss_sum / max(state.loss_n, 1):.4f}")
        if acc.sync_gradients and should_stop(acc, sigterm.requested, state.batch, len(run.train_loader)):
            stop = True
            break
    _read_back(state, pending)
    state.step_seconds += time.perf_counter() - t0
    return stop


def train_step(run: Prepared, batch: dict[str, torch.Tensor], loss_fn: LossFn) -> torch.Tensor:
    """Forward, loss (on the read counts for a level run, else the labels), backward; the optimiser and schedule
    step once every ``grad_accum`` batches. The loss stays on the device."""
    with run.accelerator.accumulate(run.model):
        logits = run.model(batch)
        loss = loss_fn(logits.float(), batch[LEVEL_COUNTS].float() if LEVEL_COUNTS in batch
                       else batch["labels"].float())
        run.accelerator.backward(loss)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad()
    return loss.detach()


def _read_back(state: LoopState, pending: list[torch.Tensor]) -> None:
    if pending:
        state.loss_sum += float(torch.stack(pending).sum())
        pending.clear()


def should_stop(accelerator, requested: bool, batch: int, batches: int) -> bool:
    """Whether to checkpoint and stop after this step.

    One process: as soon as SIGTERM arrived. Several: the signal reaches each rank at a slightly different step,
    and a rank that stops while another takes one more step would leave that one waiting in a collective for
    ever; so the ranks agree (any rank signalled → all stop) every LOSS_READBACK_EVERY batches and at the last
    batch of the epoch, the same batches on every rank.
    """
    if accelerator.num_processes == 1:
        return requested
    if batch % LOSS_READBACK_EVERY and batch != batches:
        return False
    flag = torch.tensor([1.0 if requested else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(flag, reduction="sum").item() > 0)


def preempt(run: Prepared, state: LoopState, best: dict[str, torch.Tensor] | None, run_dir: Path,
            started: float) -> Preempted:
    """Save a resumable checkpoint (the main process writes it, every rank waits for it); the error to raise."""
    state.seconds = time.perf_counter() - started
    if is_main():
        save_checkpoint(run_dir, run.unwrapped, run.optimizer, run.scheduler, state, best)
    run.accelerator.wait_for_everyone()
    return Preempted(f"stopped by SIGTERM at epoch {state.epoch + 1}, step {state.step}")


def validate(run: Prepared, state: LoopState, labels: np.ndarray, epoch_started: float) -> dict:
    """Val AUPRC and AUROC of the current weights in the epoch's record (kept in ``state.history`` too)."""
    probs = predict(run.accelerator, run.model, run.val_loader)
    record = {"epoch": state.epoch + 1, "train_loss": state.loss_sum / max(state.loss_n, 1),
              "val_auprc": auprc(labels, probs), "val_auroc": auroc(labels, probs),
              "lr": [g["lr"] for g in run.optimizer.param_groups], "seconds": time.perf_counter() - epoch_started,
              "step": state.step}
    state.history.append(record)
    return record


def log_epoch(run_dir: Path, record: dict) -> None:
    """Append the epoch's record to the run's train_log.jsonl (main process only)."""
    if is_main():
        with open(Path(run_dir) / TRAIN_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def keep_best(run: Prepared, state: LoopState, score: float | None,
              best: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """Early stopping's bookkeeping: a better val AUPRC (or the first epoch) keeps a CPU copy of the weights and
    resets the count of epochs without improvement; otherwise that count grows. Returns the best weights."""
    value = score if score is not None else 0.0
    if best is None or value > state.best_auprc:
        state.best_auprc, state.best_epoch, state.bad_epochs = value, state.epoch + 1, 0
        return cpu_state(run.unwrapped)
    state.bad_epochs += 1
    return best


def epoch_note(record: dict) -> str:
    """What an epoch's progress line adds: its training loss, validation scores and wall time."""
    auprc_text = "—" if record["val_auprc"] is None else f"{record['val_auprc']:.4f}"
    return f"loss {record['train_loss']:.4f} · val AUPRC {auprc_text} · epoch {record['seconds']:.1f} s"
