"""Write a job: ``matrix.sbatch`` + ``cells.json`` (one array task per cell) or ``train.sbatch`` (one run)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..atomic import write_json
from ..matrix.spec import MatrixSpec
from .render import SlurmOptions, dnactx_command, load_template, render, write_script

# The array task index, expanded by bash at run time: the only unquoted text after the dnactx arguments.
CELL_TAIL = ' --cell "$SLURM_ARRAY_TASK_ID"'


@dataclasses.dataclass
class JobFiles:
    script: Path
    manifest: Path | None
    argv: list[str]
    tasks: int


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


def write_matrix_job(spec: MatrixSpec, raw_axes: dict[str, str | None], opts: SlurmOptions, out: Path,
                     home: Path, *, template: Path | None = None, workdir: Path | None = None) -> JobFiles:
    """``out/matrix.sbatch`` (array 0..N-1, task K runs ``dnactx matrix ... --cell K``) and ``out/cells.json``."""
    out = Path(os.path.abspath(out))
    workdir = Path(os.path.abspath(workdir or Path.cwd()))
    home = Path(os.path.abspath(home))
    cells = spec.cells()
    argv = matrix_argv(spec, raw_axes, home)
    (out / "logs").mkdir(parents=True, exist_ok=True)  # SLURM does not create the --output folder
    text = render(load_template("matrix", template), opts=opts, job_name=spec.name, workdir=workdir,
                  log_dir=out / "logs", command=dnactx_command(argv, opts.gpus, CELL_TAIL), array_size=len(cells))
    script = write_script(out / "matrix.sbatch", text)
    manifest = write_json(out / "cells.json", {
        "matrix": spec.name, "spec": spec.to_json(), "home": str(home), "python": opts.python,
        "array": f"0-{len(cells) - 1}", "command": argv + ["--cell", "$SLURM_ARRAY_TASK_ID"],
        "cells": [{"index": c.index, "baseline": c.baseline, "cell": c.values, "config": c.config.to_dict()}
                  for c in cells],
    })
    return JobFiles(script, manifest, argv, len(cells))


def write_train_job(train_args: list[str], opts: SlurmOptions, out: Path, home: Path, job_name: str, *,
                    template: Path | None = None, workdir: Path | None = None) -> JobFiles:
    """``out/train.sbatch`` running ``dnactx --home H train TRAIN_ARGS`` once."""
    out = Path(os.path.abspath(out))
    workdir = Path(os.path.abspath(workdir or Path.cwd()))
    argv = ["--home", os.path.abspath(home), "train", *train_args]
    (out / "logs").mkdir(parents=True, exist_ok=True)
    text = render(load_template("train", template), opts=opts, job_name=job_name, workdir=workdir,
                  log_dir=out / "logs", command=dnactx_command(argv, opts.gpus))
    return JobFiles(write_script(out / "train.sbatch", text), None, argv, 1)
