"""``dnactx pretrain`` end to end: check the options and the --out folder, cut the corpus, build the tokenizer and
model, train (resuming a checkpoint), write the model folder. Returns what pretrain.json records."""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import read_json, write_json
from ..distributed import is_main
from ..errors import DnactxError
from ..heap import pin_mmap_threshold
from ..provenance import utcnow
from ..runs import RunFolder
from ..train.preemption import Preempted
from .corpus import Exclusions, build_corpus, read_bed, read_dataset_holdout
from .model import build_model
from .options import PretrainOptions
from .output import RECORD, hardware, versions, write_model
from .record import finish, register, run_folder
from .trainer import LOG, train
from .vocab import make_vocab

STARTED = "pretrain_started.json"  # options of an unfinished run, beside its checkpoint


def check_out(opts: PretrainOptions) -> dict | None:
    """None to go on; the finished record when ``--resume`` finds the run complete. A folder that holds something
    else, an unfinished run without --resume, or one started with other options, is one line saying what to do."""
    out = Path(opts.out)
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return None
    if not out.is_dir():
        raise DnactxError(f"--out {out} is a file; give a folder for the model")
    done = read_json(out / RECORD, fix="remove the folder or choose another --out")
    if done is not None and (out / "config.json").is_file():
        if opts.resume:
            return done
        raise DnactxError(f"--out {out} already holds a pretrained model; choose another --out (or --resume to "
                          "report it)")
    started = read_json(out / STARTED, fix="remove the folder or choose another --out")
    if started is None:
        raise DnactxError(f"--out {out} is not empty and holds no dnactx pretrain; give a new or empty folder")
    if not opts.resume:
        raise DnactxError(f"--out {out} holds an unfinished pretrain; pass --resume to continue it, or choose "
                          "another --out")
    diff = opts.differences(started["options"])
    if diff:
        raise DnactxError(f"--resume with other options than the run in {out} ({'; '.join(diff)}); use the same "
                          "options, or another --out")
    return None


def run_pretrain(opts: PretrainOptions, home: Path | None = None) -> dict:
    """Pretrain into ``opts.out``; with ``home``, also as a run (kind ``pretrain``) of that registry (record.py),
    whose id pretrain.json records (a --resume continues the same run)."""
    opts.validate()
    pin_mmap_threshold()  # the per-step tensors of varying size would otherwise fragment the heap (heap.py)
    finished = check_out(opts)
    if finished is not None:
        if home is not None and is_main() and finished.get("run_id"):
            folder = Path(home) / finished["run_id"]
            if (folder / "status.json").is_file():
                register(Path(home), RunFolder(folder))
        return finished | {"already_complete": True}
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    if is_main() and not (out / STARTED).is_file():
        write_json(out / STARTED, {"options": opts.to_dict(), "started": utcnow()})
        (out / LOG).unlink(missing_ok=True)
    folder = _run_folder(Path(home), opts) if home is not None and is_main() else None
    try:
        record = _pretrain(opts, out)
    except BaseException as exc:
        if folder is not None:
            preempted = isinstance(exc, Preempted)
            folder.set_status("preempted" if preempted else "failed", error=None if preempted else
                              (str(exc) or type(exc).__name__))
            register(folder.path.parent, folder)
        raise
    if folder is not None:
        record["run_id"] = folder.id
    if is_main():
        write_model(out, record.pop("_lm"), record.pop("_vocab"), record, record.pop("_excluded"))
        if folder is not None:
            finish(folder.path.parent, folder, record)
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _run_folder(home: Path, opts: PretrainOptions) -> RunFolder:
    """The run of this pretrain under ``home``, marked running: the one pretrain_started.json names (a --resume),
    else a new one whose id it records."""
    out = Path(opts.out)
    started = read_json(out / STARTED, fix="remove the folder or choose another --out") or {}
    folder = run_folder(home, opts, started.get("run_id"))
    if started.get("run_id") != folder.id:
        write_json(out / STARTED, {**started, "run_id": folder.id})
    folder.set_status("running")
    register(home, folder)
    return folder


def _pretrain(opts: PretrainOptions, out: Path) -> dict:
    """Cut the corpus, build the tokenizer and model, train: the record, with the model to write (``_`` keys)."""
    exclusions = Exclusions()
    for bed in opts.exclude:
        read_bed(Path(bed), exclusions)
    for ds in opts.exclude_dataset:
        read_dataset_holdout(Path(ds), exclusions)
    corpus = build_corpus([Path(g) for g in opts.genomes], opts.length, exclusions, seed=opts.seed)
    _check_exclusions_hit(exclusions, corpus)
    vocab = make_vocab(opts.tokenizer, corpus.train)
    max_tokens = opts.length + 2
    lm = build_model(opts.arch, vocab, layers=opts.layers, hidden=opts.hidden, heads=opts.heads,
                     max_tokens=max_tokens, seed=opts.seed)
    lm, state, evaluation = train(opts, corpus, vocab, lm)
    merged = exclusions.merged()
    record = {
        "kind": "pretrain", "name": opts.name or out.name, "status": "completed", "finished": utcnow(),
        "started": (read_json(out / STARTED, fix="") or {}).get("started"),
        "options": opts.to_dict(), "max_tokens": max_tokens, "mask_span": vocab.span,
        "parameters": sum(p.numel() for p in lm.parameters()),
        "corpus": corpus.summary() | {"train_tokens": int(round(corpus.train_examples
                                                                 * vocab.tokens_per_window(opts.length)))},
        "exclusions": {"sources": exclusions.sources, "intervals": sum(len(v) for v in merged.values()),
                       "bases": sum(e - s for v in merged.values() for s, e in v)},
        "training": {"steps": state.step, "tokens": state.tokens, "examples": state.samples,
                     "seconds": state.seconds, "tokens_per_s": state.tokens / max(state.step_seconds, 1e-9)},
        "evaluation": evaluation, "history": state.history, "hardware": hardware(), "versions": versions(),
    }
    return record | {"_lm": lm, "_vocab": vocab, "_excluded": exclusions.bed_lines()}


def _check_exclusions_hit(exclusions: Exclusions, corpus) -> None:
    """Exclusions that name no chromosome of any genome would silently exclude nothing: say so."""
    if not exclusions.intervals:
        return
    from ..io.fasta import FastaGenome

    names = {n for g in corpus.genomes for n in FastaGenome(g["path"]).names}
    if not set(exclusions.intervals) & names:
        raise DnactxError(f"the excluded regions ({', '.join(exclusions.sources)}) name none of the genomes' "
                          f"chromosomes (e.g. {next(iter(exclusions.intervals))!r}); check they are for this genome")


def summary_line(record: dict) -> str:
    ev = record.get("evaluation") or {}
    acc = ev.get("heldout_accuracy")
    return json.dumps({k: record[k] for k in ("name", "status")}) if acc is None else (
        f"pretrained {record['name']}: {record['training']['steps']:,} steps, {record['training']['tokens']:,} "
        f"tokens, held-out loss {ev['heldout_loss']:.4f} (perplexity {ev['heldout_perplexity']:.2f}), masked "
        f"accuracy {100 * acc:.1f}%")
