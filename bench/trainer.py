"""Bench: dnactx's trainer vs a Hugging Face ``Trainer`` (same model, data, batch) and frozen-cache reuse.

1. samples/s of one epoch of full fine-tuning of the same random-init BERT on the same windows and batch size,
   through ``dnactx.train.loop.fit`` and through ``transformers.Trainer`` (CPU here; no evaluation in either),
   and a bare torch loop (forward, backward, optimiser step and nothing else) as the ceiling any trainer can reach.
2. wall time of a frozen ``train_run`` and of a second one with another loss (the second hits the cache).
Usage: OMP_NUM_THREADS=1 python bench/trainer.py [--n 2000] [--size 50] [--threads 1] [--repeats 3]
       python bench/trainer.py --n 20000 --precision bf16          (on a CUDA GPU: every side runs there)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# bench/tokenize.py would shadow the standard library's ``tokenize`` (imported by torch via inspect).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402
from torch import nn  # noqa: E402


class HFWrapper(nn.Module):
    """The same EncoderClassifier, with the forward signature HF Trainer expects."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, context_id, labels=None):
        logits = self.model({"input_ids": input_ids, "context_id": context_id})
        loss = nn.functional.binary_cross_entropy_with_logits(logits.float(), labels.float())
        return {"loss": loss, "logits": logits}


class DictRows(torch.utils.data.Dataset):
    def __init__(self, cols: dict[str, torch.Tensor]) -> None:
        self.cols = cols

    def __len__(self) -> int:
        return len(self.cols["labels"])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.cols.items()}


def _model(path: Path, seed: int = 0):
    from dnactx.models.checkpoint import load_encoder
    from dnactx.models.encoder import EncoderClassifier

    torch.manual_seed(seed)
    return EncoderClassifier(load_encoder(path), site_context=True)


def trainer_throughput(data: Path, home: Path, size: int, batch: int, repeats: int,
                       precision: str = "no") -> tuple[float, float, float]:
    from transformers import Trainer, TrainingArguments

    from dnactx.data.dataset import load_dataset
    from dnactx.data.torchdata import ColumnDataset
    from dnactx.models.checkpoint import load_tokenizer, resolve_checkpoint
    from dnactx.train.config import LoopConfig
    from dnactx.train.loop import fit, make_accelerator

    path = resolve_checkpoint("dnabert6-tiny", home)
    ds = load_dataset(data, size, "both")
    tok = load_tokenizer(path)
    cols = {}
    for split in ("train", "val"):
        s = ds.splits[split]
        enc = tok.encode(s.bases, ds.center)
        assert enc.attention_mask.all()  # k-mer windows: no padding, so no mask (as dnactx's trainer feeds them)
        cols[split] = {"input_ids": torch.from_numpy(enc.input_ids).long(),
                       "context_id": torch.from_numpy(s.context_id), "labels": torch.from_numpy(s.labels).float()}
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()
    n = len(cols["train"]["labels"])
    small_val = {k: v[:batch] for k, v in cols["val"].items()}

    def run_ours() -> float:
        model = _model(path)  # built outside the timed region, as for the HF Trainer below
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as run_dir:
            fit(model, ColumnDataset(cols["train"]), ColumnDataset(small_val),
                nn.functional.binary_cross_entropy_with_logits, make_accelerator(precision, 1),
                LoopConfig(run_dir=Path(run_dir), epochs=1, patience=1, batch_size=batch, quiet=True))
        return n / (time.perf_counter() - t0)

    def run_theirs() -> float:
        with tempfile.TemporaryDirectory() as out:
            args = TrainingArguments(output_dir=out, per_device_train_batch_size=batch, num_train_epochs=1,
                                     learning_rate=2e-5, warmup_steps=0.1, save_strategy="no", logging_strategy="no",
                                     report_to=[], use_cpu=not cuda, bf16=precision == "bf16",
                                     fp16=precision == "fp16", dataloader_num_workers=0, seed=0, disable_tqdm=True)
            trainer = Trainer(model=HFWrapper(_model(path)), args=args, train_dataset=DictRows(cols["train"]))
            t0 = time.perf_counter()
            trainer.train()
            sync()
            return n / (time.perf_counter() - t0)

    def run_bare() -> float:
        """The floor: forward, loss, backward and the same fused AdamW step, with no trainer around them."""
        from dnactx.train.loop import make_optimizer, param_groups

        model = _model(path).to(device)
        model.train()
        optimizer = make_optimizer(param_groups(model, 2e-5, 1e-3))
        c = cols["train"]
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            b = {k: v[i:i + batch].to(device, non_blocking=True) for k, v in c.items()}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits = model(b)
            nn.functional.binary_cross_entropy_with_logits(logits.float(), b["labels"]).backward()
            optimizer.step()
            optimizer.zero_grad()
        sync()
        return n / (time.perf_counter() - t0)

    # alternate, and keep each side's best, so a burst of load on a shared machine hits neither side alone
    ours, theirs, bare = [], [], []
    for _ in range(repeats):
        ours.append(run_ours())
        theirs.append(run_theirs())
        bare.append(run_bare())
    return max(ours), max(theirs), max(bare)


