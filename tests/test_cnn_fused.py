"""The CNN scores the same with its BatchNorms folded into the convolutions (the scorer's inference copy) and with
its first ReLU after the max-pool (the trained module itself, which commutes exactly)."""

from __future__ import annotations

import torch
from conftest import scramble_batchnorm

from dnactx.models.cnn import CNN


def _trained_looking_cnn() -> CNN:
    torch.manual_seed(0)
    model = CNN(center=20, site_context=True, channels=8, channels2=12).eval()
    return scramble_batchnorm(model)


def test_fused_copy_scores_like_the_model_and_leaves_it_as_it_was() -> None:
    model = _trained_looking_cnn()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    batch = {"codes": torch.randint(0, 5, (64, 41)), "context_id": torch.randint(0, 3, (64,))}
    fused = model.fused()
    with torch.inference_mode():
        torch.testing.assert_close(fused(batch), model(batch), rtol=0, atol=1e-5)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())


def test_relu_after_the_pool_equals_relu_before_it() -> None:
    model = _trained_looking_cnn()
    codes = torch.randint(0, 5, (32, 41))
    with torch.inference_mode():
        x = model.onehot[codes.long()].transpose(1, 2)
        h1 = model.conv1(x)  # conv, norm, ReLU in the order they were declared
        h2 = model.conv2(h1)
        before = torch.cat([h1[:, :, model.center], h2.amax(-1), h2.mean(-1)], dim=-1)
        assert torch.equal(model.encode(codes), before)
