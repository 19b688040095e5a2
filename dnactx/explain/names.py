"""Chromosome names of a BED or VCF file matched to the genome's, as prepare matches a calls file's (--chrom-alias)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import DnactxError
from ..io.chromnames import alias_hint


def match_chroms(names: Iterable[str], genome_names: list[str], aliases: dict[str, str], what: str, *,
                 required: bool = True) -> dict[str, str]:
    """{file name: genome name} for every name the genome has (directly or through ``aliases``, file name →
    FASTA name). Names it lacks are left out; when it lacks all of them and ``required``, a DnactxError with
    prepare's alias hint."""
    known = set(genome_names)
    names = sorted(set(names))
    found = {name: aliases.get(name, name) for name in names if aliases.get(name, name) in known}
    bad_aliases = sorted(target for target in aliases.values() if target not in known)
    if bad_aliases and required:
        raise DnactxError(f"--chrom-alias maps to {', '.join(bad_aliases[:3])}, which the genome does not have "
                          f"(it has {', '.join(genome_names[:5])}{' …' if len(genome_names) > 5 else ''})")
    if names and not found and required:
        missing = [n for n in names if n not in found]
        raise DnactxError(f"{what}: none of its chromosomes ({', '.join(missing[:5])}) is in the genome (which has "
                          f"{', '.join(genome_names[:5])}{' …' if len(genome_names) > 5 else ''}); map names with "
                          f"--chrom-alias FILE_NAME=FASTA_NAME{alias_hint(missing, genome_names)}")
    return found
