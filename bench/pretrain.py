"""Bench: ``dnactx pretrain`` vs transformers' ``Trainer`` + ``DataCollatorForLanguageModeling`` (issue 18, item 9).

The same random-init BERT, the same corpus (dnactx's windows of the genome, both strands, held-out blocks), the same
tokenizer (overlapping 6-mers) and the same masking (the collator's ``torch_mask_tokens`` replaced by dnactx's span
masking, so both hide the same share of tokens the same way), the same batch size, lr, warm-up and cosine decay.

1. dnactx pretrains for ``--steps``; its training time T (optimiser steps only, not the corpus or the evaluation)
   is the budget.
2. Trainer trains on the same schedule for at most the same wall time T (a callback stops it; it may stop sooner
   only by finishing the steps), on the corpus tokenised beforehand (as
   ``datasets.map`` would), computing the MLM head on every position as ``BertForMaskedLM`` does.
3. Both models are scored by one function on the same held-out examples, masked the same way: masked-token
   accuracy and loss at equal wall time. Each side runs in its own process, so its peak RSS (and, on a GPU, its
   peak allocated memory) is its own.

Goal (issue 18): tokens/s ≥ 1.2× Trainer's on CPU, accuracy no worse, memory reported.
Usage: OMP_NUM_THREADS=2 python bench/pretrain.py [--genome FASTA] [--steps 60] [--threads 2]
       python bench/pretrain.py --smoke                           (toy sizes: checks the script, not the speed)
       python bench/pretrain.py --gpu --precision bf16            (a CUDA GPU: bigger model, tokens/s and MFU)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/tokenize.py would shadow the standard library's ``tokenize`` (imported by torch via inspect).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
REPO = Path(__file__).resolve().parents[1]
REAL_FASTA = next((p for p in (REPO.parent / "shared" / "data" / "athaliana_tair10_chr1_2mb.fa.gz",
                                REPO.parents[1] / "shared" / "data" / "athaliana_tair10_chr1_2mb.fa.gz")
                   if p.is_file()), None)
EVAL_EXAMPLES = 512
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0}  # dense bf16 tensor-core peaks


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genome", type=Path, default=None, help="FASTA (default: ../shared/data's 2 Mb of TAIR10 chr1)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--mask-rate", type=float, default=0.15)
    ap.add_argument("--tokenizer", default="kmer:6")
    ap.add_argument("--precision", default="no", choices=("no", "bf16", "fp16"))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap.add_argument("--smoke", action="store_true", help="toy sizes, a synthetic genome")
    ap.add_argument("--gpu", action="store_true", help="GPU sizes (BERT 12 x 768, 512 bp, batch 64) and MFU")
    ap.add_argument("--side", choices=("dnactx", "trainer"), help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.smoke:
        a.steps, a.layers, a.hidden, a.heads, a.length, a.batch = 4, 1, 32, 2, 64, 8
    elif a.gpu and a.side is None:
        a.steps, a.layers, a.hidden, a.heads, a.length, a.batch = max(a.steps, 200), 12, 768, 12, 512, 64
    return a


def _genome(a: argparse.Namespace, work: Path) -> Path:
    if a.genome is not None:
        return a.genome
    if not a.smoke and REAL_FASTA is not None:
        return REAL_FASTA
    import numpy as np

    rng = np.random.default_rng(0)  # random bases: a throughput check (its accuracy stays near chance)
    n = 60_000 if a.smoke else 2_000_000
    seq = np.frombuffer(b"ACGTacgt", np.uint8)[rng.integers(0, 8, n)].tobytes().decode()
    path = work / "synthetic.fa"
    path.write_text(">chr1\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    return path


def _corpus_and_vocab(a: argparse.Namespace, genome: Path):
    from dnactx.pretrain.corpus import Exclusions, build_corpus
    from dnactx.pretrain.vocab import make_vocab

    corpus = build_corpus([genome], a.length, Exclusions(), seed=0)
    return corpus, make_vocab(a.tokenizer, corpus.train)


def _memory() -> dict:
    import torch

    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def heldout_figures(lm, corpus, vocab, a: argparse.Namespace) -> dict:
    """Masked-token accuracy and loss of ``lm`` (any *ForMaskedLM) on the first held-out examples, masked by the
    same seeds for every model: the full forward pass, scored at the masked positions only."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from dnactx.pretrain.trainer import make_batch

    device = next(lm.parameters()).device
    lm.eval()
    n = min(2 * len(corpus.heldout), EVAL_EXAMPLES)
    correct = count = 0
    loss = 0.0
    with torch.no_grad():
        for b, start in enumerate(range(0, n, a.batch)):
            batch = make_batch(corpus.heldout, np.arange(start, min(start + a.batch, n)), vocab, a.mask_rate,
                               seed=12345 + b).to(device)
            logits = lm(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[batch.scored].float()
            loss += float(F.cross_entropy(logits, batch.labels, reduction="sum"))
            correct += int((logits.argmax(1) == batch.labels).sum())
            count += int(batch.labels.numel())
    return {"heldout_accuracy": correct / max(count, 1), "heldout_loss": loss / max(count, 1),
            "heldout_masked_tokens": count}


# -- the two sides, each in its own process ---------------------------------------------------------------------
def side_dnactx(a: argparse.Namespace, genome: Path, work: Path) -> dict:
    import torch
    from transformers import AutoModelForMaskedLM

    from dnactx.pretrain.options import PretrainOptions
    from dnactx.pretrain.run import run_pretrain

    opts = PretrainOptions(genomes=[genome], out=work / "dnactx_lm", tokenizer=a.tokenizer, layers=a.layers,
                           hidden=a.hidden, heads=a.heads, length=a.length, mask_rate=a.mask_rate, steps=a.steps,
                           batch_size=a.batch, lr=a.lr, precision=a.precision, eval_every=a.steps, quiet=True)
    record = run_pretrain(opts)
    t = record["training"]
    seconds = t["tokens"] / t["tokens_per_s"]  # the optimiser steps alone (no corpus, no evaluation)
    memory = _memory()
    corpus, vocab = _corpus_and_vocab(a, genome)
    lm = AutoModelForMaskedLM.from_pretrained(opts.out).to("cuda" if torch.cuda.is_available() else "cpu")
    return {"side": "dnactx", "steps": t["steps"], "tokens": t["tokens"], "seconds": seconds,
            "tokens_per_s": t["tokens_per_s"], "parameters": record["parameters"], **memory,
            **heldout_figures(lm, corpus, vocab, a)}


def side_trainer(a: argparse.Namespace, genome: Path, work: Path) -> dict:
    import numpy as np
    import torch
    from transformers import AutoTokenizer, DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments
    from transformers.utils import logging as hf_logging

    from dnactx.pretrain.corpus import examples
    from dnactx.pretrain.masking import apply_mask
    from dnactx.pretrain.model import build_model

    hf_logging.set_verbosity_error()
    corpus, vocab = _corpus_and_vocab(a, genome)
    max_tokens = a.length + 2
    (work / "tok").mkdir(exist_ok=True)
    vocab.save(work / "tok", max_tokens)
    tokenizer = AutoTokenizer.from_pretrained(work / "tok")
    # tokenised beforehand, as `datasets.map` would (not timed)
    bases, _ = examples(corpus.train, np.arange(corpus.train_examples))
    ids, _ = vocab.encode(bases)
    rows = [{"input_ids": r} for r in ids.tolist()]
    per_window = int(ids.shape[1])

    class SpanCollator(DataCollatorForLanguageModeling):
        """The stock collator with dnactx's span masking in place of its token masking."""

        def torch_mask_tokens(self, inputs, special_tokens_mask=None, offset_mapping=None):
            body = ~torch.isin(inputs, torch.tensor(vocab.special_ids))
            masked, scored = apply_mask(inputs, body, span=vocab.span, rate=a.mask_rate, mask_id=vocab.mask_id,
                                        vocab_size=vocab.vocab_size, special_ids=vocab.special_ids,
                                        generator=gen)
            labels = inputs.clone()
            labels[~scored] = -100
            return masked, labels

    gen = torch.Generator().manual_seed(0)
    lm = build_model("bert", vocab, layers=a.layers, hidden=a.hidden, heads=a.heads, max_tokens=max_tokens, seed=0)

    class Budget(TrainerCallback):
        """Stops training once the wall time dnactx took has passed."""

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            self.steps, self.seconds = state.global_step, time.perf_counter() - self.t0
            if a.seconds is not None and self.seconds >= a.seconds:
                control.should_training_stop = True

    budget = Budget()
    cuda = torch.cuda.is_available()
    args = TrainingArguments(output_dir=str(work / "trainer"), per_device_train_batch_size=a.batch,
                             max_steps=a.steps,  # dnactx's schedule (warm-up, cosine decay over --steps)
                             learning_rate=a.lr, weight_decay=0.01, warmup_steps=0.05, lr_scheduler_type="cosine",
                             logging_steps=10**9, save_strategy="no", report_to=[], disable_tqdm=True, seed=0,
                             dataloader_num_workers=0, use_cpu=not cuda, bf16=a.precision == "bf16",
                             fp16=a.precision == "fp16", remove_unused_columns=False)
    trainer = Trainer(model=lm, args=args, train_dataset=rows, data_collator=SpanCollator(tokenizer, mlm=True),
                      callbacks=[budget])
    trainer.train()
    tokens = budget.steps * a.batch * per_window
    memory = _memory()
    return {"side": "trainer", "steps": budget.steps, "tokens": tokens, "seconds": budget.seconds,
            "tokens_per_s": tokens / budget.seconds, **memory, **heldout_figures(trainer.model, corpus, vocab, a)}


def _child(a: argparse.Namespace, side: str, work: Path, genome: Path, seconds: float | None = None) -> dict:
    argv = [sys.executable, __file__, "--side", side, "--work", str(work), "--steps", str(a.steps),
            "--layers", str(a.layers), "--hidden", str(a.hidden), "--heads", str(a.heads), "--length", str(a.length),
            "--batch", str(a.batch), "--lr", str(a.lr), "--mask-rate", str(a.mask_rate), "--tokenizer", a.tokenizer,
            "--precision", a.precision, "--threads", str(a.threads), "--genome", str(genome)]
    if seconds is not None:
        argv += ["--seconds", f"{seconds:.3f}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{side} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mfu(row: dict, device: str) -> str:
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in device), None)
    if peak is None or not row.get("parameters"):
        return "—"
    return f"{100 * 6 * row['parameters'] * row['tokens_per_s'] / (peak * 1e12):.1f}%"  # 6·N·tokens, no attention


