"""Logistic regression baseline: k-mer features (k = 1..6, sparse, vectorised) plus the site context.

Two scalings of the same k-mer counts: ``frequency`` (each k's counts divided by the number of k-mers in the
window) and ``l2`` (all k-mer counts of a row scaled to unit L2 norm); the context one-hot is the same in both.
``--C auto`` searches the scaling and class weights at one C, then C for the winner, on validation AUPRC, building
the features once.
"""

from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from ..metrics import auprc
from ..sequence import base_codes

KMAX = 6
_CHUNK = 2048  # rows per dense bincount block: 2048 x 4096 counts at most
SCALINGS = ("frequency", "l2")
C_GRID = (0.1, 1.0, 10.0, 100.0)
C_START = 10.0  # stage 1 of --C auto picks scaling and class weights here
CLASS_WEIGHTS = ("balanced", "none")


def n_features(kmax: int = KMAX, site_context: bool = True) -> int:
    return sum(4**k for k in range(1, kmax + 1)) + (3 if site_context else 0)


def _kmer_block(codes: np.ndarray, k: int, dtype: type = np.float32) -> np.ndarray:
    """Dense (rows, 4^k) k-mer frequencies for a block of base codes; k-mers with N are not counted."""
    n, length = codes.shape
    nk = length - k + 1
    if nk <= 0:
        return np.zeros((n, 4**k), dtype=dtype)
    ids = np.zeros((n, nk), dtype=np.int64)
    bad = np.zeros((n, nk), dtype=bool)
    for j in range(k):
        col = codes[:, j:j + nk]
        ids = ids * 4 + (col & 3)
        bad |= col > 3
    flat = (ids + (np.arange(n, dtype=np.int64) * 4**k)[:, None])[~bad]
    return (np.bincount(flat, minlength=n * 4**k).reshape(n, 4**k) / nk).astype(dtype)


