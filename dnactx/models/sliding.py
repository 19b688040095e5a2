"""A cnn's features of many overlapping inputs from one shared convolution of the sequence they are cut from.

``CNN.encode`` of an input of ``length`` bp computes conv1 at every base, a max-pool by 4 (ceil mode), conv2 on the
pooled map, and takes conv1's output at the C and conv2's max and mean over the whole input. Inputs cut from one
sequence at nearby starts share almost every base, so here conv1 runs once over the sequence and conv2 once per
pooling phase (start mod 4): an input's value at a position equals the shared map's wherever the input's own zero
padding does not reach it. Only the few positions within the receptive field of an input's two ends differ (conv1's
4 outermost outputs each side, the pooled values built on them, conv2's outputs within 3 of those or of the ends):
they are computed exactly per input from its own bases, and the interior max and sum are read from the shared maps
(a sliding max and a float64 running sum). Equal to ``encode`` on the cut inputs to float32 rounding (~1e-6).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .cnn import CNN

POOL = 4
MIN_LENGTH = 64  # shorter inputs have too little interior to share: score them one by one


def interior(length: int) -> tuple[int, int, int]:
    """(jmax, k_last, pooled): the last pooled position built from shared conv1 outputs only, the last conv2
    position built from shared pooled values only (the first is 4), and the pooled length of an input."""
    jmax = (length - 8) // POOL
    return jmax, jmax - 3, -(-length // POOL)


def slice_features(cnn: CNN, codes: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """``cnn.encode(codes[s:s + length] for s in starts)`` from one pass over ``codes``.

    Parameters
    ----------
    cnn : the (eval-mode, usually ``CNN.fused``) module
    codes : int (N,) base codes (A0 C1 G2 T3, 4 for N) on the module's device
    starts : int64 (n,) input starts, ``0 <= s`` and ``s + length <= N``
    length : the input length (≥ MIN_LENGTH)

    Returns
    -------
    features : (n, cnn.out_dim), as ``encode`` returns them
    """
    if length < MIN_LENGTH:
        raise ValueError(f"sliding features need inputs of at least {MIN_LENGTH} bp, got {length}")
    conv1, norm1, _ = cnn.conv1
    _, conv2, norm2, _ = cnn.conv2
    jmax, k_last, pooled = interior(length)
    t0 = POOL * (jmax + 1)  # first input position after the last shared pooled block
    n = starts.numel()
    onehot = cnn.onehot[codes.long()].T[None]  # (1, 4, N)
    z1 = norm1(conv1(onehot))[0]  # (C1, N), conv1 + BatchNorm before ReLU

    # pooled and conv2 maps per phase, padded to one length: (4, C, M)
    maps_p, maps_h = [], []
    for phase in range(POOL):
        p = F.relu(F.max_pool1d(z1[None, :, phase:], POOL, POOL))[0]
        maps_p.append(p)
        maps_h.append(F.relu(norm2(conv2(p[None])))[0])
    size = max(m.shape[-1] for m in maps_p)
    shared_p = torch.stack([F.pad(m, (0, size - m.shape[-1])) for m in maps_p])
    shared_h = torch.stack([F.pad(m, (0, size - m.shape[-1])) for m in maps_h])
    width = k_last - 3  # interior conv2 positions 4 … k_last
    run_max = _sliding_max(shared_h, width)
    run_sum = F.pad(shared_h.double().cumsum(-1), (1, 0))

    phase, j0 = starts % POOL, starts // POOL
    base = starts[:, None]
    # conv1 at the input's left end (outputs 0…3) and tail (outputs t0…length-1), from the input's own bases
    left = _conv1(cnn, codes[base + torch.arange(8, device=codes.device)])[:, :, :4]
    tail_idx = base + torch.arange(t0 - 4, length, device=codes.device)
    tail = _conv1(cnn, codes[tail_idx])[:, :, 4:]
    p0 = F.relu(left.amax(-1, keepdim=True))  # pooled 0
    p_tail = F.relu(F.max_pool1d(tail, POOL, POOL, ceil_mode=True))  # pooled jmax+1 … pooled-1

    def gather_p(lo: int, hi: int) -> torch.Tensor:  # shared pooled positions lo…hi-1 of each input: (n, C1, k)
        return shared_p[phase[:, None], :, j0[:, None] + torch.arange(lo, hi, device=codes.device)].transpose(1, 2)

    zeros = p0.new_zeros(n, p0.shape[1], 3)
    left_tile = torch.cat([zeros, p0, gather_p(1, 7)], dim=-1)  # pooled -3 … 6
    right_tile = torch.cat([gather_p(k_last - 2, jmax + 1), p_tail, zeros], dim=-1)  # pooled k_last-2 … pooled+2
    h_left = F.relu(norm2(F.conv1d(left_tile, conv2.weight, conv2.bias)))  # conv2 0 … 3
    h_right = F.relu(norm2(F.conv1d(right_tile, conv2.weight, conv2.bias)))  # conv2 k_last+1 … pooled-1

    at = j0 + 4
    mid_max = run_max[phase, :, at]
    mid_sum = run_sum[phase, :, at + width] - run_sum[phase, :, at]
    h_max = torch.maximum(mid_max, torch.maximum(h_left.amax(-1), h_right.amax(-1)))
    h_mean = ((mid_sum + h_left.sum(-1).double() + h_right.sum(-1).double()) / pooled).to(h_max.dtype)

    c = cnn.center
    if c < 4:
        z_c = left[:, :, c]
    elif c >= t0:
        z_c = tail[:, :, c - t0]
    else:
        z_c = z1[:, starts + c].T
    return torch.cat([F.relu(z_c), h_max, h_mean], dim=-1)


def _conv1(cnn: CNN, codes: torch.Tensor) -> torch.Tensor:
    """conv1 + its BatchNorm (before ReLU) of short inputs, zero-padded at their ends as ``encode`` pads."""
    conv, norm, _ = cnn.conv1
    return norm(conv(cnn.onehot[codes.long()].transpose(1, 2)))


def _sliding_max(x: torch.Tensor, width: int) -> torch.Tensor:
    """``out[..., j] = x[..., j:j + width].amax(-1)`` for every j with a full window (doubling, log2(width) passes)."""
    m, span = x, 1
    while 2 * span <= width:
        m = torch.maximum(m[..., :-span], m[..., span:])
        span *= 2
    count = x.shape[-1] - width + 1
    return torch.maximum(m[..., :count], m[..., width - span:width - span + count])
