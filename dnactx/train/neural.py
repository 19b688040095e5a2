"""CNN and transformer runs on the shared trainer: inputs per split, frozen-feature cache, weights, logs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ..atomic import atomic_path
from ..data.dataset import Dataset
from ..data.torchdata import ColumnDataset
from ..distributed import is_main
from ..losses import make_loss
from ..provenance import sha256_file
from ..runs import RunFolder
from ..tokenize import base_codes
from . import cache
from .checkpoint import CHECKPOINT
from .config import TrainConfig, parse_finetune
from .loop import fit, make_accelerator

SPLITS = ("train", "val", "test")
DEFAULT_LR = {"cnn": 1e-3, "transformer": 2e-5}


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        from rich.console import Console

        Console(stderr=True).print(message, highlight=False, soft_wrap=True)


def _columns(ds: Dataset, split: str, site_context: bool, **inputs: np.ndarray | torch.Tensor) -> ColumnDataset:
    s = ds.splits[split]
    cols = {"labels": s.labels, **inputs}
    if site_context:
        cols["context_id"] = s.context_id
    return ColumnDataset(cols)


def _token_columns(encoded) -> dict[str, torch.Tensor]:
    """input_ids, and the attention mask only where some row is padded (see EncoderClassifier.pool)."""
    cols = {"input_ids": torch.from_numpy(encoded.input_ids)}
    if not encoded.attention_mask.all():
        cols["attention_mask"] = torch.from_numpy(encoded.attention_mask)
    return cols


def _cnn_inputs(config: TrainConfig, ds: Dataset) -> tuple[torch.nn.Module, dict[str, ColumnDataset], dict]:
    from ..models.cnn import CNN

    model = CNN(center=ds.center, site_context=config.site_context)
    sets = {s: _columns(ds, s, config.site_context, codes=base_codes(ds.splits[s].bases)) for s in SPLITS}
    return model, sets, {"truncated_fraction": 0.0}


def _transformer_inputs(config: TrainConfig, ds: Dataset, folder: RunFolder, home: Path, accelerator,
                        quiet: bool) -> tuple[torch.nn.Module, dict[str, ColumnDataset], dict]:
    from ..models.checkpoint import (
        check_remote_code,
        load_encoder,
        load_tokenizer,
        max_positions,
        model_identity,
        resolve_checkpoint,
    )
    from ..models.encoder import EncoderClassifier, set_trainable
    from ..models.heads import HeadOnly

    path = resolve_checkpoint(config.model, home)
    code = check_remote_code(path, config.model, config.trust_remote_code)
    tokenizer = load_tokenizer(path, config.trust_remote_code)
    encoder = load_encoder(path, config.trust_remote_code)
    max_tokens = max_positions(encoder)
    encoded = {s: tokenizer.encode(ds.splits[s].bases, ds.center, max_tokens) for s in SPLITS}
    truncated = float(np.mean(np.concatenate([e.truncated for e in encoded.values()])))
    if truncated > 0:
        _log(quiet, f"[yellow]warning:[/] {truncated:.0%} of windows exceed {max_tokens} tokens; "
                    "truncated around the cytosine (see truncated_fraction in metrics.json)")
    model = EncoderClassifier(encoder, config.site_context)
    top = parse_finetune(config.finetune)
    set_trainable(encoder, top)
    tokens = {s: _token_columns(e) for s, e in encoded.items()}
    extra: dict = {"truncated_fraction": truncated}
    folder.update_config(checkpoint_path=str(path), max_tokens=max_tokens, tokenizer=type(tokenizer).__name__,
                         encoder_class=f"{type(encoder).__module__}.{type(encoder).__name__}",
                         checkpoint_code={f: sha256_file(path / f) for f in code if (path / f).is_file()})
    if top != 0:
        return model, {s: _columns(ds, s, config.site_context, **tokens[s]) for s in SPLITS}, extra
    # frozen: pooled outputs never change, so compute them once per (data, model, window) and reuse them
    key = cache.cache_key(fingerprint=ds.fingerprint, model=model_identity(path, config.model), size=config.size,
                          mode=config.mode, max_tokens=max_tokens, pooling="mean",
                          rows=cache.rows_digest(*(ds.splits[s].index for s in SPLITS)))
    target = cache.cache_path(home, key)
    features = cache.load_features(target)
    hit = features is not None
    if hit:
        _log(quiet, f"frozen cache hit: {target}")
    else:
        _log(quiet, f"frozen cache miss: encoding {sum(len(ds.splits[s]) for s in SPLITS)} windows once")
        features = {s: cache.encode_pooled(accelerator, model, tokens[s], config.batch_size * 2) for s in SPLITS}
        if is_main():
            cache.save_features(target, features)
    extra.update(cache_hit=hit)
    folder.update_config(cache_hit=hit, cache_key=key)
    head = HeadOnly(model.head)
    return head, {s: _columns(ds, s, config.site_context, features=features[s]) for s in SPLITS}, extra


def train_neural(config: TrainConfig, ds: Dataset, folder: RunFolder, home: Path, *, resume: bool,
                 quiet: bool) -> tuple[dict, dict]:
    """Build the model and inputs, fit with early stopping, predict val/test with the best weights."""
    accelerator = make_accelerator(config.precision, config.grad_accum)
    folder.update_config(device=str(accelerator.device), num_processes=accelerator.num_processes)
    if config.family == "cnn":
        model, sets, extra = _cnn_inputs(config, ds)
    else:
        model, sets, extra = _transformer_inputs(config, ds, folder, home, accelerator, quiet)
    loss_fn, loss_info = make_loss(config.loss, ds.splits["train"].labels, pos_weight=config.pos_weight,
                                   focal_gamma=config.focal_gamma, focal_alpha=config.focal_alpha)
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.family]
    folder.update_config(encoder_lr=lr, **loss_info)
    log = folder.path / "train_log.jsonl"
    result = fit(model, sets["train"], sets["val"], accelerator=accelerator, loss_fn=loss_fn, epochs=config.epochs,
                 patience=config.patience, batch_size=config.batch_size, grad_accum=config.grad_accum,
                 warmup=config.warmup, encoder_lr=lr, head_lr=config.head_lr, seed=config.seed,
                 run_dir=folder.path, log_path=log, resume=resume, quiet=quiet,
                 predict_on={"val": sets["val"], "test": sets["test"]})
    if is_main():
        weights = folder.path / "model.safetensors"
        with atomic_path(weights) as tmp:
            save_file(result.best_state, str(tmp), metadata={"family": config.family, "model": config.model})
        folder.add_artifact(weights, "weights")
        if log.is_file():
            folder.add_artifact(log, "log")
        ckpt = folder.path / CHECKPOINT
        if ckpt.is_dir():  # finished: the preemption checkpoint is no longer needed
            import shutil

            shutil.rmtree(ckpt, ignore_errors=True)
    extra.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run, train_seconds=result.train_seconds,
                 samples_per_s=result.samples_per_s, **loss_info)
    return result.predictions, extra
