"""LoRA through peft: which projections of an encoder take adapters (by the model's own module names), adding
them, saving only the adapters, and loading them back merged into the encoder's weights."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import DnactxError

ADAPTER_WEIGHTS = "adapter_model.safetensors"  # peft's own file names, so PeftModel.from_pretrained reads a run
ADAPTER_CONFIG = "adapter_config.json"

# Attention projections under the names each family gives them, first match wins: BERT, ESM (Nucleotide
# Transformer, AgroNT), GENA-LM: query/key/value; ModernBERT and DNABERT-2: Wqkv (one fused projection); Llama-like
# and most newer code: q_proj/k_proj/v_proj; GPT-2 style: c_attn; BLOOM/NeoX style: query_key_value.
TARGET_SETS: tuple[tuple[str, ...], ...] = (
    ("query", "key", "value"),
    ("Wqkv",),
    ("q_proj", "k_proj", "v_proj"),
    ("c_attn",),
    ("query_key_value",),
    ("qkv",),
)


def _projection(module: nn.Module) -> bool:
    """A layer peft can wrap: nn.Linear, or transformers' Conv1D (GPT-2)."""
    return isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"


def lora_targets(encoder: nn.Module) -> list[str]:
    """The attention projections' own names (the last part of each module path) present in ``encoder``; an encoder
    with none of :data:`TARGET_SETS` (Hyena, Mamba: no attention) is one line suggesting top:N or full."""
    names = {name.rsplit(".", 1)[-1] for name, m in encoder.named_modules() if name and _projection(m)}
    for targets in TARGET_SETS:
        if set(targets) <= names:
            return list(targets)
    raise DnactxError(f"--finetune lora:R: {type(encoder).__name__} has no attention projections under the names "
                      f"dnactx knows ({', '.join('/'.join(t) for t in TARGET_SETS)}); train it with --finetune "
                      "top:N or full instead")


def add_lora(encoder: nn.Module, rank: int) -> nn.Module:
    """``encoder`` wrapped by peft with rank-``rank`` adapters (alpha 2·rank, no dropout) on its attention
    projections; only the adapters train. The base weights are not copied."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, bias="none",
                        target_modules=lora_targets(encoder))
    with warnings.catch_warnings():  # transformers' FutureWarning about a name peft still calls
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(encoder, config)


def save_adapters(peft_encoder: nn.Module, state: dict[str, torch.Tensor], dest: Path, base: str) -> list[Path]:
    """The adapters of ``state`` (the encoder's keys, as ``peft_encoder.state_dict()`` names them) as
    adapter_model.safetensors and adapter_config.json in ``dest`` (each written whole); ``base`` is recorded as
    the checkpoint they adapt. Returns the two paths."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    from ..atomic import atomic_path

    adapters = get_peft_model_state_dict(peft_encoder, state_dict=state)
    if not adapters:
        raise DnactxError(f"no LoRA adapter weights to save in {dest}; train the run again")
    weights, config_path = Path(dest) / ADAPTER_WEIGHTS, Path(dest) / ADAPTER_CONFIG
    with atomic_path(weights) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in adapters.items()}, str(tmp),
                  metadata={"format": "pt"})
    config = peft_encoder.peft_config["default"]
    config.base_model_name_or_path = base
    with tempfile.TemporaryDirectory(dir=dest, prefix=".adapter.") as tmp:
        config.save_pretrained(tmp)
        os.replace(Path(tmp) / ADAPTER_CONFIG, config_path)
    return [weights, config_path]


def merge_adapters(encoder: nn.Module, folder: Path) -> nn.Module:
    """``encoder`` with the adapters saved in ``folder`` merged into its weights: a plain transformers model again
    (no peft at scoring or in an export). Adapters that do not fit the encoder are one line."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    folder = Path(folder)
    missing = [name for name in (ADAPTER_WEIGHTS, ADAPTER_CONFIG) if not (folder / name).is_file()]
    if missing:
        raise DnactxError(f"{folder} lacks {', '.join(missing)} of its LoRA run; train the run again")
    try:
        config = LoraConfig.from_pretrained(str(folder))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = get_peft_model(encoder, config)
        state = load_file(str(folder / ADAPTER_WEIGHTS))
        result = set_peft_model_state_dict(model, state)
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise DnactxError(f"the LoRA adapters in {folder} do not fit the encoder {type(encoder).__name__} ({detail}); "
                          "point the run at its original checkpoint or train it again") from None
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    absent = [k for k in getattr(result, "missing_keys", []) or [] if "lora_" in k]
    if unexpected or absent:
        raise DnactxError(f"the LoRA adapters in {folder} do not fit the encoder {type(encoder).__name__} "
                          f"({len(unexpected)} unexpected, {len(absent)} missing adapter tensors, e.g. "
                          f"{(unexpected or absent)[0]}); point the run at its original checkpoint or train it again")
    return model.merge_and_unload()
