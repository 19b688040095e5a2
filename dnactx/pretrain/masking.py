"""Masked-language-model masking that does not leak, vectorised over the batch in torch.

Overlapping k-mers show every base in k consecutive tokens, so masking tokens one by one hides nothing: the
neighbours spell the masked k-mer out. As DNABERT does, we pick *anchor bases* and mask every token that contains
one (token j holds bases j … j + k - 1, so the span j = b - k + 1 … b for anchor b): no unmasked token shows an
anchor. The anchor rate ``1 - (1 - rate)^(1/k)`` makes the share of masked tokens ``rate``. Masked k-mer tokens
all become the mask token (a kept or random k-mer would show the anchor or contradict its neighbours).

Non-overlapping tokens (nt:6, char, bpe) are masked independently at ``rate`` with BERT's 80/10/10 rule (mask
token, a random token, the token kept). Special tokens and padding are never masked. Every draw comes from the
``generator`` given, so a batch's masking is a function of its seed (resume reproduces it exactly).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def anchor_rate(rate: float, span: int) -> float:
    """Per-base anchor probability that masks ``rate`` of tokens when each anchor masks ``span`` tokens."""
    return 1.0 - (1.0 - rate) ** (1.0 / span)


def span_mask(body: torch.Tensor, span: int, rate: float, generator: torch.Generator) -> tuple[torch.Tensor,
                                                                                               torch.Tensor]:
    """(token mask, anchor bases) for a (n, tokens) bool ``body`` of k-mer tokens (False: special or padding).

    Body token j (counted from the first k-mer) covers bases j … j + span - 1; anchors are drawn among the bases
    every covering token of which is a body token, so a masked span never runs into a special token.
    """
    n, width = body.shape
    tokens = body.sum(dim=1, keepdim=True)  # body tokens per row (they are contiguous, after `lead` specials)
    lead = body.int().argmax(dim=1, keepdim=True)
    bases = width + span - 1
    draw = torch.rand((n, bases), generator=generator) < anchor_rate(rate, span)
    b = torch.arange(bases).unsqueeze(0)
    anchors = draw & (b >= span - 1) & (b < tokens)  # fully inside: tokens b - span + 1 … b are all body tokens
    # token j is masked when an anchor lies in bases j … j + span - 1: a max-pool of width span over the anchors
    covered = F.max_pool1d(anchors.float().unsqueeze(1), kernel_size=span, stride=1).squeeze(1).bool()
    mask = torch.zeros_like(body)
    j = torch.arange(width).unsqueeze(0) - lead  # body index of each column
    inside = (j >= 0) & (j < covered.shape[1]) & body
    mask[inside] = covered.gather(1, j.clamp(0, covered.shape[1] - 1))[inside]
    return mask, anchors


def token_mask(body: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(body.shape, generator=generator) < rate) & body


def apply_mask(ids: torch.Tensor, body: torch.Tensor, *, span: int, rate: float, mask_id: int, vocab_size: int,
               special_ids: list[int], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked input ids, bool mask of the positions to score) for one batch (CPU tensors)."""
    if span > 1:
        mask, _ = span_mask(body, span, rate, generator)
        return ids.masked_fill(mask, mask_id), mask
    mask = token_mask(body, rate, generator)
    roll = torch.rand(ids.shape, generator=generator)
    out = ids.masked_fill(mask & (roll < 0.8), mask_id)
    allowed = torch.ones(vocab_size, dtype=torch.bool)
    allowed[special_ids] = False
    choices = allowed.nonzero().squeeze(1)
    random_ids = choices[torch.randint(len(choices), ids.shape, generator=generator)]
    swap = mask & (roll >= 0.8) & (roll < 0.9)
    return torch.where(swap, random_ids, out), mask
