"""``dnactx metaplot PREDICT_DIR --annotation GFF3 --out DIR``: mean methylation per context across features scaled
to one length with flanks (deepTools scale-regions), observed vs predicted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .command import DnactxCommand


def metaplot(
    predict_dir: Annotated[Path, typer.Argument(help="A `dnactx predict` output folder (with --calls: observed "
                                                     "and predicted; without: predicted only).")],
    annotation: Annotated[Path, typer.Option(help="GFF3 (plain or gzip) of the predicted genome.",
                                             metavar="GFF3")],
    out: Annotated[Path, typer.Option(help="Folder for metaplot.png and metaplot.tsv.")],
    feature: Annotated[str, typer.Option(
        help="GFF type to scale: gene | mRNA | transposable_element | ... (column 3).")] = "gene",
    flank: Annotated[int, typer.Option(help="bp upstream and downstream of each feature.")] = 2000,
    bins: Annotated[int, typer.Option(help="Bins across the scaled feature body.")] = 40,
    flank_bins: Annotated[int | None, typer.Option(help="Bins in each flank.",
                                                   show_default="bins/2")] = None,
    chrom_alias: Annotated[list[str] | None, typer.Option(
        help="GFF_NAME=FASTA_NAME for a GFF sequence id named differently (repeatable).",
        metavar="NAME=FASTA_NAME")] = None,
) -> None:
    """Per context, mean methylation across features scaled to --bins bins with --flank bp flanks, 5'→3' on
    each feature's strand: metaplot.tsv (context, region, bin, observed, predicted, sites) and metaplot.png."""
    from ..predict.metaplot import Layout, metaplot_folder
    from ..prepare import parse_aliases

    layout = Layout(flank=flank, bins=bins, flank_bins=flank_bins)
    result = metaplot_folder(predict_dir, annotation, out, feature=feature, layout=layout,
                             chrom_alias=parse_aliases(chrom_alias))
    typer.echo(f"wrote {out / 'metaplot.png'} and {out / 'metaplot.tsv'}: {result['sites']:,} sites across "
               f"{result['features']:,} {feature} features")


def register(app: typer.Typer) -> None:
    app.command("metaplot", cls=DnactxCommand)(metaplot)
