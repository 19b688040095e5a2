"""Stage prepare's files in a temporary folder beside --out and publish them only when all succeeded."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..atomic import PREPARE_SUFFIX
from ..errors import DnactxError
from ..outputs import DATASET, claim_folder, owned_names

OUTPUT_FILES = ("dataset.parquet", "prepare.json")
OWNS = owned_names(OUTPUT_FILES)


@contextlib.contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it becomes ``out`` (or its files replace those in ``out``, which
    may not be the registry home, a run folder, an exported model or a folder holding one; other files stay).

    On any error the staging folder is removed, so a failed run leaves ``out`` exactly as it was.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DnactxError(f"--out {out} exists and is not a folder; give a folder path")
    claim_folder(out, "prepare", OWNS, own_kind=DATASET, keep_others=True)  # never a registry, run or export
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=PREPARE_SUFFIX, dir=out.parent))
    try:
        yield stage
        umask = _umask()
        os.chmod(stage, 0o777 & ~umask)  # mkdtemp/mkstemp create private modes; outputs are ordinary files
        for name in OUTPUT_FILES:
            os.chmod(stage / name, 0o666 & ~umask)
        if not out.exists():
            os.replace(stage, out)
        else:
            # out already holds other files: swap ours in one by one, the data first, its summary last
            for name in OUTPUT_FILES:
                os.replace(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
