"""The model families users pick (issue 18, item 8): a tiny random checkpoint shaped like each real family (its
config class, tokenizer class and special tokens; a few layers wide) trains frozen, top:1 and lora:4, predicts a
small region and exports; each export loads back to the run's own scores. The LoRA runs also explain, and their
run folders hold only the head and the adapters."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_genome_with_calls, make_tiny_dataset, run_cli

from dnactx.data.dataset import CONTEXT_CODES
from dnactx.inference import load_scorer
from dnactx.sequence import to_ascii

SHAPE = dict(layers=2, hidden=32, heads=2, max_tokens=64)
NT_WORDS = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>",
            *("".join(p) for p in itertools.product("ACGT", repeat=6)), *"ACGTN"]


def _save(model, dest: Path) -> Path:
    model.save_pretrained(dest)
    return dest


def dnabert6(dest: Path) -> Path:
    """DNABERT-6: BertForMaskedLM, overlapping 6-mers from vocab.txt with [PAD] [UNK] [CLS] [SEP] [MASK]."""
    from dnactx.pretrain.model import build_model
    from dnactx.pretrain.vocab import make_vocab

    vocab = make_vocab("kmer:6")
    dest.mkdir(parents=True)
    vocab.save(dest, SHAPE["max_tokens"])
    return _save(build_model("bert", vocab, **SHAPE), dest)


def nucleotide_transformer(dest: Path) -> Path:
    """Nucleotide Transformer v2 / AgroNT: EsmForMaskedLM (rotary), the EsmTokenizer over a vocab.txt of <unk>
    <pad> <mask> <cls> <eos> <bos>, the 4096 6-mers and single bases: non-overlapping 6-mers, leftovers one base
    each."""
    from transformers import EsmTokenizer

    from dnactx.pretrain.model import build_model
    from dnactx.pretrain.vocab import make_vocab

    vocab = make_vocab("nt:6")  # the same ids in the same order as NT_WORDS
    dest.mkdir(parents=True)
    (dest / "vocab.txt").write_text("\n".join(NT_WORDS) + "\n")
    EsmTokenizer(str(dest / "vocab.txt"), model_max_length=SHAPE["max_tokens"]).save_pretrained(dest)
    assert vocab.vocab_size == len(NT_WORDS)
    return _save(build_model("esm", vocab, **SHAPE), dest)


def bpe_bert(dest: Path) -> Path:
    """DNABERT-2 / GENA-LM without their remote code: BertForMaskedLM over a byte-pair tokenizer.json
    (PreTrainedTokenizerFast, [CLS] … [SEP])."""
    from dnactx.pretrain.model import build_model
    from dnactx.pretrain.vocab import make_vocab

    rng = np.random.default_rng(0)
    windows = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(200, 64))
    vocab = make_vocab("bpe:64", windows)
    dest.mkdir(parents=True)
    vocab.save(dest, SHAPE["max_tokens"])
    return _save(build_model("bert", vocab, **SHAPE), dest)


def character(dest: Path) -> Path:
    """A character-level model (HyenaDNA's and Caduceus's tokenisation) on a ModernBERT (its fused Wqkv)."""
    from dnactx.pretrain.model import build_model
    from dnactx.pretrain.vocab import make_vocab

    vocab = make_vocab("char")
    dest.mkdir(parents=True)
    vocab.save(dest, SHAPE["max_tokens"])
    return _save(build_model("modernbert", vocab, **SHAPE), dest)


FAMILIES = {"dnabert6": dnabert6, "nucleotide-transformer": nucleotide_transformer, "bpe": bpe_bert,
            "character": character}
TOKENIZERS = {"dnabert6": "KmerTokenizer", "nucleotide-transformer": "HFTokenizer", "bpe": "HFTokenizer",
              "character": "HFTokenizer"}
LORA_TARGETS = {"dnabert6": ["key", "query", "value"], "nucleotide-transformer": ["key", "query", "value"],
                "bpe": ["key", "query", "value"], "character": ["Wqkv"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("families")
    genome, _ = make_genome_with_calls(root / "genome", lengths=(3000,))
    (root / "region.bed").write_text("chr1\t300\t700\n")
    return {"root": root, "home": root / "runs", "data": make_tiny_dataset(root / "data", n=240),
            "genome": genome, "region": root / "region.bed",
            "checkpoints": {name: build(root / "ckpt" / name) for name, build in FAMILIES.items()}}


def test_each_family_checkpoint_has_its_real_config_and_tokenizer_classes(world) -> None:
    from transformers import AutoConfig

    from dnactx.models.checkpoint import load_tokenizer

    classes = {name: (AutoConfig.from_pretrained(path).architectures[0], type(load_tokenizer(path)).__name__,
                      getattr(getattr(load_tokenizer(path), "tok", None), "__class__", type(None)).__name__)
               for name, path in world["checkpoints"].items()}
    assert classes["dnabert6"][:2] == ("BertForMaskedLM", "KmerTokenizer")
    assert classes["nucleotide-transformer"] == ("EsmForMaskedLM", "HFTokenizer", "EsmTokenizer")
    assert classes["bpe"][:2] == ("BertForMaskedLM", "HFTokenizer")
    assert classes["character"][:2] == ("ModernBertForMaskedLM", "HFTokenizer")
    for name in ("bpe", "character"):  # Rust-backed, with BERT's special tokens, as DNABERT-2's is
        tok = load_tokenizer(world["checkpoints"][name]).tok
        assert tok.is_fast and (tok.cls_token, tok.sep_token, tok.pad_token) == ("[CLS]", "[SEP]", "[PAD]")


def _windows(dataset: Path, npz, split: str) -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_parquet(dataset, columns=["seq", "context"])
    index = npz[f"{split}_index"]
    return (to_ascii(df["seq"].to_numpy()[index].tolist()),
            np.array([CONTEXT_CODES[c] for c in df["context"].to_numpy()[index]]))


@pytest.mark.slow
@pytest.mark.parametrize("finetune", ["frozen", "top:1", "lora:4"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_trains_predicts_a_region_and_exports_what_loads_back(world, family: str, finetune: str,
                                                                     tmp_path: Path, capsys) -> None:
    home = world["home"]
    code, out, err = run_cli(["--home", str(home), "train", "--data", str(world["data"]), "--model",
                              str(world["checkpoints"][family]), "--size", "20", "--epochs", "1", "--finetune",
                              finetune, "--bootstrap", "0", "--name", f"{family}-{finetune}", "--json", "-q"],
                             capsys)
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    folder = home / run_id
    config = json.loads((folder / "config.json").read_text())
    assert config["tokenizer"] == TOKENIZERS[family]
    if finetune.startswith("lora:"):
        assert config["lora_targets"] == LORA_TARGETS[family]
        assert not (folder / "model.safetensors").exists()
        assert {"head.safetensors", "adapter_model.safetensors", "adapter_config.json"} <= {
            p.name for p in folder.iterdir()}

    code, _, err = run_cli(["--home", str(home), "predict", run_id, "--genome", str(world["genome"]), "--regions",
                            str(world["region"]), "--out", str(tmp_path / "pred"), "-q"], capsys)
    assert code == 0, err
    scored = pd.read_parquet(next((tmp_path / "pred").glob("*.parquet")))
    assert len(scored) > 50 and scored["prob"].between(0, 1).all()

    exported = tmp_path / "export"
    code, _, err = run_cli(["--home", str(home), "export", run_id, "--out", str(exported)], capsys)
    assert code == 0, err
    assert not any(p.name.startswith("adapter_") for p in exported.iterdir())  # LoRA: merged into the encoder
    assert ("merged into the encoder weights" in (exported / "README.md").read_text()) == finetune.startswith("lora")
    npz = np.load(folder / "predictions_val_test.npz")
    windows, contexts = _windows(world["data"], npz, "test")
    scorer = load_scorer(exported, device="cpu")
    np.testing.assert_allclose(scorer.probs(scorer.recipe.cut(windows), contexts), npz["test_prob"], rtol=0,
                               atol=1e-5)


@pytest.mark.slow
def test_an_exported_lora_model_loads_in_plain_transformers_without_peft(world, tmp_path: Path, capsys) -> None:
    """The card's promise: the encoder folder is a plain checkpoint (the adapters merged), no peft keys."""
    from safetensors import safe_open
    from transformers import AutoModel

    home = world["home"]
    code, out, err = run_cli(["--home", str(home), "train", "--data", str(world["data"]), "--model",
                              str(world["checkpoints"]["character"]), "--size", "20", "--epochs", "1",
                              "--finetune", "lora:2", "--bootstrap", "0", "--json", "-q"], capsys)
    assert code == 0, err
    exported = tmp_path / "export"
    assert run_cli(["--home", str(home), "export", json.loads(out)["run_id"], "--out", str(exported)], capsys)[0] == 0
    with safe_open(str(exported / "model.safetensors"), framework="pt") as fh:
        assert not [k for k in fh.keys() if "lora_" in k or "base_layer" in k]
    AutoModel.from_pretrained(exported)


@pytest.mark.slow
def test_a_lora_run_explains(world, tmp_path: Path, capsys) -> None:
    home = world["home"]
    code, out, err = run_cli(["--home", str(home), "train", "--data", str(world["data"]), "--model",
                              str(world["checkpoints"]["nucleotide-transformer"]), "--size", "20", "--epochs", "1",
                              "--finetune", "lora:4", "--bootstrap", "0", "--json", "-q"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["--home", str(home), "explain", json.loads(out)["run_id"], "--out",
                            str(tmp_path / "explain"), "--n", "5"], capsys)
    assert code == 0, err
    assert (tmp_path / "explain" / "explain.json").is_file()
