"""dnactx/choices.py is the one list of modes, precisions, families, contexts and splits: train's options, predict's
completion and the inference recipe all take theirs from it."""

from __future__ import annotations

import dataclasses

import pytest

from dnactx import choices
from dnactx.cli.common import complete
from dnactx.errors import DnactxError
from dnactx.inference.recipe import Recipe
from dnactx.train.config import TrainConfig


def test_train_options_take_their_closed_sets_from_choices():
    meta = {f.name: f.metadata.get("choices") for f in dataclasses.fields(TrainConfig)}
    assert meta["mode"] is choices.Mode and meta["precision"] is choices.Precision
    with pytest.raises(DnactxError, match="--precision must be no, bf16 or fp16"):
        TrainConfig(precision="fp8")


def test_a_recipe_refuses_a_family_choices_does_not_name():
    with pytest.raises(DnactxError, match="lr, cnn, transformer"):
        Recipe(family="gpt", model="x", window=200, size=10, mode="both", site_context=True)


def test_completion_offers_the_words_of_choices_and_completes_a_comma_list():
    assert complete(choices.PRECISIONS)("b") == ["bf16"]
    assert complete(choices.CONTEXTS, comma=True)("CG,CH") == ["CG,CHG", "CG,CHH"]
