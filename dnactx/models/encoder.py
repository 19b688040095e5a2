"""The encoder classifier: a Hugging Face encoder, masked mean pooling and the shared head; which layers train."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from ..errors import DnactxError
from .heads import Head


def _layers(encoder: nn.Module) -> nn.ModuleList:
    """The encoder's stack of transformer blocks: the longest ModuleList (BERT: encoder.layer)."""
    lists = [m for m in encoder.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise DnactxError(f"cannot find the layer stack of {type(encoder).__name__} for --finetune top:N")
    return max(lists, key=len)


def set_trainable(encoder: nn.Module, top: int | None) -> None:
    """frozen (0): nothing trains; top:N: the last N blocks train; full (None): everything trains.

    A pooler the classifier does not use never trains: its parameters would get no gradient, which DDP rejects.
    """
    for p in encoder.parameters():
        p.requires_grad = top is None
    if top:
        layers = _layers(encoder)
        if top > len(layers):
            raise DnactxError(f"--finetune top:{top} but the model has only {len(layers)} layers")
        for layer in layers[-top:]:
            for p in layer.parameters():
                p.requires_grad = True
    pooler = getattr(encoder, "pooler", None)
    if isinstance(pooler, nn.Module):
        for p in pooler.parameters():
            p.requires_grad = False


def hidden_width(encoder: nn.Module) -> int:
    """The encoder's output width, under the names configs use for it (BERT, HyenaDNA/Mamba, GPT-2)."""
    for attr in ("hidden_size", "d_model", "n_embd", "dim"):
        n = getattr(encoder.config, attr, None)
        if isinstance(n, int) and n > 0:
            return n
    raise DnactxError(f"cannot tell the hidden size of {type(encoder).__name__} from its config "
                      "(no hidden_size, d_model or n_embd)")


def _accepts(forward, name: str) -> bool:
    try:
        params = inspect.signature(forward).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def last_hidden(output) -> torch.Tensor:
    """(batch, tokens, hidden) from whatever an encoder returns: a ModelOutput, a tuple (DNABERT-2) or a tensor."""
    if isinstance(output, torch.Tensor):
        return output
    hidden = getattr(output, "last_hidden_state", None)
    return hidden if hidden is not None else output[0]


class EncoderClassifier(nn.Module):
    """Encoder → masked mean pooling → shared Head (with the site-context embedding)."""

    def __init__(self, encoder: nn.Module, site_context: bool) -> None:
        super().__init__()
        if getattr(encoder, "pooler", None) is not None and type(encoder).__module__.startswith("transformers."):
            # we mean-pool, so transformers' own pooler only costs time; a checkpoint's own code may call its
            # pooler unconditionally, so there it stays (and set_trainable freezes it)
            encoder.pooler = None
        self.encoder = encoder
        # HyenaDNA takes no attention mask (it is causal: right padding cannot reach earlier positions); pooling
        # below still leaves padding out
        self.takes_mask = _accepts(encoder.forward, "attention_mask")
        self.head = Head(hidden_width(encoder), site_context)

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean of the last hidden states over real tokens (``attention_mask`` 1); no mask means no padding.

        Whether to pass a mask is decided once per dataset, not per batch: k-mer windows all have one length, so
        the trainer drops an all-ones mask before batching (neural._token_columns), and without a mask SDPA takes
        its fused kernels instead of the masked math path (about half the step time on CPU). A mask is used as
        given, even when a batch happens to hold no padding: testing each batch (``mask.all()``) would make the
        host wait for the GPU every step.
        """
        kwargs = {"attention_mask": attention_mask.long()} if self.takes_mask and attention_mask is not None else {}
        out = last_hidden(self.encoder(input_ids=input_ids.long(), **kwargs))
        if attention_mask is None:
            return out.mean(1)
        mask = attention_mask.unsqueeze(-1).to(out.dtype)
        return (out * mask).sum(1) / mask.sum(1).clamp(min=1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.pool(batch["input_ids"], batch.get("attention_mask")).float(), batch.get("context_id"))
