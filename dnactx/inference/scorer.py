"""Scorer: a trained model as a function of cut windows → logits and probabilities, batched, on any device.

Inputs are what :meth:`Recipe.cut` returns: uint8 ASCII (n, recipe.length), upper-case A/C/G/T/N, 5'→3' on the
site's strand, the C at ``recipe.center``; any such rows score, including mutated ones (explain). The site context
(0 CG, 1 CHG, 2 CHH) is a separate input because an ``up`` cut does not contain the bases that decide it.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit

from ..choices import PRECISIONS
from ..errors import DnactxError
from .recipe import Recipe

if TYPE_CHECKING:
    import torch

DEFAULT_BATCH = {"lr": 512, "cnn": 1024, "transformer": 128}  # rows per forward pass (lr: per k-mer block)
CPU_CNN_BATCH = 256  # on a CPU the cnn's activations of 256 rows stay in cache: 2.5x the rate of 1024-row batches
SLIDE_BP = 1 << 16  # bases of sequence convolved at a time by the sliding cnn path: bounds its memory (~40 MB)
_READBACK = 32  # torch batches kept on the device before one copy back (no host sync per batch)


class Scorer(ABC):
    """A trained model scoring cut windows. Build one with :func:`dnactx.inference.load_scorer`.

    Attributes: ``recipe`` (how inputs are cut and encoded), ``batch_size`` (rows per forward pass; any number
    of rows may be passed at once) and ``origin`` (where it was loaded from: a ``ModelRef``, or None).
    """

    def __init__(self, recipe: Recipe, *, batch_size: int | None = None) -> None:
        self.recipe = recipe
        self.batch_size = int(batch_size or DEFAULT_BATCH[recipe.family])
        if self.batch_size < 1:
            raise DnactxError(f"--batch-size must be at least 1, got {batch_size}")
        self.origin: Any = None
        self.weights_sha256: str | None = None  # checked against the run's or export's record at load

    def logits(self, bases: np.ndarray, context_id: np.ndarray | None = None) -> np.ndarray:
        """Raw model scores (log-odds, before any calibration).

        Parameters
        ----------
        bases : uint8 ndarray of shape (n, recipe.length)
            ASCII bases cut per the recipe (:meth:`Recipe.cut`), the C at ``recipe.center``.
        context_id : int ndarray of shape (n,), values 0 CG / 1 CHG / 2 CHH
            Required when ``recipe.site_context``; ignored otherwise.

        Returns
        -------
        logits : float64 ndarray of shape (n,)
        """
        bases, context_id = self._check(bases, context_id)
        if not len(bases):
            return np.zeros(0, dtype=np.float64)
        return self._score(bases, context_id)

    def probs(self, bases: np.ndarray, context_id: np.ndarray | None = None, *,
              calibrated: bool = True) -> np.ndarray:
        """P(methylated), float64 of shape (n,): sigmoid of :meth:`logits`, then the run's calibration
        (``recipe.calibration``, from calibration.json) unless ``calibrated`` is false or there is none."""
        p = expit(self.logits(bases, context_id))
        calibration = self.recipe.calibration
        return calibration(p) if calibrated and calibration is not None else p

    @property
    def slides(self) -> bool:
        """True when :meth:`probs_along` shares one convolution of the sequence among overlapping inputs (a cnn);
        otherwise it cuts every input and scores it alone."""
        return False

    def probs_along(self, seq: np.ndarray, starts: np.ndarray, context_id: np.ndarray | None = None, *,
                    calibrated: bool = True, sliding: bool = True) -> np.ndarray:
        """:meth:`probs` of the inputs ``seq[s:s + recipe.length]`` for every ``s`` in ``starts``.

        ``seq``: uint8 ASCII (N,), e.g. ``Stranded.both`` (a chromosome then its reverse complement, so an input on
        either strand is a slice); ``starts``: int (n,), any order. Where :attr:`slides` and ``sliding``, a cnn
        convolves each stretch of ``seq`` once and reads every input's features from the shared maps (equal to
        the per-input path to ~1e-6, see models/sliding.py); otherwise, or with ``sliding=False``, the inputs are
        cut and scored one by one.
        """
        starts = np.asarray(starts, dtype=np.int64)
        length = self.recipe.length
        if starts.size and (starts.min() < 0 or starts.max() + length > seq.size):
            raise DnactxError(f"input starts must lie within the sequence (0 … {seq.size - length}), got "
                              f"{starts.min()} … {starts.max()}")
        logits = None
        if self.slides and sliding and starts.size:
            ctx = self._check_context(starts.size, context_id)
            logits = self._score_along(np.asarray(seq, dtype=np.uint8), starts, ctx)
        if logits is None:
            logits = self.logits(np.lib.stride_tricks.sliding_window_view(seq, length)[starts], context_id)
        p = expit(logits)
        calibration = self.recipe.calibration
        return calibration(p) if calibrated and calibration is not None else p

    def _score_along(self, seq: np.ndarray, starts: np.ndarray,
                     context_id: np.ndarray | None) -> np.ndarray | None:
        """Raw logits of ``seq[s:s + length]`` per start from a family's sliding path; None for a family without
        one (its inputs are then cut and scored one by one)."""
        return None

    def _check(self, bases: np.ndarray, context_id: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        bases = np.asarray(bases)
        r = self.recipe
        if bases.dtype != np.uint8 or bases.ndim != 2 or bases.shape[1] != r.length:
            raise DnactxError(f"model inputs must be uint8 ASCII of shape (n, {r.length}) (size {r.size} {r.mode}: "
                              f"cut them with recipe.cut), got {bases.dtype} {bases.shape}")
        return bases, self._check_context(len(bases), context_id)

    def _check_context(self, n: int, context_id: np.ndarray | None) -> np.ndarray | None:
        if not self.recipe.site_context:
            return None
        if context_id is None:
            raise DnactxError("this model takes the site context: pass context_id (0 CG, 1 CHG, 2 CHH) per row")
        context_id = np.asarray(context_id)
        if context_id.shape != (n,) or context_id.dtype.kind not in "iu":
            raise DnactxError(f"context_id must be integers of shape ({n},), got {context_id.dtype} "
                              f"{context_id.shape}")
        if len(context_id) and (context_id.min() < 0 or context_id.max() > 2):
            raise DnactxError("context_id values must be 0 (CG), 1 (CHG) or 2 (CHH)")
        return context_id.astype(np.int64)

    @abstractmethod
    def _score(self, bases: np.ndarray, context_id: np.ndarray | None) -> np.ndarray:
        """Raw logits (float64, shape (n,)) of one batch of checked inputs."""


class LrScorer(Scorer):
    """lr: the saved coefficients on models/lr.py's k-mer features with the recipe's scaling, in float64.

    Equals scikit-learn's ``LogisticRegression.predict_proba`` with the same coefficients on the same features in
    float64 (``kmer_features(..., dtype=np.float64)``) to 1e-12; training's own predictions (float32 features) to
    ~1e-7. No scikit-learn object and no feature matrix (models.lr.kmer_logits).
    """

    def __init__(self, recipe: Recipe, coef: np.ndarray, intercept: float, *, batch_size: int | None = None) -> None:
        super().__init__(recipe, batch_size=batch_size)
        from ..models.lr import n_features

        self.coef = np.asarray(coef, dtype=np.float64).reshape(-1)
        self.intercept = float(np.asarray(intercept, dtype=np.float64).reshape(-1)[0])
        expected = n_features(recipe.kmax, recipe.site_context)
        if self.coef.size != expected:
            raise DnactxError(f"lr weights have {self.coef.size} coefficients but the recipe (kmax {recipe.kmax}, "
                              f"site context {'on' if recipe.site_context else 'off'}) makes {expected} features")

    def _score(self, bases: np.ndarray, context_id: np.ndarray | None) -> np.ndarray:
        from ..models.lr import kmer_logits

        r, out = self.recipe, []
        for i in range(0, len(bases), self.batch_size):
            ctx = None if context_id is None else context_id[i:i + self.batch_size]
            out.append(kmer_logits(bases[i:i + self.batch_size], ctx, self.coef, self.intercept, kmax=r.kmax,
                                   scaling=r.lr_scaling))
        return np.concatenate(out)


class TorchScorer(Scorer):
    """cnn and transformers: a torch module in eval mode, no grad, on ``device``, autocast for bf16/fp16.

    ``model(batch)`` takes a dict with ``codes`` (cnn) or ``input_ids`` [+ ``attention_mask``] (transformers,
    tokenised per the recipe by ``tokenizer``), and ``context_id`` when the recipe has site context. ``checkpoint``:
    the folder a transformer's encoder and tokenizer were loaded from (None for a cnn).

    ``forward``: the module that scores (default ``model``; the cnn's has its BatchNorms folded in, see
    ``CNN.fused``), kept apart so that ``model`` stays the trained module (export saves it, explain may take its
    gradients). ``compile``: ``torch.compile`` that module (a one-off compilation, then faster batches; the last,
    short batch is padded to ``batch_size`` so that one shape is compiled).
    """

    def __init__(self, recipe: Recipe, model: torch.nn.Module, *, tokenizer: Any = None, batch_size: int | None = None,
                 device: str | torch.device | None = None, precision: str = "no",
                 forward: torch.nn.Module | None = None, compile: bool = False) -> None:
        import torch

        super().__init__(recipe, batch_size=batch_size)
        if precision not in PRECISIONS:
            raise DnactxError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = resolve_device(device)
        if batch_size is None and recipe.family == "cnn" and self.device.type == "cpu":
            self.batch_size = CPU_CNN_BATCH
        self.precision = precision
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.tokenizer = tokenizer
        self.checkpoint: Path | None = None
        self.model = model.eval().to(self.device)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.forward = self.model if forward is None else forward.eval().to(self.device)
        for p in self.forward.parameters():
            p.requires_grad_(False)
        from ..models.cnn import CNN
        from ..models.sliding import MIN_LENGTH

        # the sliding path's module (not compiled: its shapes vary with each stretch); None for transformers
        self._cnn = self.forward if isinstance(self.forward, CNN) and recipe.length >= MIN_LENGTH else None
        self._slider = None  # the sliding path's tables (models/sliding.py), made on first use
        self.compiled = compile
        if compile:
            self.forward = torch.compile(self.forward, dynamic=False)

    def _inputs(self, bases: np.ndarray) -> dict[str, torch.Tensor]:
        import torch

        from ..sequence import base_codes

        if self.tokenizer is None:
            return {"codes": torch.from_numpy(base_codes(bases))}
        encoded = self.tokenizer.encode(bases, self.recipe.center, self.recipe.max_tokens)
        batch = {"input_ids": torch.from_numpy(encoded.input_ids)}
        if not encoded.attention_mask.all():  # as training: no mask where nothing is padded (fused attention)
            batch["attention_mask"] = torch.from_numpy(encoded.attention_mask)
        return batch

    def _score(self, bases: np.ndarray, context_id: np.ndarray | None) -> np.ndarray:
        import torch

        out, pending = [], []
        autocast = torch.autocast(self.device.type, dtype=self.dtype) if self.dtype else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            for i in range(0, len(bases), self.batch_size):
                batch = self._inputs(bases[i:i + self.batch_size])
                if context_id is not None:
                    batch["context_id"] = torch.from_numpy(context_id[i:i + self.batch_size])
                rows = len(batch["codes" if "codes" in batch else "input_ids"])
                if self.compiled and rows < self.batch_size:  # one shape for the compiled module
                    batch = {k: torch.cat([v, v[-1:].expand(self.batch_size - rows, *v.shape[1:])])
                             for k, v in batch.items()}
                batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
                pending.append(self.forward(batch).float()[:rows])
                if len(pending) == _READBACK:
                    out.append(torch.cat(pending).cpu())
                    pending.clear()
        if pending:
            out.append(torch.cat(pending).cpu())
        return torch.cat(out).numpy().astype(np.float64)


    @property
    def slides(self) -> bool:
        return self._cnn is not None

    def _score_along(self, seq: np.ndarray, starts: np.ndarray, context_id: np.ndarray | None) -> np.ndarray:
        """The cnn's sliding path: stretches of at most SLIDE_BP bases of ``seq``, each convolved once; a stretch
        whose inputs are too sparse to share much (more than length / 4 bases per input) is scored input by input.
        """
        import torch

        from ..models.sliding import Slider
        from ..sequence import base_codes

        length, cnn = self.recipe.length, self._cnn
        order = np.argsort(starts, kind="stable")
        ordered = starts[order]
        out = np.empty(starts.size, dtype=np.float64)
        autocast = torch.autocast(self.device.type, dtype=self.dtype) if self.dtype else contextlib.nullcontext()
        i = 0
        with torch.inference_mode(), autocast:
            if self._slider is None:
                self._slider = Slider(cnn, length)  # its tables, made once for every stretch
            while i < ordered.size:
                lo = int(ordered[i])
                j = max(i + 1, int(np.searchsorted(ordered, lo + SLIDE_BP - length, side="right")))
                rows, hi = order[i:j], int(ordered[j - 1]) + length
                ctx = None if context_id is None else context_id[rows]
                if hi - lo > (j - i) * (length // 4):
                    out[rows] = self._score(np.lib.stride_tricks.sliding_window_view(seq, length)[ordered[i:j]], ctx)
                else:
                    codes = torch.from_numpy(base_codes(seq[lo:hi])).to(self.device)
                    at = torch.from_numpy(ordered[i:j] - lo).to(self.device)
                    features = self._slider.features(codes, at)
                    ctx_t = None if ctx is None else torch.from_numpy(ctx).to(self.device)
                    out[rows] = cnn.head(features, ctx_t).float().cpu().numpy()
                i = j
        return out


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as given, else the first GPU when there is one, else the CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DnactxError(f"--device {device!r} is not a torch device ({exc}); use cpu, cuda or cuda:N") from None
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DnactxError(f"--device {device}: this machine has no CUDA GPU that torch can use (torch "
                              f"{torch.__version__}, CUDA build {torch.version.cuda or 'none'}); use --device cpu, "
                              "or run on a GPU node with a CUDA build of torch")
        if chosen.index is not None and chosen.index >= count:
            raise DnactxError(f"--device {device}: this machine has {count} CUDA GPU(s) (cuda:0 to "
                              f"cuda:{count - 1}); choose one of them")
    elif chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DnactxError(f"--device {device}: Apple's MPS is not available on this machine; use --device cpu")
    return chosen
