"""torchrun entry point for tests: ``loop.predict`` over 2 processes returns each row once, in dataset order.

The model's output is a function of the row alone (its own index), so any reordering or padding duplicate shows.
Rank 0 writes the gathered values to the file named by argv[1].
"""

import sys

import numpy as np
import torch

from dnactx.data.torchdata import ColumnDataset, make_loader
from dnactx.distributed import exit_process, is_main
from dnactx.train.loop import make_accelerator, predict


class RowIndex(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, batch):
        return torch.logit(batch["x"] / 1000.0) * self.w  # sigmoid(.) gives back x / 1000


accelerator = make_accelerator("no", 1)
ds = ColumnDataset({"x": torch.arange(1, 102, dtype=torch.float32), "labels": torch.zeros(101)})  # 101: uneven
model, loader = accelerator.prepare(RowIndex(), make_loader(ds, 8))
out = predict(accelerator, model, loader)
if is_main():
    np.save(sys.argv[1], out)
accelerator.wait_for_everyone()
exit_process(0)  # tears the process group down, then leaves without interpreter finalization
