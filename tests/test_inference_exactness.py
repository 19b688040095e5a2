"""A trained run's scorer reproduces its own val/test predictions (issue 12 item 4, at the level of windows), for
every family, finetune mode, cut mode and with site context off; its export loads to the same scores, and the model
card's plain-Python snippet reproduces them without dnactx."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_dataset, make_toydna_checkpoint

from dnactx.errors import DnactxError
from dnactx.inference import load_scorer
from dnactx.inference.export import export_model
from dnactx.sequence import CONTEXT_CODES, to_ascii

pytestmark = pytest.mark.slow

# name → train options (size 20 unless said); each trains in seconds on the tiny dataset
CASES = {
    "lr-auto": dict(model="lr"),
    "lr-up-no-context": dict(model="lr", mode="up", site_context=False, C=10),
    "cnn": dict(model="cnn"),
    "cnn-down": dict(model="cnn", mode="down"),
    "cnn-up-no-context": dict(model="cnn", mode="up", site_context=False),
    "tiny-frozen": dict(model="dnabert6-tiny", finetune="frozen"),
    "tiny-top1-up": dict(model="dnabert6-tiny", finetune="top:1", mode="up"),
    "tiny-full-down-no-context": dict(model="dnabert6-tiny", finetune="full", mode="down", site_context=False),
    "tiny-lora4-down": dict(model="dnabert6-tiny", finetune="lora:4", mode="down"),  # adapters merged at load
    "truncating-top1": dict(model="SHORT", finetune="top:1"),  # 24 positions: 36 k-mers cut to 22 around the C
    "remote-code-full": dict(model="TOYDNA", finetune="full", trust_remote_code=True),  # its own code and tokenizer
}


def short_bert(dest: Path) -> Path:
    """A DNABERT-6-vocab BERT that takes only 24 tokens, so a 41-bp window is truncated around its C."""
    from transformers import BertConfig, BertModel

    from dnactx.tokenize import dnabert_vocab

    vocab = dnabert_vocab(6)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=24, pad_token_id=0)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(dest)
    (dest / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return dest


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(home, dataset, {case: run id}) with every case trained once."""
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    root = tmp_path_factory.mktemp("exact")
    dataset = make_tiny_dataset(root / "data")
    home = root / "runs"
    local = {"SHORT": str(short_bert(root / "short-bert")), "TOYDNA": str(make_toydna_checkpoint(root / "toydna"))}
    runs = {}
    for name, options in CASES.items():
        options = {"size": 20, "epochs": 1, **options}
        options["model"] = local.get(options["model"], options["model"])
        result = train_run(TrainConfig(data=str(dataset), name=name, **options), home, quiet=True)
        assert result["status"] == "completed"
        runs[name] = result["run_id"]
    return home, dataset, runs


