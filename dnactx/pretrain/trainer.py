"""The pretraining loop on the shared trainer's pieces (Accelerate, fused AdamW, checkpoints, SIGTERM, progress).

Step-based, not epoch-based: micro-batch ``m`` is a pure function of (seed, m) — the examples of a seeded
permutation per pass over the corpus, and its masking from a generator seeded by (seed, m) — so a run resumed
from a checkpoint (weights, optimiser, schedule, RNG, counters) continues to the same weights as one that was never
stopped. Warm-up then cosine decay; gradient accumulation and bf16/fp16 through Accelerate; every ``eval_every``
steps the held-out blocks are scored (:func:`evaluate`) and a checkpoint written.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..distributed import is_main
from ..progress import Progress, duration
from ..train.loop import LOSS_READBACK_EVERY, STEP_HOOKS, make_accelerator, make_optimizer, should_stop
from ..train.preemption import LoopState, Preempted, has_checkpoint, load_checkpoint, save_checkpoint, sigterm_flag
from .corpus import Corpus, examples
from .masking import apply_mask
from .model import masked_logits
from .options import PretrainOptions
from .vocab import Vocab

LOG = "pretrain_log.jsonl"
EVAL_EXAMPLES = 2048  # held-out examples scored at each evaluation (the same ones, masked the same way, each time)


class MaskedLM(nn.Module):
    """The model as the trainer sees it: (ids, attention, positions to score) → logits of those positions only."""

    def __init__(self, lm: nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, scored: torch.Tensor) -> torch.Tensor:
        return masked_logits(self.lm, input_ids, attention_mask, scored)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    scored: torch.Tensor  # bool (n, tokens)
    labels: torch.Tensor  # the true ids of the scored positions, row-major
    gc: torch.Tensor  # per scored position: its middle base is C or G
    soft: torch.Tensor  # per scored position: its middle base is soft-masked (a repeat)
    tokens: int  # non-padding tokens in the batch

    def to(self, device) -> Batch:
        return Batch(*(t.to(device, non_blocking=True) for t in (self.input_ids, self.attention_mask, self.scored,
                                                               self.labels, self.gc, self.soft)), self.tokens)


def make_batch(windows: np.ndarray, index: np.ndarray, vocab: Vocab, rate: float, seed: int) -> Batch:
    """Examples ``index`` tokenised and masked; the masking is a function of ``seed`` alone."""
    bases, soft = examples(windows, index)
    ids, centre = vocab.encode(bases)
    ids_t = torch.from_numpy(ids)
    body = torch.from_numpy(centre >= 0)
    gen = torch.Generator().manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
    masked, scored = apply_mask(ids_t, body, span=vocab.span, rate=rate, mask_id=vocab.mask_id,
                                vocab_size=vocab.vocab_size, special_ids=vocab.special_ids, generator=gen)
    rows, cols = np.nonzero(scored.numpy())
    mid = centre[rows, cols]
    gc = np.isin(bases[rows, mid], np.frombuffer(b"CG", np.uint8))
    return Batch(masked, (ids_t != vocab.pad_id).long(), scored, ids_t[scored], torch.from_numpy(gc),
                 torch.from_numpy(soft[rows, mid]), int((ids != vocab.pad_id).sum()))


class Sampler:
    """Micro-batch ``m`` of ``size`` examples: a seeded permutation per pass, the same on every rank and resume."""

    def __init__(self, n: int, size: int, seed: int) -> None:
        self.n, self.size, self.seed = n, size, seed
        self.per_pass = max(1, n // size)
        self._pass, self._perm = -1, np.arange(n)

    def __call__(self, m: int) -> np.ndarray:
        p, i = divmod(m, self.per_pass)
        if p != self._pass:
            self._pass, self._perm = p, np.random.default_rng((self.seed, p)).permutation(self.n)
        idx = self._perm[i * self.size:(i + 1) * self.size]
        return idx if len(idx) else self._perm[:self.size]


def total_steps(opts: PretrainOptions, corpus: Corpus, vocab: Vocab, world: int) -> int:
    """Optimiser steps for --steps, --tokens or --epochs (default: one pass over the corpus)."""
    per_step = opts.batch_size * opts.grad_accum * world
    if opts.steps is not None:
        return int(opts.steps)
    if opts.tokens is not None:
        return max(1, math.ceil(opts.tokens / (per_step * vocab.tokens_per_window(opts.length))))
    return max(1, math.ceil((opts.epochs or 1.0) * corpus.train_examples / per_step))


@torch.no_grad()
def evaluate(model: nn.Module, accelerator, corpus: Corpus, vocab: Vocab, opts: PretrainOptions) -> dict:
    """Held-out MLM figures: loss, perplexity, masked-token accuracy, and accuracy by the masked token's middle
    base (C/G vs A/T) and by repeat (soft-masked vs not). Every rank scores the same examples on its own copy."""
    n = min(2 * len(corpus.heldout), EVAL_EXAMPLES)
    model.eval()
    loss_sum = 0.0
    count = correct = 0
    by = {k: [0, 0] for k in ("gc", "at", "repeat", "unique")}
    for b, start in enumerate(range(0, n, opts.batch_size)):
        index = np.arange(start, min(start + opts.batch_size, n))
        batch = make_batch(corpus.heldout, index, vocab, opts.mask_rate, seed=opts.seed * 7919 + 10**9 + b)
        batch = batch.to(accelerator.device)
        with accelerator.autocast():
            logits = model(batch.input_ids, batch.attention_mask, batch.scored).float()
        loss_sum += float(F.cross_entropy(logits, batch.labels, reduction="sum"))
        hit = logits.argmax(dim=1) == batch.labels
        count += int(hit.numel())
        correct += int(hit.sum())
        for key, sel in (("gc", batch.gc), ("at", ~batch.gc), ("repeat", batch.soft), ("unique", ~batch.soft)):
            by[key][0] += int(hit[sel].sum())
            by[key][1] += int(sel.sum())
    model.train()
    loss = loss_sum / max(count, 1)
    return {"heldout_loss": loss, "heldout_perplexity": math.exp(min(loss, 50.0)),
            "heldout_accuracy": correct / count if count else None, "heldout_masked_tokens": count,
            **{f"heldout_accuracy_{k}": (c / t if t else None) for k, (c, t) in by.items()},
            **{f"heldout_tokens_{k}": t for k, (c, t) in by.items()}}


def train(opts: PretrainOptions, corpus: Corpus, vocab: Vocab, lm: nn.Module) -> tuple[nn.Module, LoopState, dict]:
    """Train ``lm`` in place for the step budget; return it (unwrapped, on the CPU), the loop state and the last
    evaluation. SIGTERM → checkpoint in ``opts.out`` → :class:`Preempted`; a checkpoint there is resumed from."""
    from transformers import get_scheduler

    out = Path(opts.out)
    acc = make_accelerator(opts.precision, opts.grad_accum)
    world, rank = acc.num_processes, acc.process_index
    steps = total_steps(opts, corpus, vocab, world)
    model = MaskedLM(lm)
    optimizer = make_optimizer([{"params": [p for p in model.parameters() if p.requires_grad], "lr": opts.lr,
                                 "weight_decay": 0.01}])
    scheduler = get_scheduler("cosine", optimizer, num_warmup_steps=int(opts.warmup * steps),
                              num_training_steps=steps)
    model, optimizer, scheduler = acc.prepare(model, optimizer, scheduler)
    unwrapped = acc.unwrap_model(model)
    state = LoopState()
    if has_checkpoint(out):
        state, _ = load_checkpoint(out, unwrapped, optimizer, scheduler)
    sampler = Sampler(corpus.train_examples, opts.batch_size, opts.seed)
    per_token = vocab.tokens_per_window(opts.length)
    total_tokens = int(steps * opts.batch_size * opts.grad_accum * world * per_token)
    last_eval: dict = state.history[-1] if state.history else {}
    started = time.perf_counter() - state.seconds
    pending: list[torch.Tensor] = []
    model.train()
    with sigterm_flag() as sigterm, Progress("pretrain", total_tokens, "tokens",
                                             enabled=not opts.quiet and is_main()) as progress:
        progress.restart("pretrain", total_tokens, done=min(state.tokens, total_tokens))
        t0 = time.perf_counter()
        while state.step < steps:
            for micro in range(opts.grad_accum):
                m = (state.step * opts.grad_accum + micro) * world + rank
                batch = make_batch(corpus.train, sampler(m), vocab, opts.mask_rate, seed=opts.seed * 7919 + m)
                batch = batch.to(acc.device)
                with acc.accumulate(model):
                    logits = model(batch.input_ids, batch.attention_mask, batch.scored)
                    loss = F.cross_entropy(logits.float(), batch.labels)
                    acc.backward(loss)
                    if acc.sync_gradients:
                        acc.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                pending.append(loss.detach())
                state.tokens += batch.tokens * world
                state.samples += batch.input_ids.shape[0] * world
                progress.advance(batch.tokens * world)
            state.step += 1
            if len(pending) >= LOSS_READBACK_EVERY:
                _read_back(state, pending)
            for hook in STEP_HOOKS:
                hook(state.step)
            if state.step % opts.eval_every == 0 or state.step == steps:
                _read_back(state, pending)
                state.step_seconds += time.perf_counter() - t0
                t0 = time.perf_counter()
                last_eval = _eval_record(unwrapped, acc, corpus, vocab, opts, state, scheduler, started)
                progress.chunk(_note(last_eval), keep=True)
                if is_main() and state.step < steps:
                    state.seconds = time.perf_counter() - started
                    save_checkpoint(out, unwrapped, optimizer, scheduler, state, None)
                acc.wait_for_everyone()
            if state.step < steps and should_stop(acc, sigterm.requested, state.step, steps):
                _read_back(state, pending)
                state.step_seconds += time.perf_counter() - t0
                state.seconds = time.perf_counter() - started
                if is_main():
                    save_checkpoint(out, unwrapped, optimizer, scheduler, state, None)
                acc.wait_for_everyone()
                raise Preempted(f"stopped by SIGTERM at step {state.step} of {steps}")
    state.seconds = time.perf_counter() - started
    return unwrapped.lm.to("cpu").float(), state, last_eval


def _read_back(state: LoopState, pending: list[torch.Tensor]) -> None:
    if pending:
        state.loss_sum += float(torch.stack(pending).sum())
        state.loss_n += len(pending)
        pending.clear()


def _eval_record(model: nn.Module, acc, corpus: Corpus, vocab: Vocab, opts: PretrainOptions, state: LoopState,
                 scheduler, started: float) -> dict:
    record = {"step": state.step, "tokens": state.tokens,
              "train_loss": state.loss_sum / max(state.loss_n, 1), "lr": scheduler.get_last_lr()[0],
              "tokens_per_s": state.tokens / max(state.step_seconds, 1e-9),
              "seconds": time.perf_counter() - started, **evaluate(model, acc, corpus, vocab, opts)}
    state.loss_sum, state.loss_n = 0.0, 0
    state.history.append(record)
    if is_main():
        with open(Path(opts.out) / LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    return record


def _note(r: dict) -> str:
    acc = "—" if r["heldout_accuracy"] is None else f"{r['heldout_accuracy']:.3f}"
    return (f"step {r['step']} · loss {r['train_loss']:.3f} · held-out loss {r['heldout_loss']:.3f} "
            f"(ppl {r['heldout_perplexity']:.2f}, masked acc {acc}) · {r['tokens_per_s']:,.0f} tokens/s · "
            f"{duration(r['seconds'])}")
