"""CNN and transformer runs on the shared trainer: inputs per split, model, weights, logs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ..atomic import atomic_path
from ..choices import SPLITS
from ..contracts import RunFacts
from ..data.dataset import Dataset
from ..data.torchdata import ColumnDataset
from ..distributed import is_main
from ..losses import make_loss
from ..runs import RunFolder
from ..sequence import base_codes
from . import cache
from .config import LoopConfig, TrainConfig, lora_rank, parse_finetune
from .loop import LEVEL_COUNTS, TRAIN_LOG, fit, make_accelerator
from .preemption import CHECKPOINT

# A model's inputs for each split, by column name (labels and site context are added per split).
Inputs = dict[str, dict[str, np.ndarray | torch.Tensor]]


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        from rich.console import Console

        Console(stderr=True).print(message, highlight=False, soft_wrap=True)


def _columns(ds: Dataset, split: str, site_context: bool, inputs: dict[str, np.ndarray | torch.Tensor],
             level: bool = False) -> ColumnDataset:
    """A split's model inputs with its labels, site contexts, and for a level run its read counts (mc, cov)."""
    s = ds.splits[split]
    cols = {"labels": s.labels, **inputs}
    if site_context:
        cols["context_id"] = s.context_id
    if level:
        cols[LEVEL_COUNTS] = np.stack([s.mc, s.cov], axis=1).astype(np.float32)
    return ColumnDataset(cols)


def _token_columns(encoded) -> dict[str, torch.Tensor]:
    """input_ids, and the attention mask only where some row is padded (see EncoderClassifier.pool)."""
    cols = {"input_ids": torch.from_numpy(encoded.input_ids)}
    if not encoded.attention_mask.all():
        cols["attention_mask"] = torch.from_numpy(encoded.attention_mask)
    return cols


def _cnn_inputs(config: TrainConfig, ds: Dataset) -> tuple[torch.nn.Module, Inputs, dict]:
    from ..models.cnn import CNN

    model = CNN(center=ds.center, site_context=config.site_context)
    return model, {s: {"codes": base_codes(ds.splits[s].bases)} for s in SPLITS}, {"truncated_fraction": 0.0}


def _tokenize(tokenizer, ds: Dataset, max_tokens: int, quiet: bool) -> tuple[Inputs, float]:
    """Each split's token columns, and the fraction of windows truncated to ``max_tokens`` (warned about)."""
    encoded = {s: tokenizer.encode(ds.splits[s].bases, ds.center, max_tokens) for s in SPLITS}
    truncated = float(np.mean(np.concatenate([e.truncated for e in encoded.values()])))
    if truncated > 0:
        _log(quiet, f"[yellow]warning:[/] {truncated:.0%} of windows exceed {max_tokens} tokens; "
                    "truncated around the cytosine (see truncated_fraction in metrics.json)")
    return {s: _token_columns(e) for s, e in encoded.items()}, truncated


def _transformer_inputs(config: TrainConfig, ds: Dataset, folder: RunFolder, home: Path, accelerator,
                        quiet: bool, resume: bool = False) -> tuple[torch.nn.Module, Inputs, dict, dict]:
    """The encoder classifier on token columns; frozen, the head alone on cached pooled features. Also what
    config.json records of the checkpoint, tokenizer and cache (:class:`dnactx.runs.config.TrainedConfig`). A
    resumed run runs only the code whose hashes its first start recorded."""
    from ..models.checkpoint import (
        load_encoder,
        load_tokenizer,
        max_positions,
        model_identity,
        resolve_checkpoint,
        trusted_code,
    )
    from ..models.encoder import EncoderClassifier, set_trainable

    path = resolve_checkpoint(config.model, home)
    recorded = (folder.config.get("checkpoint_code") or {}) if resume else None
    code = trusted_code(path, config.model, config.trust_remote_code, recorded, "this run started")
    tokenizer = load_tokenizer(path, config.trust_remote_code)
    encoder = load_encoder(path, config.trust_remote_code)
    max_tokens = max_positions(encoder)
    tokens, truncated = _tokenize(tokenizer, ds, max_tokens, quiet)
    model = EncoderClassifier(encoder, config.site_context)
    top = parse_finetune(config.finetune)
    set_trainable(encoder, top)
    resolved = dict(checkpoint_path=str(path), max_tokens=max_tokens, tokenizer=type(tokenizer).__name__,
                    encoder_class=f"{type(encoder).__module__}.{type(encoder).__name__}",
                    checkpoint_code=code)
    rank = lora_rank(config.finetune)
    if rank:  # the encoder stays frozen; peft's adapters on its attention projections train with the head
        from ..models.lora import add_lora

        model.encoder = add_lora(encoder, rank)
        lora = model.encoder.peft_config["default"]
        resolved.update(lora_targets=sorted(lora.target_modules), lora_alpha=lora.lora_alpha)
    if top != 0 or rank:
        return model, tokens, {"truncated_fraction": truncated}, resolved
    key = cache.frozen_key(ds, model_identity(path, config.model), config.size, config.mode, max_tokens)
    head, features, hit = cache.frozen_inputs(model, tokens, cache.cache_path(home, key), accelerator,
                                              config.batch_size * 2, lambda message: _log(quiet, message),
                                              show_progress=not quiet)
    return head, features, {"truncated_fraction": truncated, "cache_hit": hit}, {**resolved, "cache_hit": hit,
                                                                                "cache_key": key}