def split_windows(dataset: Path, npz, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's dataset windows (uint8 ASCII) and context ids, in the order of predictions_val_test.npz."""
    df = pd.read_parquet(dataset, columns=["seq", "context"])
    index = npz[f"{split}_index"]
    contexts = np.array([CONTEXT_CODES[c] for c in df["context"].to_numpy()[index]])
    return to_ascii(df["seq"].to_numpy()[index].tolist()), contexts


@pytest.mark.parametrize("case", list(CASES))
def test_scorer_reproduces_the_runs_own_val_and_test_predictions(trained, case: str) -> None:
    home, dataset, runs = trained
    scorer = load_scorer(runs[case], home, device="cpu", trust_remote_code=case.startswith("remote-code"))
    npz = np.load(home / runs[case] / "predictions_val_test.npz")
    for split in ("val", "test"):
        windows, contexts = split_windows(dataset, npz, split)
        probs = scorer.probs(scorer.recipe.cut(windows), contexts)
        np.testing.assert_allclose(probs, npz[f"{split}_prob"], rtol=0, atol=1e-6, err_msg=f"{case} {split}")
    if case == "truncating-top1":
        assert json.loads((home / runs[case] / "metrics.json").read_text())["facts"]["truncated_fraction"] == 1.0


@pytest.mark.parametrize("case", ["cnn", "tiny-top1-up"])
def test_batch_size_and_bf16_leave_the_scores_as_they_are(trained, case: str) -> None:
    home, dataset, runs = trained
    npz = np.load(home / runs[case] / "predictions_val_test.npz")
    scorer = load_scorer(runs[case], home, device="cpu")
    windows, contexts = split_windows(dataset, npz, "test")
    inputs = scorer.recipe.cut(windows)
    reference = scorer.logits(inputs, contexts)
    small = load_scorer(runs[case], home, device="cpu", batch_size=7)
    np.testing.assert_allclose(small.logits(inputs, contexts), reference, rtol=0, atol=1e-5)
    bf16 = load_scorer(runs[case], home, device="cpu", precision="bf16")
    np.testing.assert_allclose(bf16.probs(inputs, contexts), scorer.probs(inputs, contexts), rtol=0, atol=0.05)


@pytest.mark.parametrize("case", ["lr-auto", "cnn-down", "tiny-frozen", "tiny-top1-up", "tiny-lora4-down",
                                  "truncating-top1", "remote-code-full"])
def test_export_loads_to_the_runs_scores(trained, tmp_path: Path, case: str) -> None:
    home, dataset, runs = trained
    out = tmp_path / "model"
    export_model(runs[case], out, home, trust_remote_code=case.startswith("remote-code"))
    npz = np.load(home / runs[case] / "predictions_val_test.npz")
    windows, contexts = split_windows(dataset, npz, "test")
    trust = case.startswith("remote-code")
    if trust:  # an exported folder's own code runs only when asked for
        with pytest.raises(DnactxError, match="modeling_toydna.py"):
            load_scorer(out, device="cpu")
    original = load_scorer(runs[case], home, device="cpu", trust_remote_code=trust)
    exported = load_scorer(out, device="cpu", trust_remote_code=trust)
    assert exported.recipe == original.recipe
    inputs = original.recipe.cut(windows)
    np.testing.assert_allclose(exported.probs(inputs, contexts), original.probs(inputs, contexts), rtol=0, atol=1e-7)


_DRIVER = """
import json, sys
import numpy
args = json.load(open(sys.argv[1]))
numpy.save(sys.argv[2], numpy.asarray(logits(args["seqs"], args["contexts"]), dtype="float64"))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dnactx", "sklearn", "pandas"))
assert not loaded, f"the snippet needed {loaded}"
"""


@pytest.mark.parametrize("case", ["lr-auto", "lr-up-no-context", "cnn", "cnn-up-no-context", "tiny-frozen",
                                  "tiny-lora4-down", "truncating-top1", "remote-code-full"])
def test_the_model_cards_snippet_reproduces_the_scorer_without_dnactx(trained, tmp_path: Path, case: str) -> None:
    home, _, runs = trained
    out = tmp_path / "model"
    export_model(runs[case], out, home, trust_remote_code=case.startswith("remote-code"))
    code = re.search(r"```python\n(.*?)```", (out / "README.md").read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 30
    scorer = load_scorer(out, device="cpu", trust_remote_code=True)
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), scorer.recipe.length, p=[0.24] * 4 + [0.04])) for _ in range(40)]
    contexts = rng.integers(0, 3, 40)
    (tmp_path / "in.json").write_text(json.dumps({"seqs": seqs, "contexts": contexts.tolist()}))
    proc = subprocess.run([sys.executable, "-c", code + _DRIVER, str(tmp_path / "in.json"), str(tmp_path / "out.npy")],
                          cwd=out, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), scorer.logits(to_ascii(seqs), contexts), rtol=0,
                               atol=1e-5)


def test_a_frozen_run_moved_away_from_its_checkpoint_rebuilds_dnabert6_tiny_and_still_reproduces(trained,
                                                                                                tmp_path: Path) -> None:
    import shutil

    home, dataset, runs = trained
    moved = tmp_path / "elsewhere" / runs["tiny-frozen"]
    shutil.copytree(home / runs["tiny-frozen"], moved)
    config = json.loads((moved / "config.json").read_text())
    (moved / "config.json").write_text(json.dumps({**config, "checkpoint_path": str(tmp_path / "gone")}))
    scorer = load_scorer(moved, device="cpu")  # its home is the folder it sits in: tiny is rebuilt there
    assert scorer.checkpoint == tmp_path / "elsewhere" / ".models" / "dnabert6-tiny"
    npz = np.load(moved / "predictions_val_test.npz")
    windows, contexts = split_windows(dataset, npz, "test")
    np.testing.assert_allclose(scorer.probs(scorer.recipe.cut(windows), contexts), npz["test_prob"], rtol=0, atol=1e-6)
