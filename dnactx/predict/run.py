"""`dnactx predict` end to end: score the chromosomes still to do into part files, then (once every chromosome
of the region is done, whichever process finishes last) merge them into the outputs and evaluate."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from ..atomic import atomic_path, write_json
from ..choices import CONTEXTS
from ..contracts import PredictSummary
from ..distributed import broadcast_object, is_main, process_device, world_size
from ..errors import DnactxError
from ..heap import reuse_freed_memory
from ..inference import chromosome_buffer, load_chromosome, load_scorer
from ..io.annotation import read_annotation
from ..io.fasta import FastaGenome
from ..prepare.windows import Stranded, window_pad
from ..progress import Progress, duration, rate_text
from .calls import CallLabels, join_calls
from .job import Job
from .options import PredictOptions
from .outputs import identity, require_dna, write_outputs
from .regions import Target, groups_by_length, targets
from .score import score_sites
from .sites import cytosines, schema, segments, site_table
from .state import OutFolder


def on_main(fn: Callable[[], Any], *, share: bool = True) -> Any:
    """``fn()`` on rank 0 only; its DnactxError is raised on every rank (so no rank waits for a failed one).
    With ``share`` every rank gets the result, else ranks other than 0 get None."""
    result, error = None, None
    if is_main():
        try:
            result = fn()
        except DnactxError as exc:
            error = exc.message
    shared = broadcast_object((result if share else None, error))
    if shared[1]:
        raise DnactxError(shared[1])
    return shared[0] if share or not is_main() else result


def predict_genome(options: PredictOptions, home: Path | None = None, *, quiet: bool = False,
                   warn: Callable[[str], None] | None = None) -> PredictSummary:
    """Score every cytosine of ``options.genome`` (or its regions) with the model and write the outputs to
    ``options.out``; return predict.json's summary ({"status": "partial", ...} when other chromosome groups are
    still to finish, {} on ranks other than 0)."""
    started = time.perf_counter()
    options.validate()
    reuse_freed_memory()  # every stretch allocates the same maps again: reused, not faulted in afresh (heap.py)
    OutFolder(options.out).claim(home)
    genome = FastaGenome(options.genome)
    plan = targets(genome, options.regions, options.chroms)
    require_dna(genome, plan[0])
    scorer = load_scorer(options.model, home, device=options.device or process_device(),
                         precision=options.precision, batch_size=options.batch_size, compile=options.compile,
                         trust_remote_code=options.trust_remote_code)
    folder = OutFolder(options.out)
    job = Job(options, genome, scorer, folder, plan, {}, home)
    job.method = options.scoring_method(scorer.slides, scorer.recipe.family)
    if options.annotation is not None:
        job.annotation = read_annotation(options.annotation, genome.names, chrom_alias=options.labels.chrom_alias,
                                         promoter_bp=options.promoter_bp, downstream_bp=options.downstream_bp)
    job.identity = on_main(lambda: identity(options, genome, scorer))
    if on_main(lambda: folder.begin(job.identity, force=options.force)):
        return {**(folder.summary() or {}), "already_complete": True} if is_main() else {}
    mine = plan if options.group is None else groups_by_length(plan, options.groups)[options.group]
    todo = set(on_main(lambda: [t.index for t in mine if folder.done(t) is None]))
    _score_all(job, [t for t in mine if t.index in todo], quiet)
    if not is_main():
        return {}
    summary = _merge_when_complete(job, time.perf_counter() - started)
    for message in summary.get("warnings", []) if warn is not None else []:
        warn(message)
    return summary


def _score_all(job: Job, todo: list[Target], quiet: bool) -> None:
    if not todo:
        return
    o = job.options
    job.buffer = chromosome_buffer(job.genome, job.scorer.recipe.window, [t.name for t in todo])
    calls_folder = job.folder.state / f"spill-{time.time_ns()}"
    try:
        if o.calls:
            chroms = [t.index for t in todo]
            job.calls = on_main(lambda: CallLabels(o.label_options(job.scorer.recipe.window), job.genome,
                                                   calls_folder, chroms), share=False)
        with Progress("predict", total=sum(t.bases for t in todo), unit="bases",
                      enabled=not quiet and is_main()) as job.progress:
            for target, chrom in _chromosomes(job, todo):
                _score_target(job, target, chrom)
        if job.calls is not None:
            t = job.calls.tally
            write_json(job.folder.state / f"calls-{todo[0].index:05d}.json",
                       {"rows": t.rows, "skipped": t.skipped_dict(), "warnings": job.calls.warnings()})
    finally:
        shutil.rmtree(calls_folder, ignore_errors=True)


def _chromosomes(job: Job, todo: list[Target]) -> Iterator[tuple[Target, Stranded]]:
    """The chromosomes to score, one at a time in one buffer: by index, or in one pass through a FASTA read front
    to back (gzip), so that many small chromosomes do not cost a pass each."""
    window = job.scorer.recipe.window
    if job.genome.access != "streamed":
        for target in todo:
            yield target, load_chromosome(job.genome, target.name, window, job.buffer)
        return
    pad, by_name = window_pad(window), {t.name: t for t in todo}
    for name, raw in job.genome.chromosomes(list(by_name), pad, job.buffer):
        yield by_name[name], Stranded(raw, job.buffer, pad=pad)


def _score_target(job: Job, target: Target, chrom: Stranded) -> None:
    """One chromosome, stretch by stretch, into its part file; then its marker (the chromosome is done)."""
    started = time.perf_counter()
    called = on_main(lambda: job.calls.chromosome(target.index, chrom) if job.calls else None, share=False)
    counts, labelled, with_calls, scoring = np.zeros(len(CONTEXTS), dtype=np.int64), 0, 0, 0.0
    with _part_writer(job, target) as writer:
        for start, end in segments(target):
            pos, strand, ctx = cytosines(chrom, start, end, job.options.contexts)
            scored = time.perf_counter()
            prob = score_sites(job.scorer, chrom, pos, strand, ctx, job.method)
            scoring += time.perf_counter() - scored
            if writer is not None:
                calls = join_calls(called, pos, strand) if called is not None else None
                feature = job.annotation.codes(target.name, pos) if job.annotation is not None else None
                writer.write_table(site_table(target.name, pos, strand, ctx, prob, calls, feature))
                if calls is not None:
                    labelled += int(calls["labelled"].sum())
                    with_calls += int(calls["found"].sum())
            counts += np.bincount(ctx, minlength=len(CONTEXTS))
            _advance(job, end - start, pos.size)
    seconds = time.perf_counter() - started
    if is_main():
        write_json(job.folder.marker(target), {
            "chrom": target.name, "index": target.index, "bases": target.bases, "sites": int(counts.sum()),
            "by_context": dict(zip(CONTEXTS, counts.tolist(), strict=True)), "with_calls": with_calls,
            "labelled": labelled, "seconds": round(seconds, 3), "scoring_seconds": round(scoring, 3),
            "method": job.method, "processes": world_size()})
    sites = int(counts.sum())
    if job.progress is not None:  # in a log: "predict chr1: bases done/total · rate · ETA · its sites and rate"
        job.progress.label = f"predict {target.name}"
        job.progress.chunk(f"{sites:,} sites in {duration(seconds)} ({rate_text(sites, seconds, 'sites')})")


def _advance(job: Job, bases: int, sites: int) -> None:
    """Bases scanned move the bar (their total is known up front); sites scored are what the rate is told in."""
    job.sites_done += sites
    progress = job.progress
    if progress is not None and progress.enabled:
        rate = rate_text(job.sites_done, progress.elapsed(), 'sites')
        progress.advance(bases, info=f"{job.sites_done:,} sites · {rate}")


@contextlib.contextmanager
def _part_writer(job: Job, target: Target) -> Iterator[pq.ParquetWriter | None]:
    """Rank 0's writer of the chromosome's part file, renamed into place only when the chromosome is complete."""
    if not is_main():
        yield None
        return
    job.folder.parts.mkdir(parents=True, exist_ok=True)
    with atomic_path(job.folder.part(target)) as tmp, pq.ParquetWriter(
            tmp, schema(bool(job.options.calls), job.annotation is not None), compression="zstd",
            use_dictionary=["chrom", "strand", "context"]) as writer:
        yield writer


def _merge_when_complete(job: Job, seconds: float) -> PredictSummary:
    """Under the --out lock: the summary of a merge done by another process, a partial status while some
    chromosome is not done, or the outputs merged now."""
    folder = job.folder
    with folder.lock():
        summary = folder.summary()
        if summary is not None:
            return summary
        missing = [t.name for t in job.plan if folder.done(t) is None]
        if missing:
            return {"status": "partial", "done": len(job.plan) - len(missing), "chromosomes": len(job.plan),
                    "missing": missing, "out": str(folder.out)}
        stage = folder.state / f"merge-{time.time_ns()}"
        stage.mkdir(parents=True)
        try:
            summary = write_outputs(job, stage, seconds)
            folder.finish(stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return summary
