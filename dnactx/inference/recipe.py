"""Recipe: everything besides the weights that turns a genomic site into a model input, as the run was trained.

A dataset window is ``window + 1`` bp, 5'→3' on the site's strand, with the C at ``window // 2`` (prepare's layout);
the model sees the ``size`` bp ``up``/``down``/``both`` cut of it (:attr:`Recipe.length` bp, the C at
:attr:`Recipe.center`), plus the site context when ``site_context``. Per family:

- ``lr``: k-mer features k = 1 … ``kmax`` with ``lr_scaling`` (``frequency`` or ``l2``, see models/lr.py);
- ``cnn``: models/cnn.py's CNN with ``cnn_channels`` (its two conv widths);
- ``transformer``: the checkpoint's tokenizer (``tokenizer``: ``kmer`` = overlapping ``tokenizer_k``-mers from its
  vocab.txt, ``auto`` = its own AutoTokenizer), at most ``max_tokens`` tokens, longer inputs truncated ``centred``
  on the token that holds the C (special tokens kept; tokenize.py); no padding within a k-mer batch.

``dnactx_model.json`` in an exported folder holds ``Recipe.to_dict()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..choices import FAMILIES, MODES, TARGETS
from ..errors import DnactxError
from ..sequence import context_slice, cut_context
from .calibration import Calibration

TOKENIZERS = {"KmerTokenizer": "kmer", "HFTokenizer": "auto"}  # config.json's class name → recipe kind
TRUNCATION = "centred"


@dataclass(frozen=True)
class Recipe:
    """How a run turns a site into a model input. Immutable; ``to_dict``/``from_dict`` round-trip it as JSON."""

    family: str  # lr | cnn | transformer
    model: str  # lr, cnn, dnabert6-tiny, a Hugging Face id or a checkpoint folder (as given to train)
    window: int  # the dataset's window: windows are window + 1 bp, the C at window // 2
    size: int
    mode: str  # up | down | both
    site_context: bool  # the model takes the C's context (0 CG, 1 CHG, 2 CHH) as an input
    lr_scaling: str | None = None  # lr: frequency | l2
    kmax: int | None = None  # lr: k-mers k = 1..kmax
    cnn_channels: tuple[int, int] | None = None  # cnn: widths of its two conv blocks
    finetune: str | None = None  # transformer: frozen | top:N | full | lora:R (what trained; a run's
    # lora:R also means its adapters are merged at load, an export's encoder holds them merged already)
    max_tokens: int | None = None  # transformer: the encoder's position limit, special tokens included
    tokenizer: str | None = None  # transformer: kmer | auto
    tokenizer_k: int | None = None  # transformer with a kmer tokenizer: k
    truncation: str | None = None  # transformer: centred
    trust_remote_code: bool = False  # transformer: the checkpoint runs its own code (train --trust-remote-code)
    calibration: Calibration | None = None  # from calibration.json when the run was calibrated
    target: str = "label"  # label: scores are P(methylated) | level: scores are the predicted methylated fraction

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise DnactxError(f"model family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.mode not in MODES:
            raise DnactxError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.target not in TARGETS:
            raise DnactxError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        context_slice(self.window, self.size, self.mode)  # size ≤ window // 2
        missing = [name for name in _REQUIRED[self.family] if getattr(self, name) is None]
        if missing:
            raise DnactxError(f"a {self.family} recipe needs {', '.join(missing)}; the run or export is incomplete")

    # -- the cut ---------------------------------------------------------------------------------------
    @property
    def start(self) -> int:
        """First column of a dataset window that the model sees."""
        return context_slice(self.window, self.size, self.mode)[0]

    @property
    def length(self) -> int:
        """Bases per model input (the cut): size + 1, or 2 × size + 1 for ``both``."""
        start, stop, _ = context_slice(self.window, self.size, self.mode)
        return stop - start

    @property
    def center(self) -> int:
        """Index of the C in each model input (0 for ``down``, ``size`` otherwise)."""
        return context_slice(self.window, self.size, self.mode)[2]

    def cut(self, windows: np.ndarray) -> np.ndarray:
        """Model inputs from dataset-style windows.

        Parameters
        ----------
        windows : uint8 ndarray of shape (n, window + 1)
            ASCII bases, 5'→3' on each site's strand, the C at ``window // 2`` (prepare's ``seq``).

        Returns
        -------
        bases : uint8 ndarray of shape (n, length), C-contiguous, the C at column :attr:`center`.
        """
        windows = np.asarray(windows)
        if windows.dtype != np.uint8 or windows.ndim != 2 or windows.shape[1] != self.window + 1:
            raise DnactxError(f"windows must be uint8 ASCII of shape (n, {self.window + 1}) (this model's window "
                              f"{self.window}), got {windows.dtype} {windows.shape}")
        return cut_context(windows, self.window, self.size, self.mode)[0]

    # -- JSON ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["cnn_channels"] = list(self.cnn_channels) if self.cnn_channels else None
        values["calibration"] = self.calibration.to_dict() if self.calibration else None
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "recipe") -> Recipe:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DnactxError(f"{where} has fields this dnactx does not know ({', '.join(unknown)}); "
                              "upgrade dnactx to the version that wrote it")
        values = dict(values)
        if values.get("cnn_channels") is not None:
            values["cnn_channels"] = tuple(int(v) for v in values["cnn_channels"])
        if values.get("calibration") is not None:
            values["calibration"] = Calibration.from_dict(values["calibration"], where)
        try:
            return cls(**values)
        except TypeError as exc:
            raise DnactxError(f"{where} is incomplete ({exc}); export the model again") from None

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)


_REQUIRED = {
    "lr": ("lr_scaling", "kmax"),
    "cnn": ("cnn_channels",),
    "transformer": ("finetune", "max_tokens", "tokenizer", "truncation"),
}


def tokenizer_kind(name: str | None) -> str | None:
    """config.json's tokenizer class name (or a recipe kind) → ``kmer`` | ``auto``."""
    if name is None:
        return None
    return TOKENIZERS.get(name, name if name in TOKENIZERS.values() else None)
