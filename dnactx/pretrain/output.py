"""A finished pretrain as a plain Hugging Face folder: config.json, model.safetensors, the tokenizer's files,
pretrain.json (options, corpus, exclusions, figures, hardware, time), pretrain_log.jsonl, excluded.bed and a
README.md model card. Written whole (:func:`~dnactx.atomic.atomic_dir`): the folder holds either the unfinished
run (its checkpoint) or the complete model."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from .. import __version__
from ..atomic import atomic_dir, json_safe, write_json
from ..provenance import host_info, library_versions, utcnow
from .trainer import LOG
from .vocab import Vocab

RECORD = "pretrain.json"


def hardware() -> dict:
    info = {**host_info(), "cpu_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info.update(device=torch.cuda.get_device_name(0), devices=torch.cuda.device_count())
    else:
        info["device"] = "cpu"
    return info


def write_model(out: Path, lm: nn.Module, vocab: Vocab, record: dict, excluded_bed: list[str]) -> None:
    """Replace the run folder ``out`` (its checkpoint) with the finished model folder."""
    from transformers.utils import logging as hf_logging

    out = Path(out)
    hf_logging.disable_progress_bar()
    with atomic_dir(out) as tmp:
        lm.save_pretrained(tmp)
        vocab.save(tmp, record["max_tokens"])
        if (out / LOG).is_file():
            shutil.copy2(out / LOG, tmp / LOG)
        (tmp / "excluded.bed").write_text("".join(line + "\n" for line in excluded_bed), encoding="utf-8")
        write_json(tmp / RECORD, json_safe(record))
        (tmp / "README.md").write_text(model_card(record), encoding="utf-8")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def model_card(r: dict) -> str:
    """The README.md model card: what it is, what it was trained on and without, how well, how to load it."""
    c, o, ev, t = r["corpus"], r["options"], r.get("evaluation") or {}, r["training"]
    genomes = "\n".join(f"- `{Path(g['path']).name}` ({g['bases']:,} bp, {g['chromosomes']} sequences, sha256 "
                        f"`{g['sha256'][:16]}…`)" for g in c["genomes"])
    excl = r["exclusions"]
    sources = "\n".join(f"- {s}" for s in excl["sources"]) or "- none"
    return f"""---
library_name: transformers
tags: [dna, genomics, plants, masked-language-model, dnactx]
---

# {r['name']}

A {o['arch']} masked DNA language model ({o['layers']} layers, hidden {o['hidden']}, {o['heads']} heads,
{r['parameters']:,} parameters; tokenizer `{o['tokenizer']}`) pretrained with `dnactx pretrain` (dnactx
{__version__}) on the genome(s) below.

**Intended use**: an encoder to fine-tune for sequence-to-function tasks on these (or closely related) plant
genomes, such as cytosine methylation with `dnactx train --model THIS_FOLDER`. It is a research model trained on
{t['tokens']:,} tokens; it is not a clinical or production tool, and whether it beats simpler models is what
dnactx's comparisons measure.

## Corpus

{genomes}

Windows of {c['length']} bp from both strands: {c['train_bases']:,} training bases ({c['train_windows']:,}
windows × 2 strands), {c['heldout_bases']:,} held-out bases ({_pct(c['heldout_share_of_blocks'])} of
{c['block_size']:,}-bp blocks) for evaluation. Windows with an N skipped: {c['windows_with_n_skipped']:,};
soft-masked (repeat) bases kept: {_pct(c['soft_masked_fraction'])} of training bases.

**Excluded** (never in the corpus): {excl['intervals']:,} intervals, {excl['bases']:,} bp (`excluded.bed`):

{sources}

## Training

{t['steps']:,} steps of {o['batch_size']} × {o['grad_accum']} windows, {t['tokens']:,} tokens, mask rate
{o['mask_rate']} ({'spans of ' + str(r['mask_span']) + ' k-mers around each hidden base' if r['mask_span'] > 1
else '80/10/10 token masking'}), AdamW lr {o['lr']} with warm-up and cosine decay, precision {o['precision']},
seed {o['seed']}. Time {t['seconds']:.0f} s at {t['tokens_per_s']:,.0f} tokens/s on {r['hardware'].get('device')}
({r['hardware'].get('host')}), finished {r['finished']}.

## Held-out masked-token figures

| loss | perplexity | accuracy | C/G | A/T | repeats (soft-masked) | non-repeats |
|---|---|---|---|---|---|---|
| {ev.get('heldout_loss', float('nan')):.4f} | {ev.get('heldout_perplexity', float('nan')):.3f} | \
{_pct(ev.get('heldout_accuracy'))} | {_pct(ev.get('heldout_accuracy_gc'))} | {_pct(ev.get('heldout_accuracy_at'))} | \
{_pct(ev.get('heldout_accuracy_repeat'))} | {_pct(ev.get('heldout_accuracy_unique'))} |

Accuracy is over masked tokens, by the masked token's middle base; chance for a k-mer vocab is 1/4^k.

## Load it

```python
from transformers import AutoModelForMaskedLM, AutoTokenizer
model = AutoModelForMaskedLM.from_pretrained("THIS_FOLDER")
tokenizer = AutoTokenizer.from_pretrained("THIS_FOLDER")
```
{'With kmer tokenizers, give the tokenizer space-separated overlapping k-mers (as DNABERT).' if r['mask_span'] > 1
else ''}
"""


def versions() -> dict:
    return {"dnactx": __version__, **library_versions(), "time": utcnow()}
