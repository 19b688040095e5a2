"""The model card's "load it without dnactx" code: a short script per family that reproduces the Scorer's logits
with torch, transformers, safetensors and numpy only (tests execute each one against the Scorer)."""

from __future__ import annotations

from ..tokenize import kmer_span
from .recipe import Recipe

_LR = '''\
import numpy as np
from safetensors.numpy import load_file

DIR = "."  # this folder
w = load_file(f"{{DIR}}/lr.safetensors")
coef, intercept = w["coef"].ravel().astype(np.float64), float(w["intercept"].ravel()[0])

def logits(seqs, context_ids):  # seqs: {length}-bp strings, the C at index {center}; context_ids: 0 CG, 1 CHG, 2 CHH
    out = []
    for seq, context_id in zip(seqs, context_ids):
        x = []
        for k in range(1, {kmax} + 1):  # k-mer counts, k-mers holding an N skipped
            counts = np.zeros(4 ** k)
            for i in range(len(seq) - k + 1):
                if set(seq[i:i + k]) <= set("ACGT"):
                    counts[int(seq[i:i + k].translate(str.maketrans("ACGT", "0123")), 4)] += 1
            x.append({per_k})
        x = np.concatenate(x){norm}{context}
        out.append(x @ coef + intercept)
    return np.array(out)
'''
_PER_K = {"frequency": "counts / max(len(seq) - k + 1, 1)", "l2": "counts"}  # frequencies per k, or counts
_NORM = {"frequency": "", "l2": "\n        x = x / (np.linalg.norm(x) or 1.0)  # all k-mer counts to unit L2 norm"}

_CNN = '''\
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

DIR = "."  # this folder
w = load_file(f"{{DIR}}/model.safetensors")

def bn(h, p):  # batch norm with the stored running statistics
    return F.batch_norm(h, w[p + ".running_mean"], w[p + ".running_var"], w[p + ".weight"], w[p + ".bias"])

def logits(seqs, context_ids):  # seqs: {length}-bp strings, the C at index {center}; context_ids: 0 CG, 1 CHG, 2 CHH
    codes = torch.tensor([[{{"A": 0, "C": 1, "G": 2, "T": 3}}.get(b, 4) for b in s] for s in seqs])
    x = torch.eye(5)[:, :4][codes].transpose(1, 2)  # one-hot, N = all zeros
    h1 = F.relu(bn(F.conv1d(x, w["conv1.0.weight"], w["conv1.0.bias"], padding=4), "conv1.1"))
    h2 = F.max_pool1d(h1, 4, ceil_mode=True)
    h2 = F.relu(bn(F.conv1d(h2, w["conv2.1.weight"], w["conv2.1.bias"], padding=3), "conv2.2"))
    f = torch.cat([h1[:, :, {center}], h2.amax(-1), h2.mean(-1)], -1){context}
    h = F.gelu(F.linear(f, w["head.net.1.weight"], w["head.net.1.bias"]))
    return F.linear(h, w["head.net.3.weight"], w["head.net.3.bias"]).squeeze(-1)
'''

_TRANSFORMER = '''\
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import {imports}

DIR = "."  # this folder
encoder = AutoModel.from_pretrained(DIR{trust}).eval()  # a note on newly initialised pooler weights is expected:
# the pooler is not used
w = load_file(f"{{DIR}}/head.safetensors")
{tokenizer}
def logits(seqs, context_ids):  # seqs: {length}-bp strings, the C at index {center}; context_ids: 0 CG, 1 CHG, 2 CHH
{encode}
    with torch.no_grad():
        h = encoder(**inputs)[0]
{pool}{context}
    h = F.gelu(F.linear(f, w["net.1.weight"], w["net.1.bias"]))
    return F.linear(h, w["net.3.weight"], w["net.3.bias"]).squeeze(-1)
'''
_KMER_TOKENS = '''vocab = {{t: i for i, t in enumerate(open(f"{{DIR}}/vocab.txt").read().splitlines())}}
'''
_KMER_ENCODE = '''\
    cls, sep, unk = vocab["[CLS]"], vocab["[SEP]"], vocab["[UNK]"]
    ids = [[cls] + [vocab.get(s[i:i + {k}], unk) for i in range({start}, {stop})] + [sep]
           for s in seqs]  # overlapping {k}-mers{kept}
    inputs = {{"input_ids": torch.tensor(ids)}}'''
_AUTO_TOKENS = '''tokenizer = AutoTokenizer.from_pretrained(DIR{trust})
'''
_AUTO_ENCODE = '''\
    # inputs longer than {max_tokens} tokens: dnactx keeps the {max_tokens} tokens centred on the one holding the C
    t = tokenizer(seqs, padding=True, return_tensors="pt")
    mask = t.get("attention_mask", torch.ones_like(t["input_ids"]))
    inputs = {{"input_ids": t["input_ids"]}} | ({{}} if bool(mask.all()) else {{"attention_mask": mask}})'''
_MEAN = "        f = h.mean(1)"
_MASKED_MEAN = ("        m = mask.unsqueeze(-1).float()\n"
                "        f = (h * m).sum(1) / m.sum(1)  # mean over real tokens")


def snippet(recipe: Recipe) -> str:
    """Python source defining ``logits(seqs, context_ids)`` for this recipe's exported folder."""
    r = recipe
    common = dict(length=r.length, center=r.center)
    if r.family == "lr":
        context = "\n        x = np.concatenate([x, np.eye(3)[context_id]])" if r.site_context else ""
        return _LR.format(kmax=r.kmax, per_k=_PER_K[r.lr_scaling], norm=_NORM[r.lr_scaling], context=context,
                          **common)
    if r.family == "cnn":
        context = ('\n    f = torch.cat([f, w["head.context.weight"][torch.tensor(context_ids)]], -1)'
                   if r.site_context else "")
        return _CNN.format(context=context, **common)
    return _transformer(r, common)


def _transformer(r: Recipe, common: dict) -> str:
    trust = ", trust_remote_code=True" if r.trust_remote_code else ""
    context = '\n        f = torch.cat([f, w["context.weight"][torch.tensor(context_ids)]], -1)' if r.site_context \
        else ""
    if r.tokenizer == "kmer":
        start, stop = kmer_span(r.length, r.center, r.tokenizer_k, r.max_tokens)
        n_kmers = r.length - r.tokenizer_k + 1
        kept = "" if stop - start == n_kmers else (f"; the {stop - start} of {n_kmers} centred on the C "
                                                   f"({r.max_tokens} tokens at most)")
        encode = _KMER_ENCODE.format(k=r.tokenizer_k, start=start, stop=stop, kept=kept)
        return _TRANSFORMER.format(imports="AutoModel", trust=trust, tokenizer=_KMER_TOKENS.format(), encode=encode,
                                   pool=_MEAN, context=context, **common)
    return _TRANSFORMER.format(imports="AutoModel, AutoTokenizer", trust=trust, tokenizer=_AUTO_TOKENS.format(
        trust=trust), encode=_AUTO_ENCODE.format(max_tokens=r.max_tokens), pool=_MASKED_MEAN, context=context, **common)
