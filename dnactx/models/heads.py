"""The classification head shared by CNN and transformer encoders, with an optional site-context input."""

from __future__ import annotations

import torch
from torch import nn


class Head(nn.Module):
    """pooled features (+ a learned CG/CHG/CHH embedding) → one logit per site."""

    def __init__(self, in_dim: int, site_context: bool, hidden: int = 128, dropout: float = 0.1,
                 context_dim: int = 8) -> None:
        super().__init__()
        self.site_context = site_context
        self.context = nn.Embedding(3, context_dim) if site_context else None
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_dim + (context_dim if site_context else 0), hidden),
            nn.GELU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, features: torch.Tensor, context_id: torch.Tensor | None = None) -> torch.Tensor:
        if self.context is not None:
            features = torch.cat([features, self.context(context_id)], dim=-1)
        return self.net(features).squeeze(-1)


class HeadOnly(nn.Module):
    """Frozen mode: the head alone, trained on cached pooled encoder outputs."""

    def __init__(self, head: Head) -> None:
        super().__init__()
        self.head = head

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(batch["features"].float(), batch.get("context_id"))
