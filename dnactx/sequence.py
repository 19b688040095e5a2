"""The sequence representations, one place naming each shape and dtype, with the converters between them.

=================  ==========================================  ===================================================
representation     shape, dtype                                what it holds
=================  ==========================================  ===================================================
genome bases       uint8 (length,)                             ASCII as the FASTA has it (case kept: lower = soft-
                                                               masked repeat); :data:`CANON` → upper A/C/G/T/N,
                                                               :data:`COMPLEMENT` → the complementary base
window             uint8 (n, window + 1)                       dataset.parquet's ``seq``: upper-case A/C/G/T/N,
                                                               5'→3' on the site's strand, the C at
                                                               ``window // 2``, N beyond a chromosome end
cut input          uint8 (n, length), and ``center``           the window cut to ``size`` bp up/down/both of the
                                                               C (:func:`context_slice`, :func:`cut_context`);
                                                               the C at index ``center`` of each row
text               list[str] of equal length                   :func:`as_strings` (cut input → text, for
                                                               tokenizers that need it), :func:`to_ascii` back
base codes         uint8 (n, length)                           A0 C1 G2 T3, 4 for N or anything else
                                                               (:func:`base_codes`): what lr and cnn read
one-hot            float32 (n, length, 4)                      :data:`ONE_HOT` indexed by base codes (N: all
                                                               zeros); the cnn transposes it to (n, 4, length)
context ids        int64 (n,)                                  0 CG, 1 CHG, 2 CHH (:data:`CONTEXT_CODES`)
strand             int8 (n,)                                   +1 / −1 (:func:`strand_codes`)
token ids          :class:`Encoded`: int16/int32 (n, tokens)   a transformer's input ids, their attention mask
                   + uint8 mask + bool (n,) truncated          and which rows lost bases to the position limit
                                                               (made by dnactx.tokenize's tokenizers)
=================  ==========================================  ===================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import DnactxError

N = ord("N")
# Any letter, either case → upper-case A/C/G/T, everything else (IUPAC codes, N, '*', '-') → N.
CANON = np.full(256, N, dtype=np.uint8)
for _b in b"ACGT":
    CANON[_b] = CANON[_b | 0x20] = _b
COMPLEMENT = np.full(256, N, dtype=np.uint8)
for _a, _b in zip(b"ACGTN", b"TGCAN", strict=True):
    COMPLEMENT[_a] = _b

_CODE = np.full(256, 4, dtype=np.uint8)  # A C G T → 0 1 2 3; anything else (N) → 4
for _i, _c in enumerate("ACGT"):
    _CODE[ord(_c)] = _CODE[ord(_c.lower())] = _i
ONE_HOT = np.eye(5, 4, dtype=np.float32)  # base code → one-hot row; N (4) → all zeros

CONTEXT_CODES = {"CG": 0, "CHG": 1, "CHH": 2}


@dataclass
class Encoded:
    input_ids: np.ndarray  # int16/int32 (n, tokens)
    attention_mask: np.ndarray  # uint8 (n, tokens)
    truncated: np.ndarray  # bool (n,): row lost bases to the position limit


def base_codes(bases: np.ndarray) -> np.ndarray:
    """uint8 ASCII matrix → codes A0 C1 G2 T3, 4 for N or anything else."""
    return _CODE[np.asarray(bases, dtype=np.uint8)]


def to_ascii(seqs: list[str]) -> np.ndarray:
    """Equal-length strings → uint8 (n, length) ASCII matrix."""
    if not seqs:
        return np.zeros((0, 0), dtype=np.uint8)
    return np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8).reshape(len(seqs), -1)


def as_strings(bases: np.ndarray) -> list[str]:
    """uint8 ASCII rows back to Python strings (for tokenizers that need text)."""
    return [row.tobytes().decode("ascii") for row in bases]


def context_slice(window: int, size: int, mode: str) -> tuple[int, int, int]:
    """(start, stop, index of the C) of the ``size`` bp up/down/both cut of a window centred on its C."""
    c = window // 2
    if size > c:
        raise DnactxError(f"--size {size} is larger than the dataset's window allows ({c} bp each side, "
                          f"window {window}); use --size ≤ {c} or run `dnactx prepare` with a larger --window")
    return {"up": (c - size, c + 1, size), "down": (c, c + size + 1, 0), "both": (c - size, c + size + 1, size)}[mode]


def cut_context(seqs: np.ndarray | list[str], window: int, size: int, mode: str) -> tuple[np.ndarray, int]:
    """Cut ``size`` bp up/down/both around the C at ``window // 2``.

    ``seqs``: equal-length strings, or a uint8 ASCII matrix of shape (n, window + 1) (as prepare cuts windows).
    Returns (uint8 ASCII matrix of shape (n, length), index of the C in each row).
    """
    start, stop, center = context_slice(window, size, mode)
    if isinstance(seqs, np.ndarray) and seqs.dtype == np.uint8:
        if seqs.ndim != 2:
            raise ValueError(f"windows must be a 2-D (n, window + 1) matrix, got shape {seqs.shape}")
        codes = seqs
    else:
        arr = np.asarray(seqs, dtype=object)
        if arr.size == 0:
            return np.zeros((0, stop - start), dtype=np.uint8), center
        codes = np.frombuffer("".join(arr.tolist()).encode("ascii"), dtype=np.uint8).reshape(arr.size, -1)
    if codes.shape[1] != window + 1:
        raise DnactxError(f"dataset sequences are {codes.shape[1]} bp but prepare.json says window {window}; "
                          "re-run `dnactx prepare`")
    return np.ascontiguousarray(codes[:, start:stop]), center


def strand_codes(strand: np.ndarray | Iterable) -> np.ndarray:
    """+1 / -1 (int8) from +1/-1 numbers or "+"/"-" strings; anything else is a ValueError."""
    arr = np.asarray(strand)
    if arr.dtype.kind in "UOS":
        text = arr.astype(str)
        codes = np.where(text == "+", 1, np.where(text == "-", -1, 0)).astype(np.int8)
    else:
        codes = arr.astype(np.int8)
    if codes.size and not np.isin(codes, (-1, 1)).all():
        raise ValueError("strand must be +1/-1 or '+'/'-' for every site")
    return codes
