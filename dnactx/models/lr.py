"""Logistic regression baseline: k-mer frequencies (k = 1..6, sparse, vectorised) plus the site context."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from ..tokenize import base_codes

KMAX = 6
_CHUNK = 2048  # rows per dense bincount block: 2048 x 4096 counts at most


def n_features(kmax: int = KMAX, site_context: bool = True) -> int:
    return sum(4**k for k in range(1, kmax + 1)) + (3 if site_context else 0)


def _kmer_block(codes: np.ndarray, k: int) -> np.ndarray:
    """Dense (rows, 4^k) k-mer frequencies for a block of base codes; k-mers with N are not counted."""
    n, length = codes.shape
    nk = length - k + 1
    if nk <= 0:
        return np.zeros((n, 4**k), dtype=np.float32)
    ids = np.zeros((n, nk), dtype=np.int64)
    bad = np.zeros((n, nk), dtype=bool)
    for j in range(k):
        col = codes[:, j:j + nk]
        ids = ids * 4 + (col & 3)
        bad |= col > 3
    flat = (ids + (np.arange(n, dtype=np.int64) * 4**k)[:, None])[~bad]
    return (np.bincount(flat, minlength=n * 4**k).reshape(n, 4**k) / nk).astype(np.float32)


def kmer_features(bases: np.ndarray, context_id: np.ndarray | None = None, kmax: int = KMAX) -> sp.csr_matrix:
    """Sparse CSR (n, 4 + 16 + ... + 4^kmax [+ 3]) of k-mer frequencies, then one-hot CG/CHG/CHH if given.

    float32 (scikit-learn's solvers take it as is), assembled once from per-block arrays rather than by
    stacking sparse blocks, which copied the whole matrix twice.
    """
    codes = base_codes(bases)
    n = codes.shape[0]
    width = n_features(kmax, context_id is not None)
    data, indices, counts = [], [], []
    for start in range(0, n, _CHUNK):
        chunk = codes[start:start + _CHUNK]
        dense = [_kmer_block(chunk, k) for k in range(1, kmax + 1)]
        if context_id is not None:
            onehot = np.zeros((len(chunk), 3), dtype=np.float32)
            onehot[np.arange(len(chunk)), np.asarray(context_id[start:start + _CHUNK])] = 1.0
            dense.append(onehot)
        block = np.hstack(dense)
        rows, cols = np.nonzero(block)
        data.append(block[rows, cols])
        indices.append(cols.astype(np.int32))
        counts.append(np.bincount(rows, minlength=len(chunk)))
    indptr = np.zeros(n + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=indptr[1:])
    if indptr[-1] < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    return sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, dtype=np.float32),
                          np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32), indptr),
                         shape=(n, width))


# (max_iter, tol) per solver: lbfgs needed 154-235 iterations at 30k-100k real sites with sklearn's default tol;
# saga makes a full pass over the data per iteration: 200 passes (~290 s at 100k sites) is its budget.
_SOLVER_LIMITS = {"lbfgs": (1000, 1e-4), "saga": (200, 1e-3)}


def fit_lr(x: sp.csr_matrix, y: np.ndarray, *, C: float, class_weight: str, seed: int,
           solver: str = "lbfgs") -> tuple[LogisticRegression, bool]:
    """L2 logistic regression on the sparse features; returns (model, converged)."""
    max_iter, tol = _SOLVER_LIMITS[solver]
    model = LogisticRegression(solver=solver, C=C, class_weight=None if class_weight == "none" else class_weight,
                               max_iter=max_iter, tol=tol, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    return model, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def predict_proba(model: LogisticRegression, bases: np.ndarray, context_id: np.ndarray | None,
                  chunk: int = 20000) -> np.ndarray:
    """P(methylated) in row blocks so big splits never hold all features at once."""
    out = [model.predict_proba(kmer_features(bases[i:i + chunk], None if context_id is None
                                             else context_id[i:i + chunk]))[:, 1]
           for i in range(0, len(bases), chunk)]
    return np.concatenate(out) if out else np.zeros(0)


def save_lr(model: LogisticRegression, path: Path) -> None:
    """coef and intercept as safetensors (no pickle)."""
    from safetensors.numpy import save_file

    save_file({"coef": np.ascontiguousarray(model.coef_, dtype=np.float64),
               "intercept": np.ascontiguousarray(model.intercept_, dtype=np.float64)}, str(path))
