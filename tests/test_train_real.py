"""On a subset of the real Arabidopsis data: lr separates methylated sites, the CNN trains and is recorded."""

from __future__ import annotations

import pytest
import torch

from dnactx.cli import main
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run

torch.set_num_threads(1)
pytestmark = [pytest.mark.integration, pytest.mark.slow]  # trains on the real data


@pytest.fixture(scope="module")
def real_dataset(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "ds"
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--genome", str(shared_data / "athaliana_tair10_chr1_2mb.fa.gz"), "--calls",
              str(shared_data / "athaliana_chr1_2mb.CGmap.gz"), "--out", str(out), "--window", "200",
              "--fraction", "0.2", "--control-chrom", "L"])
    assert exc.value.code == 0
    return out / "dataset.parquet"


def test_lr_on_real_subset(real_dataset, tmp_path):
    result = train_run(TrainConfig(data=str(real_dataset), model="lr", size=100, max_train=8000, C=10), tmp_path,
                       quiet=True)
    m = result["metrics"]
    assert m["test"]["auroc"] > 0.8  # the site context alone separates much of the signal
    assert m["by_context"]["test"]["CG"]["pos_rate"] > m["by_context"]["test"]["CHH"]["pos_rate"]


def test_cnn_on_real_subset(real_dataset, tmp_path):
    result = train_run(TrainConfig(data=str(real_dataset), model="cnn", size=50, max_train=3000, epochs=3,
                                   batch_size=32), tmp_path, quiet=True)
    assert result["status"] == "completed" and result["metrics"]["test"]["auroc"] > 0.75
