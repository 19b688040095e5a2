"""Mutagenesis of a cnn by difference: a single-base change alters the convolutions only within its receptive field.

``CNN.encode`` of an input of ``length`` bp: conv1 (kernel 9) at every base, a max-pool by 4 (ceil mode) then ReLU,
conv2 (kernel 7) on the pooled map then ReLU, and the features conv1's output at the C, conv2's max and mean over
the input. A change at column c moves conv1 only at c-4 … c+4 (linearly: the kernel's column of the new base minus
that of the old one), hence only the 3 pooled blocks (c-4)//4 … +2 and conv2 only at the 9 positions within 3 of
them (fastISM, Nair et al. 2022; Yuzu, Schreiber et al. 2022). Each site's maps are computed once, channels last,
so that a mutant's patch of each map is one contiguous row and every reduction below runs across rows of channels.
Per mutant: the 12 conv1 values under the 3 blocks are re-pooled; conv2's 9 outputs move by the kernel times the 3
pooled changes (a matrix product per block, C1 × 7·C2, for a block of mutants at once); conv2's max over the input
is the larger of the 9 new outputs' max and the site's max outside them (prefix and suffix maxima). The head's
first layer is linear in the features, so everything in it that a mutant shares with its site (conv1 at the C, the
site context, the mean's part outside the 9 outputs) is folded once per site and block into a bias row; per mutant
only [max, sum of the 9 outputs] × its weights remains, plus a correction for the few mutants within 4 of the C or
with a new site context. ~45k multiply-adds per mutant (32k conv2, 12k head) against ~780k to score it whole at
201 bp, both sides at the core's peak rate; equal to scoring to float32 rounding (~1e-6 in the logit). Runs in
float32 on the scorer's device (no autocast).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..models.cnn import CNN

POOL = 4


class CnnDeltas:
    """logit(mutant) − logit(reference) of a cnn's mutants (see the module docstring), ``block`` mutants at a time
    (their patches stay in cache)."""

    def __init__(self, model: CNN, device: torch.device, block: int = 768) -> None:
        self.device = device
        self.block = block
        self.center = model.center
        self.onehot = model.onehot.to(device)
        # the weights of CNN.fused (without its copy of the whole module, which costs more than a chunk of mutants)
        self.conv1 = _fuse(model.conv1[0], model.conv1[1], device)
        self.conv2 = _fuse(model.conv2[1], model.conv2[2], device)
        w1 = self.conv1[0]  # (C1, 4, 9)
        c1 = w1.shape[0]
        w1 = torch.cat([w1, w1.new_zeros(c1, 1, 9)], dim=1)  # N (code 4) contributes nothing
        change = w1[:, None, :, :] - w1[:, :, None, :]  # (C1, old 5, new 5, tap 9): new base's tap − old's
        # table[old, new, r]: conv1's change on the 12 positions of the 3 blocks (c-4)//4 … +2 of a change at a
        # column c ≡ r (mod 4): position c + d (d = -4 … 4) is window position r + 4 + d and moves by tap 4 - d
        table = w1.new_zeros(5, 4, POOL, 12, c1)
        for r in range(POOL):
            table[:, :, r, r:r + 9] = change[:, :, :4].flip(-1).permute(1, 2, 3, 0)
        self.table = table.reshape(-1, 12 * c1)
        self.taps = change[:, :, :4].permute(1, 2, 3, 0).contiguous()  # (old, new, tap, C1)
        # conv2's change on the 9 outputs jb-3 … jb+5 from the change of pooled block jb + jj: its kernel, flipped,
        # on outputs jj … jj+6 (block jj reaches output i through tap jj - i + 6), (C1, 7·C2)
        w2 = self.conv2[0]  # (C2, C1, 7)
        c2 = w2.shape[0]
        self.w2 = w2.flip(-1).permute(1, 2, 0).reshape(c1, 7 * c2).contiguous()
        first, last = model.head.net[1], model.head.net[3]
        w = first.weight.detach().float().to(device)  # (hidden, C1 + 2·C2 [+ context])
        self.w_center, self.w_max, self.w_mean = w[:, :c1].T, w[:, c1:c1 + c2].T, w[:, c1 + c2:c1 + 2 * c2].T
        self.bias = first.bias.detach().float().to(device)
        context = model.head.context
        # each site context's embedding through the first layer, (3, hidden)
        self.context = None if context is None else context.weight.detach().float().to(device) @ w[:, c1 + 2 * c2:].T
        self.w_out = last.weight.detach().float().to(device)[0]  # its bias cancels in the difference

    @torch.inference_mode()
    def deltas(self, codes: np.ndarray, site: np.ndarray, column: np.ndarray, base: np.ndarray,
               context_id: np.ndarray | None, mutant_context: np.ndarray | None) -> np.ndarray:
        """float64 (m,): Δlogit of each mutant (``site`` row of ``codes``, int (n, length) base codes; ``column``
        changed to ``base``), ``context_id`` (n,) of the sites and ``mutant_context`` (m,) of the mutants."""
        dev = self.device
        if self.context is None:  # a model without site context ignores it
            context_id = mutant_context = None
        n, m = len(codes), len(site)
        c, c1, c2 = self.center, self.w_center.shape[0], self.w_max.shape[0]
        codes_t = torch.from_numpy(np.asarray(codes, dtype=np.int64)).to(dev)
        x = self.onehot[codes_t].transpose(1, 2)
        z1 = F.conv1d(x, *self.conv1, padding=4)  # (n, C1, L) before ReLU
        p = F.relu(F.max_pool1d(z1, POOL, POOL, ceil_mode=True))  # (n, C1, P)
        hpre = F.conv1d(p, *self.conv2, padding=3)  # (n, C2, P) before ReLU
        h = F.relu(hpre)
        pooled = h.shape[-1]
        z_c = z1[:, :, c]
        ref_ctx = None if context_id is None else torch.from_numpy(np.asarray(context_id, np.int64)).to(dev)

        # Per site and first changed block jb (-1 … P-3, stored at jb + 1: width rows per site), one contiguous
        # channels-last row of each map's window. Padding with -inf: ceil-mode pooling ignores positions past the
        # input's end, and conv2 outputs outside the input stay 0 after ReLU whatever they gain; pooled blocks
        # outside it are 0 (conv2's zero padding)
        width = pooled + 1
        # the site's conv2 max outside the 9 outputs jb-3 … jb+5: of prefix maxima before them and suffix after
        prefix = F.pad(h.cummax(-1).values, (1, 0))  # [k]: max of h[0 … k-1] (0 if none)
        suffix = F.pad(h.flip(-1).cummax(-1).values.flip(-1), (0, 1))  # [k]: max of h[k …] (0 if none)
        at = torch.arange(width, device=dev)
        outside = torch.maximum(prefix[:, :, (at - 4).clamp(0, pooled)], suffix[:, :, (at + 5).clamp(0, pooled)])
        # the first layer's input per (site, jb) less the mutant's own [max, sum of its 9 outputs]: the mean is the
        # site's minus the 9 outputs' old sum plus their new one, over P
        w_feat = torch.cat([self.w_max, self.w_mean / pooled])
        site_bias = torch.addmm(self.bias, F.relu(z_c), self.w_center).addmm_(h.mean(-1), self.w_mean)
        if ref_ctx is not None:
            site_bias += self.context[ref_ctx]
        ref_logit = F.gelu(torch.addmm(site_bias, h.amax(-1), self.w_max)) @ self.w_out
        h_sum = F.pad(h, (4, 6)).unfold(-1, 9, 1)[:, :, :width].sum(-1).transpose(1, 2)  # 9 outputs' old sum
        # all a mutant needs of its (site, jb) in one row, gathered once: conv2 before ReLU at the 9 outputs, the
        # max outside them (a 10th "output" that the change leaves alone), the 3 pooled blocks, the bias row
        pooled_at, bias_at = 10 * c2, 10 * c2 + 3 * c1
        rows = torch.empty(n, width, bias_at + len(self.bias), device=dev)
        rows[..., :9 * c2] = _windows(F.pad(hpre, (4, 6), value=float("-inf")), 9, 1, width)
        rows[..., 9 * c2:pooled_at] = outside.transpose(1, 2)
        rows[..., pooled_at:bias_at] = _windows(F.pad(p, (1, 3)), 3, 1, width)
        torch.sub(site_bias[:, None], h_sum @ w_feat[c2:], out=rows[..., bias_at:])
        rows = rows.view(n * width, -1)

        s = torch.from_numpy(site).to(dev)
        col = torch.from_numpy(column).to(dev)
        old = codes_t[s, col]
        new = torch.from_numpy(base).to(dev)
        row = s * width + torch.div(col, POOL, rounding_mode="floor")
        # conv1 under the 3 blocks after the change, as the sum of two rows (embedding_bag: one pass, ~2x faster
        # than gathering both and adding): the site's window and the change's from the table appended to it
        windows = torch.empty(n * width + len(self.table), 12 * c1, device=dev)
        windows[:n * width].view(n, width, -1).copy_(_windows(F.pad(z1, (4, 12), value=float("-inf")), 12, POOL,
                                                              width))  # 12 × C1 per row
        windows[n * width:] = self.table
        bags = torch.stack([row, n * width + (old * 4 + new) * POOL + col % POOL], dim=1).view(-1)
        offsets = torch.arange(0, 2 * min(m, self.block), 2, device=dev)

        # mutants within 4 of the C move conv1 there; mutants at 1 or 2 after it may have a new site context
        tap = column - c + 4
        fix = (tap >= 0) & (tap <= 8)
        if mutant_context is not None:
            fix |= mutant_context != context_id[site]
        fix = np.flatnonzero(fix)
        bounds = np.searchsorted(fix, np.arange(0, m + self.block, self.block)).tolist()
        fix = torch.from_numpy(fix).to(dev)
        fs = s[fix]
        near = torch.from_numpy(tap).to(dev)[fix]
        inside = ((near >= 0) & (near <= 8))[:, None]
        moved = z_c[fs] + self.taps[old[fix], new[fix], near.clamp(0, 8)] * inside
        correction = (F.relu(moved) - F.relu(z_c[fs])) @ self.w_center
        if mutant_context is not None:
            mctx = torch.from_numpy(np.asarray(mutant_context, np.int64)).to(dev)
            correction += self.context[mctx[fix]] - self.context[ref_ctx[fs]]

        out = torch.empty(m, device=dev)
        feat = torch.empty(min(m, self.block), 2 * c2, device=dev)
        for k, a in enumerate(range(0, m, self.block)):
            b = min(m, a + self.block)
            z = F.embedding_bag(bags[2 * a:2 * b], windows, offsets[:b - a], mode="sum").view(b - a, 3, POOL, c1)
            g = rows.index_select(0, row[a:b])
            z = torch.maximum(z[:, :, :2], z[:, :, 2:])  # maxima as pairs of slices: 1.4-2x faster than amax
            dp = torch.maximum(z[:, :, 0], z[:, :, 1]).relu_().view(b - a, -1).sub_(g[:, pooled_at:bias_at])
            for jj in range(3):  # three products rather than one with the 6 of 27 (block, output) pairs that are 0
                g[:, jj * c2:(jj + 7) * c2].addmm_(dp[:, jj * c1:(jj + 1) * c1], self.w2)
            h_new = g[:, :9 * c2].clamp_min_(0).view(b - a, 9, c2)
            f = feat[:b - a]
            torch.sum(h_new, 1, out=f[:, c2:])
            top = g[:, :10 * c2].view(b - a, 10, c2)
            top = torch.maximum(top[:, :5], top[:, 5:])
            torch.maximum(torch.maximum(top[:, 0], top[:, 1]), torch.maximum(top[:, 2], top[:, 3]), out=f[:, :c2])
            torch.maximum(f[:, :c2], top[:, 4], out=f[:, :c2])
            hidden = g[:, bias_at:].addmm_(f, w_feat)
            hidden.index_add_(0, fix[bounds[k]:bounds[k + 1]] - a, correction[bounds[k]:bounds[k + 1]])
            torch.mv(F.gelu(hidden), self.w_out, out=out[a:b])
        out -= ref_logit[s]
        return out.double().cpu().numpy()


def _fuse(conv: torch.nn.Conv1d, norm: torch.nn.BatchNorm1d, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's (weight, bias) with the BatchNorm after it folded in, float32 on ``device``."""
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps,
                                        norm.weight, norm.bias)
    return weight.detach().float().to(device), bias.detach().float().to(device)


def _windows(maps: torch.Tensor, size: int, step: int, width: int) -> torch.Tensor:
    """(n, C, L) maps → a channels-last (n, width, size·C) view: the first ``width`` windows of ``size`` positions
    every ``step``, each contiguous (the maps transposed once)."""
    rows = maps.transpose(1, 2).contiguous()
    return rows.as_strided((len(rows), width, size * rows.shape[2]), (rows.stride(0), step * rows.shape[2], 1))
