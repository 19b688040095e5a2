"""Frozen mode: pooled encoder outputs computed once, cached on disk under a key of everything that determines them,
and the head trained on them alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from ..choices import SPLITS
from ..data.dataset import Dataset
from ..distributed import is_main
from ..progress import Progress


def cache_key(**parts: object) -> str:
    """sha256 over the sorted parts (dataset fingerprint, model identity, size, mode, truncation, rows)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def rows_digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    return h.hexdigest()


def frozen_key(ds: Dataset, model_identity: str, size: int, mode: str, max_tokens: int) -> str:
    """The cache key of one dataset's pooled features under one checkpoint, window and truncation."""
    return cache_key(fingerprint=ds.fingerprint, model=model_identity, size=size, mode=mode, max_tokens=max_tokens,
                     pooling="mean", rows=rows_digest(*(ds.splits[s].index for s in SPLITS)))


def cache_path(home: Path, key: str) -> Path:
    return Path(home) / ".cache" / "embeddings" / f"{key}.safetensors"


def load_features(path: Path) -> dict[str, np.ndarray] | None:
    """The cached feature matrices, or None when absent or unreadable (then they are recomputed)."""
    if not path.is_file():
        return None
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception:
        return None


def save_features(path: Path, features: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    with atomic_path(path) as tmp:
        save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in features.items()}, str(tmp))


@torch.no_grad()
def encode_pooled(accelerator, model, columns: dict[str, torch.Tensor], batch_size: int,
                  progress: Progress | None = None) -> np.ndarray:
    """Pooled encoder outputs for every row (``model.pool(input_ids, attention_mask)``), float32 on CPU.

    Outputs come back to the host 32 batches at a time: the host does not wait for each batch before queuing the
    next, and device memory holds at most 32 batches of features. Each such chunk is one ``progress`` chunk.
    """
    progress = progress or Progress("encoding", enabled=False)
    model.eval()
    model.to(accelerator.device)
    ids, mask = columns["input_ids"], columns.get("attention_mask")
    out, pending = [], []
    for i in range(0, len(ids), batch_size):
        with accelerator.autocast():
            pooled = model.pool(ids[i:i + batch_size].to(accelerator.device),
                                None if mask is None else mask[i:i + batch_size].to(accelerator.device))
        pending.append(pooled.float())
        progress.advance(len(pooled))
        if len(pending) == 32:
            out.append(torch.cat(pending).cpu())
            pending.clear()
            progress.chunk()
    if pending:
        out.append(torch.cat(pending).cpu())
        progress.chunk()
    return torch.cat(out).numpy() if out else np.zeros((0, 0), dtype=np.float32)


def frozen_inputs(model, tokens: dict[str, dict[str, torch.Tensor]], path: Path, accelerator, batch_size: int,
                  log: Callable[[str], None], *, show_progress: bool = True,
                  ) -> tuple[torch.nn.Module, dict[str, dict[str, np.ndarray]], bool]:
    """Frozen mode's model and inputs: the classifier's head alone, and each split's pooled encoder outputs.

    The encoder never changes, so its outputs are read from ``path`` when cached there, else computed once (and
    written by the main process). Returns the head, ``{split: {"features": array}}`` and whether the cache hit.
    """
    from ..models.heads import HeadOnly

    features = load_features(path)
    hit = features is not None
    if hit:
        log(f"frozen cache hit: {path}")
    else:
        log(f"frozen cache miss: encoding {sum(len(t['input_ids']) for t in tokens.values())} windows once")
        features = {}
        for split in tokens:
            with Progress(f"encoding {split}", len(tokens[split]["input_ids"]), "windows",
                          enabled=show_progress and is_main()) as progress:
                features[split] = encode_pooled(accelerator, model, tokens[split], batch_size, progress)
        if is_main():
            save_features(path, features)
    return HeadOnly(model.head), {s: {"features": features[s]} for s in tokens}, hit
