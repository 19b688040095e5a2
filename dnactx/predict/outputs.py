"""predict's identity checks and its final outputs: the merged files, the evaluation, the plot and predict.json."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..choices import CONTEXTS
from ..contracts import PredictIdentity, PredictSummary
from ..errors import DnactxError
from ..inference import MANIFEST, Scorer
from ..io.fasta import FastaGenome
from ..provenance import library_versions, sha256_file, utcnow
from .evaluate import binned_correlation, discrimination
from .merge import Collected, merge_parts
from .plot import PLOT_BP, tracks_png
from .record import record_evaluation
from .regions import Target
from .state import PLOT, SUMMARY

if TYPE_CHECKING:
    from .job import Job
    from .options import PredictOptions

DNA_SAMPLE_BP = 100_000
DNA_MIN_FRACTION = 0.9  # of letters that are A/C/G/T/N (either case): DNA has ~1.0, a protein ~0.25
_DNA = np.zeros(256, dtype=bool)
_DNA[list(b"ACGTNacgtn")] = True


def require_dna(genome: FastaGenome, target: Target) -> None:
    """Stop when the first scored chromosome does not read as DNA (a protein FASTA reads as letters too)."""
    bases = genome.region(target.name, 0, DNA_SAMPLE_BP)
    if bases.size and _DNA[bases].mean() < DNA_MIN_FRACTION:
        raise DnactxError(f"--genome {genome.path}: {target.name} is not DNA (only {_DNA[bases].mean():.0%} of its "
                          f"first {bases.size:,} letters are A/C/G/T/N); give a nucleotide FASTA")


def model_identity(scorer: Scorer) -> dict[str, Any]:
    """Where the model comes from, its recipe and the checksum of what holds its weights."""
    from ..inference.run_model import run_weights
    from ..runs import RunFolder

    ref = scorer.origin
    weights = ref.path / MANIFEST if ref.kind == "export" else run_weights(RunFolder(ref.path))
    return {"kind": ref.kind, "path": str(Path(ref.path).resolve()), "run_id": ref.run_id,
            "weights_sha256": (scorer.weights_sha256 if ref.kind == "run" and scorer.weights_sha256 else
                               sha256_file(weights)), "recipe": scorer.recipe.to_dict()}


def identity(options: PredictOptions, genome: FastaGenome, scorer: Scorer) -> PredictIdentity:
    """Everything the predictions in --out depend on: a re-run with the same identity resumes them."""
    return {"model": model_identity(scorer), "genome": genome.sha256(),
            "calls": [sha256_file(c) for c in options.calls], "label_rules": options.label_rules(),
            "regions": sha256_file(options.regions) if options.regions else None, "chroms": list(options.chroms),
            "contexts": list(options.contexts), "precision": options.precision,
            **({"annotation": [sha256_file(options.annotation), options.promoter_bp, options.downstream_bp]}
               if options.annotation is not None else {})}


def write_outputs(job: Job, stage: Path, seconds: float) -> PredictSummary:
    """Merge the parts into ``stage``, evaluate, plot, and write predict.json there (and record the evaluation
    in the registry); return the summary."""
    started = time.perf_counter()
    o, genome = job.options, job.genome
    chrom_sizes = list(zip(genome.names, genome.lengths.tolist(), strict=True))
    collected = merge_parts(job.folder, job.plan, stage, chrom_sizes, o.contexts, with_calls=bool(o.calls),
                            label=_label(job.scorer), annotated=job.annotation is not None,
                            level=job.scorer.recipe.target == "level")
    evaluation = _evaluation(job, collected)
    if evaluation is not None and collected.plot_chrom is not None:
        title = f"{_label(job.scorer)} on {collected.plot_chrom}: first {PLOT_BP // 1000} kb of the scored region"
        tracks_png(stage / PLOT, collected.plot_chrom, collected.arrays("window"), title)
    metaplot = None
    if job.annotation is not None and o.calls:
        from .metaplot import metaplot_folder

        metaplot = metaplot_folder(stage, o.annotation, stage, parsed=job.annotation, label=_label(job.scorer))
    markers = [job.folder.done(t) for t in job.plan]
    calls = _calls_summary(job)
    summary: PredictSummary = {
        "dnactx_version": __version__, "created": utcnow(), "status": "complete", "identity": job.identity,
        "model": job.identity["model"],
        "genome": {"path": str(o.genome.resolve()), "sha256": job.identity["genome"], "access": genome.access,
                   "chromosomes": len(genome.names)},
        "region": {"bed": str(o.regions.resolve()) if o.regions else None, "chroms": [t.name for t in job.plan],
                   "intervals": int(sum(len(t.intervals) for t in job.plan)),
                   "bases": int(sum(t.bases for t in job.plan)), "contexts": list(o.contexts)},
        "calls": calls, "counts": _counts(markers), "evaluation": evaluation,
        "annotation": None if job.annotation is None else {**job.annotation.describe(), "metaplot": metaplot},
        "timing": _timing(markers, seconds, time.perf_counter() - started),
        "warnings": (calls or {}).get("warnings", []), "versions": library_versions(),
    }
    if not summary["counts"]["total"]["all"]:
        summary["warnings"].append("the scored region holds no cytosine whose context the genome decides (only "
                                   "A/T or N there?): the outputs are empty")
    summary["outputs"] = {p.name: p.stat().st_size for p in sorted(stage.iterdir())}
    summary["registry"] = record_evaluation(job, summary) if evaluation else None
    (stage / SUMMARY).write_text(json.dumps(summary, indent=2, default=_plain) + "\n", encoding="utf-8")
    return summary


def _label(scorer: Scorer) -> str:
    ref = scorer.origin
    name = scorer.recipe.model.rstrip("/").rsplit("/", 1)[-1]
    level = " level" if scorer.recipe.target == "level" else ""  # a level model's tracks say so in their name
    return f"{name}{level} {(ref.run_id or ref.path.name)[:10]}"


def _evaluation(job: Job, collected: Collected) -> dict | None:
    if not job.options.calls:
        return None
    a = collected.arrays("labelled")
    n = int(a["label"].size)
    rule = (f"label 1 where mc/cov ≥ {job.options.labels.threshold} among sites with coverage ≥ "
            f"{job.options.labels.min_coverage}, as prepare labels them")
    if not n:
        return {"labelled_sites": 0, "rule": rule, "note": "no scored site has a call that prepare would label"}
    return {"labelled_sites": n, "rule": rule,
            "sites": discrimination(a["label"], a["prob"], a["context"], a["chrom"], a["pos"],
                                    n_resamples=job.options.bootstrap),
            "bins": binned_correlation(a["chrom"], a["pos"], a["level"], a["prob"], a["context"]),
            **({"by_feature": _by_feature(a, job.options.bootstrap)} if job.annotation is not None else {})}


def _by_feature(a: dict[str, np.ndarray], bootstrap: int) -> dict:
    """Every metric per genomic feature class of the labelled sites, with block-bootstrap intervals."""
    from ..io.annotation import FEATURES
    from ..stats.evaluation import Settings, feature_metrics

    names = np.array(FEATURES)[a["feature"].astype(np.int64)]
    return feature_metrics(a["label"], a["prob"], names, a["chrom"], a["pos"], None, Settings(bootstrap=bootstrap))


def _calls_summary(job: Job) -> dict | None:
    o = job.options
    if not o.calls:
        return None
    rows, skipped, warnings = 0, {}, []
    for path in sorted(job.folder.state.glob("calls-*.json")):
        part = json.loads(path.read_text(encoding="utf-8"))
        rows = max(rows, part["rows"])  # every process reads every file
        skipped = {k: max(skipped.get(k, 0), v) for k, v in part["skipped"].items()} if not skipped else {
            k: skipped[k] + v if k not in ("unknown_chromosome", "control_chromosome", "other_modification")
            else max(skipped[k], v) for k, v in part["skipped"].items()}
        warnings += [w for w in part["warnings"] if w not in warnings]
    return {"files": [{"path": str(c.resolve()), "sha256": s} for c, s in zip(o.calls, job.identity["calls"],
                                                                                strict=True)],
            "rules": o.label_rules(), "rows": rows, "skipped": skipped, "warnings": warnings}


def _counts(markers: list[dict]) -> dict:
    by_chrom = {m["chrom"]: {**m["by_context"], "all": m["sites"], "with_calls": m["with_calls"],
                             "labelled": m["labelled"]} for m in markers}
    keys = (*CONTEXTS, "all", "with_calls", "labelled")
    return {"by_chromosome": by_chrom, "total": {k: int(sum(c.get(k, 0) for c in by_chrom.values())) for k in keys}}


def _timing(markers: list[dict], wall: float, merge: float) -> dict:
    """``scoring_seconds``: the model alone (cutting inputs, the forward passes); ``chromosome_seconds``: that plus
    finding the sites, reading calls and writing the part files; ``sites_per_s`` is per scoring second."""
    scoring = float(sum(m.get("scoring_seconds", m["seconds"]) for m in markers))
    sites = int(sum(m["sites"] for m in markers))
    methods = sorted({m.get("method", "windows") for m in markers})
    return {"method": methods[0] if len(methods) == 1 else methods,
            "scoring_seconds": round(scoring, 3), "chromosome_seconds": round(sum(m["seconds"] for m in markers), 3),
            "merge_seconds": round(merge, 3), "wall_seconds": round(wall, 3),
            "sites_per_s": sites / scoring if scoring > 0 else None,
            "processes": max((m["processes"] for m in markers), default=1)}


def _plain(o: Any) -> Any:
    return o.item() if hasattr(o, "item") else str(o)
