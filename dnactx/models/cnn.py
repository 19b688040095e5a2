"""A compact 1-D CNN on one-hot sequence, sized to train on two CPU cores in minutes."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..sequence import ONE_HOT
from .heads import Head


class CNN(nn.Module):
    """Two conv blocks; features = global max + mean pooling plus the first block's output at the C."""

    def __init__(self, center: int, site_context: bool, channels: int = 32, channels2: int = 48) -> None:
        super().__init__()
        self.center = center
        self.register_buffer("onehot", torch.tensor(ONE_HOT), persistent=False)  # base code → one-hot; N → all zeros
        self.conv1 = nn.Sequential(nn.Conv1d(4, channels, 9, padding=4), nn.BatchNorm1d(channels), nn.ReLU())
        self.conv2 = nn.Sequential(nn.MaxPool1d(4, ceil_mode=True), nn.Conv1d(channels, channels2, 7, padding=3),
                                   nn.BatchNorm1d(channels2), nn.ReLU())
        self.out_dim = channels + 2 * channels2
        self.head = Head(self.out_dim, site_context)

    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        # codes: (n, length) with A0 C1 G2 T3 and 4 for N (all-zero column)
        x = self.onehot[codes.long()].transpose(1, 2)
        conv, norm, relu = self.conv1
        z1 = norm(conv(x))
        # ReLU after the max-pool: the two commute (values and gradients alike), and the pool leaves 4x fewer
        # values to rectify; conv1's ReLU is then only needed at the C itself
        h2 = self._block2(z1)
        return torch.cat([relu(z1[:, :, self.center]), h2.amax(-1), h2.mean(-1)], dim=-1)

    def _block2(self, z1: torch.Tensor) -> torch.Tensor:
        pool, conv, norm, relu = self.conv2
        return relu(norm(conv(relu(pool(z1)))))

    def fused(self) -> CNN:
        """A copy for inference with each BatchNorm's running statistics folded into the convolution before it:
        the same outputs to float32 rounding (~1e-7), one pass less over the activations per block."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        out = copy.deepcopy(self).eval()
        out.conv1[0], out.conv1[1] = fuse_conv_bn_eval(out.conv1[0], out.conv1[1]), nn.Identity()
        out.conv2[1], out.conv2[2] = fuse_conv_bn_eval(out.conv2[1], out.conv2[2]), nn.Identity()
        return out

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encode(batch["codes"]), batch.get("context_id"))
