"""A cnn's features of many overlapping inputs from one shared convolution of the sequence they are cut from.

``CNN.encode`` of an input of ``length`` bp computes conv1 at every base, a max-pool by 4 (ceil mode), conv2 on the
pooled map, and takes conv1's output at the C and conv2's max and mean over the whole input. Inputs cut from one
sequence at nearby starts share almost every base, so here conv1 runs once over the sequence and conv2 once over
the pooled maps of all 4 pooling phases (start mod 4, one batched call): an input's value at a position equals the
shared map's wherever the input's own zero padding does not reach it. Near its two ends the input's values are the
shared ones corrected, never recomputed: conv1 at its 4 outermost positions each side loses what the 4 bases beyond
the end contributed (a table over the 625 combinations of those bases), which changes pooled block 0 and the last
ones; conv2 is linear in the pooled values, so its outputs within 3 blocks of each end move by its kernel times the
pooled differences (the input's zero padding included), one Toeplitz matrix product per end for all inputs. The
interior max and sum are read from the shared maps (a sliding max, a float64 running sum). Equal to ``encode`` on
the cut inputs to float32 rounding (~1e-6).
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
    w1, b1, w2, b2 = _weights(cnn)
    c1, c2 = w1.shape[0], w2.shape[0]
    dev = codes.device
    jmax, k_last, pooled = interior(length)
    jr = jmax + 1  # the first pooled block that the input's right end reaches
    # N (contributing nothing) around the stretch: every input has 4 bases and 3 pooled blocks on each side
    codes = F.pad(codes.long(), (_PAD, _PAD), value=4)
    starts = starts + _PAD
    n = starts.numel()
    z1 = F.conv1d(cnn.onehot[codes].T[None], w1, b1, padding=4)[0]  # (C1, N): conv1 (+ BatchNorm) before ReLU

    # pooled and conv2 (before ReLU) maps of the 4 phases (start mod 4) at once: the max of every 4 consecutive
    # conv1 outputs, read with stride 4 from each phase, then one batched conv2: (4, C, M)
    size = (z1.shape[-1] - 3) // POOL
    pair = torch.maximum(z1[:, :-1], z1[:, 1:])
    quad = torch.maximum(pair[:, :-2], pair[:, 2:])[:, :POOL * size]  # (C1, 4·M): max of z1[t … t+3]
    shared_p = F.relu(quad.reshape(c1, size, POOL).permute(2, 0, 1))  # (4, C1, M)
    rows_h = F.conv1d(shared_p, w2, b2, padding=3).transpose(1, 2).contiguous()  # (4, M, C2), channels last
    shared_h = F.relu(rows_h)
    width = k_last - 3  # interior conv2 positions 4 … k_last: the shared map's own values
    run_max = _sliding_max(shared_h, width).reshape(-1, c2)  # per phase M - width + 1 rows
    run_sum = shared_h.cumsum(1, dtype=torch.float64).reshape(-1, c2)  # [k]: sum of h[0 … k], per phase M rows
    rows_z = z1.T.contiguous()  # (N, C1)
    rows_p = shared_p.transpose(1, 2).reshape(POOL * size, c1)
    rows_h = rows_h.reshape(POOL * size, c2)

    phase, j0 = starts % POOL, starts // POOL
    base = phase * size + j0  # the row of each input's pooled block 0 in rows_p / rows_h

    def gather(rows: torch.Tensor, first: torch.Tensor, lo: int, hi: int) -> torch.Tensor:  # (n, hi - lo, C)
        at = first[:, None] + torch.arange(lo, hi, device=dev)
        return rows.index_select(0, at.reshape(-1)).reshape(n, hi - lo, -1)

    # conv1 at the input's 4 outermost positions each side: the shared map minus what the 4 bases beyond the end
    # contributed (the input's own zero padding), one table row per 4-base combination
    left_corr, right_corr = _end_tables(w1)
    digits = 5 ** torch.arange(3, -1, -1, device=dev)
    outside_left = (codes[starts[:, None] - 4 + torch.arange(4, device=dev)] * digits).sum(-1)
    outside_right = (codes[starts[:, None] + length + torch.arange(4, device=dev)] * digits).sum(-1)
    z_left = gather(rows_z, starts, 0, 4) + left_corr[outside_left]  # (n, 4, C1): input positions 0 … 3
    z_right = gather(rows_z, starts, POOL * jr, length)  # positions 4·jr … length-1
    z_right[:, -4:] += right_corr[outside_right]
    p_left = F.relu(z_left.amax(1))  # pooled block 0 as the input has it
    p_right = F.relu(F.max_pool1d(z_right.transpose(1, 2), POOL, POOL, ceil_mode=True)).transpose(1, 2)

    # conv2 is linear in the pooled values: where the input's differ from the shared ones (blocks -3 … 0 and
    # jr … pooled+2, the input's zero padding included), its outputs 0 … 3 and jr-3 … pooled-1 move by the kernel
    # times the difference (one Toeplitz matrix product per end)
    d_left = F.pad(p_left[:, None], (0, 0, 3, 0)) - gather(rows_p, base, -3, 1)
    d_right = F.pad(p_right, (0, 0, 0, 3)) - gather(rows_p, base, jr, pooled + 3)
    span = pooled + 3 - jr
    t_left, t_right = _toeplitz(w2, 4, 4, 0), _toeplitz(w2, span, span, 6)
    h_left = gather(rows_h, base, 0, 4).reshape(n, -1).addmm_(d_left.reshape(n, -1), t_left)
    h_right = gather(rows_h, base, jr - 3, pooled).reshape(n, -1).addmm_(d_right.reshape(n, -1), t_right)
    h_left, h_right = h_left.clamp_min_(0).reshape(n, 4, c2), h_right.clamp_min_(0).reshape(n, span, c2)

    at = j0 + 4
    mid_max = run_max.index_select(0, phase * (size - width + 1) + at)
    mid_sum = run_sum.index_select(0, base + 3 + width) - run_sum.index_select(0, base + 3)  # at ≥ 4: the padding
    h_max = torch.maximum(mid_max, torch.maximum(h_left.amax(1), h_right.amax(1)))
    h_mean = ((mid_sum + h_left.sum(1).double() + h_right.sum(1).double()) / pooled).to(h_max.dtype)

    c = cnn.center
    if c < 4:
        z_c = z_left[:, c]
    elif c >= POOL * jr:
        z_c = z_right[:, c - POOL * jr]
    else:
        z_c = rows_z[starts + c]
    return torch.cat([F.relu(z_c), h_max, h_mean], dim=-1)


_PAD = 32  # N bases on each side of a stretch: every map reaches past each input's end (a multiple of POOL)


def _weights(cnn: CNN) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """conv1's and conv2's weights and biases with their BatchNorm folded in (as ``CNN.fused``; unchanged there)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    out = []
    for conv, norm in ((cnn.conv1[0], cnn.conv1[1]), (cnn.conv2[1], cnn.conv2[2])):
        bias = conv.bias if conv.bias is not None else conv.weight.new_zeros(conv.weight.shape[0])
        if isinstance(norm, nn.Identity):
            out += [conv.weight, bias]
        else:
            w, b = fuse_conv_bn_weights(conv.weight, bias, norm.running_mean, norm.running_var, norm.eps,
                                        norm.weight, norm.bias)
            out += [w.detach(), b.detach()]
    return out[0], out[1], out[2], out[3]


