"""dnactx pretrain: the corpus (strands, N, held-out blocks, exclusions), tokenizers AutoTokenizer loads, masking
that does not leak, masked-only scoring, resume after SIGTERM, and a folder transformers loads without dnactx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO, run_cli

from dnactx.errors import DnactxError
from dnactx.pretrain.corpus import Exclusions, build_corpus, examples, read_bed, read_dataset_holdout
from dnactx.pretrain.masking import span_mask
from dnactx.pretrain.model import build_model, masked_logits
from dnactx.pretrain.options import PretrainOptions
from dnactx.pretrain.run import run_pretrain
from dnactx.pretrain.vocab import make_vocab
from dnactx.sequence import CANON, COMPLEMENT

TINY = dict(layers=1, hidden=32, heads=2, length=48, batch_size=8, quiet=True)


def write_fasta(path: Path, chroms: dict[str, str]) -> Path:
    path.write_text("".join(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n"
                            for name, seq in chroms.items()))
    return path


def random_seq(n: int, letters: bytes = b"ACGTacgt", seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return np.frombuffer(letters, np.uint8)[rng.integers(0, len(letters), n)].tobytes().decode()


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    return write_fasta(tmp_path / "g.fa", {"chr1": random_seq(40_000), "chr2": random_seq(12_000, seed=1)})


# -- corpus ---------------------------------------------------------------------------------------------------
def test_corpus_drops_windows_with_n_keeps_soft_mask_and_holds_out_whole_blocks(tmp_path: Path) -> None:
    seq = random_seq(200_000)
    seq = seq[:5000] + "N" * 300 + seq[5300:]
    corpus = build_corpus([write_fasta(tmp_path / "g.fa", {"chr1": seq})], 100, Exclusions())
    assert not (CANON[corpus.train] == ord("N")).any() and not (CANON[corpus.heldout] == ord("N")).any()
    assert corpus.skipped_n_windows == 3  # 300 N from base 5,000 fill windows 50, 51 and 52
    assert 0.4 < (corpus.train >= ord("a")).mean() < 0.6  # lower case kept
    held = {w.tobytes() for w in corpus.heldout}
    assert held and not held & {w.tobytes() for w in corpus.train}
    # held-out windows come in whole 10-kb blocks (100 windows each): their count is a multiple of 100
    assert len(corpus.heldout) % 100 == 0
    assert corpus.summary()["train_bases"] == 2 * 100 * len(corpus.train)


def test_odd_examples_are_the_reverse_complement_with_the_mask_reversed() -> None:
    windows = np.frombuffer(b"AACgtN", np.uint8)[None, :].repeat(2, axis=0)
    bases, soft = examples(windows, np.array([0, 1]))
    assert bases[0].tobytes() == b"AACGTN" and bases[1].tobytes() == COMPLEMENT[bases[0]][::-1].tobytes()
    assert soft[0].tolist() == [False, False, False, True, True, False]
    assert soft[1].tolist() == soft[0].tolist()[::-1]


def test_excluded_bed_regions_never_enter_the_corpus(tmp_path: Path) -> None:
    seq = random_seq(60_000, b"ACTact")  # no G anywhere but in the excluded region
    seq = seq[:30_000] + random_seq(2_000, b"G", seed=2) + seq[32_000:]
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    bed = tmp_path / "x.bed"
    bed.write_text("track name=x\nchr1\t30000\t32000\n")
    excl = Exclusions()
    read_bed(bed, excl)
    corpus = build_corpus([fasta], 64, excl)
    for part in (corpus.train, corpus.heldout):
        assert not (CANON[part] == ord("G")).any()
    assert corpus.excluded_bases == 2_000
    unexcluded = build_corpus([fasta], 64, Exclusions())
    assert (CANON[unexcluded.train] == ord("G")).any() or (CANON[unexcluded.heldout] == ord("G")).any()


def test_dataset_exclusion_is_its_val_and_test_blocks_widened_by_half_its_window(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2"], "pos": [150, 1_250, 2_100, 10],
                  "split": ["train", "val", "test", "train"]}).to_parquet(folder / "dataset.parquet")
    (folder / "prepare.json").write_text(json.dumps({"window": 200, "block_size": {"used": 1000}}))
    excl = Exclusions()
    read_dataset_holdout(folder, excl)
    assert excl.merged() == {"chr1": [(900, 3100)]}  # blocks 1 and 2 ± 100 bp; train blocks and chr2 untouched


# -- tokenizers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["kmer:6", "kmer:4", "nt:6", "char", "bpe:48"])
def test_saved_tokenizer_loads_with_autotokenizer_and_gives_the_batch_encoder_ids(spec: str, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    windows = np.frombuffer(random_seq(50 * 47, b"ACGT").encode(), np.uint8).reshape(50, 47)
    vocab = make_vocab(spec, windows)
    vocab.save(tmp_path, 64)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    ids, centre = vocab.encode(windows[:5])
    texts = [w.tobytes().decode() for w in windows[:5]]
    if spec.startswith("kmer"):
        k = int(spec[5:])
        texts = [" ".join(t[i:i + k] for i in range(len(t) - k + 1)) for t in texts]
    for row, want in zip(ids, tok(texts)["input_ids"], strict=True):
        assert row[row != vocab.pad_id].tolist() == want
    assert tok.mask_token_id == vocab.mask_id and tok.pad_token_id == vocab.pad_id
    body = centre >= 0
    assert ((centre[body] >= 0) & (centre[body] < 47)).all()


def test_kmer_pretrain_vocab_is_the_one_dnactx_train_reads(tmp_path: Path) -> None:
    from dnactx.models.checkpoint import load_tokenizer

    vocab = make_vocab("kmer:6")
    vocab.save(tmp_path)
    windows = np.frombuffer(random_seq(3 * 40, b"ACGT").encode(), np.uint8).reshape(3, 40)
    assert np.array_equal(load_tokenizer(tmp_path).encode(windows, 20, 64).input_ids, vocab.encode(windows)[0])


# -- masking ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [3, 6])
def test_span_masking_leaves_no_hidden_base_visible_in_an_unmasked_token(k: int) -> None:
    n, nk = 64, 120
    body = torch.zeros((n, nk + 2 + 7), dtype=torch.bool)  # [CLS] k-mers [SEP] and padding on some rows
    lengths = torch.randint(nk // 2, nk + 1, (n,), generator=torch.Generator().manual_seed(1))
    for i, t in enumerate(lengths.tolist()):
        body[i, 1:1 + t] = True
    mask, anchors = span_mask(body, k, 0.15, torch.Generator().manual_seed(0))
    assert not (mask & ~body).any()
    for i in range(n):
        kmer_masked = mask[i, 1:1 + int(lengths[i])]
        hidden = anchors[i].nonzero().squeeze(1).tolist()
        for b in hidden:  # every k-mer holding base b (k-mers b-k+1 … b) is masked
            assert kmer_masked[b - k + 1:b + 1].all()
        # and every masked k-mer holds a hidden base (nothing masked for no reason)
        covers = torch.zeros(len(kmer_masked), dtype=torch.bool)
        for b in hidden:
            covers[b - k + 1:b + 1] = True
        assert torch.equal(covers, kmer_masked)
    assert anchors.sum() > n
    share = mask.sum().item() / body.sum().item()
    assert 0.10 < share < 0.20


# -- model --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec,arch", [("kmer:6", "bert"), ("nt:6", "esm"), ("char", "modernbert")])
def test_masked_only_logits_equal_the_full_heads_at_masked_positions(spec: str, arch: str) -> None:
    windows = np.frombuffer(random_seq(4 * 48, b"ACGT").encode(), np.uint8).reshape(4, 48)
    vocab = make_vocab(spec)
    ids = torch.from_numpy(vocab.encode(windows)[0])
    model = build_model(arch, vocab, layers=1, hidden=32, heads=2, max_tokens=50).eval()
    scored = torch.rand(ids.shape, generator=torch.Generator().manual_seed(0)) < 0.3
    attention = torch.ones_like(ids)
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=attention).logits[scored]
        assert torch.allclose(masked_logits(model, ids, attention, scored), full, atol=1e-5)


# -- training, resume, output ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_then_resume_gives_the_weights_of_an_uninterrupted_run(genome: Path, tmp_path: Path,
                                                                      sigterm_at_step) -> None:
    from safetensors.torch import load_file

    from dnactx.train import loop
    from dnactx.train.preemption import Preempted

    straight = run_pretrain(PretrainOptions(genomes=[genome], out=tmp_path / "a", steps=6, eval_every=3, **TINY))
    opts = PretrainOptions(genomes=[genome], out=tmp_path / "b", steps=6, eval_every=3, **TINY)

    sigterm_at_step(4)
    with pytest.raises(Preempted):
        run_pretrain(opts)
    loop.STEP_HOOKS.clear()
    assert (tmp_path / "b" / "checkpoint" / "state.json").is_file() and not (tmp_path / "b" / "config.json").exists()
    with pytest.raises(DnactxError, match="--resume"):
        run_pretrain(opts)
    opts.resume = True
    resumed = run_pretrain(opts)
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["training"]["tokens"] == straight["training"]["tokens"]
    assert [r["step"] for r in resumed["history"]] == [3, 6]
    assert not (tmp_path / "b" / "checkpoint").exists()


def test_resume_with_other_options_is_refused(genome: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "pretrain_started.json").write_text(json.dumps(
        {"options": PretrainOptions(genomes=[genome], out=out, steps=6, **TINY).to_dict()}))
    with pytest.raises(DnactxError, match="--lr"):
        run_pretrain(PretrainOptions(genomes=[genome], out=out, steps=6, lr=1e-3, resume=True, **TINY))


_LOAD = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower() + str(type(f)).lower()]
sys.path[:] = [p for p in sys.path if p and p.rstrip("/") != {repo!r}]  # the venv inside the repo stays
try:
    import dnactx
except ImportError:
    pass
else:
    raise SystemExit("dnactx was importable")
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer
model = AutoModelForMaskedLM.from_pretrained({out!r}).eval()
tok = AutoTokenizer.from_pretrained({out!r})
text = "ACGTAGCTAGCTAGGATCGATCGATTTACG"
if {kmer}:
    text = " ".join(text[i:i + 6] for i in range(len(text) - 5))
enc = tok(text, return_tensors="pt")
enc["input_ids"][0, 3] = tok.mask_token_id
with torch.no_grad():
    logits = model(**enc).logits
print(type(model).__name__, tuple(logits.shape))
"""


