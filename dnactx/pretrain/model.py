"""The masked language model: a BERT, ESM (Nucleotide Transformer's family) or ModernBERT *ForMaskedLM built from
a config sized by --layers/--hidden/--heads, and a forward pass that scores masked positions only.

``masked_logits`` runs the encoder, gathers the hidden states of the masked positions, and only those go through
the MLM head: the decoder (hidden × vocab) is the largest matrix product of a small model with a k-mer vocab,
and most positions are not masked.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import DnactxError
from .vocab import Vocab

ARCHS = ("bert", "esm", "modernbert")


def build_model(arch: str, vocab: Vocab, *, layers: int, hidden: int, heads: int, max_tokens: int,
                seed: int = 0) -> nn.Module:
    """A random-init *ForMaskedLM of ``arch`` for ``vocab``; positions for ``max_tokens`` tokens."""
    if hidden % heads:
        raise DnactxError(f"--hidden {hidden} is not a multiple of --heads {heads}; e.g. --hidden {heads * 64}")
    torch.manual_seed(seed)
    common = dict(vocab_size=vocab.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                  num_attention_heads=heads, intermediate_size=4 * hidden, pad_token_id=vocab.pad_id)
    if arch == "bert":
        from transformers import BertConfig, BertForMaskedLM

        return BertForMaskedLM(BertConfig(max_position_embeddings=max_tokens, type_vocab_size=1, **common))
    if arch == "esm":
        from transformers import EsmConfig, EsmForMaskedLM

        # Nucleotide Transformer v2's shape: rotary positions, no token dropout
        return EsmForMaskedLM(EsmConfig(max_position_embeddings=max_tokens + vocab.pad_id + 2,
                                        position_embedding_type="rotary", token_dropout=False,
                                        mask_token_id=vocab.mask_id, emb_layer_norm_before=False, **common))
    if arch == "modernbert":
        from transformers import ModernBertConfig, ModernBertForMaskedLM

        cls, sep = _cls_sep(vocab)
        return ModernBertForMaskedLM(ModernBertConfig(
            max_position_embeddings=max_tokens, cls_token_id=cls, sep_token_id=sep, bos_token_id=cls,
            eos_token_id=sep, global_attn_every_n_layers=1, **common))
    raise DnactxError(f"--arch {arch!r} is not one of {', '.join(ARCHS)}; e.g. --arch bert")


def _cls_sep(vocab: Vocab) -> tuple[int, int]:
    """The ids the tokenizer puts first and last (the last is the first again when it adds nothing after)."""
    import numpy as np

    ids = vocab.encode(np.full((1, 8), ord("A"), np.uint8))[0][0]
    return int(ids[0]), int(ids[-1] if ids[-1] in vocab.special_ids else ids[0])


def arch_of(model: nn.Module) -> str:
    name = type(model).__name__
    for arch, cls in (("bert", "BertForMaskedLM"), ("esm", "EsmForMaskedLM"), ("modernbert", "ModernBertForMaskedLM")):
        if name == cls:
            return arch
    raise DnactxError(f"{name} is not a masked LM dnactx pretrains; use --arch bert, esm or modernbert")


def head(model: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """The MLM head of ``model`` on gathered hidden states (n, hidden) → logits (n, vocab)."""
    arch = arch_of(model)
    if arch == "bert":
        return model.cls(hidden)
    if arch == "esm":
        return model.lm_head(hidden)
    return model.decoder(model.head(hidden))


def masked_logits(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  scored: torch.Tensor) -> torch.Tensor:
    """Logits (masked positions, vocab) of the positions where ``scored`` is True, in row-major order."""
    out = model.base_model(input_ids=input_ids, attention_mask=attention_mask)
    hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
    return head(model, hidden[scored])
