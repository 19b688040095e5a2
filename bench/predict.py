"""Bench: dnactx predict (a genome stretch → P(methylated) of every cytosine) vs a straightforward per-site loop.

The peer walks the same sites one at a time in Python — the window sliced from the chromosome string (reverse
complemented on −), cut to the recipe, tokenised on its own (lr: its k-mer features; cnn: base codes; a
transformer: the run's tokenizer) — then scores them in batches of the same size with the same model (the CNN
as trained, BatchNorm unfused). Both sides' probabilities are checked equal. Models (lr, cnn, dnabert6-tiny,
both/200 by default) are trained briefly here on the real A. thaliana data (../shared/data; a random genome
without it): lr --C 10, one epoch for the others. Prints sites/s for each side, the ratio, and the projected
time for the whole A. thaliana genome (~43 M cytosines). For a cnn it then times predict's two methods on the same
sites in one run (issue 21): ``--method sliding`` (each stretch convolved once) against ``--method windows`` (every
site's input alone, the former path), alternating ``--repeats`` times (best rate of each), their probabilities
checked equal to 1e-5, with the ratio of scoring rates, the whole-genome projection and the process's peak resident
memory after each.

Usage: OMP_NUM_THREADS=2 python bench/predict.py [--bp 100000] [--bp-transformer 20000] [--models lr,cnn,...]
       [--compile] [--smoke]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# Run as a script, bench/ would come first on sys.path and its tokenize.py would shadow the standard library's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's dnactx, not an installed one

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FASTA, CGMAP = DATA / "athaliana_tair10_chr1_2mb.fa.gz", DATA / "athaliana_chr1_2mb.CGmap.gz"
ATHALIANA_CYTOSINES = 43_000_000
TRAIN_BP = 60_000  # chr1 1..TRAIN_BP trains the models; the stretch scored starts after it


def inputs(root: Path, smoke: bool) -> tuple[Path, Path, Path]:
    """(genome for scoring, training genome, training calls): the real data, or random ones."""
    from dnactx.io.fasta import FastaGenome

    if FASTA.is_file() and CGMAP.is_file() and not smoke:
        bases = FastaGenome(FASTA).chromosome("chr1").tobytes().decode()
        train_fa = root / "train.fa"
        train_fa.write_text(">chr1\n" + bases[:TRAIN_BP] + "\n")
        calls = root / "train.CGmap"
        with gzip.open(CGMAP, "rt") as src, open(calls, "w") as out:
            out.writelines(line for line in src if line.startswith("chr1\t") and int(line.split("\t")[2]) <= TRAIN_BP)
        return FASTA, train_fa, calls
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), size=TRAIN_BP + 400_000))
    genome = root / "random.fa"
    genome.write_text(">chr1\n" + seq + "\n")
    train_fa = root / "train.fa"
    train_fa.write_text(">chr1\n" + seq[:TRAIN_BP] + "\n")
    rows = []
    for i, base in enumerate(seq[:TRAIN_BP - 2]):
        if base == "C" and i > 2:
            context = "CG" if seq[i + 1] == "G" else "CHG" if seq[i + 2] == "G" else "CHH"
            cov = int(rng.integers(3, 20))
            mc = int(rng.binomial(cov, 0.8 if context == "CG" and rng.random() < 0.6 else 0.05))
            rows.append(f"chr1\tC\t{i + 1}\t{context}\t{seq[i:i + 2]}\t{mc / cov:.2f}\t{mc}\t{cov}")
    calls = root / "train.CGmap"
    calls.write_text("\n".join(rows) + "\n")
    return genome, train_fa, calls


def train(root: Path, train_fa: Path, calls: Path, models: list[str], size: int, mode: str) -> dict[str, str]:
    from dnactx.prepare import PrepareOptions, prepare_dataset
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    prepare_dataset(PrepareOptions(genome=train_fa, calls=calls, out=root / "data", window=2 * size,
                                   block_size=5000))
    runs = {}
    for model in models:
        extra = {"C": 10, "max_train": 20_000} if model == "lr" else {"epochs": 1, "train_fraction": 0.3}
        if model not in ("lr", "cnn"):
            extra["finetune"] = "frozen"
        config = TrainConfig(data=str(root / "data" / "dataset.parquet"), model=model, size=size, mode=mode,
                             name=f"bench-{model}", **extra)
        runs[model] = train_run(config, root / "runs", quiet=True)["run_id"]
    return runs


def dnactx_side(root: Path, genome: Path, run_id: str, start: int, bp: int, compile_: bool,
                method: str | None = None, tag: str = "") -> dict:
    from dnactx.predict import PredictOptions, predict_genome

    bed = root / f"region-{run_id}.bed"
    bed.write_text(f"chr1\t{start}\t{start + bp}\n")
    out = root / f"pred-{run_id}{'-compiled' if compile_ else ''}-{method}{tag}"
    t0 = time.perf_counter()
    summary = predict_genome(PredictOptions(model=run_id, genome=genome, out=out, regions=bed, compile=compile_,
                                            method=method), root / "runs", quiet=True)
    wall = time.perf_counter() - t0
    import pandas as pd

    df = pd.read_parquet(out / "predictions.parquet")
    return {"sites": len(df), "scoring": summary["timing"]["sites_per_s"], "wall": len(df) / wall, "frame": df}


def peer_side(genome: Path, scorer, start: int, bp: int) -> tuple[np.ndarray, float]:
    """The per-site loop: (probabilities in site order, sites/s)."""
    from dnactx.io.fasta import FastaGenome

    r = scorer.recipe
    t0 = time.perf_counter()
    chrom = FastaGenome(genome).chromosome("chr1").tobytes().decode().upper()
    half, pad = r.window // 2, "N" * (r.window // 2 + 2)
    text = pad + chrom + pad
    complement = str.maketrans("ACGTN", "TGCAN")
    encoded, contexts = [], []
    for pos in range(start + 1, start + bp + 1):
        i = len(pad) + pos - 1
        base = text[i]
        if base not in "CG":
            continue
        window = text[i - half:i + half + 1]
        if base == "G":
            window = window[::-1].translate(complement)
        nxt = window[half + 1:half + 3]
        context = 0 if nxt[0] == "G" else 1 if nxt[0] in "ACT" and nxt[1] == "G" else 2 if (
            nxt[0] in "ACT" and nxt[1] in "ACT") else -1
        if context < 0:
            continue
        cut = window[r.start:r.start + r.length]
        encoded.append(_tokenise(scorer, np.frombuffer(cut.encode(), dtype=np.uint8)[None, :], context))
        contexts.append(context)
    probs = _score_batches(scorer, encoded, np.array(contexts))
    return probs, len(probs) / (time.perf_counter() - t0)


def _tokenise(scorer, row: np.ndarray, context: int):
    r = scorer.recipe
    if r.family == "lr":
        from dnactx.models.lr import kmer_features

        return kmer_features(row, np.array([context]) if r.site_context else None, r.kmax, scaling=r.lr_scaling,
                             dtype=np.float64)
    if r.family == "cnn":
        from dnactx.sequence import base_codes

        return base_codes(row)
    return scorer.tokenizer.encode(row, r.center, r.max_tokens).input_ids


def _score_batches(scorer, encoded: list, contexts: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp
    import torch
    from scipy.special import expit

    r, out, b = scorer.recipe, [], scorer.batch_size
    for i in range(0, len(encoded), b):
        part = encoded[i:i + b]
        if r.family == "lr":
            out.append(expit(sp.vstack(part) @ scorer.coef + scorer.intercept))
            continue
        key = "codes" if r.family == "cnn" else "input_ids"
        batch = {key: torch.from_numpy(np.vstack(part))}
        if r.site_context:
            batch["context_id"] = torch.from_numpy(contexts[i:i + b].astype(np.int64))
        with torch.inference_mode():
            out.append(torch.sigmoid(scorer.model(batch).float()).numpy().astype(np.float64))
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bp", type=int, default=100_000, help="bases scored for lr and cnn")
    ap.add_argument("--bp-transformer", type=int, default=20_000, help="bases scored for a transformer")
    ap.add_argument("--models", default="lr,cnn,dnabert6-tiny")
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--mode", default="both")
    ap.add_argument("--bp-methods", type=int, default=300_000, help="bases scored by cnn sliding vs windows")
    ap.add_argument("--repeats", type=int, default=3, help="alternations of cnn windows and sliding (best of each)")
    ap.add_argument("--compile", action="store_true", help="also time predict --compile (cnn, transformers)")
    ap.add_argument("--smoke", action="store_true", help="a random genome and small stretches (for the tests)")
    args = ap.parse_args()
    if args.smoke:
        args.bp, args.bp_transformer, args.size, args.bp_methods = 5_000, 2_000, 32, 5_000  # cnn: 65 bp slide
        args.repeats = 1
    import torch

    from dnactx.inference import load_scorer
    from dnactx.progress import duration

    models = [m for m in args.models.split(",") if m]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        genome, train_fa, calls = inputs(root, args.smoke)
        runs = train(root, train_fa, calls, models, args.size, args.mode)
        print(f"{genome.name}, chr1 from {TRAIN_BP + 1:,}; {args.size} bp {args.mode}; torch threads "
              f"{torch.get_num_threads()}")
        print("| date | model | sites | dnactx predict (scoring) | dnactx predict (wall, with outputs) | per-site loop "
              "| ratio (scoring / loop) | whole A. thaliana (43 M, wall) |")
        for model in models:
            bp = args.bp if model in ("lr", "cnn") else args.bp_transformer
            variants = [False, True] if args.compile and model != "lr" else [False]
            for compile_ in variants:
                ours = dnactx_side(root, genome, runs[model], TRAIN_BP, bp, compile_)
                probs, peer = peer_side(genome, load_scorer(runs[model], root / "runs", device="cpu"), TRAIN_BP, bp)
                np.testing.assert_allclose(ours["frame"]["prob"].to_numpy(), probs, rtol=0, atol=1e-5)
                scorer = load_scorer(runs[model], root / "runs", device="cpu")
                label = model + (f" ({scorer.recipe.lr_scaling})" if model == "lr" else "") + (
                    " --compile" if compile_ else "")
                whole = duration(ATHALIANA_CYTOSINES / ours["wall"])  # with the outputs: what a user waits
                print(f"| {date.today()} | {label} | {ours['sites']:,} | {ours['scoring']:,.0f} sites/s | "
                      f"{ours['wall']:,.0f} sites/s | {peer:,.0f} sites/s | {ours['scoring'] / peer:.1f}x | "
                      f"{whole} |")
        if "cnn" in models:
            methods(root, genome, runs["cnn"], args.bp_methods, args.repeats)
        print(json.dumps({"equal probabilities": "checked to 1e-5"}))


def methods(root: Path, genome: Path, run_id: str, bp: int, repeats: int) -> None:
    """predict --method sliding against --method windows on the same sites, in this one process, alternating
    (windows, sliding, windows, ...) ``repeats`` times each: the best rate of each side, so that a burst of load
    on this shared machine does not land on one side only."""
    import resource

    from dnactx.progress import duration

    print("| date | model | sites | windows (scoring) | sliding (scoring) | ratio | sliding (wall, with outputs) | "
          "whole A. thaliana (43 M, scoring / wall) | peak RSS after windows / sliding |")
    found: dict[str, dict] = {}
    for rep in range(repeats):
        for method in ("windows", "sliding"):
            one = dnactx_side(root, genome, run_id, TRAIN_BP, bp, False, method, tag=str(rep))
            one["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
            best = found.setdefault(method, one)
            best["scoring"], best["wall"] = max(best["scoring"], one["scoring"]), max(best["wall"], one["wall"])
            best["rss"], best["rates"] = one["rss"], [*best.get("rates", []), one["scoring"]]
    w, s = found["windows"], found["sliding"]
    np.testing.assert_allclose(s["frame"]["prob"].to_numpy(), w["frame"]["prob"].to_numpy(), rtol=0, atol=1e-5)
    print(f"| {date.today()} | cnn | {s['sites']:,} | {w['scoring']:,.0f} sites/s | {s['scoring']:,.0f} sites/s | "
          f"{s['scoring'] / w['scoring']:.1f}x | {s['wall']:,.0f} sites/s | "
          f"{duration(ATHALIANA_CYTOSINES / s['scoring'])} / {duration(ATHALIANA_CYTOSINES / s['wall'])} | "
          f"{w['rss']:,.0f} / {s['rss']:,.0f} MiB |")
    print("scoring sites/s of each repeat: " + "; ".join(
        f"{m} {', '.join(f'{r:,.0f}' for r in found[m]['rates'])}" for m in ("windows", "sliding")))


if __name__ == "__main__":
    main()
