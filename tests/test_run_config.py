"""config.json's contract (dnactx/runs/config.py): a run folder written by release 0.1 still loads into it, the
family is derived in one place, and config.json changes after creation only through ``resolve_config``."""

from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from pathlib import Path

import pytest

from dnactx.choices import family_of_model
from dnactx.contracts import metric_value
from dnactx.runs import RunFolder, read_run_config, run_config, run_family
from dnactx.runs.config import GIVEN, KEYS, RunConfig
from dnactx.train.config import TrainConfig

RELEASE_0_1 = Path(__file__).parent / "fixtures" / "run_v0_1"
RUN_ID = "01m8yq2x241p7vb9mqgsq0f358"  # an lr run trained by dnactx 0.1.0 on the tiny dataset (size 20, C 1)


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "runs"
    shutil.copytree(RELEASE_0_1, home)
    return home


def test_a_release_0_1_run_folder_loads_into_the_contract_and_its_model_recipe(home):
    from dnactx.inference.run_model import recipe_of_run

    folder = RunFolder.open(home, RUN_ID)
    config = folder.config
    assert set(config) <= KEYS, f"keys outside RunConfig: {sorted(set(config) - KEYS)}"
    assert run_family(config) == "lr" and config["window"] == 200 and config["size"] == 20
    assert metric_value(folder.metrics, "test_auroc") is not None
    recipe = recipe_of_run(folder.path)
    assert (recipe.family, recipe.window, recipe.size, recipe.mode) == ("lr", 200, 20, "both")


def test_a_release_0_1_run_folder_syncs_into_the_registry_with_its_train_options(home):
    from dnactx.registry import Registry
    from dnactx.registry.sync import sync

    sync(home)
    run = Registry.open(home).run(RUN_ID)
    assert run["family"] == "lr" and run["finetune"] is None and run["size"] == 20
    assert run["config"]["C"] == 1.0 and run["metrics"]["facts"]["train_sites"] > 0


def test_config_json_without_family_reads_with_the_family_derived_from_the_model(home):
    path = home / RUN_ID / "config.json"
    for model, family in (("lr", "lr"), ("cnn", "cnn"), ("zhihan1996/DNA_bert_6", "transformer")):
        config = json.loads(path.read_text())
        config.pop("family", None)
        path.write_text(json.dumps({**config, "model": model}))
        assert RunFolder(home / RUN_ID).config["family"] == family
    assert read_run_config(None) == {}


def test_the_run_config_names_every_train_option_in_train_configs_order():
    assert GIVEN == tuple(f.name for f in dataclasses.fields(TrainConfig))
    assert set(typing.get_type_hints(RunConfig)) == KEYS


@pytest.mark.parametrize("model", ["lr", "cnn", "dnabert6-tiny", "/ckpt/folder"])
def test_train_config_and_run_config_derive_the_same_family(model):
    config = TrainConfig(model=model)
    assert config.family == family_of_model(model) == run_config(config.to_dict())["family"]


def test_config_json_changes_after_creation_only_by_keys_training_resolves(tmp_path):
    folder = RunFolder.create(tmp_path, run_config({"model": "cnn", "size": 50}, device=None))
    folder.resolve_config(device="cpu", num_processes=1, encoder_lr=1e-3)
    assert folder.config == {"model": "cnn", "size": 50, "device": "cpu", "family": "cnn", "num_processes": 1,
                             "encoder_lr": 1e-3}
    with pytest.raises(KeyError, match="size"):
        folder.resolve_config(size=100)  # a train option is given once, when the folder is made
    with pytest.raises(KeyError, match="RunConfig contract"):
        run_config({"model": "lr"}, colour="red")
