"""The files of an explanation under --out, each written atomically (a temporary file renamed into place).

explain.json (everything below, summarised), profile.csv + profile.png, logo.csv + logo.png, kmers.tsv, sites.tsv
(the sites with their reference logit) and ism.npz (the full Δlogit array, float32 (n, length, 4), A/C/G/T).
For ``--variants``: variants.tsv, variants.bedGraph and variants.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path, json_safe, write_json, write_text
from ..outputs import claim_folder, owned_names
from .mutagenesis import Mutagenesis
from .plots import logo_plot, profile_plot
from .sites import SELECTIONS, Sites

# Every file explain writes (an ISM explanation and a --variants one may share a folder).
OWNS = owned_names(("explain.json", "profile.csv", "profile.png", "logo.csv", "logo.png", "kmers.tsv", "sites.tsv",
                    "ism.npz", "variants.tsv", "variants.bedGraph", "variants.json"))


def claim_out(out: Path, home: Path | None) -> None:
    """Refuse an --out holding anything but explain's own earlier outputs (before any work)."""
    claim_folder(out, "explain", OWNS, home=home)


def write_table(frame: pd.DataFrame, path: Path, sep: str = "\t") -> str:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep=sep, index=False, na_rep="NA", float_format="%.6g")
    return str(path)


def write_explanation(out: Path, result: dict, m: Mutagenesis, sites: Sites, tables: dict) -> dict[str, str]:
    """Every file of an ISM explanation into ``out``; returns {name: path}. explain.json is written last."""
    out.mkdir(parents=True, exist_ok=True)
    summary = result["summary"]["all"]
    r = result["model"]
    chosen = result["selection"]["sites"]
    title = (f"{result.get('run_id') or r['model']}: {r['family']} {r['mode']} {r['size']} bp, "
             f"{len(sites)} {chosen if chosen in SELECTIONS else 'BED'} sites")
    files = {
        "profile_csv": write_table(tables["profile"], out / "profile.csv", sep=","),
        "profile_png": str(profile_plot(tables["profile"], title, out / "profile.png", summary.get("radius_90"))),
        "logo_csv": write_table(tables["logo"], out / "logo.csv", sep=","),
        "logo_png": str(logo_plot(tables["logos"], f"mean attribution by reference base, ±20 bp ({title})",
                                  out / "logo.png")),
        "kmers": write_table(tables["kmers"], out / "kmers.tsv"),
        "sites": write_table(sites.table().assign(logit=m.reference), out / "sites.tsv"),
        "ism": _write_npz(out / "ism.npz", m, sites),
        "explain_json": str(out / "explain.json"),
    }
    write_json(out / "explain.json", json_safe({**result, "files": files}))
    return files


def _write_npz(path: Path, m: Mutagenesis, sites: Sites) -> str:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, delta=m.delta.astype(np.float32), alternative=m.alternative,
                            reference_logit=m.reference, inputs=m.inputs, offsets=m.offsets,
                            chrom=sites.chrom.astype(str), pos=sites.pos, strand=sites.strand,
                            context_id=sites.context_id, label=sites.label)
    return str(path)


def write_variants(out: Path, table: pd.DataFrame, bedgraph: pd.DataFrame, result: dict) -> dict[str, str]:
    """variants.tsv, variants.bedGraph (with a track line) and variants.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"tsv": write_table(table, out / "variants.tsv")}
    track = (f'track type=bedGraph name="dnactx delta p" description="largest |delta p| per variant, run '
             f'{result.get("run_id") or ""}"\n')
    body = bedgraph.to_csv(sep="\t", index=False, header=False, float_format="%.6g")
    files["bedgraph"] = str(write_text(out / "variants.bedGraph", track + body))
    files["json"] = str(out / "variants.json")
    write_json(out / "variants.json", json_safe({**result, "files": files}))
    return files


def dumps(result: dict) -> str:
    return json.dumps(json_safe(result), indent=2)
