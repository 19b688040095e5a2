"""``dnactx export RUN_ID --out DIR``: a run's model as a portable folder with a model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .command import DnactxCommand
from .common import HomeOption, TrustOption, console_err, run_argument, state


def export(
    run_id: Annotated[str, run_argument("or a run folder")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model into (created; must be empty).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier export in --out (never a folder "
                                                        "holding anything else).")] = False,
    species: Annotated[str | None, typer.Option("--species", help="Species of the training data, for the "
                                                                  "model card (e.g. 'Arabidopsis thaliana').")
                       ] = None,
    tissue: Annotated[str | None, typer.Option("--tissue", help="Tissue or sample of the training methylome, "
                                                                "for the model card (e.g. 'leaf, Col-0').")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a line.")] = False,
    trust_remote_code: TrustOption = False,
    home: HomeOption = None,
) -> None:
    """Write a trained model as a folder that loads without dnactx's training code: weights as safetensors
    (transformers: the encoder's save_pretrained, its tokenizer files and head.safetensors), the recipe and
    provenance in dnactx_model.json, and a README.md model card with a plain-Python loading snippet."""
    from ..inference.export import export_model
    from ..outputs import check_folder

    check_folder(out)

    result = export_model(run_id, out, state.home, force=force, species=species, tissue=tissue,
                          trust_remote_code=trust_remote_code)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        console_err.print(f"exported run {result['run_id']} ({result['family']}): "
                          f"{', '.join(result['files'])}, dnactx_model.json, README.md", highlight=False,
                          soft_wrap=True)
        typer.echo(result["out"])


def register(app: typer.Typer) -> None:
    app.command("export", cls=DnactxCommand)(export)
