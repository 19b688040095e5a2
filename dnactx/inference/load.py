"""Load a Scorer from a run (id, unique prefix or folder) or from a folder written by ``dnactx export``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..choices import PRECISIONS
from ..errors import DnactxError
from ..runs import RunFolder, default_home, iter_run_folders, run_kind
from .manifest import is_export, read_manifest, verify_manifest_files
from .recipe import Recipe, tokenizer_kind
from .run_model import recipe_of_run, run_weights, verify_run_weights
from .scorer import LrScorer, Scorer, TorchScorer

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from: ``kind`` "run" (``path`` is the run folder) or "export" (the exported folder);
    ``run_id`` is the run (for an export, the run it was exported from, when its manifest says)."""

    kind: str
    path: Path
    run_id: str | None


def locate_model(source: str | Path, home: str | Path | None = None) -> ModelRef:
    """A run id or unique prefix (through the registry under ``home``, or its run folders when it has no
    registry), a run folder, or an exported folder → ModelRef; anything else is a one-line DnactxError."""
    path = Path(source).expanduser()
    if path.is_dir():
        if is_export(path):
            return ModelRef("export", path, read_manifest(path)[1].get("run_id"))
        if (path / "status.json").is_file():
            return _methylation_model(ModelRef("run", path, path.name))
        raise DnactxError(f"{path} is neither a run folder (status.json) nor an exported model (dnactx_model.json); "
                          "give a run id, a run folder or a folder written by `dnactx export`")
    if any(sep in str(source) for sep in ("/", "\\")) or str(source).startswith("."):
        raise DnactxError(f"model {source}: no such folder; give a folder written by `dnactx export`, a run folder "
                          "or a run id")
    home = Path(home) if home is not None else default_home()
    run_id = resolve_run_id(str(source), home)
    return _methylation_model(ModelRef("run", home / run_id, run_id))


def _methylation_model(ref: ModelRef) -> ModelRef:
    """``ref``, unless its run is a pretrain (a masked language model, which scores no cytosine): one line saying
    how to make a methylation model of it."""
    config = RunFolder(ref.path).config
    if run_kind(config) == "pretrain":
        raise DnactxError(f"run {ref.run_id} is a pretrain (a masked DNA language model), not a methylation model; "
                          f"fine-tune it first: `dnactx train --model {config.get('pretrain_out') or 'ITS_FOLDER'} "
                          "--finetune lora:8` (or frozen, top:N, full), then use that run")
    return ref


def resolve_run_id(prefix: str, home: Path) -> str:
    """The full id of the one run under ``home`` whose id starts with ``prefix``."""
    from ..registry.store import registry_path

    if registry_path(home).is_file():
        from ..registry import Registry

        return Registry.open(home, create=False).resolve(prefix)
    prefix = prefix.strip().lower()
    matches = sorted(f.id for f in iter_run_folders(home) if prefix and f.id.startswith(prefix))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise DnactxError(f"{prefix} matches {len(matches)} runs under {home.resolve()}: {', '.join(matches[:5])}; "
                          "give more characters of the run id")
    raise DnactxError(f"model {prefix!r} is not a folder and no run under {home.resolve()} has that id: give a run "
                      "id (see `dnactx runs ls`, and check --home), a run folder or an exported model folder")


def load_scorer(source: str | Path | ModelRef, home: str | Path | None = None, *,
                device: str | torch.device | None = None, precision: str = "no", batch_size: int | None = None,
                trust_remote_code: bool = False, compile: bool = False) -> Scorer:
    """The model of a run or an exported folder as a :class:`Scorer`.

    Parameters
    ----------
    source : run id or unique prefix, run folder, exported folder, or a ModelRef from :func:`locate_model`
    home : the registry home for run ids and for rebuilding dnabert6-tiny (default: the folder a run folder sits
        in, else ``$DNACTX_HOME`` or ./runs)
    device : torch device for cnn/transformers (default: cuda when available, else cpu); lr runs on numpy
    precision : no | bf16 | fp16 (autocast; ``no`` reproduces training's float32 predictions)
    batch_size : rows per forward pass (default by family: lr 512, cnn 1024 (256 on a CPU), transformer 128)
    trust_remote_code : allow the checkpoint's own Python code (a run's or an export's): only this argument opts in,
        never the run's stored config, and then only code whose sha256 matches what training (or the export)
        recorded
    compile : torch.compile the cnn/transformer (minutes to compile, then faster; for genome-wide scoring)

    Every file an export's manifest lists, and a run's weights, are checked against their recorded sha256 first
    (one read each); a changed file is a one-line DnactxError naming it.
    """
    if precision not in PRECISIONS:
        raise DnactxError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    ref = source if isinstance(source, ModelRef) else locate_model(source, home)
    if home is None:  # a run folder's home is the folder it sits in (dnabert6-tiny is rebuilt there)
        home = ref.path.parent if ref.kind == "run" else default_home()
    home = Path(home)
    if ref.kind == "export":
        recipe, _ = read_manifest(ref.path)
        recorded = verify_manifest_files(ref.path)  # weights, encoder, tokenizer and code, before any is read
        weights = ref.path / {"lr": "lr.safetensors", "cnn": "model.safetensors"}.get(recipe.family, "head.safetensors")
        digest, when = recorded.get(weights.name), "it was exported"
        adapters = None  # an export holds the encoder with its LoRA adapters already merged
    else:
        folder = RunFolder(ref.path)
        weights = run_weights(folder)
        digest = verify_run_weights(folder, weights)  # before recipe_of_run reads the file's header
        recipe = recipe_of_run(folder.path)
        recorded, when = folder.config.get("checkpoint_code") or {}, "this run was trained"
        adapters = run_adapters(folder, recipe)
    kw = dict(batch_size=batch_size, device=device, precision=precision, compile=compile)
    if recipe.family == "lr":
        scorer = _lr(recipe, weights, batch_size)
    elif recipe.family == "cnn":
        scorer = _cnn(recipe, weights, kw)
    else:
        checkpoint = ref.path if ref.kind == "export" else _run_checkpoint(RunFolder(ref.path), recipe, home)
        scorer = _transformer(recipe, checkpoint, weights, _Trust(trust_remote_code, recorded, when), kw, adapters)
    scorer.origin = ref
    scorer.weights_sha256 = digest
    return scorer


