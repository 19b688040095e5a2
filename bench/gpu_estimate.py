"""Estimate (never a measurement) of the GPU time to pretrain BERT-base on a whole plant genome (issue 18, item 10).

Pretraining cost is taken as 6 × parameters × tokens FLOPs (forward + backward; attention adds ~11% at 512 bp and
is left out, as in the MFU convention). The CPU figure of ``bench/pretrain.py`` (tokens/s of a 2 × 128 BERT on two
cores) converts to an achieved FLOP/s; one H100 SXM gives ``--mfu`` of its dense bf16 peak (989 TFLOP/s). Overlapping
6-mers make about one token per base; the corpus is every base on both strands.

Usage: python bench/gpu_estimate.py [--mfu 0.3] [--epochs-small 10] [--epochs-large 3]
"""

from __future__ import annotations

import argparse

H100_BF16_DENSE = 989.4e12          # FLOP/s, H100 SXM, dense (no sparsity)
CPU_SMALL_PARAMS = 975_749          # bench/pretrain.py's BERT 2 × 128, DNABERT-6 vocab (bench/RESULTS.md)
CPU_SMALL_TOKENS_S = (5_733, 14_405)  # its dnactx tokens/s on 2 shared cores (runs 3 and 1 of bench/RESULTS.md)
GENOMES = {"A. thaliana (135 Mb)": 135e6, "maize (2.4 Gb)": 2.4e9}


def bert_base_params(vocab: int = 4_101, hidden: int = 768, layers: int = 12, ffn: int = 3_072,
                     positions: int = 512) -> int:
    """Parameters of a BERT-base encoder (embeddings, layers) with an MLM head whose decoder is tied."""
    emb = vocab * hidden + positions * hidden + 2 * hidden + 2 * hidden
    layer = 4 * (hidden * hidden + hidden) + (hidden * ffn + ffn) + (ffn * hidden + hidden) + 4 * hidden
    head = hidden * hidden + hidden + 2 * hidden + vocab
    return emb + layers * layer + head


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mfu", type=float, default=0.3, help="model FLOP utilisation assumed on the H100")
    ap.add_argument("--epochs-small", type=float, default=10.0, help="passes over A. thaliana")
    ap.add_argument("--epochs-large", type=float, default=3.0, help="passes over maize")
    ap.add_argument("--batch-tokens", type=int, default=256 * 512, help="tokens per optimiser step")
    args = ap.parse_args()

    n = bert_base_params()
    cpu = [6 * CPU_SMALL_PARAMS * t for t in CPU_SMALL_TOKENS_S]
    gpu_flops = args.mfu * H100_BF16_DENSE
    tok_s = gpu_flops / (6 * n)
    print(f"BERT-base (12 × 768, DNABERT-6 vocab): {n:,} parameters; 6N = {6 * n:.3g} FLOP/token")
    print(f"CPU bench: {cpu[0] / 1e9:.0f}–{cpu[1] / 1e9:.0f} GFLOP/s achieved (2 × 128 BERT, "
          f"{CPU_SMALL_TOKENS_S[0]:,}–{CPU_SMALL_TOKENS_S[1]:,} tokens/s); at that rate BERT-base would run "
          f"{cpu[0] / (6 * n):.0f}–{cpu[1] / (6 * n):.0f} tokens/s")
    print(f"H100 at {args.mfu:.0%} MFU: {gpu_flops / 1e12:.0f} TFLOP/s = {tok_s:,.0f} tokens/s "
          f"({gpu_flops / cpu[1]:,.0f}–{gpu_flops / cpu[0]:,.0f}× the CPU bench's FLOP/s)")
    print("| genome | tokens per epoch (both strands) | epochs | tokens | steps of "
          f"{args.batch_tokens:,} tokens | H100 hours (estimate) |")
    print("|---|---|---|---|---|---|")
    for (name, bases), epochs in zip(GENOMES.items(), (args.epochs_small, args.epochs_large), strict=True):
        per_epoch = 2 * bases
        for e in sorted({1.0, epochs}):
            tokens = per_epoch * e
            print(f"| {name} | {per_epoch / 1e6:,.0f} M | {e:g} | {tokens / 1e9:,.2f} G | "
                  f"{tokens / args.batch_tokens:,.0f} | {tokens / tok_s / 3600:,.1f} |")


if __name__ == "__main__":
    main()
