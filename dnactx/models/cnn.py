"""A compact 1-D CNN on one-hot sequence, sized to train on two CPU cores in minutes."""

from __future__ import annotations

import torch
from torch import nn

from .heads import Head


class CNN(nn.Module):
    """Two conv blocks; features = global max + mean pooling plus the first block's output at the C."""

    def __init__(self, center: int, site_context: bool, channels: int = 32, channels2: int = 48) -> None:
        super().__init__()
        self.center = center
        self.register_buffer("onehot", torch.eye(5)[:, :4].contiguous(), persistent=False)  # N → all zeros
        self.conv1 = nn.Sequential(nn.Conv1d(4, channels, 9, padding=4), nn.BatchNorm1d(channels), nn.ReLU())
        self.conv2 = nn.Sequential(nn.MaxPool1d(4, ceil_mode=True), nn.Conv1d(channels, channels2, 7, padding=3),
                                   nn.BatchNorm1d(channels2), nn.ReLU())
        self.out_dim = channels + 2 * channels2
        self.head = Head(self.out_dim, site_context)

    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        # codes: (n, length) with A0 C1 G2 T3 and 4 for N (all-zero column)
        x = self.onehot[codes.long()].transpose(1, 2)
        h1 = self.conv1(x)
        h2 = self.conv2(h1)
        return torch.cat([h1[:, :, self.center], h2.amax(-1), h2.mean(-1)], dim=-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encode(batch["codes"]), batch.get("context_id"))
