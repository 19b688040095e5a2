"""Write a job: a script from a template (a job array, one task per cell or chromosome group, or a single task) and
its JSON manifest beside it, never overwriting an earlier script that differs."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ..atomic import json_default, write_json
from ..errors import DnactxError
from ..matrix.spec import MatrixSpec
from ..outputs import claim_folder, owned_names
from .render import SlurmOptions, dnactx_command, load_template, render, write_script

# The array task index, expanded by bash at run time: the only unquoted text after the dnactx arguments.
CELL_TAIL = ' --cell "$SLURM_ARRAY_TASK_ID"'
MAX_VERSIONS = 999
# What submit writes in its script folder: scripts (and their versions), manifests, run-id files, the logs folder.
JOB_FILES = owned_names(suffixes=(".sbatch", ".json", ".run-id"), folders=("logs",))


@dataclasses.dataclass
class JobRequest:
    """One job script: ``dnactx ARGV`` under template ``kind``.

    ``tasks``: a job array of that many tasks (``tail``, trusted shell text, tells each task which one it is), or
    None for one task. ``models`` are checked by the preflight before any data is read. ``manifest`` is written as
    ``<manifest_name>.json`` beside the script. ``run_id_file``: the command also gets ``--run-id-file
    <script>.run-id``, so a requeued or resubmitted script resumes its run (``dnactx train``).
    """

    kind: str
    job_name: str
    argv: list[str]
    tasks: int | None = None
    tail: str = ""
    models: list[str] = dataclasses.field(default_factory=list)
    manifest: dict | None = None
    manifest_name: str = "job"
    run_id_file: bool = False


@dataclasses.dataclass
class JobFiles:
    script: Path
    manifest: Path | None
    argv: list[str]
    tasks: int
    reused: bool = False  # an identical script was already there
    replaced: Path | None = None  # the earlier script that differs and was kept (this one is numbered)


def versioned(folder: Path, stem: str, n: int, suffix: str) -> Path:
    """``stem.suffix`` for the first version, ``stem.N.suffix`` after it."""
    return folder / (f"{stem}{suffix}" if n == 1 else f"{stem}.{n}{suffix}")


def write_job(request: JobRequest, opts: SlurmOptions, out: Path, *, template: Path | None = None,
              workdir: Path | None = None) -> JobFiles:
    """Write ``out/<kind>.sbatch`` (and its manifest); an identical one already there is reused, a different one
    is kept and this one becomes ``<kind>.2.sbatch`` (``.3`` …): nothing is ever silently overwritten."""
    out = Path(os.path.abspath(out))
    claim_folder(out, "submit", JOB_FILES)
    workdir = Path(os.path.abspath(workdir or Path.cwd()))
    text_of_template = load_template(request.kind, template)
    (out / "logs").mkdir(parents=True, exist_ok=True)  # SLURM does not create the --output folder
    first = versioned(out, request.kind, 1, ".sbatch")
    for n in range(1, MAX_VERSIONS + 1):
        script = versioned(out, request.kind, n, ".sbatch")
        argv = request.argv + (["--run-id-file", f"{script}.run-id"] if request.run_id_file else [])
        text = render(text_of_template, opts=opts, job_name=request.job_name, workdir=workdir, log_dir=out / "logs",
                      command=dnactx_command(argv, opts.gpus, request.tail), array_size=request.tasks,
                      models=request.models)
        manifest_path = versioned(out, request.manifest_name, n, ".json") if request.manifest is not None else None
        if script.exists():
            if _same(script, text, manifest_path, request.manifest):
                return JobFiles(script, manifest_path, argv, request.tasks or 1, reused=True)
            continue
        write_script(script, text)
        if manifest_path is not None:
            write_json(manifest_path, request.manifest)
        return JobFiles(script, manifest_path, argv, request.tasks or 1, replaced=first if n > 1 else None)
    raise DnactxError(f"{out} already holds {MAX_VERSIONS} versions of {first.name}; use another --out or clean it")


def _same(script: Path, text: str, manifest_path: Path | None, manifest: dict | None) -> bool:
    try:
        if script.read_text(encoding="utf-8") != text:
            return False
        if manifest_path is None:
            return True
        wanted = json.loads(json.dumps(manifest, default=json_default))
        return json.loads(manifest_path.read_text(encoding="utf-8")) == wanted
    except (OSError, ValueError):
        return False


def matrix_argv(spec: MatrixSpec, raw_axes: dict[str, str | None], home: Path) -> list[str]:
    """``--home H matrix --data D --name N --baseline B <grid options as typed>`` for each array task."""
    from ..matrix.axes import axis_flags
    from ..train.config import grid_fields

    argv = ["--home", str(home), "matrix", "--data", str(spec.dataset.path), "--name", spec.name,
            "--baseline", spec.baseline]
    for f in grid_fields():
        if raw_axes.get(f.name) is not None:
            argv += [axis_flags(f)[0], raw_axes[f.name]]
    return argv


def matrix_job(spec: MatrixSpec, raw_axes: dict[str, str | None], opts: SlurmOptions, home: Path) -> JobRequest:
    """The job array of a matrix: task K runs ``dnactx matrix ... --cell K``; cells.json lists the cells."""
    home = Path(os.path.abspath(home))
    cells = spec.cells()
    argv = matrix_argv(spec, raw_axes, home)
    manifest = {
        "matrix": spec.name, "spec": spec.to_json(), "home": str(home), "python": opts.python,
        "array": f"0-{len(cells) - 1}", "command": argv + ["--cell", "$SLURM_ARRAY_TASK_ID"],
        "cells": [{"index": c.index, "baseline": c.baseline, "cell": c.values, "config": c.config.to_dict()}
                  for c in cells],
    }
    return JobRequest("matrix", spec.name, argv, tasks=len(cells), tail=CELL_TAIL,
                      models=sorted({c.config.model for c in cells}), manifest=manifest, manifest_name="cells")


def report_job(matrix: str, home: Path) -> JobRequest:
    """``dnactx --home H report --matrix NAME``: run after the matrix's array (``submit matrix --then-report``)."""
    return JobRequest("report", f"{matrix}-report"[:64], ["--home", os.path.abspath(home), "report", "--matrix",
                                                           matrix])


def train_job(train_args: list[str], home: Path, job_name: str, model: str | None) -> JobRequest:
    """``dnactx --home H train TRAIN_ARGS --run-id-file <script>.run-id``: one run, resumed when started again."""
    return JobRequest("train", job_name, ["--home", os.path.abspath(home), "train", *train_args],
                      models=[model] if model else [], run_id_file=True)


def pretrain_job(pretrain_args: list[str], home: Path, job_name: str) -> JobRequest:
    """``dnactx --home H pretrain PRETRAIN_ARGS --resume``: one pretrain (under ``accelerate launch`` for several
    GPUs); --resume makes every start after the first continue the checkpoint in --out (or report it finished)."""
    resume = [] if "--resume" in pretrain_args else ["--resume"]
    return JobRequest("pretrain", job_name, ["--home", os.path.abspath(home), "pretrain", *pretrain_args, *resume])