def kmer_features(bases: np.ndarray, context_id: np.ndarray | None = None, kmax: int = KMAX,
                  scaling: str = "frequency", dtype: type = np.float32) -> sp.csr_matrix:
    """Sparse CSR (n, 4 + 16 + ... + 4^kmax [+ 3]) of k-mer features, then one-hot CG/CHG/CHH if given.

    float32 by default (scikit-learn's solvers take it as is), assembled once from per-block arrays rather than by
    stacking sparse blocks, which copied the whole matrix twice. ``scaling``: see the module docstring.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}")
    codes = base_codes(bases)
    n = codes.shape[0]
    width = n_features(kmax, context_id is not None)
    data, indices, counts = [], [], []
    for start in range(0, n, _CHUNK):
        chunk = codes[start:start + _CHUNK]
        dense = [_kmer_block(chunk, k, dtype) for k in range(1, kmax + 1)]
        if context_id is not None:
            onehot = np.zeros((len(chunk), 3), dtype=dtype)
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
    x = sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, dtype=dtype),
                       np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32), indptr), shape=(n, width))
    if scaling == "l2":
        frequencies_to_l2(x, codes.shape[1], kmax)
    return x


def frequencies_to_l2(x: sp.csr_matrix, length: int, kmax: int = KMAX) -> np.ndarray:
    """In place: per-k frequencies of windows of ``length`` bp → k-mer counts with unit L2 norm per row.

    The context one-hot columns after the k-mer columns are left as they are. Works through the rows in blocks,
    so converting a training matrix costs no second copy of it. Returns each row's count norm (shape (n,)), with
    which :func:`l2_to_frequencies` undoes the conversion.
    """
    per_col = _counts_per_frequency(length, kmax, x.dtype)
    norms = np.ones(x.shape[0], dtype=np.float64)
    for lo_row, rows, kmer, data, cols in _row_blocks(x, kmax):
        data[kmer] *= per_col[cols[kmer]]
        norm = np.sqrt(np.bincount(rows[kmer], weights=data[kmer].astype(np.float64) ** 2,
                                   minlength=norms[lo_row:lo_row + _CHUNK].size))
        norm = np.where(norm > 0, norm, 1.0)
        norms[lo_row:lo_row + norm.size] = norm
        data[kmer] /= norm.astype(x.dtype)[rows[kmer]]
    return norms


def l2_to_frequencies(x: sp.csr_matrix, norms: np.ndarray, length: int, kmax: int = KMAX) -> None:
    """In place: the inverse of :func:`frequencies_to_l2` given the norms it returned (float32 rounding aside)."""
    per_col = _counts_per_frequency(length, kmax, x.dtype)
    for lo_row, rows, kmer, data, cols in _row_blocks(x, kmax):
        data[kmer] *= norms[lo_row:lo_row + _CHUNK].astype(x.dtype)[rows[kmer]]
        data[kmer] /= per_col[cols[kmer]]


def _counts_per_frequency(length: int, kmax: int, dtype: np.dtype = np.float32) -> np.ndarray:
    return np.concatenate([np.full(4**k, max(length - k + 1, 1), dtype=dtype) for k in range(1, kmax + 1)])


def _row_blocks(x: sp.csr_matrix, kmax: int):
    """(first row, row of each entry, k-mer entry mask, data view, column view) per block of ``_CHUNK`` rows."""
    n_kmer = n_features(kmax, site_context=False)
    for start in range(0, x.shape[0], _CHUNK):
        bounds = x.indptr[start:start + _CHUNK + 1]
        lo, hi = int(bounds[0]), int(bounds[-1])
        cols, data = x.indices[lo:hi], x.data[lo:hi]  # views: edits land in x
        rows = np.repeat(np.arange(bounds.size - 1), np.diff(bounds))
        yield start, rows, cols < n_kmer, data, cols


def kmer_logits(bases: np.ndarray, context_id: np.ndarray | None, coef: np.ndarray, intercept: float, *,
                kmax: int = KMAX, scaling: str = "frequency") -> np.ndarray:
    """``kmer_features(bases, context_id, kmax, scaling) @ coef + intercept`` in float64, without the features.

    The coefficients of all k are folded into one table over base-5 ``kmax``-mers (N = 4): entry ``m`` sums, for
    k = 1 … kmax, the coefficient of ``m``'s first k bases when they hold no N (divided by the number of k-mers
    per window for ``frequency``). A window's score is then one gather per position of the ``kmax``-mers that
    start there (padded with N past the end, so shorter k-mers at the end count alone). For ``l2`` the sum is
    divided by the norm of the window's k-mer counts, found by sorting each row's ``kmax``-mer ids once (no 4^k
    table per row). Equals scikit-learn's decision function on ``kmer_features(..., dtype=np.float64)`` up to float64
    rounding, and is ~10x faster than building the features, so scoring a genome needs no feature matrix.

    Parameters
    ----------
    bases : uint8 ndarray of shape (n, length), ASCII
    context_id : int ndarray of shape (n,) or None (the model has no site-context columns)
    coef : float ndarray of shape (n_features(kmax, context_id is not None),)
    intercept : float

    Returns
    -------
    logits : float64 ndarray of shape (n,)
    """
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}")
    codes = base_codes(bases).astype(np.int32)
    n, length = codes.shape
    coef = np.asarray(coef, dtype=np.float64)
    total = np.full(n, float(intercept))
    if context_id is not None:
        total += coef[n_features(kmax, site_context=False) + np.asarray(context_id)]
    table = _folded_table(coef[:n_features(kmax, site_context=False)].tobytes(), length, kmax, scaling)
    padded = np.concatenate([codes, np.full((n, kmax - 1), 4, dtype=np.int32)], axis=1)
    ids = padded[:, :length].copy()
    for j in range(1, kmax):
        ids *= 5
        ids += padded[:, j:j + length]
    weighted = table[ids].sum(axis=1)
    if scaling == "l2":
        weighted /= np.sqrt(np.maximum(_squared_counts(ids, kmax), 1))
    return total + weighted


@functools.lru_cache(maxsize=8)
def _folded_table(kmer_coef: bytes, length: int, kmax: int, scaling: str) -> np.ndarray:
    """float64 (5**kmax,): see :func:`kmer_logits`."""
    coef = np.frombuffer(kmer_coef, dtype=np.float64)
    m = np.arange(5**kmax, dtype=np.int64)
    table, valid, ids, offset = np.zeros(m.size), np.ones(m.size, dtype=bool), np.zeros(m.size, dtype=np.int64), 0
    for k in range(1, kmax + 1):
        digit = (m // 5 ** (kmax - k)) % 5
        valid &= digit < 4
        ids = ids * 4 + np.minimum(digit, 3)
        weight = 1.0 / max(length - k + 1, 1) if scaling == "frequency" else 1.0
        table += np.where(valid, coef[offset + ids] * weight, 0.0)
        offset += 4**k
    return table


def _squared_counts(ids: np.ndarray, kmax: int) -> np.ndarray:
    """Per row, the sum over k = 1 … kmax of the squared count of each k-mer without N, from the base-5
    ``kmax``-mer ids of :func:`kmer_logits` (N = 4, padded with N past the end). Sorted, each row's ids put equal
    k-prefixes next to each other for every k at once: every run of an equal prefix holding no N adds its length
    squared."""
    n, length = ids.shape
    flat = np.sort(ids, axis=1).ravel()
    first_n = _first_n(kmax)
    out = np.zeros(n, dtype=np.float64)
    new = np.empty(flat.size, dtype=bool)
    for k in range(1, kmax + 1):
        prefix = flat // 5 ** (kmax - k)
        new[0] = True
        np.not_equal(prefix[1:], prefix[:-1], out=new[1:])
        new[::length] = True  # every row starts a run
        starts = np.flatnonzero(new)
        runs = np.diff(np.append(starts, flat.size)).astype(np.float64)
        runs[first_n[flat[starts]] < k] = 0.0  # the prefix holds an N (or runs past the window's end)
        out += np.bincount(starts // length, weights=runs * runs, minlength=n)
    return out


@functools.lru_cache(maxsize=2)
def _first_n(kmax: int) -> np.ndarray:
    """For each base-5 ``kmax``-mer id, how many of its leading bases hold no N (int8)."""
    m = np.arange(5**kmax, dtype=np.int64)
    out = np.full(m.size, kmax, dtype=np.int8)
    for j in range(kmax - 1, -1, -1):
        out[(m // 5 ** (kmax - 1 - j)) % 5 == 4] = j
    return out


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


def glm_rows(x: sp.csr_matrix, mc: np.ndarray, cov: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The binomial GLM as a weighted logistic regression: each site twice, once as a methylated row weighted by
    its methylated reads mc and once as an unmethylated row weighted by cov − mc (rows of weight 0 left out).
    Returns (rows, labels, weights); the weighted log-loss is then the binomial log-likelihood of the reads."""
    mc, cov = np.asarray(mc, dtype=np.float64), np.asarray(cov, dtype=np.float64)
    weights = np.concatenate([mc, cov - mc])
    keep = np.flatnonzero(weights > 0)
    rows = np.concatenate([np.arange(x.shape[0]), np.arange(x.shape[0])])[keep]
    labels = np.concatenate([np.ones(x.shape[0], dtype=np.int8), np.zeros(x.shape[0], dtype=np.int8)])[keep]
    return x[rows], labels, weights[keep]


