"""A cnn's features of many overlapping inputs from one shared convolution of the sequence they are cut from.

``CNN.encode`` of an input of ``length`` bp computes conv1 at every base, a max-pool by 4 (ceil mode), conv2 on the
pooled map, and takes conv1's output at the C and conv2's max and mean over the whole input. Inputs cut from one
sequence at nearby starts share almost every base, so here conv1 runs once over the sequence, the pooled map is the
max of every 4 consecutive conv1 outputs (row t: bases t … t+3, so every pooling phase at once), and conv2 runs once
over it, dilated by 4: an input starting at s finds its pooled block k and conv2 output k at row s + 4k, equal to
its own wherever its zero padding does not reach. Near its two ends the input's values are the shared ones
corrected, never recomputed: conv1 at its 4 outermost positions each side loses what the 4 bases beyond the end
contributed (a table over the 625 combinations of those bases), which changes pooled block 0 and the last ones;
conv2 is linear in the pooled values, so its outputs within 3 blocks of each end move by its kernel times the
pooled differences (the input's zero padding included): one banded Toeplitz product per end for all inputs. The
interior max is read from the shared map by doubling windows, the sum as the difference of two running sums
(float32 within blocks of 64 rows, float64 across them). Maps are (position, channel) matrices from channels-last
convolutions, so every per-input read is a row gather. Equal to ``encode`` on the cut inputs to float32 rounding
(~1e-6).
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
    """``cnn.encode(codes[s:s + length] for s in starts)`` from one pass over ``codes`` (see :class:`Slider`; make
    one Slider to slide over many stretches)."""
    return Slider(cnn, length).features(codes, starts)


class Slider:
    """A cnn's sliding path for inputs of one length: its folded weights, end tables and banded Toeplitz blocks,
    made once and used for every stretch.

    Parameters
    ----------
    cnn : the (eval-mode, usually ``CNN.fused``) module
    length : the input length (≥ MIN_LENGTH)
    """

    def __init__(self, cnn: CNN, length: int) -> None:
        if length < MIN_LENGTH:
            raise ValueError(f"sliding features need inputs of at least {MIN_LENGTH} bp, got {length}")
        self.cnn, self.length = cnn, length
        w1, self.b1, w2, self.b2 = _weights(cnn)
        self.c2 = w2.shape[0]
        self.k1, self.k2 = _channels_last_kernel(w1), _channels_last_kernel(w2)
        self.jmax, self.k_last, self.pooled = interior(length)
        self.left_corr, self.right_corr = _end_tables(w1)
        span = self.pooled + 3 - (self.jmax + 1)
        self.band_left = _bands(_toeplitz(w2, 4, 4, 0), self.c2)
        self.band_right = _bands(_toeplitz(w2, span, span, 6), self.c2)

    def features(self, codes: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """``cnn.encode(codes[s:s + length] for s in starts)``: (n, cnn.out_dim), float32 under any autocast (the
        corrections subtract nearly equal maps, which bf16 would not hold: a --precision applies to the head).

        codes : int (N,) base codes (A0 C1 G2 T3, 4 for N) on the module's device
        starts : int64 (n,) input starts, ``0 <= s`` and ``s + length <= N``
        """
        with torch.autocast(codes.device.type, enabled=False):
            return self._features(codes, starts)

    def _features(self, codes: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        cnn, length, c2 = self.cnn, self.length, self.c2
        dev = codes.device
        jmax, k_last, pooled = self.jmax, self.k_last, self.pooled
        jr = jmax + 1  # the first pooled block that the input's right end reaches
        # N (contributing nothing) around the stretch: every input has 4 bases and 3 pooled blocks on each side
        codes = F.pad(codes.long(), (_PAD, _PAD), value=4)
        starts = starts + _PAD
        n = starts.numel()

        # Every map is a (position, channel) matrix: row t of the pooled map is the block of bases t … t+3, so an input
        # starting at s has its block k at row s + 4k whatever its phase, and conv2 over the pooled blocks of every
        # phase is one convolution dilated by 4. Channels-last 2-D convolutions give these rows without transposes.
        onehot = cnn.onehot[codes]  # (N, 4)
        rows_z = _conv_rows(onehot, self.k1, self.b1, 1, 4)  # (N, C1): conv1 (+ BatchNorm) before ReLU
        pair = torch.maximum(rows_z[:-1], rows_z[1:])
        rows_p = torch.maximum(pair[:-2], pair[2:]).relu_()  # (N - 3, C1): the pooled block of bases t … t+3
        del pair
        rows_h = _conv_rows(rows_p, self.k2, self.b2, POOL, 3)  # (N - 3, C2): conv2 (+ BatchNorm) before ReLU
        width = k_last - 3  # interior conv2 positions 4 … k_last: the shared map's own values
        shared_h = F.relu(rows_h)
        run_max = _window_max(shared_h, width, POOL)

        def gather(rows: torch.Tensor, lo: int, hi: int, step: int = 1) -> torch.Tensor:  # (n, hi - lo, C)
            at = starts[:, None] + step * torch.arange(lo, hi, device=dev)
            return rows.index_select(0, at.reshape(-1)).reshape(n, hi - lo, -1)

        # conv1 at the input's 4 outermost positions each side: the shared map minus what the 4 bases beyond the end
        # contributed (the input's own zero padding), one table row per 4-base combination
        left_corr, right_corr = self.left_corr, self.right_corr
        digits = 5 ** torch.arange(3, -1, -1, device=dev)
        outside_left = (codes[starts[:, None] - 4 + torch.arange(4, device=dev)] * digits).sum(-1)
        outside_right = (codes[starts[:, None] + length + torch.arange(4, device=dev)] * digits).sum(-1)
        z_left = gather(rows_z, 0, 4).add_(left_corr[outside_left])  # (n, 4, C1): input positions 0 … 3
        z_right = gather(rows_z, POOL * jr, length)  # positions 4·jr … length-1
        z_right[:, -4:] += right_corr[outside_right]
        p_left = F.relu(z_left.amax(1))  # pooled block 0 as the input has it
        p_right = torch.stack([z_right[:, i:i + POOL].amax(1) for i in range(0, z_right.shape[1], POOL)], 1).relu_()

        # conv2 is linear in the pooled values: where the input's differ from the shared ones (blocks -3 … 0 and
        # jr … pooled+2, the input's zero padding included), its outputs 0 … 3 and jr-3 … pooled-1 move by the kernel
        # times the difference (a banded Toeplitz product per end)
        d_left = F.pad(p_left[:, None], (0, 0, 3, 0)).sub_(gather(rows_p, -3, 1, POOL))
        d_right = F.pad(p_right, (0, 0, 0, 3)).sub_(gather(rows_p, jr, pooled + 3, POOL))
        span = pooled + 3 - jr
        h_left = _add_banded(gather(rows_h, 0, 4, POOL).reshape(n, -1), d_left.reshape(n, -1), self.band_left)
        h_right = _add_banded(gather(rows_h, jr - 3, pooled, POOL).reshape(n, -1), d_right.reshape(n, -1),
                              self.band_right)
        h_left, h_right = h_left.clamp_min_(0).reshape(n, 4, c2), h_right.clamp_min_(0).reshape(n, span, c2)

        first = starts + POOL * 4  # the row of the input's first interior conv2 output
        mid_max = run_max.index_select(0, first)
        mid_sum = _window_sums(shared_h, width, POOL, first)
        h_max = torch.maximum(mid_max, torch.maximum(h_left.amax(1), h_right.amax(1)))
        h_mean = mid_sum.add_(h_left.sum(1)).add_(h_right.sum(1)).div_(pooled)

        c = cnn.center
        if c < 4:
            z_c = z_left[:, c]
        elif c >= POOL * jr:
            z_c = z_right[:, c - POOL * jr]
        else:
            z_c = rows_z.index_select(0, starts + c)
        return torch.cat([F.relu(z_c), h_max, h_mean], dim=-1)


def _bands(toeplitz: torch.Tensor, c2: int) -> list[tuple[int, int, int, torch.Tensor]]:
    """(first row, end row, first column, block) of each output's ``c2`` columns of ``toeplitz``, cut to the rows
    that reach it: a Toeplitz matrix of a 7-tap kernel is ~40% zeros here (blocks more than 3 from an output)."""
    out = []
    for o in range(0, toeplitz.shape[1], c2):
        rows = toeplitz[:, o:o + c2].abs().sum(1).nonzero()
        if rows.numel():
            lo, hi = int(rows.min()), int(rows.max()) + 1
            out.append((lo, hi, o, toeplitz[lo:hi, o:o + c2].contiguous()))
    return out


def _add_banded(out: torch.Tensor, diff: torch.Tensor, bands: list[tuple[int, int, int, torch.Tensor]]) -> torch.Tensor:
    """``out += diff @ toeplitz`` from the Toeplitz matrix's bands (:func:`_bands`)."""
    for lo, hi, o, block in bands:
        out[:, o:o + block.shape[1]].addmm_(diff[:, lo:hi], block)
    return out


