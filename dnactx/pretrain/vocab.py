"""Tokenizers for a new DNA language model: built here, saved so ``AutoTokenizer.from_pretrained(DIR)`` loads them
without dnactx, and encoded here in batches with numpy (the same ids the saved tokenizer gives).

- ``kmer:K`` (K 3–6): overlapping k-mers, DNABERT's vocab.txt ([PAD] [UNK] [CLS] [SEP] [MASK], then every k-mer)
  read by BertTokenizer from space-separated k-mers, and by dnactx's own :class:`~dnactx.tokenize.KmerTokenizer`.
- ``nt:6``: non-overlapping 6-mers from the left, single bases where no whole ACGT 6-mer fits (the remainder, or
  around an N), as Nucleotide Transformer / AgroNT; ``<cls>`` first.
- ``char``: one token per base; ``[CLS]`` … ``[SEP]``.
- ``bpe:N``: byte-pair merges over A/C/G/T/N learned from the corpus with the ``tokenizers`` library (vocab N).

The last three are ``tokenizer.json`` files (a fast tokenizer); ``kmer`` is vocab.txt. ``centre`` of a token is
the index of its middle base in the window (-1 for special tokens and padding): evaluation scores by it.
"""

from __future__ import annotations

import itertools
import json
import re
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..errors import DnactxError
from ..sequence import base_codes
from ..tokenize import SPECIALS, KmerTokenizer, dnabert_vocab

TOKENIZER_CHOICES = "kmer:6|kmer:K (K 3-6)|nt:6|char|bpe:N"
NT_SPECIALS = ("<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>")
BPE_SAMPLE_BASES = 20_000_000  # bases of the corpus BPE learns its merges from


def parse_tokenizer(text: str) -> tuple[str, int]:
    """``kmer:6`` → ("kmer", 6); ``nt:6``, ``char``, ``bpe:4096``; anything else is one line with the choices."""
    m = re.fullmatch(r"(kmer|nt|bpe):(\d+)|char", text.strip())
    if m:
        kind, n = (m.group(1), int(m.group(2))) if m.group(1) else ("char", 1)
        if kind == "kmer" and 3 <= n <= 6 or kind == "nt" and n == 6 or kind == "char":
            return kind, n
        if kind == "bpe" and 16 <= n <= 65536:
            return kind, n
    raise DnactxError(f"--tokenizer {text!r} is not one of {TOKENIZER_CHOICES} (bpe:N with N 16-65536); "
                      "e.g. --tokenizer kmer:6")


