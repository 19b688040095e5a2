"""k-mer tokenisation: matches a per-string reference, N → [UNK], truncation keeps the cytosine centred."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dnactx.errors import DnactxError
from dnactx.sequence import cut_context, to_ascii
from dnactx.tokenize import KmerTokenizer, dnabert_vocab, kmer_size


def _reference(seq: str, vocab: list[str], k: int = 6) -> list[int]:
    index = {t: i for i, t in enumerate(vocab)}
    kmers = [seq[i:i + k] for i in range(len(seq) - k + 1)]
    return [index["[CLS]"]] + [index.get(km, index["[UNK]"]) for km in kmers] + [index["[SEP]"]]


def test_vocab_is_dnabert6_layout():
    vocab = dnabert_vocab(6)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == 5 + 4096
    assert vocab[5:7] == ["AAAAAA", "AAAAAT"] and vocab[-1] == "GGGGGG"
    assert vocab[5:] == ["".join(p) for p in itertools.product("ATCG", repeat=6)]
    assert kmer_size(vocab) == 6
    assert kmer_size(["[PAD]", "[UNK]", "A", "AC"]) is None


def test_matches_reference_including_n():
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 41)) for _ in range(20)]
    seqs[3] = seqs[3][:10] + "N" + seqs[3][11:]
    vocab = dnabert_vocab(6)
    enc = KmerTokenizer(vocab).encode(to_ascii(seqs), center=20, max_tokens=512)
    assert enc.input_ids.shape == (20, 36 + 2)
    for i, s in enumerate(seqs):
        assert enc.input_ids[i].tolist() == _reference(s, vocab)
    assert (enc.input_ids[3, 6:12] == vocab.index("[UNK]")).all()  # the six k-mers covering the N
    assert not enc.truncated.any()


def test_vocab_order_is_read_from_the_file():
    vocab = dnabert_vocab(3)
    shuffled = vocab[:5] + sorted(vocab[5:], reverse=True)
    seq = "ACGTTGCA"
    ids = KmerTokenizer(shuffled).encode(to_ascii([seq]), center=4).input_ids[0].tolist()
    assert [shuffled[i] for i in ids] == ["[CLS]", "ACG", "CGT", "GTT", "TTG", "TGC", "GCA", "[SEP]"]


@pytest.mark.parametrize("mode", ["both", "up", "down"])
def test_truncation_keeps_the_cytosine(mode):
    window, size = 1200, 600
    seq = "A" * 600 + "C" + "A" * 600
    bases, center = cut_context([seq], window, size, mode)
    tok = KmerTokenizer(dnabert_vocab(6))
    enc = tok.encode(bases, center, max_tokens=512)
    ids = enc.input_ids[0]
    assert ids.size == 512 and enc.truncated[0] == (bases.shape[1] - 5 > 510)
    body = ids[1:-1]
    c_tokens = np.flatnonzero(body != tok.vocab.index("AAAAAA"))
    expected = {"both": 6, "up": 1, "down": 1}[mode]  # k-mers that hold the C (fewer at a window's edge)
    assert c_tokens.size == expected
    if mode == "both":
        assert abs(c_tokens.mean() - (body.size - 1) / 2) <= 1  # centred
    elif mode == "up":
        assert c_tokens[0] == body.size - 1  # the C is the last base: kept at the far end
    else:
        assert c_tokens[0] == 0


def test_cut_context_modes_and_window_error():
    seq = "".join("ACGT"[i % 4] for i in range(21))  # window 20, C at index 10
    seq = seq[:10] + "C" + seq[11:]
    for mode, expect in {"up": seq[7:11], "down": seq[10:14], "both": seq[7:14]}.items():
        bases, center = cut_context([seq], 20, 3, mode)
        assert bases[0].tobytes().decode() == expect
        assert chr(bases[0, center]) == "C"
    with pytest.raises(DnactxError, match="window 20"):
        cut_context([seq], 20, 11, "both")


def test_non_kmer_checkpoints_use_their_own_tokenizer_and_keep_the_c(tmp_path):
    """A character-level tokenizer (HyenaDNA-like) goes through AutoTokenizer; truncation stays centred."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from dnactx.models.checkpoint import load_tokenizer
    from dnactx.tokenize import HFTokenizer

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "A", "C", "G", "T", "N"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                 ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]").save_pretrained(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, HFTokenizer)
    seq = "A" * 30 + "C" + "A" * 30
    enc = loaded.encode(to_ascii([seq, seq]), center=30, max_tokens=12)
    assert enc.input_ids.shape == (2, 12) and enc.truncated.all()
    body = enc.input_ids[0, 1:-1].tolist()
    assert enc.input_ids[0, 0] == 2 and enc.input_ids[0, -1] == 3
    assert body.index(vocab["C"]) in (4, 5)  # the C sits in the middle of the 10 kept characters
