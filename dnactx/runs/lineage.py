"""Lineage: a train run whose ``--model`` is a ``dnactx pretrain`` folder records which pretrain it fine-tunes
(``pretrain_run`` and a summary in config.json), so ``runs show`` and ``report`` can say which corpus and how many
steps made its encoder. Standard library only, like the rest of :mod:`dnactx.runs`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PRETRAIN_RECORD = "pretrain.json"  # written by dnactx.pretrain into its model folder


def pretrain_lineage(model: str | Path) -> dict[str, Any] | None:
    """What config.json records of the pretrain a ``--model`` folder came from; None for any other model (an id
    on the Hub, a folder without a finished pretrain.json)."""
    path = Path(model) / PRETRAIN_RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind") != "pretrain":
        return None
    training, evaluation = record.get("training") or {}, record.get("evaluation") or {}
    genomes = [Path(str(g.get("path", ""))).name for g in (record.get("corpus") or {}).get("genomes") or []
               if isinstance(g, dict)]
    return {"run": record.get("run_id"), "name": record.get("name"), "out": str(Path(model).resolve()),
            "genomes": genomes, "steps": training.get("steps"), "tokens": training.get("tokens"),
            "masked_accuracy": evaluation.get("heldout_accuracy")}


def lineage_line(config: Mapping[str, Any]) -> str | None:
    """``fine-tuned from pretrain 01j… (name: genome.fa, 1,000 steps, 2,048,000 tokens, masked accuracy 41.2%)``
    for a train run whose config.json records a pretrain; None otherwise."""
    lineage = config.get("pretrain")
    if not isinstance(lineage, dict):
        return None
    steps, tokens, acc = lineage.get("steps"), lineage.get("tokens"), lineage.get("masked_accuracy")
    parts = [", ".join(lineage.get("genomes") or []) or "corpus unknown"]
    if isinstance(steps, int):
        parts.append(f"{steps:,} steps")
    if isinstance(tokens, int):
        parts.append(f"{tokens:,} tokens")
    if isinstance(acc, (int, float)):
        parts.append(f"masked accuracy {100 * acc:.1f}%")
    run = lineage.get("run") or config.get("pretrain_run") or "(not registered)"
    return f"fine-tuned from pretrain {run} ({lineage.get('name') or lineage.get('out')}: {', '.join(parts)})"
