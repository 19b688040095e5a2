"""A pretrain as a run of the registry: ``<home>/<run id>/`` (kind ``pretrain``) beside the model folder --out.

The run folder holds config.json (the options, genomes, the model folder, the corpus once cut), status.json,
metrics.json (its held-out masked-token figures as facts) and a copy of pretrain.json, so ``runs ls/show`` list it
and ``runs sync --rebuild`` restores it from the folder alone. The model itself stays in --out (a plain Hugging
Face folder); its pretrain.json names the run id, which a ``train --model`` from it records as its lineage."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..contracts import MetricsFile
from ..provenance import library_versions
from ..runs import RunFolder, run_config
from .options import PretrainOptions
from .output import RECORD


def run_folder(home: Path, opts: PretrainOptions, run_id: str | None) -> RunFolder:
    """The pretrain's run folder under ``home``: the one ``run_id`` names (a --resume), else a new one."""
    if run_id and (Path(home) / run_id / "status.json").is_file():
        return RunFolder(Path(home) / run_id)
    out = str(Path(opts.out).resolve())
    config = run_config({}, kind="pretrain", model=out, family="transformer", name=opts.name, seed=opts.seed,
                        pretrain_out=out, genomes=[str(Path(g).resolve()) for g in opts.genomes],
                        pretrain_options=opts.to_dict(), versions=library_versions(), device=None)
    return RunFolder.create(home, config, name=opts.name or Path(opts.out).name, run_id=run_id)


def facts(record: dict) -> dict:
    """The MLM figures ``runs ls`` shows: held-out masked accuracy, perplexity and loss, tokens, steps, rate."""
    ev, t = record.get("evaluation") or {}, record.get("training") or {}
    values = {"masked_accuracy": ev.get("heldout_accuracy"), "perplexity": ev.get("heldout_perplexity"),
              "heldout_loss": ev.get("heldout_loss"), "tokens_seen": t.get("tokens"), "steps": t.get("steps"),
              "train_seconds": t.get("seconds"), "tokens_per_s": t.get("tokens_per_s")}
    return {k: v for k, v in values.items() if isinstance(v, (int, float))}


def finish(home: Path, folder: RunFolder, record: dict) -> None:
    """Completed: the corpus in config.json, the figures in metrics.json, pretrain.json copied, the row written."""
    folder.resolve_config(corpus=record.get("corpus") or {}, device=(record.get("hardware") or {}).get("device"))
    folder.write_metrics(MetricsFile(facts=facts(record)))  # type: ignore[typeddict-item]
    copy = folder.path / RECORD
    shutil.copy2(Path(record["options"]["out"]) / RECORD, copy)
    folder.add_artifact(copy, "pretrain_record")
    folder.set_status("completed")
    register(home, folder)


def register(home: Path, folder: RunFolder) -> None:
    """Best effort, as for train runs: a registry that cannot be written leaves the folder for `runs sync`."""
    from ..registry import record_run

    record_run(home, folder)