def main(argv: list[str] | None = None) -> None:
    a = _args(argv)
    if a.side:
        import torch

        torch.set_num_threads(a.threads)
        fn = side_dnactx if a.side == "dnactx" else side_trainer
        print(json.dumps(fn(a, a.genome, a.work)))
        return
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {a.threads} threads"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        genome = _genome(a, work)
        d = _child(a, "dnactx", work, genome)
        t = _child(a, "trainer", work, genome, seconds=d["seconds"])
    t["parameters"] = d["parameters"]
    print(f"bench/pretrain.py: {genome.name}, BERT {a.layers} x {a.hidden} ({d['parameters']:,} parameters), "
          f"{a.tokenizer} span masking at {a.mask_rate}, {a.length} bp windows, batch {a.batch}, {a.precision}, "
          f"{device}; equal wall time {d['seconds']:.1f} s\n")
    print("| side | steps | tokens | tokens/s | held-out masked acc | held-out loss | peak RSS MB | peak GPU MB "
          "| MFU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r in (("dnactx pretrain", d), ("transformers.Trainer + collator", t)):
        gpu = f"{r['peak_gpu_mb']:,.0f}" if "peak_gpu_mb" in r else "—"
        print(f"| {label} | {r['steps']} | {r['tokens']:,} | {r['tokens_per_s']:,.0f} | "
              f"{100 * r['heldout_accuracy']:.2f}% | {r['heldout_loss']:.4f} | {r['peak_rss_mb']:,.0f} | {gpu} | "
              f"{_mfu(r, device)} |")
    ratio = d["tokens_per_s"] / t["tokens_per_s"]
    diff = 100 * (d["heldout_accuracy"] - t["heldout_accuracy"])
    chance = f"{100 / 4 ** 6:.3f}%" if a.tokenizer == "kmer:6" else "—"
    print(f"\nratio (dnactx / Trainer tokens/s): {ratio:.2f}x (goal ≥ 1.2x on CPU)")
    print(f"held-out masked accuracy at equal wall time: {diff:+.2f} points (dnactx − Trainer; "
          f"{d['heldout_masked_tokens']:,} masked tokens; chance {chance})")


if __name__ == "__main__":
    main()
