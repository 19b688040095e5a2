"""Bench (CUDA only): a BERT-base-sized random-init model with the DNABERT-6 vocab at 101 bp, bf16.

Full fine-tune through dnactx's trainer (``dnactx.train.loop.fit``) and frozen encoding (what frozen mode caches):
samples/s, peak GPU memory and model FLOPs utilisation (MFU). Prints a markdown row; ``--append`` adds it to
bench/RESULTS.md with the device and date.
Usage: python bench/gpu.py [--n 20000] [--batch 128] [--peak-tflops 989] [--append]
       python bench/gpu.py --smoke        (a 2-layer model on whatever device there is: checks the script runs)
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

# bench/tokenize.py would shadow the standard library's ``tokenize`` (imported by torch via inspect).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

# Dense bf16 peak TFLOP/s (no sparsity) by device name fragment, for MFU.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0,
               "V100": 125.0}


def flops_per_sample(n_params: int, layers: int, hidden: int, tokens: int, train: bool) -> float:
    """Kaplan-style: 2·N·T forward (+ attention 2·L·T²·d), ×3 with the backward pass."""
    forward = 2 * n_params * tokens + 4 * layers * tokens**2 * hidden
    return 3 * forward if train else forward


def reset_peak() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="synthetic training windows")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--size", type=int, default=50, help="bp each side of the C (50 → 101 bp)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="device bf16 peak (default: by device name)")
    ap.add_argument("--append", action="store_true", help="append the result rows to bench/RESULTS.md")
    ap.add_argument("--smoke", action="store_true",
                    help="a 2-layer 64-wide model on 256 windows, on the CPU if there is no GPU; nothing is recorded")
    args = ap.parse_args()
    layers, hidden, heads, ffn = (2, 64, 2, 256) if args.smoke else (12, 768, 12, 3072)
    if args.smoke:
        args.n, args.batch, args.append = min(args.n, 256), min(args.batch, 32), False
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        sys.exit("bench/gpu.py needs a CUDA GPU and none is visible (torch.cuda.is_available() is False); "
                 "run it on a GPU node, e.g. `srun --gres=gpu:1 python bench/gpu.py`")

    from transformers import BertConfig, BertModel

    from dnactx.data.torchdata import ColumnDataset
    from dnactx.models.encoder import EncoderClassifier
    from dnactx.tokenize import KmerTokenizer, dnabert_vocab
    from dnactx.train import cache
    from dnactx.train.config import LoopConfig
    from dnactx.train.loop import fit, make_accelerator

    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    precision = "bf16" if cuda else "no"
    vocab = dnabert_vocab(6)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=ffn, max_position_embeddings=512)
    rng = np.random.default_rng(0)
    bases = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=(args.n, 2 * args.size + 1))
    enc = KmerTokenizer(vocab).encode(bases, args.size, 512)
    tokens = enc.input_ids.shape[1]
    assert enc.attention_mask.all()  # no padding, so no mask: as dnactx's trainer feeds k-mer windows
    cols = {"input_ids": torch.from_numpy(enc.input_ids.astype(np.int64)),
            "context_id": torch.from_numpy(rng.integers(0, 3, args.n)),
            "labels": torch.from_numpy((rng.random(args.n) < 0.1).astype(np.int8))}
    val = {k: v[: args.batch * 4] for k, v in cols.items()}
    rows = []

    model = EncoderClassifier(BertModel(config, add_pooling_layer=False), site_context=True)
    n_params = sum(p.numel() for n, p in model.encoder.named_parameters() if "embeddings" not in n)
    accelerator = make_accelerator(precision, 1)
    reset_peak()
    with tempfile.TemporaryDirectory() as run_dir:
        result = fit(model, ColumnDataset(cols), ColumnDataset(val),
                     torch.nn.functional.binary_cross_entropy_with_logits, accelerator,
                     LoopConfig(run_dir=Path(run_dir), epochs=1, patience=1, batch_size=args.batch, quiet=True))
    sps = result.samples_per_s
    mem = peak_gib()
    mfu = sps * flops_per_sample(n_params, layers, hidden, tokens, True) / (peak * 1e12) if peak else None
    rows.append(("full fine-tune", sps, mem, mfu))

    del model, result
    if cuda:
        torch.cuda.empty_cache()
    reset_peak()
    model = EncoderClassifier(BertModel(config, add_pooling_layer=False), site_context=True)
    cache.encode_pooled(accelerator, model, {k: v[: args.batch * 4] for k, v in cols.items()}, args.batch)  # warm
    sync()
    t0 = time.perf_counter()
    cache.encode_pooled(accelerator, model, cols, args.batch * 2)
    sync()
    sps = args.n / (time.perf_counter() - t0)
    mem = peak_gib()
    mfu = sps * flops_per_sample(n_params, layers, hidden, tokens, False) / (peak * 1e12) if peak else None
    rows.append(("frozen (encode once)", sps, mem, mfu))

    if args.smoke:
        name = f"{name} (smoke: {layers} layers × {hidden})"
    date = datetime.date.today().isoformat()
    lines = [f"| {date} | {name} | {mode} | {2 * args.size + 1} bp / {tokens} tokens | {args.batch} | {sps:.0f} | "
             f"{mem:.1f} GiB | {'n/a' if mfu is None else f'{mfu:.1%}'} |" for mode, sps, mem, mfu in rows]
    print("| date | device | mode | window | batch | samples/s | peak memory | MFU |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    if args.append:
        with open(Path(__file__).resolve().parent / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
