"""Hugging Face checkpoints: resolve one offline, build dnabert6-tiny, check shipped code, load tokenizer, encoder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from ..distributed import is_main, rank
from ..errors import DnactxError
from ..provenance import sha256_file
from ..tokenize import HFTokenizer, KmerTokenizer, dnabert_vocab, kmer_size, read_vocab

TINY = "dnabert6-tiny"
_TINY_CONFIG = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
                    max_position_embeddings=512, type_vocab_size=1)
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def build_tiny(dest: Path, seed: int = 0) -> Path:
    """A random-init 2-layer BERT with the real DNABERT-6 vocab, saved as a normal local checkpoint.

    Several processes (DDP ranks, matrix cells) may build it at once: each writes a private folder and renames
    it into place; a rename onto an existing folder fails, and that builder keeps the winner's copy.
    """
    from transformers import BertConfig, BertForMaskedLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    vocab = dnabert_vocab(6)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        torch.manual_seed(seed)
        model = BertForMaskedLM(BertConfig(vocab_size=len(vocab), pad_token_id=0, **_TINY_CONFIG))
        model.save_pretrained(tmp)
        (tmp / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        missing = [f for f in ("config.json", "model.safetensors") if not (tmp / f).is_file()]
        if missing:
            raise DnactxError(f"building {TINY} in {dest.parent} wrote no {', '.join(missing)}")
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def tiny_dir(home: Path, wait_s: float = 600.0) -> Path:
    """The built-in model's folder under ``home``, built on first use.

    Under torchrun/accelerate launch only rank 0 builds it: transformers' ``save_pretrained`` writes nothing on
    the other ranks, which would otherwise rename an empty folder into place. They wait for rank 0's.
    """
    dest = Path(home) / ".models" / TINY
    if (dest / "config.json").is_file():
        return dest
    if is_main():
        return build_tiny(dest)
    deadline = time.monotonic() + wait_s
    while not (dest / "config.json").is_file():
        if time.monotonic() > deadline:
            raise DnactxError(f"rank {rank()} waited {wait_s:.0f} s for rank 0 to build {dest}")
        time.sleep(0.2)
    return dest


def resolve_checkpoint(model: str, home: Path) -> Path:
    """A local folder for ``model``: dnabert6-tiny (built on first use), a local directory, or a cached hub id."""
    if model == TINY:
        return tiny_dir(home)
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise DnactxError(f"{local} has no config.json; pass a Hugging Face checkpoint folder "
                              "(config.json + weights + tokenizer files)")
        return local
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.txt", "*.safetensors", "*.bin", "*.model", "*.py"]
    try:
        return Path(snapshot_download(model, local_files_only=True, allow_patterns=patterns))
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("1", "true", "True"):
        try:
            return Path(snapshot_download(model, allow_patterns=patterns))
        except Exception:
            pass
    raise DnactxError(
        f"cannot load model {model!r}: it is not a local folder and not in the Hugging Face cache, and it could not "
        f"be downloaded; on a machine with internet run `huggingface-cli download {model}` (with HF_HOME set to "
        "a shared folder, then export the same HF_HOME here), or pass --model /path/to/checkpoint_dir")


def remote_code_files(path: Path) -> list[str]:
    """The Python files a checkpoint asks transformers to import (``auto_map`` in its config or tokenizer config)."""
    modules = set()
    for name in ("config.json", "tokenizer_config.json"):
        try:
            auto_map = json.loads((path / name).read_text(encoding="utf-8")).get("auto_map") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for ref in auto_map.values():
            for item in ref if isinstance(ref, list) else [ref]:
                if isinstance(item, str) and "." in item:
                    # "module.Class", or "repo--module.Class" when the code lives in another repository
                    modules.add(item.split("--")[-1].rsplit(".", 1)[0] + ".py")
    return sorted(modules)


def check_remote_code(path: Path, model: str, trust: bool) -> list[str]:
    """The checkpoint's own code files; an error naming them when it has some and the user has not opted in."""
    files = remote_code_files(path)
    if files and not trust:
        raise DnactxError(f"model {model!r} runs its own Python code ({', '.join(files)} in {path}); read it, then "
                          "pass --trust-remote-code to allow it")
    return files


