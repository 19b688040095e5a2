"""Recognise a call file's format from the content of its first lines, not from its name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import DnactxError
from .formats import FORMATS, FormatSpec, specs
from .opener import head_lines, require_file

SAMPLE_LINES = 50
_HEADER_PREFIXES = ("#", "track", "browser")


@dataclass(frozen=True)
class Layout:
    """What reading needs: the format variant, how many leading header lines to skip, the column count."""

    spec: FormatSpec
    header_lines: int
    ncols: int
    stated_context: str | None = None  # the one context a file says it holds (MethylDackel's per-context files)


def split_fields(line: str, sep: str) -> list[str]:
    return re.split(r"\s+", line.strip()) if sep == r"\s+" else line.split(sep)


def _is_header(line: str) -> bool:
    if line.startswith(_HEADER_PREFIXES):
        return True
    # a column-name row ("chr pos strand ...") has no purely numeric field at all
    return not any(f.isdigit() for f in re.split(r"\s+", line.strip()))


def detect_format(path: str | Path, requested: str = "auto") -> Layout:
    """The format of ``path`` from its first data lines; ``requested`` other than auto must agree with them."""
    path = require_file(Path(path), "--calls")
    if requested != "auto" and requested not in FORMATS:
        raise DnactxError(f"unknown --format {requested!r}; use auto or one of {', '.join(FORMATS)}")
    lines = head_lines(path, 200 + SAMPLE_LINES)
    header = 0
    while header < len(lines) and lines[header].strip() and _is_header(lines[header]):
        header += 1
    sample = [ln for ln in lines[header:header + SAMPLE_LINES] if ln.strip()]
    if not sample:
        raise DnactxError(f"--calls {path} has no data lines; give a methylation call file "
                          f"({', '.join(FORMATS)})")
    # most sample lines must fit; a few bad ones are left for the parser to report with their line numbers
    score = {s: sum(s.looks_like(split_fields(ln, s.sep)) for ln in sample) / len(sample) for s in specs()}
    found = sorted((s for s in specs() if score[s] >= 0.8), key=lambda s: -score[s])
    first = sample[0]
    shown = first if len(first) <= 80 else first[:77] + "..."
    if requested == "auto":
        if not found:
            raise DnactxError(
                f"unknown format: cannot tell the format of --calls {path} from its first lines "
                f"(line {header + 1}: {shown!r}, {len(split_fields(first, chr(9)))} tab-separated fields); "
                f"give --format {'|'.join(FORMATS)} or check the file")
        spec = found[0]
    else:
        wanted = [s for s in found if s.name == requested]
        if not wanted:
            hint = f"it looks like {found[0].name}; drop --format or give --format {found[0].name}" if found \
                else f"expected columns: {specs(requested)[0].columns}"
            raise DnactxError(f"--calls {path} does not look like {requested} (line {header + 1}: {shown!r}); "
                              f"{hint}")
        spec = wanted[0]
    context = _stated_context(path, lines[:header]) if spec.name == "methyldackel" else None
    return Layout(spec=spec, header_lines=header, ncols=len(split_fields(first, spec.sep)), stated_context=context)


_CONTEXT_WORD = re.compile(r"(?<![A-Za-z])(CpG|CHG|CHH)(?![A-Za-z])")


def _stated_context(path: Path, header: list[str]) -> str | None:
    """The context a MethylDackel bedGraph holds: from its track line ("... CpG methylation levels"), else from
    its name (``sample_CHG.bedGraph``); None when neither says (``MethylDackel mergeContext`` output)."""
    for text in [*(ln for ln in header if ln.startswith("track")), path.name]:
        found = {m.group(1) for m in _CONTEXT_WORD.finditer(text.replace("_", " "))}
        if len(found) == 1:
            return {"CpG": "CG", "CHG": "CHG", "CHH": "CHH"}[found.pop()]
    return None


def check_roles(genome: Path, calls: Path) -> None:
    """Stop with a hint when --genome and --calls look swapped, or either is the other kind of file."""
    from .fasta import looks_like_fasta

    genome_is_fasta = not genome.is_file() or looks_like_fasta(genome)
    calls_is_fasta = calls.is_file() and looks_like_fasta(calls)
    if genome_is_fasta and not calls_is_fasta:
        return
    as_calls = None
    if not genome_is_fasta:
        try:
            as_calls = detect_format(genome).spec.name
        except DnactxError:
            as_calls = None
    if as_calls and calls_is_fasta:
        raise DnactxError(f"--genome {genome} looks like a methylation call file ({as_calls}); --calls {calls} "
                          "looks like a FASTA: swap them?")
    if as_calls:
        raise DnactxError(f"--genome {genome} looks like a methylation call file ({as_calls}), not a FASTA; give "
                          "the reference FASTA to --genome and the calls to --calls")
    if calls_is_fasta:
        raise DnactxError(f"--calls {calls} looks like a FASTA, not a methylation call file; give the calls to "
                          "--calls and the reference to --genome")