@dataclass(frozen=True)
class _Trust:
    """This command line's opt-in to a checkpoint's code, and the code hashes recorded ``when`` it was trusted."""

    allowed: bool
    recorded: dict[str, str]
    when: str


def _lr(recipe: Recipe, weights: Path, batch_size: int | None) -> LrScorer:
    from safetensors.numpy import load_file

    tensors = load_file(str(weights))
    if not {"coef", "intercept"} <= set(tensors):
        raise DnactxError(f"{weights} holds no lr coef/intercept; train or export the model again")
    return LrScorer(recipe, tensors["coef"], tensors["intercept"], batch_size=batch_size)


def _cnn(recipe: Recipe, weights: Path, kw: dict) -> TorchScorer:
    from ..models.cnn import CNN

    channels, channels2 = recipe.cnn_channels
    model = CNN(center=recipe.center, site_context=recipe.site_context, channels=channels, channels2=channels2)
    _load_state(model, weights)
    return TorchScorer(recipe, model, forward=model.fused(), **kw)


def _run_checkpoint(folder: RunFolder, recipe: Recipe, home: Path) -> Path:
    """The checkpoint a transformer run started from: config.json's checkpoint_path while it is there, else
    ``recipe.model`` resolved again (dnabert6-tiny is rebuilt, deterministically, under ``home``)."""
    from ..models.checkpoint import resolve_checkpoint

    recorded = folder.config.get("checkpoint_path")
    if recorded and (Path(recorded) / "config.json").is_file():
        return Path(recorded)
    return resolve_checkpoint(recipe.model, home)


def run_adapters(folder: RunFolder, recipe: Recipe) -> Path | None:
    """The folder holding a LoRA run's adapters (the run folder), their files checked against the sha256 that
    artifacts.json records; None for any other run."""
    from ..models.lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS

    if not (recipe.finetune or "").startswith("lora:"):
        return None
    for name in (ADAPTER_WEIGHTS, ADAPTER_CONFIG):
        if not (folder.path / name).is_file():
            raise DnactxError(f"run {folder.id} was trained with --finetune {recipe.finetune} but {name} is missing "
                              f"in {folder.path}; train the run again")
        verify_run_weights(folder, folder.path / name)
    return folder.path


def _transformer(recipe: Recipe, checkpoint: Path, weights: Path, trust: _Trust, kw: dict,
                 adapters: Path | None = None) -> TorchScorer:
    """Encoder and tokenizer from ``checkpoint``; ``weights`` either the whole EncoderClassifier (top:N/full runs)
    or its head alone (frozen runs: ``head.`` keys; a LoRA run's or an export's head.safetensors: the Head's own
    keys). A LoRA run's ``adapters`` (its folder) are merged into the encoder's weights. Code the checkpoint ships
    runs only with ``trust.allowed`` and only unchanged since ``trust.when``."""
    from safetensors.torch import load_file

    from ..models.checkpoint import load_encoder, load_tokenizer, max_positions, trusted_code
    from ..models.encoder import EncoderClassifier

    allowed = bool(trusted_code(checkpoint, recipe.model, trust.allowed, trust.recorded, trust.when))
    tokenizer = load_tokenizer(checkpoint, allowed)
    encoder = load_encoder(checkpoint, allowed)
    if adapters is not None:
        from ..models.lora import merge_adapters

        encoder = merge_adapters(encoder, adapters)
    model = EncoderClassifier(encoder, recipe.site_context)
    state = load_file(str(weights))
    if all(k.startswith("head.") for k in state):
        _load_state(model.head, weights, {k[len("head."):]: v for k, v in state.items()})
    elif weights.name == "head.safetensors":
        _load_state(model.head, weights, state)
    else:
        _load_state(model, weights, state)
    kind = tokenizer_kind(type(tokenizer).__name__)
    if kind != recipe.tokenizer:
        raise DnactxError(f"{checkpoint} now gives a {kind} tokenizer but the model was trained with a "
                          f"{recipe.tokenizer} one; point the run at its original checkpoint")
    recipe = recipe.replace(max_tokens=recipe.max_tokens or max_positions(model.encoder),
                            tokenizer_k=getattr(tokenizer, "k", None))
    scorer = TorchScorer(recipe, model, tokenizer=tokenizer, **kw)
    scorer.checkpoint = Path(checkpoint)
    return scorer


def _load_state(module, weights: Path, state: dict | None = None) -> None:
    """Load ``state`` (default: the file) strictly; a mismatch says which file does not fit which model."""
    from safetensors.torch import load_file

    state = load_file(str(weights)) if state is None else state
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise DnactxError(f"{weights} does not fit the {type(module).__name__} its recipe builds ({detail}); "
                          "train or export the model again") from None