def code_files(path: Path) -> list[str]:
    """Every Python file transformers could import from the checkpoint: the ``auto_map`` modules and any other
    ``.py`` beside them (the modules they import relatively)."""
    return sorted(set(remote_code_files(path)) | {p.name for p in Path(path).glob("*.py") if p.is_file()})


def trusted_code(path: Path, model: str, trust: bool, recorded: dict[str, str] | None, when: str) -> dict[str, str]:
    """The checkpoint's code files with their sha256, after two checks: this command line opted in (``trust``,
    see :func:`check_remote_code`), and, when ``recorded`` is given (the hashes of the code trusted when ``when``:
    "this run was trained", "it was exported"), every file is unchanged and was there then. A mismatch is one
    line naming the file."""
    if not check_remote_code(path, model, trust):
        return {}
    hashes = {name: sha256_file(path / name) for name in code_files(path)}
    for name, digest in hashes.items() if recorded is not None else ():
        if name not in recorded:
            raise DnactxError(f"{path / name} was not there when {when} (no sha256 recorded for it): refusing to run "
                              "code nobody trusted; remove it, or train/export the model again from this checkpoint")
        if recorded[name] != digest:
            raise DnactxError(f"{path / name} has changed since {when} (sha256 {digest[:12]}, recorded "
                              f"{str(recorded[name])[:12]}): refusing to run code that differs from the code trusted "
                              "then; restore the file, or train/export the model again")
    return hashes


def model_identity(path: Path, name: str) -> str:
    """A stable identity for a checkpoint: its name plus hashes of config, vocab, weights and any shipped code
    (for cache keys)."""
    h = hashlib.sha256(name.encode())
    for fname in ("config.json", "vocab.txt", *_WEIGHT_FILES, *remote_code_files(path)):
        if (path / fname).is_file():
            h.update(fname.encode() + sha256_file(path / fname).encode())
    return h.hexdigest()


def load_tokenizer(path: Path, trust_remote_code: bool = False) -> KmerTokenizer | HFTokenizer:
    """A k-mer tokenizer from vocab.txt when the checkpoint is a k-mer BERT, else its own AutoTokenizer."""
    vocab_file = path / "vocab.txt"
    if vocab_file.is_file() and kmer_size(read_vocab(vocab_file)) is not None:
        return KmerTokenizer.from_dir(path)
    from transformers import AutoTokenizer

    try:
        return HFTokenizer(AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code))
    except Exception as exc:
        raise DnactxError(f"cannot load a tokenizer from {path} ({type(exc).__name__}: {_first_line(exc)})") from None


def load_encoder(path: Path, trust_remote_code: bool = False) -> nn.Module:
    """AutoModel from a local folder; safetensors preferred, .bin only through torch's weights_only loader."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialised pooler" noise for MLM checkpoints
    hf_logging.disable_progress_bar()
    try:
        return AutoModel.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)
    except Exception as exc:
        hint = ("; the checkpoint's own code needs the packages it names (pip install them into this environment)"
                if isinstance(exc, ImportError) else "; check the folder holds config.json and model.safetensors")
        raise DnactxError(f"cannot load the model in {path} ({type(exc).__name__}: {_first_line(exc)}){hint}") \
            from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def max_positions(encoder: nn.Module) -> int:
    """Tokens the encoder accepts: BERT-style position embeddings, or a long-range model's sequence length."""
    for attr in ("max_position_embeddings", "max_seq_len", "n_positions", "max_sequence_length"):
        n = getattr(encoder.config, attr, None)
        if isinstance(n, int) and n > 0:
            return n
    return 512
