"""`dnactx prepare` end to end: read every call file into a spill (pass one), then build sites chromosome by
chromosome against the genome (pass two), write dataset.parquet and prepare.json."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from .. import __version__
from ..atomic import write_json
from ..choices import SPLITS
from ..errors import DnactxError
from ..io.annotation import read_annotation
from ..io.chromnames import alias_hint
from ..io.detect import Layout, check_roles, detect_format
from ..io.fasta import FastaGenome
from ..progress import Progress
from ..provenance import library_versions, sha256_file
from .build import READ_LEVEL_LIMIT, SiteBuilder, dataset_schema, early_check
from .ingest import Ingest, Occupancy
from .options import PrepareOptions
from .output import staged_output
from .spill import Spill
from .splits import BlockSplits, min_blocks
from .summary import Tally
from .windows import Stranded, window_pad

WRITE_ROWS = 100_000  # dataset rows cut and written at a time: ~80 MB of windows at the default 801 bp
DUPLICATE_RULE = ("a site (position and strand) with rows in several files, or twice in one file, is one "
                  "dataset row whose methylated and total reads are the sums of those rows")


def prepare_dataset(options: PrepareOptions, *, warn: Callable[[str], None] | None = None,
                    progress: Progress | None = None) -> dict:
    """Write ``options.out``/dataset.parquet and prepare.json; return the summary written to prepare.json.

    ``progress`` (one Progress for both passes) counts the call-file rows read, then the sites built."""
    started = time.perf_counter()
    progress = progress or Progress("prepare", enabled=False)
    for calls in options.calls:
        check_roles(options.genome, calls)
    layouts = [detect_format(path, options.labels.format) for path in options.calls]
    genome = FastaGenome(options.genome)
    notes = [genome.note] if genome.note else []
    annotation = None
    if options.annotation is not None:
        annotation = read_annotation(options.annotation, genome.names, chrom_alias=options.labels.chrom_alias,
                                     promoter_bp=options.promoter_bp, downstream_bp=options.downstream_bp)
        notes += annotation.warnings
    tally = Tally()
    pad = window_pad(options.window)
    chunk_rows = max(1, min(options.chunk_rows, (2**31 - 1) // (options.window + 1)))
    with staged_output(options.out) as stage:
        spill = Spill(stage / "spill", genome.lengths)
        occupancy = Occupancy(genome.lengths, block_sizes(options)) if options.split == "blocks" else None
        ingest = Ingest(options, genome, tally, spill, occupancy)
        progress.restart("reading calls", None, unit="rows")
        for i, (path, layout) in enumerate(zip(options.calls, layouts, strict=True)):
            ingest.read(i, path, layout, chunk_rows, progress=progress,
                        first=lambda records: early_check(options, genome, layouts, records))
        splits, chrom_split, note = _splits(options, genome, occupancy)
        notes += [note] if note else []
        builder = SiteBuilder(options, genome, layouts, tally, splits=splits, chrom_split=chrom_split,
                              chunk_rows=min(chunk_rows, WRITE_ROWS), annotation=annotation)
        # windows are all distinct: a dictionary for seq would only cost memory and time
        with pq.ParquetWriter(stage / "dataset.parquet", dataset_schema(annotation is not None),
                              compression="zstd",
                              use_dictionary=["chrom", "strand", "context", "trinuc", "split", "feature"]) as writer:
            progress.restart("building sites", spill.records, unit="records")
            for chrom, bases, records in _segments(genome, spill, pad):
                for table in builder.tables(chrom, bases, records):
                    writer.write_table(table)
                progress.advance(len(records))
                progress.chunk(genome.names[chrom])
        shutil.rmtree(stage / "spill")
        warnings = notes + _finish(options, genome, tally, builder, splits)
        summary = _summary(options, genome, layouts, tally, splits, stage / "dataset.parquet", warnings,
                           time.perf_counter() - started)
        summary["annotation"] = None if annotation is None else {
            **annotation.describe(), "counts": _feature_counts(stage / "dataset.parquet")}
        write_json(stage / "prepare.json", summary)
    for message in warnings:
        if warn is not None:
            warn(message)
    return summary


def block_sizes(options: PrepareOptions) -> list[int]:
    """--block-size, then halvings down to 4 windows (at least 1 kb): the sizes a too small region may use."""
    floor = max(4 * options.window, 1000)
    sizes = [options.block_size]
    while sizes[-1] // 2 >= floor:
        sizes.append(sizes[-1] // 2)
    return sizes


def _splits(options: PrepareOptions, genome: FastaGenome,
            occupancy: Occupancy | None) -> tuple[BlockSplits | None, np.ndarray | None, str | None]:
    if occupancy is None:
        return None, _chrom_splits(options, genome), None
    need = min_blocks(options.val_frac, options.test_frac)
    level = next((i for i in range(len(occupancy.sizes)) if occupancy.total(i) >= need), len(occupancy.sizes) - 1)
    size = occupancy.sizes[level]
    note = None
    if level:
        note = (f"the calls cover {occupancy.total(0)} block(s) of {options.block_size:,} bp, fewer than the {need} "
                f"that val and test need; using blocks of {size:,} bp ({occupancy.total(level)} hold calls)")
    splits = BlockSplits.build(occupancy.blocks(level), genome.names, size, seed=options.seed,
                               val_frac=options.val_frac, test_frac=options.test_frac)
    return splits, None, note


def _chrom_splits(options: PrepareOptions, genome: FastaGenome) -> np.ndarray:
    index = {name: i for i, name in enumerate(genome.names)}
    split = np.zeros(len(genome.names), dtype=np.int8)
    for code, names, flag in ((1, options.val_chroms, "--val-chroms"), (2, options.test_chroms, "--test-chroms")):
        for name in names:
            target = options.labels.chrom_alias.get(name, name)
            if target not in index:
                raise DnactxError(f"{flag}: {name!r} is not a chromosome of --genome {options.genome} "
                                  f"(it has {_names(genome.names)})")
            split[index[target]] = code
    return split


def _segments(genome: FastaGenome, spill: Spill, pad: int) -> Iterator[tuple[int, Stranded, np.ndarray]]:
    """(chromosome index, the chromosome, its records) in genome order, one chromosome in memory at a time, all
    in one buffer sized for the largest of them."""
    index = {name: i for i, name in enumerate(genome.names)}
    wanted = [genome.names[i] for i in sorted(spill.chroms)]
    if not wanted:
        return
    buffer = np.empty(2 * (max(genome.length(n) for n in wanted) + 2 * pad), dtype=np.uint8)
    chromosomes = genome.chromosomes(wanted, pad, buffer) if genome.access == "streamed" else None
    current, stranded = -1, None
    for records in spill:
        cuts = np.flatnonzero(np.diff(records["chrom"])) + 1
        for part in np.split(records, cuts):
            chrom = int(part["chrom"][0])
            if chrom != current:
                if chromosomes is None:
                    raw = genome.chromosome(genome.names[chrom], pad, buffer)
                else:
                    name, raw = next(chromosomes)
                    while index[name] != chrom:
                        name, raw = next(chromosomes)
                stranded, current = Stranded(raw, buffer, pad=pad), chrom
            yield chrom, stranded, part  # type: ignore[misc]


def _finish(options: PrepareOptions, genome: FastaGenome, t: Tally, builder: SiteBuilder,
            splits: BlockSplits | None) -> list[str]:
    """Stop on states that make the dataset unusable; return warnings for the rest."""
    o = options
    if t.mismatched and t.mismatched > o.mismatch_tolerance * t.checked:
        raise builder.mismatch_error(t.mismatched, t.checked, o.mismatch_tolerance)
    if t.read_level > READ_LEVEL_LIMIT * t.read_level_checked:
        raise builder.mismatch_error(t.read_level, t.read_level_checked, READ_LEVEL_LIMIT)
    warnings = []
    if t.unknown_chroms:
        listed = ", ".join(f"{n} ({c:,} rows)" for n, c in t.unknown_chroms.most_common(8))
        more = f" and {len(t.unknown_chroms) - 8} more" if len(t.unknown_chroms) > 8 else ""
        hint = alias_hint(list(t.unknown_chroms), genome.names)
        if not t.checked and not t.read_level_checked:
            raise DnactxError(f"no calls on chromosomes of --genome {o.genome}: the calls name "
                              f"{_names(list(t.unknown_chroms))}, the FASTA has {_names(genome.names)}; "
                              f"map names with --chrom-alias CALLS_NAME=FASTA_NAME{hint}")
        warnings.append(f"skipped {sum(t.unknown_chroms.values()):,} rows on chromosomes absent from the "
                        f"FASTA: {listed}{more}{hint}")
    if t.read_level:
        warnings.append(f"skipped {t.read_level:,} of {t.read_level_checked:,} modkit rows where the reference has "
                        "no C on the row's strand (read-level calls at SNPs or read errors)")
    if t.mismatched:
        warnings.append(f"skipped {t.mismatched:,} of {t.checked:,} sites that disagree with the genome "
                        f"(within tolerance); first: {t.first_mismatch}")
    if t.duplicate_sites:
        warnings.append(f"{t.duplicate_sites:,} site(s) had more than one row ({t.duplicate_sites_across_files:,} "
                        f"in several files): their counts were added")
    if o.control_chrom is not None and not t.control_rows:
        warnings.append(f"--control-chrom {o.control_chrom} has no rows in the calls file; no non-conversion "
                        "rate reported")
    if not t.n_sites:
        reasons = ", ".join(f"{k} {v:,}" for k, v in t.skipped_dict().items() if v)
        hint = (f"; --mod-code {o.labels.mod_code} reads none of the modkit rows: try another --mod-code"
                if t.skipped.get("other_modification", 0) == t.rows else "")
        raise DnactxError(f"nothing left after filters: {t.rows:,} rows read, all skipped ({reasons}); "
                          f"lower --min-coverage, widen --contexts or raise --fraction{hint}")
    _check_splits(o, t, splits)
    return warnings


def _check_splits(o: PrepareOptions, t: Tally, splits: BlockSplits | None) -> None:
    sizes = t.split_sizes()
    empty = [s for s, n in sizes.items() if n == 0]
    if not empty:
        return
    counts = ", ".join(f"{s} {n:,}" for s, n in sizes.items())
    if splits is None:
        fix = "give each of --val-chroms/--test-chroms a chromosome that has calls"
    else:
        fix = (f"the sites span only {len({b // 4 for b in t.blocks})} block(s) of {splits.block_size:,} bp: "
               "give more calls, lower --block-size, raise --val-frac/--test-frac or use --split chroms")
    raise DnactxError(f"the {' and '.join(empty)} split is empty ({counts}); {fix}")


def _summary(o: PrepareOptions, genome: FastaGenome, layouts: list[Layout], t: Tally,
             splits: BlockSplits | None, dataset: Path, warnings: list[str], seconds: float) -> dict:
    blocks = {s: sum(1 for b in t.blocks if b % 4 == i) for i, s in enumerate(SPLITS)} if t.blocks else None
    formats = list(dict.fromkeys(lay.spec.name for lay in layouts))
    return {
        "dnactx_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": "dataset.parquet",
        "fingerprint": sha256_file(dataset),
        "window": o.window,
        "n_sites": t.n_sites,
        "format": ",".join(formats),
        "format_variant": ",".join(dict.fromkeys(lay.spec.variant for lay in layouts)),
        "inputs": {
            "genome": _file_info(o.genome, genome.sha256()) | {
                "access": genome.access, "compression": genome.compression, "access_reason": genome.access_reason,
                "chromosomes": dict(zip(genome.names, genome.lengths.tolist(), strict=True))},
            "calls": [_file_info(p) | {"format": lay.spec.name, "format_variant": lay.spec.variant,
                                       "header_lines": lay.header_lines, "stated_context": lay.stated_context}
                      for p, lay in zip(o.calls, layouts, strict=True)],
        },
        "parameters": o.to_dict(),
        "rows_read": t.rows,
        "skipped": t.skipped_dict(),
        "unknown_chromosomes": dict(t.unknown_chroms.most_common()),
        **t.tables(),
        "label_rate": t.positives.sum() / t.n_sites,
        "repeat_fraction": t.repeats / t.n_sites,
        "block_size": None if splits is None else {"requested": o.block_size, "used": splits.block_size},
        "blocks": blocks,
        "duplicates": {"rule": DUPLICATE_RULE, "sites": t.duplicate_sites,
                       "sites_across_files": t.duplicate_sites_across_files},
        "strand_merged_sites": t.merged_sites,
        "genome_check": {"checked": t.checked, "mismatched": t.mismatched, "tolerance": o.mismatch_tolerance,
                         "first_mismatch": t.first_mismatch, "read_level_rows_checked": t.read_level_checked,
                         "read_level_calls": t.read_level},
        "control": t.control(o.control_chrom),
        "warnings": warnings,
        "seconds": round(seconds, 3),
        "sites_per_s": t.n_sites / seconds if seconds > 0 else None,
        "rows_per_s": t.rows / seconds if seconds > 0 else None,
        "versions": library_versions(),
    }


def _feature_counts(dataset: Path) -> dict[str, dict[str, int]]:
    """Sites per split and feature class, read back from the dataset's two small columns."""
    table = pq.read_table(dataset, columns=["split", "feature"]).to_pandas()
    counts = table.groupby(["split", "feature"], observed=True).size()
    return {str(split): {str(f): int(n) for f, n in part.droplevel(0).items()}
            for split, part in counts.groupby(level=0)}


def _file_info(path: Path, sha: str | None = None) -> dict:
    return {"path": str(Path(path).resolve()), "sha256": sha or sha256_file(path), "bytes": Path(path).stat().st_size}


def _names(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