def _end_tables(w1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(625, 4, C1) each: minus what 4 bases (base-5 digits, first = most significant) just before an input add
    to conv1 at its positions 0 … 3, and what 4 bases just after it add at its last 4 positions."""
    combos = torch.arange(625, device=w1.device)
    digits = (combos[:, None] // 5 ** torch.arange(3, -1, -1, device=w1.device)) % 5
    eye = torch.eye(5, device=w1.device, dtype=w1.dtype)[:, :4]
    outside = eye[digits].transpose(1, 2)  # (625, 4, 4): the 4 bases one-hot, N all zero
    zeros = torch.zeros_like(outside)
    left = F.conv1d(torch.cat([outside, zeros], -1), w1, padding=4)[:, :, 4:8]
    right = F.conv1d(torch.cat([zeros, outside], -1), w1, padding=4)[:, :, 0:4]
    return -left.transpose(1, 2), -right.transpose(1, 2)


def _toeplitz(w2: torch.Tensor, blocks: int, outputs: int, offset: int) -> torch.Tensor:
    """(blocks·C1, outputs·C2): conv2's change at outputs ``o`` from changes of pooled blocks ``b`` (rows block-
    major, then channel), tap ``b - o + offset`` where it lies in the kernel (the first block is ``offset - 3``
    before the first output)."""
    c2, c1, taps = w2.shape
    out = w2.new_zeros(blocks, c1, outputs, c2)
    for b in range(blocks):
        for o in range(outputs):
            if 0 <= b - o + offset < taps:
                out[b, :, o] = w2[:, :, b - o + offset].T
    return out.reshape(blocks * c1, outputs * c2)


def _sliding_max(x: torch.Tensor, width: int) -> torch.Tensor:
    """``out[:, j] = x[:, j:j + width].amax(1)`` for every j with a full window (doubling, log2(width) passes)."""
    m, span = x, 1
    while 2 * span <= width:
        m = torch.maximum(m[:, :-span], m[:, span:])
        span *= 2
    count = x.shape[1] - width + 1
    return torch.maximum(m[:, :count], m[:, width - span:width - span + count])
