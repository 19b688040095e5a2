"""``dnactx submit matrix|train|pretrain|predict``: write a SLURM job script (pinned Python, preflight),
optionally sbatch it."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import typer

from ..errors import DnactxError
from ..outputs import check_folder
from ..slurm.quoting import q as quote_word
from .command import DnactxCommand, DnactxGroup
from .common import console, console_err, state
from .matrix import matrix_options, spec_from_options
from .options import grid_values, home_option, option, with_options

SLURM_PANEL = "SLURM"
ENV_PANEL = "Environment (default: the Python running this command)"


def _slurm_params(*, array: bool) -> list:
    """The SLURM and environment options; ``--max-parallel`` only for a job array."""
    def opt(name: str, annotation: Any, default: Any, flag: str, help: str, panel: str = SLURM_PANEL):
        return option(name, annotation, default, flag, help=help, rich_help_panel=panel)

    params = [
        opt("partition", str | None, None, "--partition", "SLURM partition (omit for the cluster default)."),
        opt("gpus", int, 1, "--gpus", "GPUs per task; >1 runs the trainer under `accelerate launch`."),
        opt("time", str, "24:00:00", "--time", "Time limit per task (HH:MM:SS or D-HH:MM:SS)."),
        opt("mem", str, "32G", "--mem", "Memory per task, e.g. 32G."),
        opt("cpus", int, 4, "--cpus", "CPUs per task."),
        opt("account", str | None, None, "--account", "SLURM account."),
        opt("qos", str | None, None, "--qos", "SLURM QOS."),
        opt("max_parallel", int | None, None, "--max-parallel", "At most K array tasks at once "
            "(sbatch --array=...%K)."),
        opt("requeue", bool, False, "--requeue", "When SIGTERM (preemption, the time limit) stops a run after its "
            "checkpoint, the job requeues itself (#SBATCH --requeue + scontrol requeue) and its next start "
            "resumes the run."),
        opt("max_requeues", int, 10, "--max-requeues", "With --requeue: at most this many requeues per job."),
        opt("setup", list[str] | None, None, "--setup", "A command run before the job, e.g. "
            "'module load cuda/12.1' (repeatable). Each is ONE plain command: its words are quoted, so shell "
            "syntax ($VAR, $(...), |, &&) is not interpreted."),
        opt("python", str | None, None, "--python", "Absolute path of the Python to run.", panel=ENV_PANEL),
        opt("venv", str | None, None, "--venv", "A virtual environment: runs PATH/bin/python.", panel=ENV_PANEL),
        opt("conda_env", str | None, None, "--conda-env", "A conda env name or folder: runs its bin/python "
            "(found now, so the job never depends on `conda activate`).", panel=ENV_PANEL),
        opt("out", Path | None, None, "--out", "Folder for the script (default jobs/NAME/ here)."),
        opt("submit", bool, False, "--submit", "Also run sbatch (when on PATH) and record the job id."),
        opt("template", Path | None, None, "--template", "Your own sbatch template with {{PYTHON}}, "
            "{{PREFLIGHT}}, {{COMMAND}} (and optionally {{DIRECTIVES}}, {{WORKDIR}}, {{SETUP}}, {{JOB_NAME}})."),
    ]
    if array:
        params.append(opt("then_report", bool, False, "--then-report", "Also write report.sbatch, which runs "
                          "`dnactx report --matrix NAME`; with --submit it is submitted to start when the whole "
                          "array has ended (--dependency=afterany:ARRAY_JOB_ID)."))
    return [p for p in params if array or p.name != "max_parallel"]


def _slurm_options(options: dict[str, Any]):
    from ..slurm.interpreter import resolve_python
    from ..slurm.render import SlurmOptions

    python = resolve_python(python=options["python"], venv=options["venv"], conda_env=options["conda_env"])
    return SlurmOptions(python=python, time=options["time"], mem=options["mem"], cpus=options["cpus"],
                        gpus=options["gpus"], partition=options["partition"], account=options["account"],
                        qos=options["qos"], max_parallel=options.get("max_parallel"),
                        setup=list(options["setup"] or []), requeue=options["requeue"],
                        max_requeues=options["max_requeues"])


def _say(message: str) -> None:
    console_err.print(message, highlight=False, soft_wrap=True, markup=False)


def _describe(files, what: str) -> None:
    """Where the script is, and whether it is new, the same as before, or a new version beside a different one."""
    tasks = f"{files.tasks} task{'s' if files.tasks != 1 else ''}"
    extra = f" and {files.manifest}" if files.manifest else ""
    if files.reused:
        _say(f"{what}: {files.script} ({tasks}; unchanged, the same script as before){extra}")
    elif files.replaced:
        _say(f"{what}: {files.script} ({tasks}){extra}; {files.replaced.name} there differs and is kept")
    else:
        _say(f"{what}: wrote {files.script} ({tasks}){extra}")


def _finish(files, options: dict[str, Any], job_name: str, *, then=None, on_submitted=None) -> None:
    """Print the sbatch line (or submit: the job id on stdout); ``then`` runs after the job, whatever its outcome."""
    from ..slurm.sbatch import chained_line, record_submission, sbatch_line, submit

    if not options["submit"]:
        line = chained_line(files.script, then.script) if then else sbatch_line(files.script)
        console.print(line, highlight=False, soft_wrap=True, markup=False)
        return
    job_id = submit(files.script, Path.cwd())
    entry = {"job_id": job_id, "job_name": job_name, "script": str(files.script), "tasks": files.tasks}
    if then:
        entry["then"] = {"job_id": submit(then.script, Path.cwd(), after=job_id), "script": str(then.script)}
    record_submission(files.script.parent, entry)
    if on_submitted:
        on_submitted(entry)
    _say(f"submitted job {job_id}: {sbatch_line(files.script)}")
    if then:
        _say(f"submitted job {entry['then']['job_id']}: {then.script}, to start when job {job_id} has ended")
    console.print(job_id, highlight=False)


def _submit_matrix(**options: Any) -> None:
    from ..matrix.session import register_matrix
    from ..slurm.jobs import matrix_job, report_job, write_job

    spec = spec_from_options(options)
    opts = _slurm_options(options)
    out = check_folder(options["out"] or Path("jobs") / spec.name)
    files = write_job(matrix_job(spec, grid_values(options), opts, state.home), opts, out,
                      template=options["template"])
    _describe(files, f"matrix {spec.name}")
    then = None
    if options["then_report"]:
        light = dataclasses.replace(opts, gpus=0, cpus=1, mem="8G", time="01:00:00", max_parallel=None,
                                    requeue=False)
        then = write_job(report_job(spec.name, state.home), light, out)
        _describe(then, "report")
    register_matrix(state.home, spec)
    _say(f"when it has run: dnactx --home {quote_word(state.home)} report --matrix {quote_word(spec.name)}")
    _finish(files, options, spec.name, then=then,
            on_submitted=lambda entry: register_matrix(state.home, spec, entry))


def _parse_with(command: str, args: list[str], *, on_help: str | None = None) -> dict[str, Any]:
    """Parse ``args`` with the real ``dnactx COMMAND`` (mistakes show now, not in the queue); its parsed options.
    ``on_help``: the error when the arguments only ask for help (None: accept, with no options)."""
    from . import app

    real = getattr(typer.main.get_command(app), "commands", {}).get(command)
    if real is None:
        raise DnactxError(f"`dnactx {command}` is not available in this installation; cannot write a {command} job")
    try:
        return real.make_context(command, list(args)).params
    except typer.Exit:
        if on_help is None:
            return {}
        raise DnactxError(on_help) from None
    except typer.TyperException as exc:
        raise DnactxError(f"submit {command}: {exc.format_message()} (the options after the SLURM ones are "
                          f"`dnactx {command}` options)") from None


def _validate_train_args(args: list[str]) -> dict[str, Any]:
    if "--run-id-file" in args or "--resume" in args:
        raise DnactxError("submit train writes its own --run-id-file (the job resumes its run when started again); "
                          "leave out --run-id-file and --resume")
    parsed = _parse_with("train", args)
    if parsed.get("data"):  # every number and the name checked now, not when the job starts in the queue
        from .options import config_from_options

        config_from_options(parsed)
    return parsed


def _submit_train(ctx: typer.Context, **options: Any) -> None:
    from ..matrix.spec import validate_name
    from ..slurm.jobs import train_job, write_job

    args = list(ctx.args)
    parsed = _validate_train_args(args)
    job_name = validate_name(options["job_name"], "--job-name")
    opts = _slurm_options(options)
    out = check_folder(options["out"] or Path("jobs") / job_name)
    files = write_job(train_job(args, state.home, job_name, parsed.get("model")), opts, out,
                      template=options["template"])
    _describe(files, f"train job {job_name}")
    _finish(files, options, job_name)


def _validate_pretrain_args(args: list[str]) -> dict[str, Any]:
    """``dnactx pretrain``'s own parse and checks of the options, and of --out (a folder holding something else,
    or a run with other options, is refused now rather than when the job starts)."""
    from ..pretrain.run import check_out
    from .pretrain import pretrain_options

    parsed = _parse_with("pretrain", args, on_help="submit pretrain needs --genome FASTA --out DIR (and any other "
                         "`dnactx pretrain` options)")
    opts = pretrain_options(parsed)
    opts.resume = True  # the job always continues what is in --out
    opts.validate()
    check_out(opts)
    return parsed


def _submit_pretrain(ctx: typer.Context, **options: Any) -> None:
    from ..matrix.spec import validate_name
    from ..slurm.jobs import pretrain_job, write_job

    args = list(ctx.args)
    _validate_pretrain_args(args)
    job_name = validate_name(options["job_name"], "--job-name")
    opts = _slurm_options(options)
    out = check_folder(options["out"] or Path("jobs") / job_name)
    files = write_job(pretrain_job(args, state.home, job_name), opts, out, template=options["template"])
    _describe(files, f"pretrain job {job_name}")
    _finish(files, options, job_name)


def _validate_predict_args(args: list[str]) -> dict[str, Any]:
    if "--group" in args or "--groups" in args:
        raise DnactxError("submit predict gives each array task its own --group/--groups; leave them out")
    return _parse_with("predict", args, on_help="submit predict needs MODEL --genome FASTA --out DIR (and any "
                       "other `dnactx predict` options)")


def _submit_predict(ctx: typer.Context, **options: Any) -> None:
    from ..inference import locate_model
    from ..io.fasta import FastaGenome
    from ..matrix.spec import validate_name
    from ..predict.regions import groups_by_length, targets
    from ..slurm.predict import write_predict_job
    from .common import parse_csv
    from .labels import label_rules
    from .predict import predict_options

    args = list(ctx.args)
    parsed = _validate_predict_args(args)
    job_name = validate_name(options["job_name"], "--job-name")
    if options["tasks"] is not None and options["tasks"] < 1:
        raise DnactxError(f"--tasks must be at least 1, got {options['tasks']}")
    predict_options(parsed, label_rules(parsed)).validate()
    locate_model(parsed["model"], state.home)
    plan = targets(FastaGenome(parsed["genome"]), parsed.get("regions"), parse_csv(parsed.get("chroms")))
    n = min(options["tasks"] or len(plan), len(plan))
    groups = [[{"chrom": t.name, "bases": t.bases} for t in group] for group in groups_by_length(plan, n)]
    opts = _slurm_options(options)
    out = check_folder(options["script_dir"] or Path("jobs") / job_name, "--script-dir")
    files = write_predict_job(args, groups, opts, out, state.home, job_name, template=options["template"])
    _finish(files, options, job_name)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Write SLURM job scripts (and optionally submit them) for a matrix, one run, a "
                           "pretrain or a genome-wide predict.",
                      no_args_is_help=True, cls=DnactxGroup)
    sub.command(
        "matrix", cls=DnactxCommand,
        help="Write jobs/NAME/matrix.sbatch (a job array: task K runs `dnactx matrix ... --cell K`) and "
             "cells.json; print the sbatch line. Takes every `dnactx matrix` option. Submitting the same matrix "
             "again skips completed cells and resumes preempted ones.",
    )(with_options(_submit_matrix, matrix_options(), _slurm_params(array=True), [home_option()]))

    def job_name_option(default: str):
        return option("job_name", str, default, "--job-name", help="SLURM job name (letters, digits, . _ -).",
                      rich_help_panel=SLURM_PANEL)

    job_name = job_name_option("dnactx-train")
    sub.command(
        "train", cls=DnactxCommand,
        help="Write jobs/JOB_NAME/train.sbatch running `dnactx train` with the remaining options "
             "(e.g. --data D --model dnabert6-tiny --size 100); print the sbatch line.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(with_options(_submit_train, [_context_param(), job_name], _slurm_params(array=False),
                   [home_option()]))
    pretrain_name = job_name_option("dnactx-pretrain")
    pretrain_out = option("out", Path | None, None, "--script-dir", help="Folder for the script (default "
                          "jobs/JOB_NAME/ here; --out is pretrain's model folder).", rich_help_panel=SLURM_PANEL)
    sub.command(
        "pretrain", cls=DnactxCommand,
        help="Write jobs/JOB_NAME/pretrain.sbatch running `dnactx pretrain --resume` with the remaining options "
             "(--genome FASTA --out DIR ...), under `accelerate launch` for --gpus > 1; print the sbatch line. "
             "With --requeue a preempted pretrain requeues itself and continues its checkpoint.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(with_options(_submit_pretrain, [_context_param(), pretrain_name, pretrain_out],
                   [p for p in _slurm_params(array=False) if p.name != "out"], [home_option()]))
    predict_name = job_name_option("dnactx-predict")
    tasks = option("tasks", int | None, None, "--tasks", help="Array tasks: chromosome groups balanced by length "
                   "(default: one per chromosome to score).", rich_help_panel=SLURM_PANEL)
    script_dir = option("script_dir", Path | None, None, "--script-dir", help="Folder for the script (default "
                        "jobs/JOB_NAME/ here; --out is predict's output folder).", rich_help_panel=SLURM_PANEL)
    sub.command(
        "predict", cls=DnactxCommand,
        help="Write jobs/JOB_NAME/predict.sbatch, a job array running `dnactx predict` with the remaining options "
             "(MODEL --genome FASTA --out DIR ...): one task per chromosome group, the last to finish merges the "
             "outputs; and groups.json. Print the sbatch line.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(with_options(_submit_predict, [_context_param(), predict_name, tasks, script_dir],
                   [p for p in _slurm_params(array=True) if p.name != "out"], [home_option()]))
    app.add_typer(sub, name="submit")


def _context_param() -> inspect.Parameter:
    return inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