def _channels_last_kernel(weight: torch.Tensor) -> torch.Tensor:
    """A (C_out, C_in, taps) convolution kernel as the channels-last 2-D kernel :func:`_conv_rows` takes."""
    return weight[:, :, None, :].contiguous(memory_format=torch.channels_last)


def _conv_rows(rows: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, dilation: int,
               pad: int) -> torch.Tensor:
    """A 1-D convolution (zero padding ``pad`` taps each side) of a (positions, channels) matrix, returned as one:
    the rows seen as a channels-last (1, C, 1, positions) image, which oneDNN convolves without transposing."""
    image = rows.T[None, :, None, :]
    out = F.conv2d(image, kernel, bias, padding=(0, pad * dilation), dilation=(1, dilation))
    return out[0, :, 0, :].T  # (positions, C_out): a view of the channels-last result, rows contiguous


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


def _window_max(x: torch.Tensor, width: int, step: int) -> torch.Tensor:
    """Row t: the max of the ``width`` rows ``t, t + step, …, t + step·(width-1)`` of ``x`` (positions, C), for
    every t where they exist, by doubling: each pass combines two windows of ``span`` rows into one of ``2·span``
    (an elementwise pass over contiguous rows); the result is the larger of two overlapping power-of-two windows."""
    m, span = x, 1
    while 2 * span <= width:
        m = torch.maximum(m[:-step * span], m[step * span:])
        span *= 2
    count = x.shape[0] - step * (width - 1)
    return torch.maximum(m[:count], m[step * (width - span):step * (width - span) + count])


