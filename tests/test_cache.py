"""Frozen mode caches pooled encoder outputs: a second run with another loss hits the cache and uses it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnactx.runs import RunFolder
from dnactx.train import cache
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run

pytestmark = pytest.mark.slow  # every test trains a model

torch.set_num_threads(1)


def test_second_frozen_run_hits_the_cache(tiny_dataset, tmp_path, monkeypatch):
    base = dict(data=str(tiny_dataset), model="dnabert6-tiny", size=30, finetune="frozen", epochs=2)
    first = train_run(TrainConfig(**base), tmp_path, quiet=True)
    files = list((tmp_path / ".cache" / "embeddings").glob("*.safetensors"))
    assert first["metrics"]["facts"]["cache_hit"] is False and len(files) == 1
    features = cache.load_features(files[0])
    assert features["train"].shape[1] == 64 and len(features["val"]) == first["metrics"]["val"]["n"]

    calls = []
    monkeypatch.setattr(cache, "encode_pooled", lambda *a, **k: calls.append(1))  # must not be needed
    second = train_run(TrainConfig(**base, loss="focal"), tmp_path, quiet=True)
    assert second["metrics"]["facts"]["cache_hit"] is True and not calls
    assert RunFolder.open(tmp_path, second["run_id"]).config["cache_key"] == \
        RunFolder.open(tmp_path, first["run_id"]).config["cache_key"]
    # another window size is another key: a miss, computed afresh
    monkeypatch.undo()
    third = train_run(TrainConfig(**{**base, "size": 20}), tmp_path, quiet=True)
    assert third["metrics"]["facts"]["cache_hit"] is False
    assert len(list((tmp_path / ".cache" / "embeddings").glob("*.safetensors"))) == 2


def test_cached_features_equal_fresh_encoder_outputs(tiny_dataset, tmp_path):
    from dnactx.data.dataset import load_dataset
    from dnactx.models.checkpoint import load_encoder, load_tokenizer, resolve_checkpoint
    from dnactx.models.encoder import EncoderClassifier
    from dnactx.train.loop import make_accelerator

    run = train_run(TrainConfig(data=str(tiny_dataset), model="dnabert6-tiny", size=30, epochs=1), tmp_path,
                    quiet=True)
    key = RunFolder.open(tmp_path, run["run_id"]).config["cache_key"]
    cached = cache.load_features(cache.cache_path(tmp_path, key))
    path = resolve_checkpoint("dnabert6-tiny", tmp_path)
    ds = load_dataset(tiny_dataset, 30, "both")
    enc = load_tokenizer(path).encode(ds.splits["val"].bases, ds.center)
    model = EncoderClassifier(load_encoder(path), site_context=True)
    fresh = cache.encode_pooled(make_accelerator("no", 1), model, {"input_ids": torch.from_numpy(enc.input_ids),
                                "attention_mask": torch.from_numpy(enc.attention_mask)}, 64)
    np.testing.assert_allclose(cached["val"], fresh, atol=1e-5)
