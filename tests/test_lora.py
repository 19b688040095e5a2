"""--finetune lora:R (issue 18, item 7): parsing with the other finetune choices, adapters on each family's own
attention projections, a run folder holding only the head and adapters (readable by peft itself), their sha256
checked before scoring, the default adapter learning rate, matrix axes and the remedies that suit LoRA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from dnactx.analysis.remedies import remedy
from dnactx.errors import DnactxError
from dnactx.matrix.spec import build_spec
from dnactx.models.lora import lora_targets
from dnactx.train.config import DEFAULT_LORA_LR, LoopConfig, TrainConfig, lora_rank, parse_finetune


def test_lora_rank_is_parsed_beside_the_other_finetune_choices() -> None:
    assert (lora_rank("lora:8"), parse_finetune("lora:8")) == (8, 0)  # the encoder's own weights stay frozen
    assert lora_rank("top:2") is None and lora_rank("frozen") is None


@pytest.mark.parametrize("text", ["lora:0", "lora:", "lora:x", "lora:-1", "lora:1025", "lora:\u0663", "lora"])
def test_a_bad_lora_rank_is_one_line(text: str) -> None:
    with pytest.raises(DnactxError, match="--finetune") as err:
        TrainConfig(data="d.parquet", model="dnabert6-tiny", finetune=text)
    assert "\n" not in str(err.value)


def test_a_bad_lora_rank_stops_train_before_any_run_folder(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["--home", str(tmp_path / "runs"), "train", "--data", str(tiny_dataset), "--model",
                            "dnabert6-tiny", "--finetune", "lora:0"], capsys)
    assert code != 0 and "lora:R" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*/status.json"))


def test_adapters_default_to_their_own_learning_rate_unless_lr_is_given(tmp_path: Path) -> None:
    def rate(**options) -> float:
        config = TrainConfig(data="d.parquet", model="dnabert6-tiny", **options)
        return LoopConfig.from_train_config(config, run_dir=tmp_path).encoder_lr

    assert rate(finetune="lora:4") == DEFAULT_LORA_LR
    assert rate(finetune="top:1") == 2e-5
    assert rate(finetune="lora:4", lr=1e-3) == 1e-3


def _bert():
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(vocab_size=16, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32))


def _esm():
    from transformers import EsmConfig, EsmModel

    return EsmModel(EsmConfig(vocab_size=16, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=32, pad_token_id=1, position_embedding_type="rotary"))


def _modernbert():
    from transformers import ModernBertConfig, ModernBertModel

    return ModernBertModel(ModernBertConfig(vocab_size=16, hidden_size=16, num_hidden_layers=1,
                                            num_attention_heads=2, intermediate_size=32, pad_token_id=0))


def _gpt2():
    from transformers import GPT2Config, GPT2Model

    return GPT2Model(GPT2Config(vocab_size=16, n_embd=16, n_layer=1, n_head=2))


@pytest.mark.parametrize("build,targets", [(_bert, ["query", "key", "value"]), (_esm, ["query", "key", "value"]),
                                           (_modernbert, ["Wqkv"]), (_gpt2, ["c_attn"])])
def test_adapter_targets_are_found_by_each_models_own_module_names(build, targets: list[str]) -> None:
    assert lora_targets(build()) == targets


def test_an_encoder_without_attention_projections_is_one_line_suggesting_top_n() -> None:
    from torch import nn

    class Conv(nn.Module):  # Hyena/Mamba-like: no query/key/value anywhere
        def __init__(self) -> None:
            super().__init__()
            self.mixer = nn.Conv1d(4, 4, 3)
            self.out_proj = nn.Linear(4, 4)

    with pytest.raises(DnactxError, match="top:N or full") as err:
        lora_targets(Conv())
    assert "\n" not in str(err.value)


def test_finetune_lora_is_a_matrix_axis(tiny_dataset: Path) -> None:
    cells = build_spec(tiny_dataset, {"model": "dnabert6-tiny", "finetune": "frozen,lora:4,lora:16"}).grid_cells()
    assert [c.config.finetune for c in cells] == ["frozen", "lora:4", "lora:16"]
    with pytest.raises(DnactxError, match="lora:R"):
        build_spec(tiny_dataset, {"model": "dnabert6-tiny", "finetune": "lora:4,lora:0"}).cells()


def test_overfitting_lora_runs_are_offered_a_lower_rank_not_unfrozen_layers() -> None:
    config = {"model": "dnabert6-tiny", "family": "transformer", "finetune": "lora:8"}
    assert remedy("regularise", config)["flags"] == "--finetune lora:4"
    assert remedy("unfreeze", config) is None
    assert remedy("unfreeze", {**config, "finetune": "frozen"})["flags"] == "--finetune top:2"


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory) -> tuple[Path, str]:
    from conftest import make_tiny_dataset

    from dnactx.train.run import train_run

    root = tmp_path_factory.mktemp("lora")
    data = make_tiny_dataset(root / "data", n=240)
    result = train_run(TrainConfig(data=str(data), model="dnabert6-tiny", finetune="lora:4", size=20, epochs=1,
                                   bootstrap=0), root / "runs", quiet=True)
    assert result["status"] == "completed"
    return root / "runs", result["run_id"]


@pytest.mark.slow
def test_a_lora_run_keeps_only_the_head_and_trained_adapters(lora_run) -> None:
    from safetensors.torch import load_file

    home, run_id = lora_run
    folder = home / run_id
    assert not (folder / "model.safetensors").exists()
    adapters = load_file(str(folder / "adapter_model.safetensors"))
    assert adapters and all("lora_A" in k or "lora_B" in k for k in adapters)
    assert any(v.abs().max() > 0 for k, v in adapters.items() if "lora_B" in k)  # B starts at zero: it trained
    base = home / ".models" / "dnabert6-tiny" / "model.safetensors"
    assert (folder / "adapter_model.safetensors").stat().st_size < base.stat().st_size / 5
    adapter_config = json.loads((folder / "adapter_config.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    assert adapter_config["r"] == 4 and adapter_config["base_model_name_or_path"] == config["checkpoint_path"]
    assert sorted(adapter_config["target_modules"]) == config["lora_targets"] == ["key", "query", "value"]
    kinds = {a["path"]: a["kind"] for a in json.loads((folder / "artifacts.json").read_text())}
    assert kinds["head.safetensors"] == "weights" and kinds["adapter_model.safetensors"] == "adapters"


@pytest.mark.slow
def test_peft_itself_reads_a_lora_run_folder(lora_run) -> None:
    from peft import PeftModel
    from transformers import AutoModel

    home, run_id = lora_run
    config = json.loads((home / run_id / "config.json").read_text())
    model = PeftModel.from_pretrained(AutoModel.from_pretrained(config["checkpoint_path"]), str(home / run_id))
    assert any("lora_A" in name for name, _ in model.named_parameters())


@pytest.mark.slow
def test_changed_adapters_are_refused_before_scoring(lora_run, tmp_path: Path) -> None:
    import shutil

    from dnactx.inference import load_scorer

    home, run_id = lora_run
    copy = tmp_path / run_id
    shutil.copytree(home / run_id, copy)
    data = bytearray((copy / "adapter_model.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "adapter_model.safetensors").write_bytes(bytes(data))
    with pytest.raises(DnactxError, match="adapter_model.safetensors"):
        load_scorer(copy, home, device="cpu")