class Vocab(ABC):
    """A tokenizer being pretrained with: ids for batches of windows, its special ids, and how to save it."""

    name: str
    span: int = 1  # consecutive tokens that show one base (k for overlapping k-mers)
    lead: int = 1  # special tokens before the first sequence token
    vocab_size: int
    pad_id: int
    mask_id: int
    special_ids: list[int]

    @abstractmethod
    def encode(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, centre) int64 (n, tokens) for upper-case ACGT windows (uint8 ASCII, N-free)."""

    @abstractmethod
    def save(self, out: Path, max_tokens: int = 512) -> None:
        """The tokenizer files in ``out``, loadable by ``AutoTokenizer.from_pretrained(out)`` without dnactx."""

    def tokens_per_window(self, length: int) -> float:
        return float(self.encode(np.full((1, length), ord("A"), np.uint8))[0].shape[1])


class KmerVocab(Vocab):
    def __init__(self, k: int) -> None:
        self.k = self.span = k
        self.name = f"kmer:{k}"
        self.words = dnabert_vocab(k)
        self.inner = KmerTokenizer(self.words)
        self.vocab_size = len(self.words)
        self.pad_id, self.mask_id = self.words.index("[PAD]"), self.words.index("[MASK]")
        self.special_ids = [self.words.index(t) for t in SPECIALS]

    def encode(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, length = bases.shape
        ids = self.inner.encode(bases, length // 2, max_tokens=length + 2).input_ids.astype(np.int64)
        centre = np.full(ids.shape, -1, dtype=np.int64)
        centre[:, 1:-1] = np.arange(ids.shape[1] - 2) + self.k // 2
        return ids, centre

    def save(self, out: Path, max_tokens: int = 512) -> None:
        (out / "vocab.txt").write_text("\n".join(self.words) + "\n", encoding="utf-8")
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "do_basic_tokenize": True,
                  "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]", "model_max_length": max_tokens,
                  "dnactx_tokenizer": self.name, "dnactx_input": f"space-separated overlapping {self.k}-mers"}
        (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


class FastVocab(Vocab):
    """A ``tokenizers`` tokenizer (nt:6, char, bpe:N) with [CLS]-style specials, saved as tokenizer.json."""

    def __init__(self, name: str, tokenizer, specials: dict[str, str], lead: int) -> None:
        self.name, self.tok, self.specials, self.lead = name, tokenizer, specials, lead
        self.vocab_size = tokenizer.get_vocab_size()
        self.pad_id = tokenizer.token_to_id(specials["pad_token"])
        self.mask_id = tokenizer.token_to_id(specials["mask_token"])
        self.special_ids = sorted(tokenizer.token_to_id(t) for t in specials.values())
        self._table = _word_table(tokenizer) if name in ("nt:6", "char") else None

    def encode(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.name == "char":
            return self._char(bases)
        if self.name == "nt:6":
            return self._nt(bases)
        return self._bpe(bases)

    def _char(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, length = bases.shape
        ids = np.empty((n, length + 2), dtype=np.int64)
        ids[:, 0], ids[:, -1] = self.tok.token_to_id("[CLS]"), self.tok.token_to_id("[SEP]")
        ids[:, 1:-1] = self._table[bases]
        centre = np.full(ids.shape, -1, dtype=np.int64)
        centre[:, 1:-1] = np.arange(length)
        return ids, centre

    def _nt(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, length = bases.shape
        q, r = divmod(length, 6)
        codes = base_codes(bases[:, :q * 6]).astype(np.int64).reshape(n, q, 6)
        kmer = np.zeros((n, q), dtype=np.int64)
        for j in range(6):
            kmer = kmer * 4 + codes[:, :, j]
        ids = np.empty((n, 1 + q + r), dtype=np.int64)
        ids[:, 0] = self.tok.token_to_id("<cls>")
        ids[:, 1:1 + q] = self._kmer_ids[kmer]
        ids[:, 1 + q:] = self._table[bases[:, q * 6:]]
        centre = np.full(ids.shape, -1, dtype=np.int64)
        centre[:, 1:1 + q] = np.arange(q) * 6 + 3
        centre[:, 1 + q:] = q * 6 + np.arange(r)
        return ids, centre

    @property
    def _kmer_ids(self) -> np.ndarray:
        if not hasattr(self, "_kmers"):
            self._kmers = np.array([self.tok.token_to_id("".join(p)) for p in itertools.product("ACGT", repeat=6)],
                                   dtype=np.int64)
        return self._kmers

    def _bpe(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(bases)
        encs = self.tok.encode_batch([row.tobytes().decode("ascii") for row in bases])
        width = max(len(e.ids) for e in encs)
        ids = np.full((n, width), self.pad_id, dtype=np.int64)
        centre = np.full((n, width), -1, dtype=np.int64)
        for i, e in enumerate(encs):  # the Rust tokenizer did the work; this copies its answer
            ids[i, :len(e.ids)] = e.ids
            off = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
            special = np.asarray(e.special_tokens_mask, dtype=bool)
            centre[i, :len(e.ids)] = np.where(special, -1, off[:, 0] + (off[:, 1] - off[:, 0] - 1) // 2)
        return ids, centre

    def tokens_per_window(self, length: int) -> float:
        return float(getattr(self, "mean_tokens", 0.0)) or super().tokens_per_window(length)

    def save(self, out: Path, max_tokens: int = 512) -> None:
        from transformers import PreTrainedTokenizerFast

        fast = PreTrainedTokenizerFast(tokenizer_object=self.tok, model_max_length=max_tokens, **self.specials)
        fast.save_pretrained(out)
        path = out / "tokenizer_config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config["dnactx_tokenizer"] = self.name
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _word_table(tokenizer) -> np.ndarray:
    """byte → id of the single-letter token (unk for anything else)."""
    unk = tokenizer.token_to_id("<unk>")
    unk = tokenizer.token_to_id("[UNK]") if unk is None else unk
    table = np.full(256, unk, dtype=np.int64)
    for b in "ACGTN":
        table[ord(b)] = tokenizer.token_to_id(b)
    return table


_BERT_SPECIALS = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                  "mask_token": "[MASK]"}


def _bert_post(tok) -> None:
    from tokenizers.processors import TemplateProcessing

    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])


def make_vocab(spec: str, corpus_windows: np.ndarray | None = None) -> Vocab:
    """The tokenizer ``spec`` names; bpe learns its merges from ``corpus_windows`` (upper-cased)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    kind, n = parse_tokenizer(spec)
    if kind == "kmer":
        return KmerVocab(n)
    if kind == "char":
        words = list(SPECIALS) + list("ACGTN")
        tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
        _bert_post(tok)
        return FastVocab("char", tok, _BERT_SPECIALS, lead=1)
    if kind == "nt":
        words = list(NT_SPECIALS) + ["".join(p) for p in itertools.product("ACGT", repeat=6)] + list("ACGTN")
        tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("[ACGT]{6}|."), behavior="isolated")
        from tokenizers.processors import TemplateProcessing

        tok.post_processor = TemplateProcessing(single="<cls> $A", pair="<cls> $A <eos> $B",
                                                special_tokens=[("<cls>", 3), ("<eos>", 4)])
        specials = {"unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "cls_token": "<cls>",
                    "eos_token": "<eos>", "bos_token": "<bos>"}
        return FastVocab("nt:6", tok, specials, lead=1)
    from tokenizers import trainers

    if corpus_windows is None or not len(corpus_windows):
        raise DnactxError("--tokenizer bpe:N learns from the corpus, which is empty; check --genome and --length")
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(vocab_size=n, special_tokens=list(SPECIALS), initial_alphabet=list("ACGTN"),
                                  show_progress=False)
    from ..sequence import CANON

    rows = max(1, min(len(corpus_windows), BPE_SAMPLE_BASES // corpus_windows.shape[1]))
    pick = np.linspace(0, len(corpus_windows) - 1, rows).astype(np.int64)
    sample = CANON[corpus_windows[pick]]
    tok.train_from_iterator((row.tobytes().decode("ascii") for row in sample), trainer=trainer)
    _bert_post(tok)
    vocab = FastVocab(f"bpe:{n}", tok, _BERT_SPECIALS, lead=1)
    vocab.mean_tokens = float(np.mean([len(e.ids) for e in tok.encode_batch(
        [row.tobytes().decode("ascii") for row in sample[:256]])]))
    return vocab
