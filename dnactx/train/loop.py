"""The one trainer every neural model uses, in the shape of accelerate's nlp_example.

AdamW with separate encoder/head learning rates, linear warm-up then decay, gradient accumulation, mixed
precision and DDP through Accelerate; early stopping on validation AUPRC; SIGTERM → checkpoint → Preempted.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.torchdata import ColumnDataset, EpochSampler, make_loader
from ..distributed import is_main
from ..errors import DnactxError
from ..losses import LossFn
from ..metrics import auprc, auroc
from .checkpoint import LoopState, Preempted, load_checkpoint, save_checkpoint, sigterm_flag

# Called with the global optimiser step after every step (progress displays, tests that simulate preemption).
STEP_HOOKS: list[Callable[[int], None]] = []
# Batch losses stay on the device and are read back this often: a read per step would make the host wait for
# the GPU every step, so it could never queue the next step's kernels while the current ones run.
LOSS_READBACK_EVERY = 50


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    epochs_run: int
    train_seconds: float
    samples_per_s: float
    history: list[dict]
    predictions: dict[str, np.ndarray]


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


def _progress(quiet: bool):
    if quiet:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[info]}"), console=Console(stderr=True), transient=True)


def _should_stop(accelerator, requested: bool, batch: int, batches: int) -> bool:
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


def _read_back(state: LoopState, pending: list[torch.Tensor]) -> None:
    if pending:
        state.loss_sum += float(torch.stack(pending).sum())
        pending.clear()


def fit(model: nn.Module, train_ds: ColumnDataset, val_ds: ColumnDataset, *, accelerator, loss_fn: LossFn,
        epochs: int, patience: int, batch_size: int, grad_accum: int, warmup: float, encoder_lr: float,
        head_lr: float, seed: int, run_dir: Path, log_path: Path, resume: bool = False, quiet: bool = False,
        predict_on: dict[str, ColumnDataset] | None = None) -> FitResult:
    """Train with early stopping on val AUPRC; return the best epoch's weights (CPU), timings, and the best
    weights' probabilities on each ``predict_on`` dataset."""
    from transformers import get_scheduler

    sampler = EpochSampler(len(train_ds), seed)
    train_loader = make_loader(train_ds, batch_size, sampler=sampler)
    val_loader = make_loader(val_ds, batch_size * 2)
    total_steps = max(1, epochs * math.ceil(len(train_loader) / grad_accum))
    optimizer = make_optimizer(param_groups(model, encoder_lr, head_lr))
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=int(warmup * total_steps),
                              num_training_steps=total_steps)
    model, optimizer, train_loader, val_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, val_loader, scheduler)
    state, best = LoopState(), None
    if resume:
        state, best = load_checkpoint(run_dir, accelerator.unwrap_model(model), optimizer, scheduler)
    main = is_main()
    started = time.perf_counter() - state.seconds
    with sigterm_flag() as stop, _progress(quiet or not main) as progress:
        task = progress.add_task("train", total=len(train_loader), info="") if progress else None
        while state.epoch < epochs:
            epoch_start = time.perf_counter()
            sampler.set_epoch(state.epoch)
            if hasattr(train_loader, "set_epoch"):  # accelerate's loader re-sets the sampler's epoch from its own
                train_loader.set_epoch(state.epoch)
            model.train()
            loader = accelerator.skip_first_batches(train_loader, state.batch) if state.batch else train_loader
            if progress:
                progress.reset(task, total=len(train_loader), completed=state.batch,
                               description=f"epoch {state.epoch + 1}/{epochs}")
            t0 = time.perf_counter()
            pending: list[torch.Tensor] = []
            for batch in loader:
                with accelerator.accumulate(model):
                    logits = model(batch)
                    loss = loss_fn(logits.float(), batch["labels"].float())
                    accelerator.backward(loss)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                n = int(batch["labels"].shape[0]) * accelerator.num_processes
                state.batch += 1
                state.samples += n
                pending.append(loss.detach() * n)
                state.loss_n += n
                if len(pending) >= LOSS_READBACK_EVERY:
                    _read_back(state, pending)
                if accelerator.sync_gradients:
                    state.step += 1
                    for hook in STEP_HOOKS:
                        hook(state.step)
                if progress and not pending:  # just read back: show the running loss
                    elapsed = state.step_seconds + time.perf_counter() - t0
                    progress.update(task, advance=1, info=f"loss {state.loss_sum / max(state.loss_n, 1):.4f} "
                                                          f"{state.samples / max(elapsed, 1e-9):.0f} samples/s")
                elif progress:
                    progress.update(task, advance=1)
                if accelerator.sync_gradients and _should_stop(accelerator, stop.requested, state.batch,
                                                               len(train_loader)):
                    _read_back(state, pending)
                    state.step_seconds += time.perf_counter() - t0
                    state.seconds = time.perf_counter() - started
                    if main:
                        save_checkpoint(run_dir, accelerator.unwrap_model(model), optimizer, scheduler, state, best)
                    accelerator.wait_for_everyone()
                    raise Preempted(f"stopped by SIGTERM at epoch {state.epoch + 1}, step {state.step}")
            _read_back(state, pending)
            state.step_seconds += time.perf_counter() - t0
            val_p = predict(accelerator, model, val_loader)
            val_y = val_ds.columns["labels"].numpy()
            score = auprc(val_y, val_p)
            record = {"epoch": state.epoch + 1, "train_loss": state.loss_sum / max(state.loss_n, 1),
                      "val_auprc": score, "val_auroc": auroc(val_y, val_p),
                      "lr": [g["lr"] for g in optimizer.param_groups], "seconds": time.perf_counter() - epoch_start,
                      "step": state.step}
            state.history.append(record)
            if main:
                with open(log_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
            if best is None or (score if score is not None else 0.0) > state.best_auprc:
                state.best_auprc = score if score is not None else 0.0
                state.best_epoch = state.epoch + 1
                state.bad_epochs = 0
                best = {k: v.detach().to("cpu").contiguous().clone()
                        for k, v in accelerator.unwrap_model(model).state_dict().items()}
            else:
                state.bad_epochs += 1
            state.epoch += 1
            state.batch, state.loss_sum, state.loss_n = 0, 0.0, 0
            if state.bad_epochs >= patience:
                break
    seconds = time.perf_counter() - started
    accelerator.unwrap_model(model).load_state_dict(best)
    predictions = {name: predict(accelerator, model, accelerator.prepare(make_loader(ds, batch_size * 2)))
                   for name, ds in (predict_on or {}).items()}
    return FitResult(best_state=best, best_epoch=state.best_epoch, epochs_run=state.epoch, train_seconds=seconds,
                     samples_per_s=state.samples / max(state.step_seconds, 1e-9), history=state.history,
                     predictions=predictions)
