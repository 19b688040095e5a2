"""An optional post-hoc calibration a model carries: Platt's slope and intercept on the logit, or an isotonic table.

A run trained with ``--calibrate`` has ``calibration.json`` in its folder (the file contract, one JSON object)::

    {"method": "platt", "slope": 0.93, "intercept": -0.41}
        p' = 1 / (1 + exp(-(slope * logit(p) + intercept))),  logit(p) = log(p / (1 - p)), p clipped to [1e-7, 1 - 1e-7]
    {"method": "isotonic", "x": [0.0, 0.01, ...], "y": [0.0, 0.002, ...]}
        p' = linear interpolation of the points (x, y), x increasing; p below x[0] gives y[0], above x[-1] y[-1]
    {"method": "none"}   (or no file): the scores are used as they are

These are the maps of ``dnactx.stats.calibration.fit_calibrator``: Platt's ``LogisticRegression`` on ``logit(p)``
(``slope = coef_[0, 0]``, ``intercept = intercept_[0]``) and ``IsotonicRegression(out_of_bounds="clip")``
(``x = X_thresholds_``, ``y = y_thresholds_``), so a scorer reproduces the run's calibrated probabilities with numpy
alone. Other keys in the object (``fitted_on``, ``effect``, ...) are kept out of the way and ignored here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import read_json
from ..errors import DnactxError

CALIBRATION_FILE = "calibration.json"
METHODS = ("platt", "isotonic")
_EPS = 1e-7  # as stats.calibration: scores are clipped before the logit


@dataclass(frozen=True)
class Calibration:
    """A fitted map from a model's probabilities to calibrated ones; call it on an array of shape (n,)."""

    method: str  # platt | isotonic
    slope: float | None = None  # platt
    intercept: float | None = None  # platt
    x: tuple[float, ...] = ()  # isotonic breakpoints, increasing
    y: tuple[float, ...] = ()  # isotonic values at x, in [0, 1]

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.method == "platt":
            q = np.clip(p, _EPS, 1 - _EPS)
            z = self.slope * np.log(q / (1 - q)) + self.intercept
            return 1.0 / (1.0 + np.exp(-z))
        return np.interp(p, np.asarray(self.x), np.asarray(self.y))

    def to_dict(self) -> dict:
        if self.method == "platt":
            return {"method": "platt", "slope": self.slope, "intercept": self.intercept}
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, values: dict, where: str = CALIBRATION_FILE) -> Calibration | None:
        """The calibration an object describes; None for ``{"method": "none"}``. Malformed → one-line DnactxError."""
        method = values.get("method") if isinstance(values, dict) else None
        if method == "none":
            return None
        fix = "; rewrite it (format: see dnactx.inference.calibration) or remove it to use uncalibrated scores"
        try:
            if method == "platt":
                slope, intercept = float(values["slope"]), float(values["intercept"])
                if not (np.isfinite(slope) and np.isfinite(intercept)):
                    raise ValueError("slope and intercept must be finite")
                return cls("platt", slope=slope, intercept=intercept)
            if method == "isotonic":
                x = tuple(float(v) for v in values["x"])
                y = tuple(float(v) for v in values["y"])
                if not x or len(x) != len(y) or np.any(np.diff(x) < 0) or min(y) < 0 or max(y) > 1:
                    raise ValueError("x and y must be non-empty and equally long, x increasing, y in [0, 1]")
                return cls("isotonic", x=x, y=y)
        except (KeyError, TypeError, ValueError) as exc:
            raise DnactxError(f"{where}: a {method} calibration needs {_needs(method)} ({exc}){fix}") from None
        raise DnactxError(f"{where}: calibration method must be one of none, {', '.join(METHODS)}, got {method!r}{fix}")


def _needs(method: str) -> str:
    return "slope and intercept" if method == "platt" else "x and y"


def read_calibration(folder: Path) -> Calibration | None:
    """``folder/calibration.json`` as a Calibration; None when the file is absent or says ``none``."""
    path = Path(folder) / CALIBRATION_FILE
    values = read_json(path, fix="rewrite it or remove it to use uncalibrated scores")
    if values is None:
        return None
    return Calibration.from_dict(values, str(path))
