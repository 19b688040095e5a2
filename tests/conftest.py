"""Shared fixtures and helpers: the real data in ../shared/data (skipped when absent), a tiny synthetic dataset,
run folders made by hand (with metrics, or with scores on a dataset), the CLI run in-process."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL_FASTA = SHARED_DATA / "athaliana_tair10_chr1_2mb.fa.gz"
REAL_CGMAP = SHARED_DATA / "athaliana_chr1_2mb.CGmap.gz"


@pytest.fixture
def sigterm_at_step():
    """``install(n)``: send this process a real SIGTERM (as SLURM's time limit does) after the trainer's optimiser
    step ``n``, once; ``loop.STEP_HOOKS.clear()`` removes it. The list is changed in place (the pretrain trainer
    holds it too) and restored after the test."""
    from dnactx.train import loop

    before = list(loop.STEP_HOOKS)

    def install(n: int) -> None:
        fired = []

        def hook(step: int) -> None:
            if step == n and not fired:
                fired.append(step)
                os.kill(os.getpid(), signal.SIGTERM)

        loop.STEP_HOOKS[:] = [hook]

    yield install
    loop.STEP_HOOKS[:] = before


def cli_exit_code(*argv: str) -> int:
    """Run ``dnactx ARGV`` in-process as the console script would; return its exit code."""
    from dnactx.cli import main

    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``dnactx ARGS`` in-process; return (exit code, stdout, stderr)."""
    code = cli_exit_code(*args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests using it are skipped where it is absent."""
    if not (REAL_FASTA.is_file() and REAL_CGMAP.is_file()):
        pytest.skip("real data ../shared/data is absent")
    return SHARED_DATA


def make_tiny_dataset(out_dir: Path, n: int = 600, window: int = 200, seed: int = 0) -> Path:
    """A dataset.parquet with prepare's schema: random sequence, a C at the centre, labels that depend
    on the site context and on a nearby motif, so models have something real but small to learn."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    seqs = rng.choice(bases, size=(n, window + 1))
    c = window // 2
    seqs[:, c] = "C"
    contexts = rng.choice(["CG", "CHG", "CHH"], size=n, p=[0.3, 0.2, 0.5])
    h = np.array(list("ACT"))
    for i, ctx in enumerate(contexts):
        if ctx == "CG":
            seqs[i, c + 1] = "G"
        elif ctx == "CHG":
            seqs[i, c + 1] = rng.choice(h)
            seqs[i, c + 2] = "G"
        else:
            seqs[i, c + 1] = rng.choice(h)
            seqs[i, c + 2] = rng.choice(h)
    motif = (seqs[:, c - 3] == "A") & (seqs[:, c - 2] == "T")
    p = np.where(contexts == "CG", 0.35, 0.03) + 0.4 * motif
    label = (rng.random(n) < p).astype("int8")
    split = rng.choice(["train", "val", "test"], size=n, p=[0.6, 0.2, 0.2])
    cov = rng.integers(3, 30, size=n)
    mc = np.where(label == 1, cov, 0)
    df = pd.DataFrame({
        "chrom": "chr1",
        "pos": np.arange(n, dtype="int64") * 500 + 1000,
        "strand": rng.choice(["+", "-"], size=n),
        "context": contexts,
        "trinuc": ["".join(s[c:c + 3]) for s in seqs],
        "mc": mc.astype("int32"),
        "cov": cov.astype("int32"),
        "level": (mc / cov).astype("float32"),
        "label": label,
        "split": split,
        "repeat": rng.random(n) < 0.1,
        "seq": ["".join(s) for s in seqs],
    })
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "dataset.parquet"
    df.to_parquet(path, index=False)
    (out_dir / "prepare.json").write_text(json.dumps({"window": window, "synthetic": True}))
    return path


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return make_tiny_dataset(tmp_path / "data")


_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def _site_context(seq: str, i: int, strand: str) -> str | None:
    """CG/CHG/CHH of the C at 0-based ``i`` on ``strand`` of the upper-case ``seq``, written out by hand."""
    ahead = seq[i + 1:i + 3] if strand == "+" else seq[max(i - 2, 0):i][::-1].translate(_COMPLEMENT)
    ahead = ahead.ljust(2, "N")
    if ahead[0] == "G":
        return "CG"
    if ahead[0] in "ACT" and ahead[1] == "G":
        return "CHG"
    if ahead[0] in "ACT" and ahead[1] in "ACT":
        return "CHH"
    return None


def make_genome_with_calls(folder: Path, lengths: tuple[int, ...] = (24_000, 16_000), seed: int = 0,
                           ) -> tuple[Path, Path]:
    """(genome.fa, calls.CX_report.txt): random chromosomes chr1, chr2, ... (soft-masked stretches, an N gap) and a
    Bismark CX report over every cytosine of both strands (zero-coverage rows included), methylated with a
    probability set by the context, an upstream AT motif on the site's strand and the soft mask, so a model has
    something to learn and every context has positives."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    fasta, calls = folder / "genome.fa", folder / "calls.CX_report.txt"
    records, rows = [], []
    for k, length in enumerate(lengths, 1):
        seq = "".join(rng.choice(list("ACGT"), size=length, p=[0.32, 0.18, 0.18, 0.32]))
        seq = seq[:length // 3] + "N" * 40 + seq[length // 3 + 40:]
        masked = np.zeros(length, dtype=bool)
        for start in rng.integers(0, length - 800, size=length // 4000):
            masked[start:start + 600] = True
        text = "".join(b.lower() if m else b for b, m in zip(seq, masked, strict=True))
        records.append(f">chr{k} synthetic\n" + "\n".join(text[i:i + 60] for i in range(0, length, 60)))
        for i, base in enumerate(seq):
            strand = "+" if base == "C" else "-" if base == "G" else None
            context = _site_context(seq, i, strand) if strand else None
            if context is None:
                continue
            up = seq[i - 3:i - 1] if strand == "+" else seq[i + 2:i + 4][::-1].translate(_COMPLEMENT)
            logit = {"CG": 0.5, "CHG": -2.5, "CHH": -3.5}[context] + 2.5 * (up == "AT") + 2.0 * masked[i]
            methylated = rng.random() < 1 / (1 + np.exp(-logit))
            cov = int(rng.integers(0, 16))
            mc = int(rng.binomial(cov, 0.9 if methylated else 0.04))
            tri = (seq[i:i + 3] if strand == "+" else seq[max(i - 2, 0):i + 1][::-1].translate(_COMPLEMENT))
            rows.append(f"chr{k}\t{i + 1}\t{strand}\t{mc}\t{cov - mc}\t{context}\t{tri.ljust(3, 'N')}")
    fasta.write_text("\n".join(records) + "\n")
    calls.write_text("\n".join(rows) + "\n")
    return fasta, calls


TOYDNA_CODE = Path(__file__).resolve().parent / "fixtures" / "toydna"


def make_toydna_checkpoint(dest: Path, seed: int = 0) -> Path:
    """A local checkpoint folder whose model and tokenizer are its own Python code (auto_map), as HyenaDNA's are:
    config.json + tokenizer_config.json by hand, the code copied beside them, random weights as safetensors."""
    import shutil
    import tempfile

    import torch
    from transformers import AutoConfig, AutoModel

    dest.mkdir(parents=True, exist_ok=True)
    for src in TOYDNA_CODE.glob("*.py"):
        shutil.copy(src, dest / src.name)
    (dest / "config.json").write_text(json.dumps({
        "model_type": "toydna", "architectures": ["ToyDNAModel"], "vocab_size": 12, "d_model": 32, "n_layer": 2,
        "max_seq_len": 1026, "pad_token_id": 4,
        "auto_map": {"AutoConfig": "configuration_toydna.ToyDNAConfig", "AutoModel": "modeling_toydna.ToyDNAModel"},
    }))
    (dest / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "ToyCharTokenizer", "model_max_length": 1026,
        "auto_map": {"AutoTokenizer": ["tokenization_toydna.ToyCharTokenizer", None]},
    }))
    torch.manual_seed(seed)
    model = AutoModel.from_config(AutoConfig.from_pretrained(dest, trust_remote_code=True), trust_remote_code=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        shutil.copy(Path(tmp) / "model.safetensors", dest / "model.safetensors")
    return dest


# -- run folders made by hand, for the registry, diagnose and report tests ----------------------------------
def make_run_folder(home: Path, *, model: str = "lr", status: str = "completed", seed: int = 0,
                    matrix: str | None = None, metrics: dict | None = None):
    """A run folder with a config, an artifact and ``metrics``, in ``status``; not recorded in the registry."""
    from dnactx.runs import RunFolder, run_config

    cfg = run_config({"model": model, "size": 50, "mode": "both", "finetune": "frozen", "seed": seed,
                      "data": "/d/dataset.parquet"}, dataset_fingerprint="f" * 64, window=200, device="cpu",
                     versions={"dnactx": "0.1.0"}, matrix=matrix, cell={"seed": seed} if matrix else None)
    folder = RunFolder.create(home, cfg, name=f"{model}-s{seed}", matrix=matrix)
    folder.set_status("running")
    if metrics is not None:
        folder.write_metrics(metrics)
    (folder.path / "model.bin").write_bytes(b"weights" * (seed + 1))
    folder.add_artifact(folder.path / "model.bin", "model")
    if status != "running":
        folder.set_status(status, error="boom" if status == "failed" else None)
    return folder


def real_metrics(seed: int = 0) -> dict:
    """metrics.json of a run, computed by ``evaluate`` on 300 seeded scores (val 150, test 150)."""
    from dnactx.metrics import evaluate

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    ctx = rng.choice(["CG", "CHG", "CHH"], 300)
    m = evaluate(y[:150], p[:150], y[150:], p[150:], ctx[:150], ctx[150:])
    m["facts"] = {"best_epoch": 2, "epochs_run": 3, "train_seconds": 1.25, "truncated_fraction": 0.0,
                  "train_sites": 300, "cache_hit": False}
    return m


def make_scored_run(home: Path, dataset: Path, scores, *, name: str, model: str = "zhihan1996/DNA_bert_6",
                    size: int = 100, mode: str = "both", finetune: str = "frozen", seed: int = 0,
                    matrix: str | None = None, facts: dict | None = None, cell: dict | None = None,
                    bootstrap: int = 200) -> str:
    """A completed, recorded run folder as train_run writes it, with predictions ``scores(split, labels, contexts)``
    on ``dataset``'s val and test sites (metrics from ``stats.evaluation.evaluate_run``, ``bootstrap`` resamples);
    returns its id. ``cell`` is its matrix cell (default: model, size and mode)."""
    from dnactx.provenance import library_versions, sha256_file
    from dnactx.registry import record_run
    from dnactx.runs import RunFolder, run_config
    from dnactx.stats.evaluation import Settings, Sites, evaluate_run
    from dnactx.train.config import TrainConfig

    df = pd.read_parquet(dataset, columns=["chrom", "pos", "label", "context", "split"])
    cfg = TrainConfig(data=str(dataset), model=model, size=size, mode=mode, finetune=finetune, seed=seed, name=name,
                      bootstrap=bootstrap)
    config = run_config(cfg.to_dict(), dataset_fingerprint=sha256_file(dataset), window=200,
                        versions=library_versions(), device="cpu", matrix=matrix,
                        cell=(cell or {"model": model, "size": size, "mode": mode}) if matrix else None)
    folder = RunFolder.create(home, config, name=name, matrix=matrix)
    folder.set_status("running")
    arrays, sites = {}, {}
    for split in ("val", "test"):
        index = np.flatnonzero(df["split"].to_numpy() == split)
        y = df["label"].to_numpy()[index].astype(int)
        ctx = df["context"].to_numpy()[index].astype(str)
        chrom, pos = df["chrom"].to_numpy()[index].astype(str), df["pos"].to_numpy()[index]
        arrays.update({f"{split}_prob": scores(split, y, ctx), f"{split}_label": y, f"{split}_context": ctx,
                       f"{split}_index": index, f"{split}_chrom": chrom, f"{split}_pos": pos})
        sites[split] = Sites(y, arrays[f"{split}_prob"], ctx, chrom, pos)
    train = df[df["split"] == "train"]
    metrics = evaluate_run(sites["val"], sites["test"], train["label"].to_numpy(), train["context"].to_numpy(),
                           Settings(bootstrap=bootstrap, seed=seed)).metrics
    metrics["facts"] = {"truncated_fraction": 0.0, "best_epoch": 1, "epochs_run": 3, **(facts or {})}
    np.savez(folder.path / "predictions_val_test.npz", **arrays)
    folder.write_metrics(metrics)
    folder.set_status("completed")
    assert record_run(home, folder)
    return folder.id


def flat_scores(seed: int = 0):
    """Scores for ``make_scored_run`` that separate nothing: 0.51 ± 0.01 whatever the label."""
    rng = np.random.default_rng(seed)
    return lambda split, y, ctx: 0.51 + rng.normal(0, 0.01, y.size)


def ranked_scores(strength_val: float, strength_test: float, seed: int = 0):
    """Scores for ``make_scored_run`` whose ranking is as good as ``strength`` (per split)."""
    rng = np.random.default_rng(seed)

    def scores(split, y, ctx):
        s = strength_val if split == "val" else strength_test
        return 1 / (1 + np.exp(-(rng.normal(0, 1, y.size) + s * (2 * y - 1))))
    return scores


def make_lr_run(home: Path, *, window: int = 200, size: int = 20, mode: str = "both", seed: int = 0) -> str:
    """A completed, recorded lr run folder whose weights are written by hand (seeded k-mer coefficients, the CG
    context and an upstream 'AT' favoured), so predict has a real model to apply without training one."""
    from safetensors.numpy import save_file

    from dnactx.models.lr import KMAX, n_features
    from dnactx.registry import record_run
    from dnactx.runs import RunFolder, run_config

    rng = np.random.default_rng(seed)
    coef = rng.normal(0, 0.3, n_features(KMAX, True))
    coef[-3:] = [1.5, -1.0, -2.0]  # site context CG, CHG, CHH
    config = run_config({"model": "lr", "size": size, "mode": mode, "site_context": True, "seed": seed,
                         "data": str(home / "missing" / "dataset.parquet")}, dataset_fingerprint="f" * 64,
                        window=window, device="cpu", versions={"dnactx": "0.1.0"})
    folder = RunFolder.create(home, config, name=f"lr-by-hand-{seed}")
    folder.set_status("running")
    weights = folder.path / "lr.safetensors"
    save_file({"coef": coef[None, :].astype(np.float64), "intercept": np.array([-1.0])}, str(weights),
              metadata={"scaling": "frequency", "kmax": str(KMAX)})
    folder.add_artifact(weights, "weights")
    folder.write_metrics(real_metrics(seed))
    folder.set_status("completed")
    assert record_run(home, folder)
    return folder.id


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """The dnabert6-tiny checkpoint built once per session (for tests that only load it; training tests build
    their own through the registry home)."""
    from dnactx.models.checkpoint import resolve_checkpoint

    return resolve_checkpoint("dnabert6-tiny", tmp_path_factory.mktemp("tiny-checkpoint"))


def train_on_a_small_genome(root: Path, cases: dict[str, dict]) -> dict:
    """Prepare a small synthetic genome with calls under ``root`` (window 200) and train each of ``cases`` (name →
    TrainConfig options) on it, size 20, one epoch: ``{"root", "genome", "calls", "dataset", "home", "runs"}`` with
    ``runs`` name → run id."""
    from dnactx.prepare import PrepareOptions, prepare_dataset
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    genome, calls = make_genome_with_calls(root / "inputs")
    prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=root / "data", window=200, block_size=2000))
    dataset = root / "data" / "dataset.parquet"
    home = root / "runs"
    runs = {}
    for name, options in cases.items():
        result = train_run(TrainConfig(data=str(dataset), name=name, size=20, epochs=1, **options), home, quiet=True)
        assert result["status"] == "completed"
        runs[name] = result["run_id"]
    return {"root": root, "genome": genome, "calls": calls, "dataset": dataset, "home": home, "runs": runs}


def scramble_batchnorm(model):
    """``model`` (a CNN) with its BatchNorm statistics and affine terms drawn far from the identity, as after
    training, so that folding them into the convolutions is really tested; in place, under torch's current seed."""
    import torch

    with torch.no_grad():
        for norm in (model.conv1[1], model.conv2[2]):
            norm.running_mean.normal_()
            norm.running_var.uniform_(0.5, 2.0)
            norm.weight.normal_()
            norm.bias.normal_()
    return model
