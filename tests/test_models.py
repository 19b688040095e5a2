"""Model pieces: LR k-mer features, CNN/head shapes, layer freezing, losses, offline Hugging Face errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dnactx.errors import DnactxError
from dnactx.losses import default_pos_weight, focal_loss, make_loss
from dnactx.models.cnn import CNN
from dnactx.models.heads import Head
from dnactx.models.lr import kmer_features, n_features
from dnactx.sequence import to_ascii

torch.set_num_threads(1)


def _naive_features(seq: str, kmax: int = 3) -> np.ndarray:
    row = []
    for k in range(1, kmax + 1):
        kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
        windows = [seq[i:i + k] for i in range(len(seq) - k + 1)]
        row += [windows.count(km) / len(windows) for km in kmers]
    return np.array(row)


def test_kmer_features_match_naive_counts():
    seqs = ["ACGTACGGTA", "TTTTNCCCAA", "GATTACAGAT"]
    x = kmer_features(to_ascii(seqs), np.array([0, 2, 1]), kmax=3).toarray()
    assert x.shape == (3, n_features(3, site_context=True))
    for i, s in enumerate(seqs):
        np.testing.assert_allclose(x[i, :-3], _naive_features(s), rtol=1e-6)
    assert x[:, -3:].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_cnn_and_head_shapes():
    model = CNN(center=20, site_context=True)
    codes = torch.randint(0, 5, (4, 41))
    out = model({"codes": codes, "context_id": torch.tensor([0, 1, 2, 0])})
    assert out.shape == (4,)
    assert Head(16, site_context=False)(torch.randn(3, 16)).shape == (3,)


def test_set_trainable_top_layers(tiny_checkpoint):
    from dnactx.models.checkpoint import load_encoder
    from dnactx.models.encoder import set_trainable

    encoder = load_encoder(tiny_checkpoint)
    set_trainable(encoder, 1)
    trainable = {n for n, p in encoder.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("encoder.layer.1.") for n in trainable)
    set_trainable(encoder, None)
    # everything trains except the pooler, which mean pooling never uses (DDP rejects parameters without grads)
    assert all(p.requires_grad != n.startswith("pooler.") for n, p in encoder.named_parameters())
    with pytest.raises(DnactxError, match="only 2 layers"):
        set_trainable(encoder, 3)


def test_pool_averages_real_tokens_only_with_or_without_a_mask(tiny_checkpoint):
    from dnactx.models.checkpoint import load_encoder
    from dnactx.models.encoder import EncoderClassifier

    torch.manual_seed(0)
    model = EncoderClassifier(load_encoder(tiny_checkpoint), site_context=False).eval()
    ids = torch.randint(5, 4101, (2, 6))
    with torch.no_grad():
        unmasked = model.pool(ids)
        # a batch that carries a mask but holds no padding takes the masked path and pools the same
        torch.testing.assert_close(model.pool(ids, torch.ones(2, 6, dtype=torch.long)), unmasked, atol=1e-5, rtol=0)
        # a row padded on the right pools like the same row without its padding
        padded = torch.cat([ids[:, :4], torch.zeros(2, 2, dtype=torch.long)], dim=1)
        mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
        pooled = model.pool(padded, mask)
        torch.testing.assert_close(pooled[0], model.pool(ids[:1, :4])[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(pooled[1], model.pool(padded[1:])[0], atol=1e-5, rtol=0)
        assert not torch.allclose(pooled[0], model.pool(padded[:1])[0], atol=1e-3)  # the padding would count


def test_losses():
    logits, labels = torch.randn(50), (torch.rand(50) < 0.3).float()
    bce = F.binary_cross_entropy_with_logits(logits, labels)
    assert torch.allclose(focal_loss(logits, labels, gamma=0.0, alpha=None), bce)
    assert focal_loss(logits, labels, gamma=2.0, alpha=0.25) < bce
    assert default_pos_weight(np.array([0, 0, 0, 1])) == 3.0
    fn, info = make_loss("weighted", np.array([0, 0, 0, 1]))
    assert info == {"pos_weight_used": 3.0}
    expected = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.tensor(3.0))
    assert torch.allclose(fn(logits, labels), expected)


def test_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    from dnactx.models.checkpoint import resolve_checkpoint

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DnactxError, match="huggingface-cli download"):
        resolve_checkpoint("zhihan1996/DNA_bert_6", tmp_path)
