"""Bench: dnactx's numpy k-mer tokenizer vs transformers' BertTokenizerFast on space-joined 6-mers.

Same sequences, same vocab, same output ids (checked); prints sequences/s for both and the ratio. Then the same
for a character-level checkpoint (HyenaDNA-style Python tokenizer, the test fixture in tests/fixtures/toydna):
dnactx's byte-table path vs calling that tokenizer.
Usage: python bench/tokenize.py [--n 20000] [--length 201]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# This file's name shadows the standard library's ``tokenize`` when run as a script; drop its folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--length", type=int, default=201)
    args = ap.parse_args()

    from transformers import BertTokenizerFast

    from dnactx.sequence import to_ascii
    from dnactx.tokenize import KmerTokenizer, dnabert_vocab

    rng = np.random.default_rng(0)
    bases = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=(args.n, args.length))
    seqs = [row.tobytes().decode() for row in bases]
    vocab = dnabert_vocab(6)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.txt").write_text("\n".join(vocab) + "\n")
        fast = BertTokenizerFast.from_pretrained(tmp, do_lower_case=False)
    ours = KmerTokenizer(vocab)

    t0 = time.perf_counter()
    enc = ours.encode(to_ascii(seqs), args.length // 2, 512)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    joined = [" ".join(s[i:i + 6] for i in range(len(s) - 5)) for s in seqs]
    t_join = time.perf_counter() - t0
    ref = fast(joined, add_special_tokens=True, truncation=True, max_length=512)["input_ids"]
    t_hf = time.perf_counter() - t0

    assert np.array_equal(enc.input_ids.astype(np.int64), np.asarray(ref)), "token ids differ"
    print(f"sequences {args.n} x {args.length} bp (6-mers), identical ids")
    print(f"dnactx KmerTokenizer   {args.n / t_ours:12.0f} seq/s  ({t_ours:.3f} s)")
    print(f"BertTokenizerFast      {args.n / t_hf:12.0f} seq/s  ({t_hf:.3f} s, incl. k-mer joining)")
    print(f"ratio                  {t_hf / t_ours:12.1f}x  (tokenizer call alone: {(t_hf - t_join) / t_ours:.1f}x)")
    char_level(bases)


def char_level(bases: np.ndarray) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import make_toydna_checkpoint

    from dnactx.models.checkpoint import load_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tok = load_tokenizer(make_toydna_checkpoint(Path(tmp) / "toydna"), trust_remote_code=True)
    assert tok.chars is not None, "the character-level path was not detected"
    n, length = bases.shape
    t0 = time.perf_counter()
    ours = tok.encode(bases, length // 2, 1026)
    t_ours = time.perf_counter() - t0
    table, tok.chars = tok.chars, None  # the tokenizer's own path: call it, pad, truncate
    t0 = time.perf_counter()
    ref = tok.encode(bases, length // 2, 1026)
    t_ref = time.perf_counter() - t0
    tok.chars = table
    assert np.array_equal(ours.input_ids, ref.input_ids), "character-level ids differ"
    print(f"sequences {n} x {length} bp (one token per base, HyenaDNA-style Python tokenizer), identical ids")
    print(f"dnactx byte table      {n / t_ours:12.0f} seq/s  ({t_ours:.3f} s)")
    print(f"the tokenizer itself   {n / t_ref:12.0f} seq/s  ({t_ref:.3f} s)")
    print(f"ratio                  {t_ref / t_ours:12.1f}x")


if __name__ == "__main__":
    main()
