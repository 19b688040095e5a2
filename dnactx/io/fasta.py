"""A reference FASTA (plain or gzip) held in memory as one padded uint8 array with a soft-mask bitmap."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DnactxError
from .opener import read_all, require_file

N = ord("N")
# Upper-case A/C/G/T stay, every other letter (IUPAC codes, N) becomes N.
_CANON = np.full(256, N, dtype=np.uint8)
for _b in b"ACGT":
    _CANON[_b] = _b
COMPLEMENT = np.full(256, N, dtype=np.uint8)
for _a, _b in zip(b"ACGTN", b"TGCAN", strict=True):
    COMPLEMENT[_a] = _b
_LETTER = np.zeros(256, dtype=bool)
_LETTER[ord("A"):ord("Z") + 1] = True
_LETTER[ord("a"):ord("z") + 1] = True
_LETTER[ord("*")] = _LETTER[ord("-")] = True  # stop / gap symbols some tools write; read as N


@dataclass
class Genome:
    """All chromosomes in one array ``seq`` (upper-case A/C/G/T/N codes), each surrounded by ``pad`` Ns.

    A 1-based position ``pos`` on chromosome ``i`` sits at ``offsets[i] + pos - 1`` in ``seq`` and ``masked``,
    so windows of up to ``pad`` bases each side never cross into a neighbouring chromosome.
    """

    path: Path
    names: list[str]
    lengths: np.ndarray  # int64, per chromosome
    offsets: np.ndarray  # int64, index in seq of each chromosome's first base
    seq: np.ndarray  # uint8
    masked: np.ndarray  # bool, lower-case (soft-masked) in the FASTA
    pad: int

    @functools.cached_property
    def stranded(self) -> np.ndarray:
        """``seq`` followed by its reverse complement (built on first use), so minus-strand windows are
        plain slices too."""
        return np.concatenate([self.seq, COMPLEMENT[self.seq[::-1]]])

    @property
    def revcomp(self) -> np.ndarray:
        return self.stranded[self.seq.size:]

    @property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def chromosome(self, name: str) -> str:
        """One chromosome's sequence as a string (upper case); for tests and small lookups."""
        i = self.index[name]
        start = int(self.offsets[i])
        return self.seq[start:start + int(self.lengths[i])].tobytes().decode("ascii")


def read_fasta(path: str | Path, pad: int = 0) -> Genome:
    """Read every record of a plain or gzip FASTA; lower case marks soft-masked repeats."""
    path = require_file(Path(path), "--genome")
    data = read_all(path)
    if not data.strip():
        raise DnactxError(f"--genome {path} is empty; give a FASTA file")
    if not data.lstrip().startswith(b">"):
        raise DnactxError(f"--genome {path} is not a FASTA file (the first character is not '>'); "
                          "check that --genome and --calls are not swapped")
    names: list[str] = []
    seen: set[str] = set()
    bodies: list[np.ndarray] = []
    start = data.index(b">")
    while start != -1:
        header_end = data.find(b"\n", start)
        header_end = len(data) if header_end == -1 else header_end
        header = data[start + 1:header_end].decode("utf-8", errors="replace").strip()
        name = header.split()[0] if header.split() else ""
        if not name:
            line = data.count(b"\n", 0, start) + 1
            raise DnactxError(f"--genome {path} line {line}: a FASTA header without a name; fix the '>' line")
        if name in seen:
            raise DnactxError(f"--genome {path}: chromosome {name!r} appears twice; remove the duplicate record")
        nxt = data.find(b"\n>", header_end)
        body_end = len(data) if nxt == -1 else nxt
        body = np.frombuffer(data, dtype=np.uint8, count=body_end - header_end, offset=header_end)
        bad = np.flatnonzero((body > 32) & ~_LETTER[body])
        if bad.size:
            at = header_end + int(bad[0])
            line = data.count(b"\n", 0, at) + 1
            raise DnactxError(f"--genome {path} line {line}: unexpected character {chr(data[at])!r} in "
                              f"sequence {name!r}; is this a FASTA file?")
        raw = body[body > 32]  # drop newlines, carriage returns and spaces
        names.append(name)
        seen.add(name)
        bodies.append(raw)
        start = -1 if nxt == -1 else nxt + 1
    return _assemble(path, names, bodies, pad)


def _assemble(path: Path, names: list[str], bodies: list[np.ndarray], pad: int) -> Genome:
    lengths = np.array([b.size for b in bodies], dtype=np.int64)
    offsets = pad + np.concatenate([[0], np.cumsum(lengths + pad)[:-1]]).astype(np.int64)
    total = int(lengths.sum() + pad * (len(bodies) + 1))
    seq = np.full(total, N, dtype=np.uint8)
    masked = np.zeros(total, dtype=bool)
    for off, body in zip(offsets, bodies, strict=True):
        seq[off:off + body.size] = _CANON[body & 0xDF]  # & 0xDF upper-cases ASCII letters
        masked[off:off + body.size] = body >= ord("a")
    return Genome(path=path, names=names, lengths=lengths, offsets=offsets, seq=seq, masked=masked, pad=pad)