def frozen_repeat(data: Path, home: Path, size: int, batch: int, model: str) -> tuple[float, float]:
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    times = []
    for loss in ("bce", "focal"):
        t0 = time.perf_counter()
        r = train_run(TrainConfig(data=str(data), model=model, size=size, finetune="frozen", epochs=3, loss=loss,
                                  batch_size=batch), home, quiet=True)
        times.append(time.perf_counter() - t0)
        assert r["metrics"]["facts"]["cache_hit"] is (loss == "focal")
    return times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="synthetic sites (60%% train)")
    ap.add_argument("--size", type=int, default=50)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs of each trainer; best kept")
    ap.add_argument("--precision", default="no", choices=("no", "bf16", "fp16"),
                    help="the same mixed precision on every side (bf16 on a GPU)")
    ap.add_argument("--frozen-model", default=None,
                    help="checkpoint for the frozen-cache bench (default: a 4-layer 256-wide random BERT)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from conftest import make_tiny_dataset

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = make_tiny_dataset(tmp / "data", n=args.n, window=2 * args.size)
        ours, theirs, bare = trainer_throughput(data, tmp / "home", args.size, args.batch, args.repeats,
                                                args.precision)
        where = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {args.threads} threads"
        print(f"full fine-tune, dnabert6-tiny, {args.size * 2 + 1} bp, batch {args.batch}, "
              f"{int(args.n * 0.6)} train sites, precision {args.precision}, {where}")
        print(f"  dnactx trainer        {ours:8.0f} samples/s (best of {args.repeats})")
        print(f"  transformers.Trainer  {theirs:8.0f} samples/s (best of {args.repeats})")
        print(f"  bare torch loop       {bare:8.0f} samples/s (best of {args.repeats}; no trainer, the ceiling)")
        print(f"  ratio vs Trainer      {ours / theirs:8.2f}x")
        print(f"  ratio vs bare loop    {ours / bare:8.2f}x   (Trainer vs bare loop {theirs / bare:.2f}x)")
        frozen = args.frozen_model or str(_bench_encoder(tmp / "bench-bert"))
        first, second = frozen_repeat(data, tmp / "home", args.size, args.batch, frozen)
        print(f"frozen train_run ({Path(frozen).name}), 3 epochs: first {first:.1f} s, second (cache hit, "
              f"other loss) {second:.1f} s, ratio {first / second:.1f}x")


def _bench_encoder(dest: Path) -> Path:
    """A mid-sized random BERT with the DNABERT-6 vocab, saved as a local checkpoint folder."""
    from transformers import BertConfig, BertForMaskedLM

    from dnactx.tokenize import dnabert_vocab

    torch.manual_seed(0)
    vocab = dnabert_vocab(6)
    BertForMaskedLM(BertConfig(vocab_size=len(vocab), hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                               intermediate_size=1024, max_position_embeddings=512)).save_pretrained(dest)
    (dest / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return dest


if __name__ == "__main__":
    main()
