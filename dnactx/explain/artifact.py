"""An explanation as part of its run: explain.json and the profile PNG copied into the run folder (artifacts), read
back by ``diagnose`` and ``report``. Standard library only, so analysis/ can import it cheaply."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..atomic import atomic_path, read_json, write_json
from ..runs import RunFolder

EXPLAIN_FILE = "explain.json"
PROFILE_FILE = "explain_profile.png"
ARTIFACT_KINDS = {"explanation": EXPLAIN_FILE, "explanation_profile": PROFILE_FILE}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _signed(offset: int) -> str:
    return f"{offset:+d}" if offset else "0"


def sentence(summary: dict) -> str:
    """One line: "90% of the attribution lies within ±N bp (X% within ±2 bp, …); peak at offset o"."""
    shares = summary.get("share_within") or {}
    if summary.get("radius_90") is None:
        return "no substitution changed the score: the profile is flat zero"
    within = ", ".join(f"{_pct(v)} within ±{r} bp" for r, v in shares.items())
    text = (f"90% of the attribution lies within ±{summary['radius_90']} bp ({within}); "
            f"peak at offset {summary['peak_offset']:+d}")
    span = summary.get("local_span")
    if span:
        text += (f"; above twice the flank level from {_signed(span[0])} to {_signed(span[1])} bp, and "
                 f"{_pct(summary.get('above_flank'))} of the attribution above the flank level")
    return text


def store_in_run(folder: RunFolder, result: dict, profile_png: Path, home: Path | None) -> list[str]:
    """Copy explain.json and the profile PNG into the run folder, list them as artifacts and refresh the run's
    registry row (best effort: the folder is the source of truth). Returns the stored paths."""
    if not (folder.path / "status.json").is_file():
        return []
    with atomic_path(folder.path / PROFILE_FILE) as tmp:
        shutil.copyfile(profile_png, tmp)
    write_json(folder.path / EXPLAIN_FILE, result)
    folder.add_artifact(folder.path / EXPLAIN_FILE, "explanation")
    folder.add_artifact(folder.path / PROFILE_FILE, "explanation_profile")
    registry_home = Path(home) if home is not None else folder.path.parent
    from ..registry.store import registry_path

    if registry_path(registry_home).is_file():
        from ..registry import record_run

        record_run(registry_home, folder)
    return [str(folder.path / name) for name in (EXPLAIN_FILE, PROFILE_FILE)]


def read_explanation(folder_path: Path) -> dict | None:
    """The run's stored explain.json (None when it has none), with ``profile_png`` set when the PNG is there."""
    result = read_json(Path(folder_path) / EXPLAIN_FILE, fix="run `dnactx explain` again or remove it")
    if result is None:
        return None
    png = Path(folder_path) / PROFILE_FILE
    result["profile_png"] = str(png) if png.is_file() else None
    return result


def explanation_summary(result: dict | None) -> dict | None:
    """What diagnose and report use of an explanation: shares, radius, peak, the sentence, where it came from."""
    if not result:
        return None
    summary = (result.get("summary") or {}).get("all") or {}
    selection = result.get("selection") or {}
    return {"share_within": summary.get("share_within") or {}, "radius_90": summary.get("radius_90"),
            "local_span": summary.get("local_span"), "above_flank": summary.get("above_flank"),
            "peak_offset": summary.get("peak_offset"), "sentence": result.get("sentence"),
            "sites": (result.get("sites") or {}).get("n"), "selection": selection.get("sites"),
            "split": selection.get("split"), "mode": (result.get("model") or {}).get("mode"),
            "size": (result.get("model") or {}).get("size"), "profile_png": result.get("profile_png"),
            "kmers": [k.get("kmer") for k in (result.get("kmers") or [])[:5]]}
