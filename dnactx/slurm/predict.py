"""Write a ``dnactx predict`` job array: one task per chromosome group (balanced by length), each scoring its
chromosomes into part files under --out; the task that finishes last merges them (predict does that itself)."""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import write_json
from ..outputs import claim_folder
from .jobs import JOB_FILES, JobFiles
from .render import SlurmOptions, dnactx_command, load_template, render, write_script

GROUP_TAIL = ' --group "$SLURM_ARRAY_TASK_ID" --groups {groups}'  # trusted text: the only unquoted part


def write_predict_job(predict_args: list[str], groups: list[list[dict]], opts: SlurmOptions, out: Path, home: Path,
                      job_name: str, *, template: Path | None = None) -> JobFiles:
    """``out/predict.sbatch`` (array 0..G-1: task K runs ``dnactx --home H predict PREDICT_ARGS --group K --groups
    G``) and ``out/groups.json`` (each group's chromosomes with their bases to score)."""
    out = Path(os.path.abspath(out))
    claim_folder(out, "submit predict", JOB_FILES, option="--script-dir", home=home)
    workdir = Path(os.path.abspath(Path.cwd()))
    argv = ["--home", os.path.abspath(home), "predict", *predict_args]
    tail = GROUP_TAIL.format(groups=len(groups))
    (out / "logs").mkdir(parents=True, exist_ok=True)  # SLURM does not create the --output folder
    text = render(load_template("predict", template), opts=opts, job_name=job_name, workdir=workdir,
                  log_dir=out / "logs", command=dnactx_command(argv, opts.gpus, tail), array_size=len(groups))
    script = write_script(out / "predict.sbatch", text)
    manifest = write_json(out / "groups.json", {
        "job_name": job_name, "home": os.path.abspath(home), "python": opts.python, "array": f"0-{len(groups) - 1}",
        "command": argv + ["--group", "$SLURM_ARRAY_TASK_ID", "--groups", str(len(groups))],
        "groups": [{"index": k, "bases": sum(c["bases"] for c in group), "chromosomes": group}
                   for k, group in enumerate(groups)],
    })
    return JobFiles(script, manifest, argv, len(groups))
