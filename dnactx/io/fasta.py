"""A reference FASTA read one chromosome at a time: through its .fai index when plain or bgzip (+ .gzi), streamed
when plain gzip (which cannot be indexed)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import DnactxError
from ..provenance import sha256_file
from ..sequence import N
from .opener import gzip_guard, is_gzip, open_binary, require_file

_LETTER = np.zeros(256, dtype=bool)
_LETTER[ord("A"):ord("Z") + 1] = True
_LETTER[ord("a"):ord("z") + 1] = True
_LETTER[ord("*")] = _LETTER[ord("-")] = True  # stop / gap symbols some tools write; read as N
_BLANKS = b"\n\r \t"
_BLOCK = 1 << 23  # bytes read at a time
_SLAB = 1 << 24  # bytes of an indexed chromosome copied at a time


class FastaGenome:
    """A reference FASTA whose chromosomes are loaded one at a time.

    Public API (used by ``prepare``; built for a genome-wide ``predict`` that streams chromosome by chromosome):

    - ``names``: chromosome names in file order (the first word of each ``>`` line); ``lengths``: int64 array,
      same order; ``length(name)``.
    - ``chromosome(name, pad=0)``: one chromosome's bases as a uint8 array of ASCII letters exactly as written
      (upper/lower case kept: lower case is a soft-masked repeat; IUPAC letters kept), with ``pad`` ``N``
      bytes added on each side. Map through :data:`CANON` for upper-case A/C/G/T/N. With ``out`` (a uint8
      buffer of at least length + 2·pad bytes) it is written there and a view of it returned, so a caller that
      walks a genome can reuse one buffer sized for the largest chromosome.
    - ``chromosomes(names=None, pad=0, out=None)``: ``(name, bases)`` in file order, one chromosome in memory at
      a time (with ``out``, each one overwrites the last).
    - ``region(name, start, end)``: bases ``[start, end)`` (0-based) of one chromosome, clipped to it, as above;
      streamed access reads the file only up to ``end`` of that record.
    - ``sha256()``: hex digest of the file (computed once).
    - ``access``: ``"indexed"`` (a plain or bgzip FASTA read through its samtools-style ``.fai`` index — and, for
      bgzip, its ``.gzi`` block index — built with pyfaidx when absent; beside the FASTA, or in
      ``$DNACTX_CACHE`` when that folder is read-only) or ``"streamed"`` (plain gzip, which cannot be indexed,
      or a FASTA whose irregular line lengths defeat an index: read front to back, so ``chromosomes()`` costs
      one pass and ``chromosome(name)`` a pass up to that record). ``compression`` is ``"none"``, ``"gzip"``
      or ``"bgzip"``; ``access_reason`` says in words why the access is what it is. ``note`` says what was
      done to get access (an index built elsewhere, a fallback), or is None.

    Memory: one chromosome (its length plus padding, one byte per base) plus a 16 MB read buffer.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = require_file(Path(path), "--genome")
        self.note: str | None = None
        self._sha: str | None = None
        self._index: dict[str, tuple[int, int, int, int]] | None = None  # name → (length, offset, bases, bytes)
        self._blocks: tuple[np.ndarray, np.ndarray] | None = None  # bgzip: (compressed, uncompressed) block starts
        _require_fasta(self.path)
        self.compression = "bgzip" if is_bgzf(self.path) else "gzip" if is_gzip(self.path) else "none"
        self.access_reason = "through its .fai index" + (" and .gzi block index" if self.compression == "bgzip"
                                                          else "")
        if self.compression == "gzip":
            self.access_reason = ("read front to back: a plain gzip file cannot be indexed (`zcat FILE | bgzip > "
                                  "FILE.bgz` gives indexed access)")
        else:
            self._index = self._read_index()
        if self._index is not None:
            self.access = "indexed"
            self.names = list(self._index)
            lengths = [v[0] for v in self._index.values()]
        else:
            self.access = "streamed"
            self.names, lengths = self._scan()
        if not self.names:
            raise DnactxError(f"--genome {self.path} has no sequences; give a FASTA file")
        self.lengths = np.array(lengths, dtype=np.int64)
        self._position = {name: i for i, name in enumerate(self.names)}

    # -- public ---------------------------------------------------------------------------------------
    def length(self, name: str) -> int:
        return int(self.lengths[self._position[name]])

    def sha256(self) -> str:
        if self._sha is None:
            self._sha = sha256_file(self.path)
        return self._sha

    def chromosome(self, name: str, pad: int = 0, out: np.ndarray | None = None) -> np.ndarray:
        if name not in self._position:
            raise KeyError(name)
        if self._index is not None:
            return self._load_indexed(name, pad, out)
        return next(bases for _, bases in self.chromosomes([name], pad, out))

    def region(self, name: str, start: int, end: int) -> np.ndarray:
        length = self.length(name)
        start, end = max(0, start), min(end, length)
        if end <= start:
            return np.empty(0, dtype=np.uint8)
        if self._index is not None:
            _, offset, per_line, line_bytes = self._index[name]
            per_line, line_bytes = per_line or length, line_bytes or per_line or length
            first = offset + start // per_line * line_bytes + start % per_line
            last = offset + (end - 1) // per_line * line_bytes + (end - 1) % per_line + 1
            with gzip_guard(self.path), self._open_at(first) as fh:
                raw = fh.read(last - first).translate(None, _BLANKS)
            return np.frombuffer(raw, dtype=np.uint8).copy()
        got, inside = bytearray(), False
        for kind, data in _events(self.path):
            if kind == "header":
                if inside:
                    break
                inside = bool(data.split()) and data.split()[0].decode("utf-8", errors="replace") == name
            elif inside:
                got += data.translate(None, _BLANKS)
                if len(got) >= end:
                    break
        return np.frombuffer(bytes(got[start:end]), dtype=np.uint8).copy()

    def chromosomes(self, names: Iterable[str] | None = None, pad: int = 0,
                    out: np.ndarray | None = None) -> Iterator[tuple[str, np.ndarray]]:
        wanted = set(self.names if names is None else names)
        if self._index is not None:
            for name in self.names:
                if name in wanted:
                    yield name, self._load_indexed(name, pad, out)
            return
        yield from self._stream(wanted, pad, out)

    # -- indexed access ---------------------------------------------------------------------------------
    def _index_paths(self) -> tuple[Path, Path | None]:
        """Where the .fai (and, for bgzip, .gzi) index is: beside the FASTA, or in the cache when that is read-only."""
        gzi = self.compression == "bgzip"
        beside = [Path(f"{self.path}.fai")] + ([Path(f"{self.path}.gzi")] if gzi else [])
        if all(_fresh(p, self.path) for p in beside) or os.access(self.path.parent, os.W_OK):
            return beside[0], beside[1] if gzi else None
        key = _cache_dir() / _path_key(self.path)
        cached = [Path(f"{key}.fai")] + ([Path(f"{key}.gzi")] if gzi else [])
        if not all(_fresh(p, self.path) for p in cached):
            self.note = (f"indexed --genome {self.path} into {cached[0]} (its folder is read-only; "
                         "set DNACTX_CACHE to choose where)")
        return cached[0], cached[1] if gzi else None

    def _read_index(self) -> dict[str, tuple[int, int, int, int]] | None:
        import pyfaidx

        index_path, gzi_path = self._index_paths()
        self._drop_stale_index(index_path, gzi_path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                faidx = pyfaidx.Faidx(str(self.path), indexname=str(index_path), duplicate_action="stop",
                                      **({"gzi_indexname": str(gzi_path)} if gzi_path else {}))
            faidx.close()
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat) as exc:
            self.note = (f"--genome {self.path} cannot be indexed ({' '.join(str(exc).split())}); reading it front "
                         "to back instead")
            self.access_reason = "read front to back: " + self.note
            return None
        except ValueError as exc:
            if "Duplicate key" in str(exc):
                raise DnactxError(f"--genome {self.path}: a chromosome name appears twice ({exc}); remove the "
                                  "duplicate record") from None
            raise
        except OSError as exc:
            raise DnactxError(f"--genome {self.path}: cannot write its index {index_path} ({exc.strerror or exc}); "
                              "set DNACTX_CACHE to a writable folder") from None
        _write_stamp(index_path, self.path)
        if gzi_path is not None:
            self._blocks = (np.array([b.cstart for b in faidx.gzi_index], dtype=np.int64),
                            np.array([b.ustart for b in faidx.gzi_index], dtype=np.int64))
        return {name: (r.rlen, r.offset, r.lenc, r.lenb) for name, r in faidx.index.items()}

    def _drop_stale_index(self, index_path: Path, gzi_path: Path | None) -> None:
        """Remove an index that does not describe this FASTA, so pyfaidx builds a new one. pyfaidx trusts any index
        newer than the FASTA, but a FASTA replaced by a copy that kept an older timestamp (``cp -p``, ``rsync -t``,
        an unpacked archive) leaves a stale index that reads the wrong bases or fails with misleading messages.
        The stamp written beside the index (the FASTA's size and a hash of its first and last MiB) tells; for an
        index without a stamp (samtools, an older dnactx) a plain FASTA's size is checked against the index."""
        if not index_path.is_file():
            return
        stamp = _read_stamp(index_path)
        stale = stamp != _stamp(self.path) if stamp is not None else not _index_fits(index_path, self.path)
        if not stale:
            return
        try:
            for path in (index_path, gzi_path):
                if path is not None and path.exists():
                    path.unlink()
        except OSError as exc:
            raise DnactxError(f"--genome {self.path}: its index {index_path} belongs to another version of the file "
                              f"and cannot be removed ({exc.strerror or exc}); delete it (and any .gzi), or set "
                              "DNACTX_CACHE to a writable folder") from None
        self.note = (f"rebuilt the index of --genome {self.path}: {index_path} described another version of the "
                     "file (replaced by a copy with an older timestamp?)")

    @contextlib.contextmanager
    def _open_at(self, offset: int) -> Iterator[IO[bytes]]:
        """The FASTA's bytes from ``offset`` of its uncompressed text on: a plain file seeked there, or for bgzip
        a gzip reader started at the block that holds ``offset`` (found in the .gzi) and skipped into it."""
        with open(self.path, "rb") as raw:
            if self._blocks is None:
                raw.seek(offset)
                yield raw
                return
            compressed, uncompressed = self._blocks
            i = int(np.searchsorted(uncompressed, offset, side="right")) - 1
            raw.seek(int(compressed[i]))
            with gzip.GzipFile(fileobj=raw, mode="rb") as fh:  # reads the following blocks as gzip members
                fh.read(offset - int(uncompressed[i]))
                yield fh

    def _load_indexed(self, name: str, pad: int, buffer: np.ndarray | None) -> np.ndarray:
        length, offset, per_line, line_bytes = self._index[name]  # type: ignore[index]
        out = _padded(length, pad, buffer)
        per_line = per_line or max(length, 1)
        line_bytes = line_bytes or per_line
        full, rest = divmod(length, per_line)
        step = max(1, _SLAB // line_bytes)
        with gzip_guard(self.path), self._open_at(offset) as fh:
            for first in range(0, full, step):
                k = min(step, full - first)
                raw = fh.read(k * line_bytes)
                raw += b"\n" * (k * line_bytes - len(raw))  # the last line may lack its line end
                lines = np.frombuffer(raw, dtype=np.uint8).reshape(k, line_bytes)[:, :per_line]
                out[pad + first * per_line:pad + (first + k) * per_line] = lines.ravel()
            if rest:
                out[pad + full * per_line:pad + length] = np.frombuffer(fh.read(rest), dtype=np.uint8)
        _check_letters(out[pad:pad + length], self.path, name)
        return out

    # -- streamed access ----------------------------------------------------------------------------------
    def _scan(self) -> tuple[list[str], list[int]]:
        names: list[str] = []
        lengths: list[int] = []
        for kind, data in _events(self.path):
            if kind == "header":
                name = _record_name(data, self.path, names)
                names.append(name)
                lengths.append(0)
            else:
                clean = data.translate(None, _BLANKS)
                if clean and not names:
                    raise _not_fasta(self.path)
                if clean:
                    _check_letters(np.frombuffer(clean, dtype=np.uint8), self.path, names[-1], lengths[-1])
                    lengths[-1] += len(clean)
        return names, lengths

    def _stream(self, wanted: set[str], pad: int, buffer: np.ndarray | None) -> Iterator[tuple[str, np.ndarray]]:
        name: str | None = None
        out: np.ndarray | None = None
        fill = 0
        for kind, data in _events(self.path):
            if kind == "header":
                if out is not None:
                    yield name, out  # type: ignore[misc]
                out = None  # let the consumer's copy be the last one before the next is allocated
                name = data.split()[0].decode("utf-8", errors="replace") if data.split() else ""
                out = _padded(self.length(name), pad, buffer) if name in wanted else None
                fill = pad
            elif out is not None:
                clean = np.frombuffer(data.translate(None, _BLANKS), dtype=np.uint8)
                out[fill:fill + clean.size] = clean
                fill += clean.size
        if out is not None:
            yield name, out  # type: ignore[misc]


def is_bgzf(path: Path) -> bool:
    """Whether ``path`` is block gzip (bgzip, BGZF): a gzip member whose extra field holds the 'BC' subfield."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    return len(head) == 18 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _padded(length: int, pad: int, buffer: np.ndarray | None) -> np.ndarray:
    """An array of length + 2·pad N bytes: new, or the start of ``buffer``."""
    size = length + 2 * pad
    if buffer is None:
        return np.full(size, N, dtype=np.uint8)
    if buffer.size < size:
        raise ValueError(f"buffer of {buffer.size} bytes < {size} needed")
    out = buffer[:size]
    out[:pad] = N
    out[size - pad:] = N
    return out


def _events(path: Path) -> Iterator[tuple[str, bytes]]:
    """("header", text after '>') and ("seq", raw bytes) events, in file order, read block by block."""
    in_header, header, line_start = False, bytearray(), True
    with gzip_guard(path), open_binary(path) as fh:
        while block := fh.read(_BLOCK):
            pos = 0
            while pos < len(block):
                if in_header:
                    nl = block.find(b"\n", pos)
                    if nl < 0:
                        header += block[pos:]
                        break
                    header += block[pos:nl]
                    yield "header", bytes(header).rstrip(b"\r")
                    header.clear()
                    in_header, pos, line_start = False, nl + 1, True
                elif line_start and block[pos] == ord(">"):
                    in_header, pos = True, pos + 1
                else:
                    nxt = block.find(b"\n>", pos)
                    end = len(block) if nxt < 0 else nxt + 1
                    yield "seq", block[pos:end]
                    pos, line_start = end, block[end - 1] == ord("\n")
        if in_header:
            yield "header", bytes(header).rstrip(b"\r")


def _record_name(header: bytes, path: Path, seen: list[str]) -> str:
    words = header.split()
    name = words[0].decode("utf-8", errors="replace") if words else ""
    if not name:
        raise DnactxError(f"--genome {path}: record {len(seen) + 1} has a '>' line without a name; fix it")
    if name in seen:
        raise DnactxError(f"--genome {path}: chromosome {name!r} appears twice; remove the duplicate record")
    return name


def _check_letters(bases: np.ndarray, path: Path, name: str, offset: int = 0) -> None:
    bad = np.flatnonzero(~_LETTER[bases])
    if bad.size:
        i = int(bad[0])
        raise DnactxError(f"--genome {path}: unexpected character {chr(bases[i])!r} in sequence {name!r} at base "
                          f"{offset + i + 1:,}; is this a FASTA file?")


def _require_fasta(path: Path) -> None:
    with gzip_guard(path), open_binary(path) as fh:
        head = fh.read(4096)
    stripped = b"\n".join(ln for ln in head.splitlines() if ln.strip() and not ln.startswith(b";")).lstrip()
    if not stripped:
        raise DnactxError(f"--genome {path} is empty; give a FASTA file")
    if not stripped.startswith(b">"):
        raise _not_fasta(path)


def looks_like_fasta(path: Path) -> bool:
    """Whether the first non-blank line of ``path`` (plain or gzip) is a FASTA header."""
    try:
        _require_fasta(path)
    except DnactxError:
        return False
    return True


def _not_fasta(path: Path) -> DnactxError:
    return DnactxError(f"--genome {path} is not a FASTA file (its first line does not start with '>')")


def _fresh(index: Path, fasta: Path) -> bool:
    return index.is_file() and index.stat().st_mtime >= fasta.stat().st_mtime


_STAMP_BYTES = 1 << 20


def _stamp(fasta: Path) -> dict[str, object]:
    """What identifies a FASTA's content cheaply: its size and a hash of its first and last MiB."""
    size = fasta.stat().st_size
    digest = hashlib.sha256()
    with open(fasta, "rb") as fh:
        digest.update(fh.read(_STAMP_BYTES))
        if size > _STAMP_BYTES:
            fh.seek(max(_STAMP_BYTES, size - _STAMP_BYTES))
            digest.update(fh.read(_STAMP_BYTES))
    return {"size": size, "edges_sha256": digest.hexdigest()}


def _stamp_path(index_path: Path) -> Path:
    return Path(f"{index_path}.dnactx.json")


def _read_stamp(index_path: Path) -> dict[str, object] | None:
    """The stamp written when ``index_path`` was last checked, or None (absent, unreadable, or older than it)."""
    import json

    path = _stamp_path(index_path)
    try:
        if path.stat().st_mtime < index_path.stat().st_mtime:  # the index was rebuilt since: the stamp is old
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_stamp(index_path: Path, fasta: Path) -> None:
    from ..atomic import write_json

    with contextlib.suppress(OSError):  # only a speed-up: without it the index is checked by size next time
        write_json(_stamp_path(index_path), _stamp(fasta))


def _index_fits(index_path: Path, fasta: Path) -> bool:
    """Whether a .fai's last record ends where a plain FASTA of this size ends (compressed files: not checked)."""
    if is_gzip(fasta):
        return True
    try:
        rows = [line.split("\t") for line in index_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        length, offset, per_line, line_bytes = (int(v) for v in max(rows, key=lambda r: int(r[2]))[1:5])
    except (OSError, ValueError, IndexError):
        return False
    full, rest = divmod(length, per_line) if per_line else (0, length)
    end = offset + full * line_bytes + rest
    size = fasta.stat().st_size
    return end <= size <= end + max(line_bytes, 2) + 1


def _cache_dir() -> Path:
    root = os.environ.get("DNACTX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dnactx")
    path = Path(root) / "fai"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _path_key(path: Path) -> str:
    resolved = str(path.resolve())
    return f"{path.name}-{hashlib.blake2b(resolved.encode(), digest_size=8).hexdigest()}"
