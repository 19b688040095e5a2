"""Job scripts from templates: validated #SBATCH lines, quoted values, the pinned interpreter, preflight."""

from __future__ import annotations

import importlib.resources
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_path
from ..errors import DnactxError
from .quoting import check_directive, join, q, safe_path, split_setup

PLACEHOLDER = re.compile(r"\{\{\s*([A-Z_]+)\s*\}\}")
REQUIRED = ("PYTHON", "PREFLIGHT", "COMMAND")
KNOWN = ("DIRECTIVES", "PYTHON", "WORKDIR", "ENVIRONMENT", "SETUP", "PREFLIGHT", "COMMAND", "REQUEUE", "JOB_NAME")
# Seconds before the time limit at which SLURM sends SIGTERM: time for the trainer to write a checkpoint.
SIGNAL_LEAD_S = 120
# A free TCP port for accelerate's rendezvous, so several multi-GPU tasks can share a node.
_FREE_PORT = ('"$("$PY" -c ' + "'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); "
              "print(s.getsockname()[1])'" + ')"')


@dataclass
class SlurmOptions:
    """The resource request and environment of a job, as given to ``dnactx submit``."""

    python: str
    time: str = "24:00:00"
    mem: str = "32G"
    cpus: int = 4
    gpus: int = 1
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    max_parallel: int | None = None
    setup: list[str] = field(default_factory=list)
    requeue: bool = False  # exit 4 (preempted with a checkpoint) → scontrol requeue; the next start resumes
    max_requeues: int = 10

    def __post_init__(self) -> None:
        check_directive("time", self.time)
        check_directive("mem", self.mem)
        for option in ("partition", "account", "qos"):
            value = getattr(self, option)
            if value is not None:
                check_directive(option, value)
        if self.cpus < 1 or self.gpus < 0 or (self.max_parallel is not None and self.max_parallel < 1):
            raise DnactxError("--cpus and --max-parallel must be at least 1 and --gpus at least 0")
        if self.max_requeues < 0:
            raise DnactxError(f"--max-requeues must be at least 0, got {self.max_requeues}")
        self.setup_words = [split_setup(s) for s in self.setup]


def directives(opts: SlurmOptions, job_name: str, log_dir: Path, *, array_size: int | None = None) -> str:
    """The #SBATCH block: only validated values; the log path only when it needs no quoting."""
    lines = [f"--job-name={check_directive('job-name', job_name)}"]
    for option in ("partition", "account", "qos"):
        if getattr(opts, option):
            lines.append(f"--{option}={getattr(opts, option)}")
    lines += [f"--time={opts.time}", f"--mem={opts.mem}", f"--cpus-per-task={opts.cpus}", "--nodes=1",
              "--ntasks=1"]
    if opts.gpus:
        lines.append(f"--gres=gpu:{opts.gpus}")
    if array_size is not None:
        lines.append(f"--array=0-{array_size - 1}" + (f"%{opts.max_parallel}" if opts.max_parallel else ""))
    lines.append(f"--signal=B:TERM@{SIGNAL_LEAD_S}")
    if opts.requeue:
        lines.append("--requeue")
    log = str(log_dir / ("%x-%A_%a.out" if array_size is not None else "%x-%j.out"))
    if safe_path(str(log_dir)):
        lines += [f"--output={log}", "--open-mode=append"]
    return "\n".join(f"#SBATCH {line}" for line in lines)


def dnactx_command(argv: list[str], gpus: int, tail: str = "") -> str:
    """``"$PY" -m dnactx ARGV`` (under ``accelerate launch`` for several GPUs); ``tail`` is trusted text."""
    if gpus > 1:
        launch = (f'"$PY" -m accelerate.commands.launch --multi_gpu --num_processes {int(gpus)} --num_machines 1 '
                  f"--main_process_port {_FREE_PORT} -m dnactx")
    else:
        launch = '"$PY" -m dnactx'
    return f"{launch} {join(argv)}{tail}"


def load_template(kind: str, user_template: Path | None = None) -> str:
    """The user's ``--template`` file, or ``jobs/<kind>.sbatch`` shipped in the package as ``dnactx.jobs``."""
    if user_template is not None:
        try:
            text = Path(user_template).read_text(encoding="utf-8")
        except OSError as exc:
            raise DnactxError(f"--template {user_template}: {exc.strerror}") from None
    else:
        text = importlib.resources.files("dnactx.jobs").joinpath(f"{kind}.sbatch").read_text(encoding="utf-8")
    names = set(PLACEHOLDER.findall(text))
    unknown = sorted(names - set(KNOWN))
    missing = [n for n in REQUIRED if n not in names]
    if unknown or missing:
        raise DnactxError(f"template {user_template or kind + '.sbatch'}: "
                          + (f"unknown placeholders {unknown} " if unknown else "")
                          + (f"missing {missing} " if missing else "")
                          + f"(known: {', '.join('{{' + k + '}}' for k in KNOWN)})")
    return text