def binomial_deviance(mc: np.ndarray, cov: np.ndarray, p: np.ndarray) -> float:
    """Mean binomial negative log-likelihood per read, -Σ [mc log p + (cov − mc) log(1 − p)] / Σ cov."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    mc, cov = np.asarray(mc, dtype=np.float64), np.asarray(cov, dtype=np.float64)
    return float(-np.sum(mc * np.log(p) + (cov - mc) * np.log1p(-p)) / max(np.sum(cov), 1.0))


def fit_glm(x: sp.csr_matrix, mc: np.ndarray, cov: np.ndarray, *, C: float, seed: int,
            solver: str = "lbfgs") -> tuple[LogisticRegression, bool]:
    """L2 binomial GLM (logit link) of the read counts on the features (see :func:`glm_rows`); (model, converged).
    No class weights: the reads are the weights."""
    max_iter, tol = _SOLVER_LIMITS[solver]
    rows, labels, weights = glm_rows(x, mc, cov)
    model = LogisticRegression(solver=solver, C=C, max_iter=max_iter, tol=tol, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(rows, labels, sample_weight=weights)
    return model, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def search_glm(x: sp.csr_matrix, mc: np.ndarray, cov: np.ndarray, x_val: sp.csr_matrix, mc_val: np.ndarray,
               cov_val: np.ndarray, *, seed: int, solver: str = "lbfgs"
               ) -> tuple[LogisticRegression, dict, np.ndarray, list[dict]]:
    """``--C auto`` for ``--target level``: the binomial GLM at every C of the grid (frequency scaling), the one
    with the lowest validation deviance per read kept. Returns (model, choice, val probabilities, grid)."""
    grid: list[dict] = []
    fits: list[tuple[LogisticRegression, np.ndarray]] = []
    for C in C_GRID:
        t0 = time.perf_counter()
        model, converged = fit_glm(x, mc, cov, C=C, seed=seed, solver=solver)
        p_val = model.predict_proba(x_val)[:, 1]
        grid.append({"scaling": "frequency", "C": C, "class_weight": "none",
                     "val_deviance": binomial_deviance(mc_val, cov_val, p_val),
                     "fit_seconds": time.perf_counter() - t0, "n_iter": int(np.max(model.n_iter_)),
                     "converged": converged})
        fits.append((model, p_val))
    best = min(range(len(grid)), key=lambda i: (grid[i]["val_deviance"], i))
    choice = {k: grid[best][k] for k in ("scaling", "C", "class_weight", "val_deviance")}
    return fits[best][0], choice, fits[best][1], grid


class _Search:
    """The candidates fitted so far by ``--C auto``: models, validation probabilities and one record each."""

    def __init__(self, x, y, x_val, y_val, seed: int, solver: str) -> None:
        self.x, self.y, self.x_val, self.y_val, self.seed, self.solver = x, y, x_val, y_val, seed, solver
        self.grid: list[dict] = []
        self.fits: list[tuple[LogisticRegression, np.ndarray]] = []

    def fit(self, scaling: str, class_weight: str, C: float) -> int:
        t0 = time.perf_counter()
        model, converged = fit_lr(self.x, self.y, C=C, class_weight=class_weight, seed=self.seed, solver=self.solver)
        seconds = time.perf_counter() - t0
        p_val = model.predict_proba(self.x_val)[:, 1]
        self.grid.append({"scaling": scaling, "C": C, "class_weight": class_weight,
                          "val_auprc": auprc(self.y_val, p_val), "fit_seconds": seconds,
                          "n_iter": int(np.max(model.n_iter_)), "converged": converged})
        self.fits.append((model, p_val))
        return len(self.grid) - 1

    def score(self, i: int) -> float:
        value = self.grid[i]["val_auprc"]
        return -1.0 if value is None else value

    def best(self, among: list[int]) -> int:
        """The best validation AUPRC among ``among``; ties keep the earlier candidate."""
        return max(among, key=lambda i: (self.score(i), -i))


def search_lr(x: sp.csr_matrix, y: np.ndarray, x_val: sp.csr_matrix, y_val: np.ndarray, *, length: int,
              seed: int, solver: str = "lbfgs") -> tuple[LogisticRegression, dict, np.ndarray, list[dict]]:
    """``--C auto``: pick the scaling and class weights at C 10, then walk C along the grid for that pair.

    Stage 1 fits every scaling x class weight at C 10 (the grid's middle and the former default, so the search
    never does worse on validation than it). Stage 2 moves C one grid step at a time from 10, upwards first, for
    as long as validation AUPRC improves (downwards only when C 100 does not help): 5-7 fits instead of the 16
    of the full grid. On the real data the full grid's winner lies on this path (bench/lr_auto.py).

    Parameters
    ----------
    x, x_val : sparse CSR of shape (n, n_features) and (m, n_features)
        Training and validation features from :func:`kmer_features` with ``scaling="frequency"``. Both are
        converted in place (no copy is made) and left in the chosen scaling.
    y, y_val : ndarray of {0, 1}, shapes (n,) and (m,)
    length : int
        Window length in bp (to turn frequencies into counts and back).
    seed : int
    solver : {"lbfgs", "saga"}

    Returns
    -------
    model : LogisticRegression
        The chosen fit. With no validation positive to judge by, the former fixed default is kept (frequency,
        balanced, C 10).
    choice : dict
        ``{"scaling", "C", "class_weight", "val_auprc"}`` of the chosen fit.
    p_val : ndarray of shape (m,)
        The chosen fit's validation probabilities.
    grid : list of dict
        One record per candidate fitted, in fitting order: ``scaling``, ``C``, ``class_weight``, ``val_auprc``,
        ``fit_seconds``, ``n_iter``, ``converged``.
    """
    search = _Search(x, y, x_val, y_val, seed, solver)
    norms = None
    for scaling in SCALINGS:
        if scaling == "l2":
            norms = (frequencies_to_l2(x, length), frequencies_to_l2(x_val, length))
        for class_weight in CLASS_WEIGHTS:
            search.fit(scaling, class_weight, C_START)
    best = search.best(list(range(len(search.grid))))
    if search.grid[best]["val_auprc"] is None:
        best = 0  # frequency, balanced, C 10
    scaling, class_weight = search.grid[best]["scaling"], search.grid[best]["class_weight"]
    if scaling == "frequency" and norms is not None:
        l2_to_frequencies(x, norms[0], length)
        l2_to_frequencies(x_val, norms[1], length)
    if search.grid[best]["val_auprc"] is not None:
        best = _walk_C(search, best, scaling, class_weight)
    choice = {k: search.grid[best][k] for k in ("scaling", "C", "class_weight", "val_auprc")}
    return search.fits[best][0], choice, search.fits[best][1], search.grid


def _walk_C(search: _Search, best: int, scaling: str, class_weight: str) -> int:
    """Step C up the grid from C 10 while validation AUPRC improves; when the first step up does not, step down."""
    start = C_GRID.index(C_START)
    for step in (1, -1):
        i = start + step
        while 0 <= i < len(C_GRID):
            tried = search.fit(scaling, class_weight, C_GRID[i])
            if search.best([best, tried]) != tried:
                break
            best, i = tried, i + step
        if search.grid[best]["C"] != C_START:
            break
    return best


def predict_proba(model: LogisticRegression, bases: np.ndarray, context_id: np.ndarray | None,
                  chunk: int = 20000, scaling: str = "frequency") -> np.ndarray:
    """P(methylated) in row blocks so big splits never hold all features at once."""
    out = [model.predict_proba(kmer_features(bases[i:i + chunk], None if context_id is None
                                             else context_id[i:i + chunk], scaling=scaling))[:, 1]
           for i in range(0, len(bases), chunk)]
    return np.concatenate(out) if out else np.zeros(0)


def save_lr(model: LogisticRegression, path: Path, scaling: str = "frequency") -> None:
    """coef and intercept as safetensors (no pickle); the feature scaling they expect in the metadata."""
    from safetensors.numpy import save_file

    save_file({"coef": np.ascontiguousarray(model.coef_, dtype=np.float64),
               "intercept": np.ascontiguousarray(model.intercept_, dtype=np.float64)}, str(path),
              metadata={"scaling": scaling, "kmax": str(KMAX)})