def _save_outputs(folder: RunFolder, best_state: dict[str, torch.Tensor], config: TrainConfig,
                  model: torch.nn.Module) -> None:
    """The best weights as safetensors (a LoRA run: the head and the adapters alone), the log as an artifact; the
    preemption checkpoint is no longer needed."""
    if lora_rank(config.finetune):
        _save_lora(folder, best_state, config, model)
    else:
        weights = folder.path / "model.safetensors"
        with atomic_path(weights) as tmp:
            save_file(best_state, str(tmp), metadata={"family": config.family, "model": config.model})
        folder.add_artifact(weights, "weights")
    log = folder.path / TRAIN_LOG
    if log.is_file():
        folder.add_artifact(log, "log")
    ckpt = folder.path / CHECKPOINT
    if ckpt.is_dir():
        import shutil

        shutil.rmtree(ckpt, ignore_errors=True)


def _save_lora(folder: RunFolder, best_state: dict[str, torch.Tensor], config: TrainConfig,
               model: torch.nn.Module) -> None:
    """head.safetensors (the Head's own keys, as an export writes it) beside peft's adapter_model.safetensors and
    adapter_config.json: the base encoder is the checkpoint's, never copied."""
    from ..models.lora import save_adapters

    head = folder.path / "head.safetensors"
    with atomic_path(head) as tmp:
        save_file({k[len("head."):]: v for k, v in best_state.items() if k.startswith("head.")}, str(tmp),
                  metadata={"family": "head", "model": config.model, "finetune": config.finetune})
    encoder = {k[len("encoder."):]: v for k, v in best_state.items() if k.startswith("encoder.")}
    for path in save_adapters(model.encoder, encoder, folder.path, str(folder.config.get("checkpoint_path") or "")):
        folder.add_artifact(path, "adapters")
    folder.add_artifact(head, "weights")


def train_neural(config: TrainConfig, ds: Dataset, folder: RunFolder, home: Path, *, resume: bool,
                 quiet: bool) -> tuple[dict, RunFacts]:
    """Build the model and inputs, fit with early stopping, predict val/test with the best weights."""
    accelerator = make_accelerator(config.precision, config.grad_accum)
    resolved = dict(device=str(accelerator.device), num_processes=accelerator.num_processes)
    if config.family == "cnn":
        model, inputs, extra = _cnn_inputs(config, ds)
    else:
        model, inputs, extra, from_checkpoint = _transformer_inputs(config, ds, folder, home, accelerator, quiet,
                                                                    resume)
        resolved.update(from_checkpoint)
    level = config.target == "level"
    sets = {s: _columns(ds, s, config.site_context, inputs[s], level) for s in SPLITS}
    loss_fn, loss_info = make_loss(config.loss, ds.splits["train"].labels, pos_weight=config.pos_weight,
                                   focal_gamma=config.focal_gamma, focal_alpha=config.focal_alpha,
                                   overdispersion=config.overdispersion)
    loop = LoopConfig.from_train_config(config, run_dir=folder.path, resume=resume, quiet=quiet)
    folder.resolve_config(**resolved, encoder_lr=loop.encoder_lr, **loss_info)  # config.json's one update
    result = fit(model, sets["train"], sets["val"], loss_fn, accelerator, loop,
                 predict_on={"val": sets["val"], "test": sets["test"]})
    if is_main():
        _save_outputs(folder, result.best_state, config, model)
    extra.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run, train_seconds=result.train_seconds,
                 samples_per_s=result.samples_per_s, **loss_info)
    return result.predictions, extra
