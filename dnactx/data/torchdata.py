"""Column tensors served a whole batch at a time, and a sampler whose order depends only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from torch.utils.data import Dataset as TorchDataset


class ColumnDataset(TorchDataset):
    """Named tensors of equal length; ``__getitems__`` slices a batch in one indexing op per column."""

    def __init__(self, columns: dict[str, np.ndarray | torch.Tensor]) -> None:
        self.columns = {k: torch.as_tensor(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns differ in length: {lengths}")
        self.n = lengths.pop()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.columns.items()}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {k: v[idx] for k, v in self.columns.items()}


def _as_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return batch


class EpochSampler(Sampler[int]):
    """A permutation drawn from (seed, epoch) alone, so a resumed run sees the same order."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist())

    def __len__(self) -> int:
        return self.n


def make_loader(ds: ColumnDataset, batch_size: int, *, sampler: Sampler | None = None) -> DataLoader:
    """Batches of dict tensors; ordered when no sampler is given (evaluation).

    The loader gets its own generator: each new iterator draws a seed from it, which would otherwise come
    from the global RNG and shift dropout masks between an interrupted and an uninterrupted run.
    """
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, shuffle=False, collate_fn=_as_batch,
                      num_workers=0, generator=torch.Generator().manual_seed(0))
