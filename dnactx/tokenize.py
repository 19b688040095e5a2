"""Vectorised tokenisation of DNA windows: overlapping k-mers → vocab ids, truncation keeping the C centred."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from .errors import DnactxError
from .sequence import Encoded, base_codes

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
def dnabert_vocab(k: int = 6) -> list[str]:
    """The DNABERT-k vocab.txt: five specials, then every k-mer in product order over A, T, C, G."""
    return list(SPECIALS) + ["".join(p) for p in itertools.product("ATCG", repeat=k)]


def read_vocab(path: Path) -> list[str]:
    return [line.rstrip("\r\n") for line in Path(path).read_text(encoding="utf-8").splitlines()]


def kmer_size(vocab: list[str]) -> int | None:
    """k when ``vocab`` is an overlapping k-mer vocab (all 4^k k-mers over ACGT present), else None."""
    kmers = [t for t in vocab if t and not t.startswith("[")]
    lengths = {len(t) for t in kmers}
    if len(lengths) != 1 or not all(set(t) <= set("ACGT") for t in kmers):
        return None
    k = lengths.pop()
    return k if len(set(kmers)) == 4**k and "[UNK]" in vocab and "[CLS]" in vocab and "[SEP]" in vocab else None


def centred_span(length: int, center: int, keep: int) -> tuple[int, int]:
    """[start, stop) of ``keep`` consecutive items out of ``length`` centred on ``center`` (clipped to the ends)."""
    if keep >= length:
        return 0, length
    start = min(max(center - keep // 2, 0), length - keep)
    return start, start + keep


def kmer_span(length: int, center: int, k: int, max_tokens: int) -> tuple[int, int]:
    """[start, stop) of the overlapping k-mers kept from a ``length``-bp window: all of them when they fit in
    ``max_tokens`` with [CLS] and [SEP], else ``max_tokens - 2`` centred on the k-mer whose middle base is the C
    at ``center`` (clipped at the ends, e.g. for up/down windows). k-mer i covers bases i … i + k - 1."""
    nk = max(length - k + 1, 0)
    return centred_span(nk, min(max(center - k // 2, 0), max(nk - 1, 0)), min(nk, max_tokens - 2))


class KmerTokenizer:
    """DNABERT-style overlapping k-mer tokenizer driven by a checkpoint's vocab.txt, with numpy only."""

    def __init__(self, vocab: list[str]) -> None:
        k = kmer_size(vocab)
        if k is None:
            raise DnactxError("vocab is not an overlapping k-mer vocab (DNABERT-k); use the checkpoint's own tokenizer")
        self.k = k
        self.vocab = vocab
        index = {t: i for i, t in enumerate(vocab)}
        self.unk, self.cls, self.sep, self.pad = index["[UNK]"], index["[CLS]"], index["[SEP]"], index.get("[PAD]", 0)
        # table[id in base 4 over A C G T] = vocab id, whatever order the vocab file lists them in
        self.table = np.full(4**k, self.unk, dtype=np.int32)
        for kmer in itertools.product("ACGT", repeat=k):
            code = 0
            for b in kmer:
                code = code * 4 + "ACGT".index(b)
            self.table[code] = index["".join(kmer)]
        self.dtype = np.int16 if len(vocab) < 2**15 else np.int32

    @classmethod
    def from_dir(cls, path: Path) -> KmerTokenizer:
        return cls(read_vocab(Path(path) / "vocab.txt"))

    def encode(self, bases: np.ndarray, center: int, max_tokens: int = 512) -> Encoded:
        """[CLS] k-mers [SEP] for each row; over ``max_tokens`` the k-mers around the C are kept."""
        bases = np.asarray(bases, dtype=np.uint8)
        n, length = bases.shape
        k = self.k
        nk = max(length - k + 1, 0)
        start, stop = kmer_span(length, center, k, max_tokens)
        keep = stop - start
        codes = base_codes(bases[:, start:stop + k - 1])
        ids = np.zeros((n, keep), dtype=np.int64)
        bad = np.zeros((n, keep), dtype=bool)
        for j in range(k):  # rolling base-4 k-mer id: k vectorised passes over the matrix
            col = codes[:, j:j + keep]
            ids = ids * 4 + (col & 3)
            bad |= col > 3
        tokens = np.where(bad, self.unk, self.table[ids]).astype(self.dtype)
        out = np.empty((n, keep + 2), dtype=self.dtype)
        out[:, 0], out[:, -1], out[:, 1:-1] = self.cls, self.sep, tokens
        return Encoded(out, np.ones_like(out, dtype=np.uint8), np.full(n, keep < nk, dtype=bool))


