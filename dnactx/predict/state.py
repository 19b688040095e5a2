"""The --out folder of ``predict``: what it holds, which chromosomes are done, and whose predictions they are.

Finished chromosomes are part files under ``--out/.dnactx-predict/parts`` (``NNNNN.parquet`` + a ``.json``
marker written after it), so a re-run, a requeued SLURM task or another array task skips them. ``manifest.json``
there records the identity of the predictions (model, genome, calls, regions, contexts, label rules, precision):
a re-run with another identity is refused (``--force`` starts over). Once merged, the final outputs sit in
``--out`` and the state folder is removed; ``predict.json`` carries the identity on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..atomic import write_json
from ..contracts import PredictSummary
from ..errors import DnactxError
from ..filelock import file_lock
from ..outputs import claim_folder, owned_names
from .regions import Target

STATE = ".dnactx-predict"
SUMMARY = "predict.json"
PREDICTIONS = "predictions.parquet"
PLOT = "tracks.png"
METAPLOT = ("metaplot.png", "metaplot.tsv")  # predict --calls --annotation
TRACK_SUFFIXES = (".bedGraph.gz", ".bw")
OWNS = owned_names((SUMMARY, PREDICTIONS, PLOT), suffixes=TRACK_SUFFIXES, folders=(STATE,))


def identity_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


class OutFolder:
    """``--out``: final outputs at the top, resumable state in ``.dnactx-predict``."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.state = self.out / STATE
        self.parts = self.state / "parts"
        self.manifest = self.state / "manifest.json"

    # -- what is there ------------------------------------------------------------------------------------
    def outputs(self) -> list[Path]:
        """The final outputs present (predictions, tracks, plot, predict.json)."""
        if not self.out.is_dir():
            return []
        return sorted(p for p in self.out.iterdir() if p.name in (SUMMARY, PREDICTIONS, PLOT, *METAPLOT)
                      or p.name.endswith(TRACK_SUFFIXES))

    def summary(self) -> PredictSummary | None:
        """predict.json, once the outputs are complete (None before, or when it is unreadable)."""
        return _read_json(self.out / SUMMARY)

    def part(self, target: Target) -> Path:
        return self.parts / f"{target.index:05d}.parquet"

    def marker(self, target: Target) -> Path:
        return self.parts / f"{target.index:05d}.json"

    def done(self, target: Target) -> dict | None:
        """The marker of a finished chromosome (counts, seconds), or None while it is not finished."""
        marker = _read_json(self.marker(target))
        return marker if marker is not None and self.part(target).is_file() else None

    # -- starting ---------------------------------------------------------------------------------------
    def claim(self, home: Path | None = None) -> None:
        """Refuse an --out that holds anything but predict's own outputs (the home, a run folder, a dataset,
        anyone's files), whatever --force says."""
        claim_folder(self.out, "predict", OWNS, home=home)

    def begin(self, identity: dict[str, Any], *, force: bool) -> bool:
        """Claim ``--out`` for predictions of ``identity``; True when they are already complete there.

        Another identity's predictions (finished or not) are refused unless ``force``, which removes them first;
        a folder that holds anything but predict's own outputs is refused whatever ``force`` says."""
        key = identity_key(identity)
        self.claim()
        with self.lock():
            summary, manifest = self.summary(), _read_json(self.manifest)
            found = (summary or {}).get("identity") or (manifest or {}).get("identity")
            if found is not None and identity_key(found) != key:
                if not force:
                    differ = sorted(k for k in set(found) | set(identity) if found.get(k) != identity.get(k))
                    raise DnactxError(f"--out {self.out} holds predictions of another {', '.join(differ)}; give "
                                      "another --out, or add --force to replace them")
                self.clear()
                summary = manifest = None
            if summary is not None:
                return True
            if manifest is None:
                write_json(self.manifest, {"identity": identity, "key": key})
            return False

    def clear(self) -> None:
        """Remove every predict output and the state (``--force``)."""
        for path in self.outputs():
            path.unlink()
        shutil.rmtree(self.state, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive among processes sharing ``--out`` (SLURM array tasks): claiming it and merging; where
        flock is unavailable (some network filesystems) it carries on without."""
        self.state.mkdir(parents=True, exist_ok=True)
        with file_lock(self.state / "lock"):
            yield

    def finish(self, staged: Path) -> list[Path]:
        """Move the merged outputs from ``staged`` into ``--out`` (predict.json last: its presence means
        complete), then drop the state."""
        names = sorted((p for p in staged.iterdir()), key=lambda p: p.name == SUMMARY)
        moved = []
        for path in names:
            os.replace(path, self.out / path.name)
            moved.append(self.out / path.name)
        shutil.rmtree(self.state, ignore_errors=True)
        return moved


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
