"""One training run end to end: run folder, data, model family, trainer, metrics, artifacts, registry."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_json, write_text
from ..contracts import MetricsFile, RunFacts
from ..data.dataset import Dataset, load_dataset, read_meta
from ..distributed import is_distributed, is_main, share_run_id
from ..errors import DnactxError, ExitCode
from ..formatting import term
from ..inference.calibration import CALIBRATION_FILE
from ..provenance import library_versions
from ..runs import RunFolder, folder_for_this_process, iter_run_folders, pretrain_lineage, run_config
from ..runs.liveness import heartbeat
from ..sequence import cut_context
from ..stats.bootstrap import block_ids
from ..stats.evaluation import RunEvaluation, Settings, Sites, evaluate_run
from ..stats.levels import LEVEL_METRICS, level_evaluation
from ..storage import StorageError, from_os_error, is_storage_error
from .config import TrainConfig, effective_max_train
from .preemption import Preempted, has_checkpoint
from .signals import SigtermGuard, sigterm_guard


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        from rich.console import Console

        Console(stderr=True).print(message, highlight=False, soft_wrap=True)


def default_name(config: TrainConfig) -> str:
    model = Path(config.model).name if config.family == "transformer" else config.model
    tail = f"-{config.finetune}" if config.family == "transformer" else ""
    return f"{model}-{config.mode}{config.size}{tail}-{config.loss}-s{config.seed}"


def _dataset_path(config: TrainConfig) -> Path:
    path = Path(config.data)
    path = path / "dataset.parquet" if path.is_dir() else path
    if not path.is_file():
        raise DnactxError(f"dataset {path} not found; run `dnactx prepare` first or pass --data DIR/dataset.parquet")
    return path


def _record(home: Path, folder: RunFolder, quiet: bool) -> bool:
    if not folder.writable:
        return False
    try:
        from ..registry import record_run
    except ImportError:
        _log(quiet, "[yellow]warning:[/] the run registry is not available; the run folder is complete")
        return False
    return bool(record_run(home, folder))


def _find_run(home: Path, run_id: str) -> RunFolder:
    try:
        from ..registry import Registry

        return RunFolder.open(home, Registry.open(home).resolve(run_id))
    except ImportError:
        pass
    matches = [f for f in iter_run_folders(home) if f.id.startswith(run_id)]
    if len(matches) != 1:
        raise DnactxError(f"--resume {run_id}: {'no run' if not matches else 'several runs'} under {home} "
                          "match; pass the full run id (see `dnactx runs list`)")
    return matches[0]


def run_in_id_file(id_file: Path, home: Path) -> tuple[RunFolder | None, str]:
    """What a ``--run-id-file`` asks for: ``(folder, "resume")`` for a run with a checkpoint, ``(folder, "done")``
    for a completed run, ``(None, why)`` to start a new run (no file yet, or a run that cannot be resumed)."""
    try:
        run_id = Path(id_file).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, "no run yet"
    except OSError as exc:
        raise DnactxError(f"--run-id-file {id_file}: cannot read it ({exc.strerror}); check the path") from None
    folder = Path(home) / run_id
    if not run_id or not (folder / "status.json").is_file():
        return None, f"run {run_id or '(empty)'} named in {id_file} is not under {home}"
    status = RunFolder(folder).status.get("status")
    if status == "completed":
        return RunFolder(folder), "done"
    if has_checkpoint(folder):
        return RunFolder(folder), "resume"
    return None, f"run {run_id} ({status}) named in {id_file} has no checkpoint"


# Runs stopped before their first checkpoint (an lr fit, or SIGTERM/Ctrl-C before the first epoch ended):
# --resume starts them again from the beginning, in the same folder.
RESTARTABLE = ("preempted", "interrupted")


def _resumed_folder(home: Path, resume: str) -> tuple[RunFolder, TrainConfig, bool]:
    """The run to continue, its saved config and whether it has a checkpoint; an error when it is complete, or
    has no checkpoint and was not stopped by a signal."""
    folder = _find_run(home, resume)
    status = folder.status.get("status")
    if status == "completed":
        raise DnactxError(f"run {folder.id} is already completed; nothing to resume")
    checkpoint = has_checkpoint(folder.path)
    if not checkpoint and status not in RESTARTABLE:
        raise DnactxError(f"run {folder.id} ({status}) has no checkpoint to resume from; start a new run")
    return folder_for_this_process(folder.path), TrainConfig.from_dict(folder.config), checkpoint


def _new_folder(config: TrainConfig, home: Path, matrix: str | None, cell: dict | None, solo: bool) -> RunFolder:
    """A new run folder (made by the main process; the other ranks get its id) with the resolved config."""
    data_path = _dataset_path(config)
    meta = read_meta(data_path)
    if meta.get("window"):
        cut_context([], int(meta["window"]), config.size, config.mode)  # size vs window, before any folder
    record = run_config(config.to_dict(), data=str(data_path.resolve()), family=config.family,
                        dataset_fingerprint=meta["fingerprint"], window=meta.get("window"),
                        versions=library_versions(), device=None, matrix=matrix, cell=cell,
                        max_train_effective=effective_max_train(config))
    lineage = pretrain_lineage(config.model) if config.family == "transformer" else None
    if lineage is not None:  # --model is a `dnactx pretrain` folder: record which pretrain this fine-tunes
        record = run_config(record, pretrain_run=lineage["run"], pretrain=lineage)
    folder = None
    if is_main():
        folder = RunFolder.create(home, record, name=config.name or default_name(config), matrix=matrix)
    run_id = folder.id if solo else share_run_id(folder.id if folder else None)
    return folder or folder_for_this_process(home / run_id)


def train_run(config: TrainConfig, home: Path, *, matrix: str | None = None, cell: dict | None = None,
              resume: str | None = None, quiet: bool = False, on_start: Callable[[str], None] | None = None,
              trust_remote_code: bool | None = None) -> dict:
    """Train one model, write its run folder and register it; ``{"run_id", "status", "metrics"}``.

    A run stopped by SIGTERM is marked preempted (status "preempted", metrics None) and can be finished with
    ``resume=run_id``. User errors are recorded in status.json and raised as DnactxError. ``on_start`` is called
    with the run id (main process only) once the run folder exists. ``trust_remote_code`` (default: the given
    config's) is this command line's opt-in: a resumed run never takes it from its stored config.json.
    """
    home = Path(home)
    solo = not resume and is_distributed() and config.family == "lr"
    if solo and not is_main():
        # lr is one scikit-learn fit: under torchrun/accelerate launch rank 0 runs it alone, without collectives
        return {"run_id": None, "status": "skipped", "metrics": None}
    trust = bool(config.trust_remote_code if trust_remote_code is None and config is not None else trust_remote_code)
    from_checkpoint = False
    if resume:
        folder, config, from_checkpoint = _resumed_folder(home, resume)
        config = dataclasses.replace(config, trust_remote_code=trust)
    else:
        folder = _new_folder(config, home, matrix, cell, solo)
    if on_start is not None and is_main():
        on_start(folder.id)
    try:  # imported now: a SIGTERM must not land inside the import of what records the run's end
        from ..registry import record_run  # noqa: F401
    except ImportError:
        pass
    with sigterm_guard() as sigterm, heartbeat(folder.path) if folder.writable else contextlib.nullcontext():
        return _run_to_end(config, folder, home, sigterm, from_checkpoint=from_checkpoint, quiet=quiet)


def _run_to_end(config: TrainConfig, folder: RunFolder, home: Path, sigterm: SigtermGuard, *, from_checkpoint: bool,
                quiet: bool) -> dict:
    """Mark the run running, train it, and record how it ended (completed, preempted, interrupted or failed)."""
    try:
        folder.set_status("running")
        _record(home, folder, quiet)
        with sigterm.armed():
            metrics = _train(config, folder, home, resume=from_checkpoint, quiet=quiet)
    except Preempted as exc:
        _record_end(home, folder, "preempted", str(exc), quiet)
        # said even under --quiet: it is how the run ended (exit 4), as an error line would be
        _log(False, f"[yellow]preempted:[/] run {folder.id} {term(exc)}; continue with "
                    f"`dnactx train --resume {folder.id}`")
        return {"run_id": folder.id, "status": "preempted", "metrics": None}
    except DnactxError as exc:
        _record_failure(home, folder, exc, quiet)
        raise
    except Exception as exc:
        _record_failure(home, folder, exc, quiet)
        if is_storage_error(exc):  # a full or read-only disk, possibly inside a library's own exception
            raise StorageError(f"run {folder.id} failed: {from_os_error(exc, folder.path)}") from exc
        raise DnactxError(f"run {folder.id} failed: {type(exc).__name__}: {exc} "
                          f"(traceback in {folder.path / 'error.txt'})", exit_code=ExitCode.RUN_FAILED) from exc
    except KeyboardInterrupt:  # Ctrl-C: recorded as such, then passed on (exit 130)
        _record_end(home, folder, "interrupted", "stopped by Ctrl-C (SIGINT); `dnactx train --resume "
                    f"{folder.id}` continues it", quiet)
        raise
    except BaseException as exc:  # SystemExit: recorded, then passed on
        _record_failure(home, folder, exc, quiet)
        raise
    folder.set_status("completed")
    _record(home, folder, quiet)
    return {"run_id": folder.id, "status": "completed", "metrics": metrics}


def _record_end(home: Path, folder: RunFolder, status: str, error: str, quiet: bool) -> None:
    """Status ``status`` and its registry row, as far as they can be written (a full disk: see _record_failure)."""
    try:
        folder.set_status(status, error=error)
    except OSError:
        return
    _record(home, folder, quiet)


def _record_failure(home: Path, folder: RunFolder, exc: BaseException, quiet: bool) -> None:
    """The traceback in error.txt (for a bug), status "failed" and its registry row, as far as they can be written:
    on a full disk they may not fit, and the error the user then sees must be the disk's, not one about error.txt."""
    try:
        if folder.writable and not isinstance(exc, DnactxError) and not is_storage_error(exc):
            write_text(folder.path / "error.txt", traceback.format_exc())
        folder.set_status("failed", error=str(exc) if isinstance(exc, DnactxError) else f"{type(exc).__name__}: {exc}")
    except OSError:
        return  # the folder keeps its last status; the registry reconciles with it when the disk has room again
    _record(home, folder, quiet)


def _train(config: TrainConfig, folder: RunFolder, home: Path, *, resume: bool, quiet: bool) -> MetricsFile:
    from accelerate.utils import set_seed

    set_seed(config.seed)
    t0 = time.perf_counter()
    ds = load_dataset(config.data, config.size, config.mode, max_train=effective_max_train(config),
                      train_fraction=config.train_fraction, seed=config.seed)
    if ds.fingerprint != folder.config.get("dataset_fingerprint"):
        raise DnactxError(f"{ds.path} changed since run {folder.id} started (fingerprint differs); start a new run")
    if config.target == "level" and ds.splits["train"].mc is None:
        raise DnactxError(f"{ds.path} has no read counts (mc, cov columns) for --target level; re-run `dnactx "
                          "prepare`, or train --target label")
    _log(quiet, f"run {folder.id}: {term(config.model)} {config.mode} {config.size} bp, "
                f"train {len(ds.splits['train'])} / val {len(ds.splits['val'])} / test {len(ds.splits['test'])}")
    if config.family == "lr":
        from .lr_run import train_lr

        probs, extra = train_lr(config, ds, folder, quiet=quiet)
    else:
        from .neural import train_neural

        probs, extra = train_neural(config, ds, folder, home, resume=resume, quiet=quiet)
    facts: RunFacts = {"train_sites": len(ds.splits["train"]), **extra}
    facts.setdefault("train_seconds", time.perf_counter() - t0)
    evaluation = _evaluate(config, ds, probs)
    metrics: MetricsFile = {**evaluation.metrics, "facts": facts}
    if config.target == "level":
        metrics["level"] = _evaluate_levels(config, ds, probs)
        _headline_levels(metrics)
    _write_calibration(folder, evaluation)
    _write_predictions(folder, ds, evaluation)
    folder.write_metrics(metrics)
    folder.add_artifact(folder.path / "metrics.json", "metrics")
    return metrics


def _evaluate(config: TrainConfig, ds: Dataset, probs: dict[str, np.ndarray]) -> RunEvaluation:
    """metrics.json's measured part: calibration, thresholds, intervals, floor and within-context (stats)."""
    sites = {name: Sites(s.labels, probs[name], s.context, s.chrom, s.pos, s.feature)
             for name, s in ds.splits.items() if name in ("val", "test")}
    settings = Settings(bootstrap=config.bootstrap, block_bp=config.bootstrap_block, calibrate=config.calibrate,
                        threshold_by=config.threshold_by, seed=config.seed)
    train = ds.splits["train"]
    return evaluate_run(sites["val"], sites["test"], train.labels, train.context, settings)


def _evaluate_levels(config: TrainConfig, ds: Dataset, probs: dict[str, np.ndarray]) -> dict:
    """metrics.json's ``level`` section: per eval split the model's own predicted levels (never calibrated: a
    calibration map is fitted to the label) against mc / cov, per context, with block-bootstrap intervals."""
    out = {}
    for name in ("val", "test"):
        s = ds.splits[name]
        blocks = block_ids(s.chrom, s.pos, config.bootstrap_block) if s.chrom is not None and s.pos is not None \
            else None
        out[name] = level_evaluation(s.level, probs[name], s.cov, s.context, blocks, n_resamples=config.bootstrap,
                                     seed=config.seed, block_bp=config.bootstrap_block)
    return out


def _headline_levels(metrics: MetricsFile) -> None:
    """The level figures also beside each split's and context's AUROC/AUPRC, where the registry, ``report`` and
    ``runs list`` read numbers (the intervals stay in the ``level`` section)."""
    for split, entry in metrics["level"].items():
        metrics[split].update({m: entry[m] for m in LEVEL_METRICS})  # type: ignore[literal-required]
        for c, sub in entry["by_context"].items():
            if c in metrics["by_context"][split]:
                metrics["by_context"][split][c].update({m: sub[m] for m in LEVEL_METRICS})


def _write_calibration(folder: RunFolder, evaluation: RunEvaluation) -> None:
    """calibration.json (the map ``load_scorer`` applies, see dnactx.inference.calibration) under --calibrate, written
    whole before metrics.json so that a completed calibrated run always carries it; listed among the artifacts."""
    if not folder.writable or evaluation.calibration is None:
        return
    target = folder.path / CALIBRATION_FILE
    write_json(target, evaluation.calibration)
    folder.add_artifact(target, "calibration")


def _write_predictions(folder: RunFolder, ds: Dataset, evaluation: RunEvaluation) -> None:
    """predictions_val_test.npz: per split the final scores (``*_prob``, calibrated under --calibrate; the predicted
    level of a level run), the model's own (``*_prob_raw``, only when calibrated), labels, contexts, dataset rows,
    genomic positions and read counts (``*_mc``, ``*_cov``)."""
    if not folder.writable:
        return
    arrays = {}
    for split in ("val", "test"):
        s = ds.splits[split]
        arrays.update({f"{split}_prob": evaluation.scores[split].astype(np.float32), f"{split}_label": s.labels,
                       f"{split}_context": s.context.astype(str), f"{split}_index": s.index})
        if evaluation.raw is not None:
            arrays[f"{split}_prob_raw"] = evaluation.raw[split].astype(np.float32)
        if s.chrom is not None and s.pos is not None:
            arrays.update({f"{split}_chrom": s.chrom.astype(str), f"{split}_pos": s.pos})
        if s.mc is not None and s.cov is not None:  # the measured levels, for paired level comparisons
            arrays.update({f"{split}_mc": s.mc.astype(np.int32), f"{split}_cov": s.cov.astype(np.int32)})
    target = folder.path / "predictions_val_test.npz"
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    folder.add_artifact(target, "predictions")
