"""``dnactx explain``: choose sites, run the mutagenesis, summarise it, write the outputs, tie them to the run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import json_safe
from ..errors import DnactxError
from ..heap import reuse_freed_memory
from ..inference import ModelRef, Scorer, load_scorer, locate_model
from ..io.fasta import FastaGenome
from ..io.vcf import read_snvs
from ..provenance import library_versions, utcnow
from ..runs import RunFolder
from . import profile as pf
from .artifact import sentence, store_in_run
from .bed_sites import bed_sites
from .mutagenesis import METHODS, Mutagenesis, fast_family, ism
from .output import claim_out, write_explanation, write_variants
from .sites import SELECTIONS, Sites, run_dataset, select_sites
from .variants import largest_effects, require_snvs, variant_effects, variant_reach


@dataclass(frozen=True)
class ExplainOptions:
    """What to explain: ``sites`` top | positives | random | a BED file's path; at most ``n`` sites of ``split``."""

    sites: str = "top"
    split: str = "test"
    n: int = 500
    seed: int = 0
    genome: Path | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    k: int = 6
    method: str = "fast"  # fast: mutants by difference where the family has it (lr, cnn); plain: every mutant scored


def choose_sites(ref: ModelRef, scorer: Scorer, options: ExplainOptions) -> Sites:
    """The sites ``options`` ask for, from the run's dataset or (BED with --genome) from the genome."""
    recipe = scorer.recipe
    dataset = None
    if ref.kind == "run":
        folder = RunFolder(ref.path)
        # BED sites with a genome do without the dataset (their labels are then unknown)
        required = options.sites in SELECTIONS or options.genome is None
        dataset = run_dataset(folder.config, recipe.window, folder.id, required=required)
    elif options.sites in SELECTIONS:
        raise DnactxError(f"{ref.path} is an exported model without a dataset: give --sites BED with --genome FASTA")
    if options.sites in SELECTIONS:
        return select_sites(scorer, dataset, options.split, options.sites, options.n, options.seed)
    genome = FastaGenome(options.genome) if options.genome is not None else None
    return bed_sites(Path(options.sites), recipe, dataset=dataset, genome=genome, aliases=options.aliases, n=options.n)


def summarise(m: Mutagenesis, sites: Sites, k: int = 6) -> tuple[dict, dict[str, pd.DataFrame]]:
    """(explain.json's analysis part, the tables behind it: profile, logo, kmers)."""
    imp, att = pf.importance(m), pf.attribution(m)
    profile = pf.positional_profile(imp, m.offsets, sites.context_id)
    summary = {name: pf.summarize(part["mean_abs_delta"].to_numpy(), part["offset"].to_numpy())
               for name, part in profile.groupby("context", sort=False)}
    masks = pf.groups(sites.context_id, len(sites))
    logos = {name: pf.logo_matrix(m, att, rows) for name, rows in masks.items() if name != "all"} or \
        {"all": pf.logo_matrix(m, att, masks["all"])}
    kmers = pf.top_kmers(m, imp, att, k=k)
    analysis = {
        "definitions": DEFINITIONS,
        "profile": {"offsets": m.offsets.tolist(),
                    "mean_abs_delta": {name: part["mean_abs_delta"].tolist()
                                       for name, part in profile.groupby("context", sort=False)}},
        "summary": summary,
        "sentence": sentence(summary["all"]),
        "kmers": kmers.to_dict("records"),
    }
    logo = pd.concat([frame.reset_index().assign(context=name) for name, frame in logos.items()], ignore_index=True)
    return analysis, {"profile": profile, "logo": logo[["context", "offset", *"ACGT"]], "kmers": kmers,
                      "logos": logos}


DEFINITIONS = {
    "delta": "logit(mutant) - logit(reference), one per position and alternative base (ism.npz)",
    "importance": "mean |delta| over the alternative bases of a position",
    "attribution": "logit(reference) - mean logit of the alternative bases (positive: the reference base raises "
                   "the score); the ISM analogue of gradient x input",
    "profile": "mean importance over sites by offset from the C, 5'->3' on the site's strand (negative = upstream)",
    "share_within": "part of the profile's total (offset 0 excluded) at |offset| <= N",
    "radius_90": "smallest N with share_within(N) >= 0.9",
    "flank_level": "median profile at |offset| > half the cut; above_flank: part of the total above it",
    "local_span": "contiguous offsets around the C with a profile >= 2 x the flank level",
    "logo": "per context, mean over sites of one-hot(reference base) x attribution, offsets -20..20",
    "kmers": "per k-mer: mean over its occurrences of the summed importance of its positions (offset 0 excluded), "
             "k-mers seen at least 5 times (fewer when the sites hold under 5 x 4^k k-mers)",
    "site_context": "a mutant that changes the 1-2 bases after the C, where the cut contains them, is scored with "
                    "the context its sequence has (CG -> CHG ...); otherwise with the site's own",
    "offset_0": "the C itself: in the profile (at_c), left out of the shares, peak and k-mers (never varied in "
                "training)",
}


