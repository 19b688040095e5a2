"""Checkpoints that ship their own code (HyenaDNA, DNABERT-2): opt-in, their interface quirks, their tokenizers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cli_exit_code, make_toydna_checkpoint
from sklearn.metrics import roc_auc_score

from dnactx.errors import ExitCode
from dnactx.sequence import to_ascii


@pytest.fixture
def toydna(tmp_path: Path) -> Path:
    return make_toydna_checkpoint(tmp_path / "toydna")


def test_untrusted_code_is_refused_in_one_line_before_any_run(tiny_dataset, toydna, tmp_path, capsys):
    code = cli_exit_code("--home", str(tmp_path / "home"), "train", "--data", str(tiny_dataset),
                         "--model", str(toydna), "--size", "20", "-q")
    err = capsys.readouterr().err.strip()
    assert code == ExitCode.USAGE
    assert "--trust-remote-code" in err and "modeling_toydna.py" in err and len(err.splitlines()) == 1
    from dnactx.registry import Registry

    runs = Registry.open(tmp_path / "home").runs()
    assert [r["status"] for r in runs] == ["failed"]  # recorded with its reason, as any unloadable checkpoint


@pytest.mark.slow
def test_trusted_code_trains_full_and_frozen_and_is_recorded(tiny_dataset, toydna, tmp_path):
    from dnactx.runs import RunFolder
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    home = tmp_path / "home"
    kw = dict(data=str(tiny_dataset), model=str(toydna), size=20, epochs=2, trust_remote_code=True)
    full = train_run(TrainConfig(finetune="full", **kw), home, quiet=True)
    assert full["status"] == "completed" and full["metrics"]["facts"]["truncated_fraction"] == 0.0
    folder = RunFolder.open(home, full["run_id"])
    pred = np.load(folder.path / "predictions_val_test.npz")  # metrics of its own predictions
    assert full["metrics"]["test"]["auroc"] == pytest.approx(roc_auc_score(pred["test_label"], pred["test_prob"]))
    config = folder.config
    assert config["tokenizer"] == "HFTokenizer" and config["max_tokens"] == 1026  # from HyenaDNA's max_seq_len
    assert set(config["checkpoint_code"]) == {"configuration_toydna.py", "modeling_toydna.py",
                                              "tokenization_toydna.py"}
    first = train_run(TrainConfig(finetune="frozen", **kw), home, quiet=True)
    again = train_run(TrainConfig(finetune="frozen", loss="focal", **kw), home, quiet=True)
    assert first["metrics"]["facts"]["cache_hit"] is False and again["metrics"]["facts"]["cache_hit"] is True


def test_edited_checkpoint_code_misses_the_frozen_cache(toydna):
    from dnactx.models.checkpoint import model_identity

    before = model_identity(toydna, "toy")
    with open(toydna / "modeling_toydna.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    assert model_identity(toydna, "toy") != before


def test_encoder_quirks_no_mask_tuple_output_unconditional_pooler(toydna):
    """The toy model takes no attention_mask, returns a tuple and calls its pooler: all must just work."""
    from dnactx.models.checkpoint import load_encoder
    from dnactx.models.encoder import EncoderClassifier, set_trainable

    encoder = load_encoder(toydna, trust_remote_code=True)
    model = EncoderClassifier(encoder, site_context=True)
    set_trainable(encoder, 1)
    assert model.takes_mask is False and encoder.pooler is not None
    assert not any(p.requires_grad for p in encoder.pooler.parameters())
    assert all(p.requires_grad for p in encoder.layers[-1].parameters())
    assert not any(p.requires_grad for p in encoder.layers[0].parameters())
    ids = torch.tensor([[7, 8, 9, 10, 1], [7, 8, 1, 4, 4]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    logits = model({"input_ids": ids, "attention_mask": mask, "context_id": torch.tensor([0, 1])})
    assert logits.shape == (2,) and torch.isfinite(logits).all()


def test_character_tokenizer_truncation_keeps_its_trailing_sep_and_centres_the_c(toydna):
    from dnactx.models.checkpoint import load_tokenizer

    tok = load_tokenizer(toydna, trust_remote_code=True)
    seq = "A" * 30 + "C" + "G" * 30
    enc = tok.encode(to_ascii([seq]), center=30, max_tokens=12)
    ids = enc.input_ids[0].tolist()
    assert enc.truncated.all() and len(ids) == 12 and ids[-1] == 1  # HyenaDNA puts [SEP] last, no [CLS]
    assert ids[:11] == [7] * 5 + [8] + [9] * 5  # five A, the C, five G


def test_bpe_tokens_of_unequal_length_centre_the_token_holding_the_c(tmp_path):
    """With a fast tokenizer the C's token is found from character offsets, not from its relative position."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from dnactx.models.checkpoint import load_tokenizer

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "AAAA", "A", "C", "G", "T"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("AAAA|."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]").save_pretrained(tmp_path)
    seq = "A" * 40 + "C" + "G" * 40  # 10 tokens, the C, 40 tokens: the C is token 10 of 51, not the middle
    enc = load_tokenizer(tmp_path).encode(to_ascii([seq]), center=40, max_tokens=9)
    ids = enc.input_ids[0].tolist()
    assert ids[0] == 2 and ids[-1] == 3 and len(ids) == 9
    body = ids[1:-1]
    assert body[3] == vocab["C"] and body[:3] == [vocab["AAAA"]] * 3 and body[4:] == [vocab["G"]] * 3


def test_matrix_passes_the_opt_in_to_transformer_cells_only(tiny_dataset, toydna):
    from dnactx.matrix.spec import build_spec

    spec = build_spec(tiny_dataset, {"model": f"cnn,{toydna}", "size": "20", "trust_remote_code": "true"},
                      baseline="none")
    cells = {c.config.model: c.config for c in spec.cells()}
    assert cells[str(toydna)].trust_remote_code is True
    assert cells["cnn"].trust_remote_code is False  # ignored by cnn, so its cell keeps the default
    assert json.loads(json.dumps(spec.to_json()))  # serialisable for submit's cells.json


@pytest.mark.parametrize("max_tokens", [1026, 40])
def test_character_level_table_gives_the_tokenizers_own_ids(toydna, max_tokens):
    from dnactx.models.checkpoint import load_tokenizer

    tok = load_tokenizer(toydna, trust_remote_code=True)
    assert tok.chars is not None
    rng = np.random.default_rng(1)
    bases = rng.choice(np.frombuffer(b"ACGTNRY", dtype=np.uint8), size=(50, 101))  # IUPAC letters → [UNK]
    fast = tok.encode(bases, 50, max_tokens)
    tok.chars = None
    slow = tok.encode(bases, 50, max_tokens)
    np.testing.assert_array_equal(fast.input_ids, slow.input_ids)
    np.testing.assert_array_equal(fast.truncated, slow.truncated)
    np.testing.assert_array_equal(fast.attention_mask, slow.attention_mask)


def test_merging_tokenizers_are_not_taken_for_character_level(tmp_path):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from dnactx.tokenize import HFTokenizer

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "ACGTNA", "A", "C", "G", "T", "N"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("ACGTNA|."), behavior="isolated")  # a 6-mer merge
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]")
    assert HFTokenizer(fast).chars is None