class HFTokenizer:
    """Any other checkpoint (BPE, character-level, non-overlapping k-mers) through its own AutoTokenizer.

    Truncation keeps the checkpoint's special tokens (wherever it puts them) and cuts the sequence tokens around
    the one that covers the cytosine: found from character offsets where the tokenizer reports them (fast
    tokenizers), else by the cytosine's relative position in the window.
    """

    def __init__(self, tokenizer) -> None:
        self.tok = tokenizer
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.dtype = np.int32
        self.chars = _char_level(tokenizer)  # (byte → id table, lead ids, trail ids) for HyenaDNA-style tokenizers

    def _tokenize(self, texts: list[str]) -> tuple[list[list[int]], list[list[int]], list | None]:
        fast = bool(getattr(self.tok, "is_fast", False))  # only Rust-backed tokenizers report character offsets
        enc = self.tok(texts, add_special_tokens=True, truncation=False, return_special_tokens_mask=True,
                       return_offsets_mapping=fast)
        offsets = enc["offset_mapping"] if fast else None
        ids = enc["input_ids"]
        special = enc.get("special_tokens_mask") or [[0] * len(row) for row in ids]
        return ids, special, offsets

    def encode(self, bases: np.ndarray, center: int, max_tokens: int = 512) -> Encoded:
        from .sequence import as_strings

        n, length = bases.shape
        if self.chars is not None:
            return self._encode_chars(bases, center, max_tokens)
        ids_all, special_all, offsets_all = self._tokenize(as_strings(bases))
        rel = center / max(length - 1, 1)
        rows, truncated = [], np.zeros(n, dtype=bool)
        for i, ids in enumerate(ids_all):
            if len(ids) > max_tokens:
                truncated[i] = True
                body = [j for j, sp in enumerate(special_all[i]) if not sp]
                lead = [j for j in range(len(ids)) if special_all[i][j] and (not body or j < body[0])]
                trail = [j for j in range(len(ids)) if special_all[i][j] and body and j > body[-1]]
                at = _token_at(offsets_all[i], body, center) if offsets_all is not None else None
                if at is None:
                    at = round(rel * (len(body) - 1))
                start, stop = centred_span(len(body), at, max(max_tokens - len(lead) - len(trail), 1))
                ids = [ids[j] for j in lead + body[start:stop] + trail]
            rows.append(ids)
        width = max((len(r) for r in rows), default=0)
        out = np.full((n, width), self.pad, dtype=self.dtype)
        mask = np.zeros((n, width), dtype=np.uint8)
        for i, ids in enumerate(rows):
            out[i, :len(ids)] = ids
            mask[i, :len(ids)] = 1
        return Encoded(out, mask, truncated)

    def _encode_chars(self, bases: np.ndarray, center: int, max_tokens: int) -> Encoded:
        """One token per base: a table lookup, the same ids the tokenizer gives, ~100x faster than calling it."""
        table, lead, trail = self.chars
        n, length = bases.shape
        start, stop = centred_span(length, center, max(max_tokens - len(lead) - len(trail), 1))
        a, b = len(lead), len(lead) + stop - start
        ids = np.empty((n, b + len(trail)), dtype=self.dtype)
        ids[:, :a] = lead
        ids[:, a:b] = table[np.asarray(bases, dtype=np.uint8)[:, start:stop]]
        ids[:, b:] = trail
        return Encoded(ids, np.ones(ids.shape, dtype=np.uint8), np.full(n, stop - start < length))


_PROBE = "ACGTNACGTTGCANNACGGTCAATTTAACCCGGG"


def _char_level(tok) -> tuple[np.ndarray, list[int], list[int]] | None:
    """For a tokenizer that gives every letter its own token: a byte → id table and the special tokens it puts
    before and after a sequence. None for anything else (k-mers, BPE), which then goes through the tokenizer.

    Its vocabulary must hold no token of two or more bases (so nothing can merge), and a probe must come out one
    token per letter, the letter's own.
    """
    try:
        if any(len(t) > 1 and set(t.upper()) <= set("ACGTN") for t in tok.get_vocab()):
            return None
        plain = tok(_PROBE, add_special_tokens=False)["input_ids"]
        letters = [tok.convert_tokens_to_ids(ch) for ch in _PROBE]
        if plain != letters or any(i is None for i in letters):
            return None
        full = tok(_PROBE, add_special_tokens=True)["input_ids"]
    except Exception:
        return None
    at = next((i for i in range(len(full) - len(plain) + 1) if full[i:i + len(plain)] == plain), None)
    if at is None:
        return None
    table = np.full(256, tok.convert_tokens_to_ids(tok.unk_token) if tok.unk_token else 0, dtype=np.int32)
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = tok.convert_tokens_to_ids(chr(code))
    if (table < 0).any():
        return None
    return table, full[:at], full[at + len(plain):]


def _token_at(offsets: list[tuple[int, int]], body: list[int], char: int) -> int | None:
    """Index into ``body`` of the token whose character span covers ``char``, if the offsets say."""
    for k, j in enumerate(body):
        start, stop = offsets[j]
        if start <= char < stop:
            return k
    return None