def explain_model(source: str | Path, home: Path | None, out: Path, options: ExplainOptions, *,
                  batch_size: int | None = None, device: str | None = None, progress=None,
                  trust_remote_code: bool = False) -> dict:
    """The whole ``dnactx explain RUN_ID --out DIR``; returns explain.json's content (with ``files``)."""
    started = time.perf_counter()
    if options.n < 1:
        raise DnactxError(f"--n must be at least 1, got {options.n}")
    claim_out(Path(out), home)
    if options.method not in METHODS:
        raise DnactxError(f"--method must be one of {', '.join(METHODS)}, got {options.method!r}")
    ref = locate_model(source, home)
    reuse_freed_memory()  # every chunk of mutants allocates the same buffers again (heap.py)
    scorer = load_scorer(ref, home, device=device, batch_size=batch_size, trust_remote_code=trust_remote_code)
    sites = choose_sites(ref, scorer, options)
    ism_started = time.perf_counter()
    m = ism(scorer, scorer.recipe.cut(sites.windows), sites.context_id, sites.trinuc(), progress=progress,
            method=options.method)
    ism_seconds = time.perf_counter() - ism_started
    analysis, tables = summarise(m, sites, options.k)
    r = scorer.recipe
    mutants = int(m.alternative.sum())
    result = {
        "kind": "ism", "created": utcnow(), "run_id": ref.run_id, "source": str(ref.path),
        "model": {"family": r.family, "model": r.model, "window": r.window, "size": r.size, "mode": r.mode,
                  "site_context": r.site_context, "length": r.length},
        "selection": {"sites": options.sites, "split": options.split if options.sites in SELECTIONS else None,
                      "n": options.n, "seed": options.seed, "chosen": len(sites), "notes": sites.notes},
        "sites": _site_facts(sites, m),
        **analysis,
        "method": options.method if fast_family(scorer) else "plain",
        "mutants": mutants, "seconds": {"ism": round(ism_seconds, 3), "total": None},
        "mutants_per_second": round(mutants / ism_seconds, 1) if ism_seconds > 0 else None,
        "versions": library_versions(),
    }
    result["seconds"]["total"] = round(time.perf_counter() - started, 3)
    result["files"] = write_explanation(Path(out), result, m, sites, tables)
    if ref.kind == "run":
        stored = store_in_run(RunFolder(ref.path), json_safe(result), Path(result["files"]["profile_png"]), home)
        result["stored_in_run"] = stored
    return result


def explain_variants(source: str | Path, home: Path | None, vcf: Path, genome_path: Path, out: Path, *,
                     aliases: dict[str, str] | None = None, batch_size: int | None = None,
                     device: str | None = None, trust_remote_code: bool = False) -> dict:
    """The whole ``dnactx explain RUN_ID --variants VCF --genome FASTA --out DIR``; returns variants.json."""
    started = time.perf_counter()
    claim_out(Path(out), home)
    ref = locate_model(source, home)
    reuse_freed_memory()  # every chunk of mutants allocates the same buffers again (heap.py)
    scorer = load_scorer(ref, home, device=device, batch_size=batch_size, trust_remote_code=trust_remote_code)
    genome = FastaGenome(genome_path)
    where = f"--variants {vcf}"
    snvs = read_snvs(vcf)
    require_snvs(snvs, where)
    table, counts = variant_effects(scorer, genome, snvs, aliases or {}, where)
    bedgraph = largest_effects(table, genome.names)
    r = scorer.recipe
    result = {
        "kind": "variants", "created": utcnow(), "run_id": ref.run_id, "source": str(ref.path),
        "model": {"family": r.family, "model": r.model, "size": r.size, "mode": r.mode,
                  "site_context": r.site_context, "calibrated": r.calibration is not None},
        "vcf": str(vcf), "genome": str(genome_path), "reach": variant_reach(r),
        "records": snvs.counts, "counts": counts, "variants_in_bedgraph": len(bedgraph),
        "largest": table.reindex(table["delta_p"].abs().sort_values(ascending=False).index).head(10)
                        .to_dict("records") if len(table) else [],
        "seconds": None, "versions": library_versions(),
    }
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["files"] = write_variants(Path(out), table, bedgraph, result)
    return result


def _site_facts(sites: Sites, m: Mutagenesis) -> dict:
    names = np.array(pf.CONTEXT_NAMES)
    ctx, count = np.unique(sites.context_id, return_counts=True)
    return {"n": len(sites), "by_context": {str(names[c]): int(k) for c, k in zip(ctx, count, strict=True)},
            "positives": int((sites.label == 1).sum()), "negatives": int((sites.label == 0).sum()),
            "unlabelled": int((sites.label < 0).sum()), "minus_strand": int((sites.strand < 0).sum()),
            "mean_logit": float(m.reference.mean()) if len(sites) else None}
