"""A predict evaluation into the registry, linked to the run whose model made it (``runs show RUN`` lists it).

A run's model is recorded under the home its folder sits in. An exported folder names the run it was exported
from: its evaluation is recorded under ``--home`` when that registry holds the run, otherwise it stays in
predict.json only (and predict.json says why).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from ..contracts import PredictSummary
from ..errors import DnactxError
from ..runs import RunFolder, default_home

if TYPE_CHECKING:
    from .job import Job


def evaluation_id(run_id: str, out: Path) -> str:
    """One evaluation per (run, --out folder): predicting into the same folder again replaces it."""
    return hashlib.sha256(f"{run_id}\0{Path(out).resolve()}".encode()).hexdigest()[:20]


def evaluation_row(run_id: str, summary: PredictSummary, out: Path) -> dict:
    """The registry row (``registry.models.Evaluation``) of ``summary`` (predict.json) for ``run_id``."""
    evaluation = summary["evaluation"] or {}
    overall = (evaluation.get("sites") or {}).get("all") or {}
    r10 = ((evaluation.get("bins") or {}).get("10kb") or {}).get("all") or {}
    return {"id": evaluation_id(run_id, out), "run_id": run_id, "created": summary["created"],
            "out": str(Path(out).resolve()), "genome": summary["genome"]["path"],
            "genome_sha256": summary["genome"]["sha256"], "regions": summary["region"]["bed"],
            "n_sites": summary["counts"]["total"]["all"], "n_labelled": evaluation.get("labelled_sites"),
            "auroc": overall.get("auroc"), "auprc": overall.get("auprc"), "pearson_10kb": r10.get("pearson_r"),
            "summary": {k: summary[k] for k in ("model", "genome", "region", "calls", "evaluation", "counts")}}


def record_evaluation(job: Job, summary: PredictSummary) -> dict:
    """Record the evaluation; what was done, as predict.json's ``registry`` entry."""
    from ..registry import Registry, record_run
    from ..registry.db import writable
    from ..registry.store import missing_registry

    ref = job.scorer.origin
    if ref.run_id is None:
        return {"recorded": False, "note": "the exported model names no run: evaluation in predict.json only"}
    home = ref.path.parent if ref.kind == "run" else Path(job.home or default_home())
    if home.is_dir() and not writable(home):  # a read-only home: predicting from it writes nothing there
        return {"recorded": False, "home": str(home.resolve()), "run_id": ref.run_id,
                "note": f"the registry of {home.resolve()} is read-only: evaluation in predict.json only"}
    note = None
    try:
        if ref.kind == "run":
            record_run(home, RunFolder(ref.path))  # a run folder not yet synced becomes a row first
        elif missing_registry(home) or ref.run_id not in Registry.open(home, create=False).ids():
            return {"recorded": False, "home": str(home.resolve()), "run_id": ref.run_id,
                    "note": f"run {ref.run_id} of the exported model is not in the registry under "
                            f"{home.resolve()}: evaluation in predict.json only"}
        row = evaluation_row(ref.run_id, summary, job.folder.out)
        Registry.open(home).record_evaluation(row)
    except (DnactxError, SQLAlchemyError, OSError) as exc:
        note = f"not recorded in the registry of {home} ({exc}); it stays in predict.json"
        return {"recorded": False, "home": str(home.resolve()), "run_id": ref.run_id, "note": note}
    return {"recorded": True, "home": str(home.resolve()), "run_id": ref.run_id, "evaluation_id": row["id"]}