@pytest.mark.slow
@pytest.mark.parametrize("spec,arch", [("kmer:6", "bert"), ("nt:6", "esm"), ("bpe:64", "modernbert")])
def test_pretrained_folder_loads_in_transformers_without_dnactx(spec: str, arch: str, genome: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "lm"
    run_pretrain(PretrainOptions(genomes=[genome], out=out, tokenizer=spec, arch=arch, steps=2, **TINY))
    for name in ("config.json", "model.safetensors", "tokenizer_config.json", "README.md", "pretrain.json"):
        assert (out / name).is_file()
    code = _LOAD.format(repo=str(REPO), out=str(out), kmer=spec.startswith("kmer"))
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ForMaskedLM" in proc.stdout
    card = (out / "README.md").read_text()
    assert "Held-out masked-token figures" in card and "Intended use" in card


def test_pretrain_cli_writes_the_model_and_records_corpus_and_figures(genome: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lm"
    args = ["pretrain", "--genome", str(genome), "--out", str(out), "--tokenizer", "char", "--layers", "1",
            "--hidden", "32", "--heads", "2", "--length", "48", "--steps", "2", "--batch-size", "8", "--json"]
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    record = json.loads(stdout)
    assert record["corpus"]["genomes"][0]["sha256"] and record["corpus"]["train_bases"] > 0
    assert record["corpus"]["train_tokens"] == record["corpus"]["train_windows"] * 2 * 50
    assert 0 <= record["evaluation"]["heldout_accuracy"] <= 1 and record["evaluation"]["heldout_accuracy_gc"] >= 0
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "already holds a pretrained model" in err


@pytest.mark.parametrize("extra,message", [(["--steps", "3", "--tokens", "100"], "one of --steps"),
                                           (["--hidden", "30", "--heads", "4"], "multiple of --heads"),
                                           (["--tokenizer", "kmer:9"], "--tokenizer"),
                                           (["--mask-rate", "0.7"], "--mask-rate")])
def test_bad_options_are_one_line_before_any_work(extra: list[str], message: str, genome: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["pretrain", "--genome", str(genome), "--out", str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.parametrize("spec,arch", [("kmer:6", "bert"), ("nt:6", "esm")])
def test_train_takes_a_pretrain_folder_as_its_model(spec: str, arch: str, genome: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import make_tiny_dataset

    lm = tmp_path / "lm"
    run_pretrain(PretrainOptions(genomes=[genome], out=lm, tokenizer=spec, arch=arch, steps=2, **TINY))
    data = make_tiny_dataset(tmp_path / "data", n=120).parent
    code, _, err = run_cli(["--home", str(tmp_path / "runs"), "train", "--data", str(data), "--model", str(lm),
                            "--size", "20", "--epochs", "1", "--finetune", "top:1"], capsys)
    assert code == 0, err