_SUM_BLOCK = 64  # rows of one phase per block of the running sums: float32 within a block, float64 across them


def _window_sums(x: torch.Tensor, width: int, step: int, first: torch.Tensor) -> torch.Tensor:
    """(n, C): the sum of the ``width`` rows ``t, t + step, …`` of ``x`` (positions, C) for each t in ``first``
    (≥ step), as the difference of two running sums per phase. A float32 running sum over a whole stretch would
    lose ~1e-3 of a window's sum; here each block of ``_SUM_BLOCK`` rows of a phase restarts it, and the blocks'
    totals before it are added in float64, so every sum is exact to ~1e-6."""
    rows, c = x.shape
    per_block = step * _SUM_BLOCK
    blocks = -(-rows // per_block)
    local = F.pad(x.float(), (0, 0, 0, blocks * per_block - rows)).view(blocks, _SUM_BLOCK, step, c).cumsum(1)
    totals = local[:, -1].double()
    before = (totals.cumsum(0) - totals).view(-1, c)  # [block·step + phase]: the phase's sum in earlier blocks
    local = local.view(-1, c)

    def running(t: torch.Tensor) -> torch.Tensor:  # the phase's sum of rows ≤ t
        return before.index_select(0, t // per_block * step + t % step) + local.index_select(0, t)

    return (running(first + step * (width - 1)) - running(first - step)).to(x.dtype)