def environment(opts: SlurmOptions) -> str:
    """Exports every job needs: threads = the CPUs SLURM gave (``--cpus`` when run outside SLURM), no hub access."""
    return "\n".join([
        f'export OMP_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-{int(opts.cpus)}}}"',
        'export MKL_NUM_THREADS="$OMP_NUM_THREADS"',
        "export HF_HUB_OFFLINE=1  # compute nodes often have no internet: models come from the local cache",
    ])


def preflight(opts: SlurmOptions, models: list[str]) -> str:
    """The preflight command: environment and GPUs, and that each Hugging Face model is in the local cache."""
    return f'"$PY" -m dnactx.slurm.preflight --gpus {int(opts.gpus)}' + "".join(
        f" --model {q(m)}" for m in dict.fromkeys(models))


def requeue_block(opts: SlurmOptions) -> str:
    """After the trainer: with --requeue, a run stopped by SIGTERM with a checkpoint (exit 4) goes back in the queue
    (the job id stays, so the next start resumes it); at most ``max_requeues`` times."""
    if not opts.requeue:
        return "# (no --requeue: a preempted run resumes when the same script is submitted again)"
    limit = int(opts.max_requeues)
    return "\n".join([
        '# --requeue: exit 4 = stopped by SIGTERM after a checkpoint; requeue this job and its next start resumes.',
        'if [ "$rc" -eq 4 ]; then',
        f'  if [ "${{SLURM_RESTART_COUNT:-0}}" -lt {limit} ]; then',
        f'    echo "dnactx: preempted with a checkpoint; requeueing job $SLURM_JOB_ID (restart '
        f'${{SLURM_RESTART_COUNT:-0}} of at most {limit})" >&2',
        '    scontrol requeue "$SLURM_JOB_ID" || echo "dnactx: scontrol requeue failed; submit the same script '
        'again to resume" >&2',
        "  else",
        f'    echo "dnactx: already requeued {limit} times; submit the same script again to resume" >&2',
        "  fi",
        "fi",
    ])


def render(template: str, *, opts: SlurmOptions, job_name: str, workdir: Path, log_dir: Path, command: str,
           array_size: int | None = None, models: list[str] | None = None) -> str:
    """Fill the placeholders in one pass, so no substituted value is ever scanned for placeholders again.

    A ``--template`` without ``{{ENVIRONMENT}}`` gets the exports in front of the preflight; one without
    ``{{REQUEUE}}`` cannot be used with --requeue."""
    names = set(PLACEHOLDER.findall(template))
    if opts.requeue and "REQUEUE" not in names:
        raise DnactxError("--requeue needs {{REQUEUE}} in the --template, after the trainer's exit status is in "
                          "$rc (see jobs/train.sbatch)")
    values = {
        "DIRECTIVES": directives(opts, job_name, log_dir, array_size=array_size),
        "PYTHON": q(opts.python),
        "WORKDIR": q(str(workdir)),
        "ENVIRONMENT": environment(opts),
        "SETUP": "\n".join(join(words) for words in opts.setup_words) or ":",
        "PREFLIGHT": preflight(opts, models or []),
        "COMMAND": command,
        "REQUEUE": requeue_block(opts),
        "JOB_NAME": job_name,
    }
    if "ENVIRONMENT" not in names:
        values["PREFLIGHT"] = values["ENVIRONMENT"] + "\n" + values["PREFLIGHT"]
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def check_syntax(path: Path) -> None:
    """``bash -n``: refuse to leave a script that bash cannot parse (e.g. a broken --template)."""
    bash = shutil.which("bash")
    if bash is None:
        return
    res = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        raise DnactxError(f"{path} is not valid bash ({' '.join(res.stderr.split())[:300]}); check --template")


def write_script(path: Path, text: str) -> Path:
    """Write atomically after a ``bash -n`` check of the temporary file; executable where readable."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        check_syntax(tmp)
    mode = path.stat().st_mode
    path.chmod(mode | ((mode & 0o444) >> 2))
    return path
