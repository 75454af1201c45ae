"""Identical training rows merged into one weighted row, for the liblinear fits of the theme model.

Short answers often reduce to the same TF-IDF row ("Good support." and "good support"),
and the L2-penalised logistic regression liblinear fits, 0.5 |w|^2 + sum_i C_i loss_i
with C_i = C x class weight x sample weight, has the same value for every w when rows
with the same features and label are replaced by one row carrying their summed weight.
So the fit can run on the merged rows:

- ``identical_rows(X)``: a group number per row of a CSR matrix, rows with the same
  stored values in the same columns sharing one (exact: candidate groups from a
  random projection, then checked entry by entry);
- ``merge_rows(groups, y, w)``: the rows to keep (one per group and label, in order of
  first appearance), their labels and summed weights;
- ``liblinear_tol(tol, y, y_merged)``: the ``tol`` that gives liblinear's primal solver
  on the merged rows the stopping rule it has on all of them (liblinear scales its
  tolerance by min(positives, negatives) / rows, counted in rows, not weights).

The class weights of ``class_weight="balanced"`` come from weighted class counts
(scikit-learn's ``compute_class_weight`` with ``sample_weight``), unchanged by merging.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

_PROJECTION_SEED = 20261202  # fixed: the projection only proposes groups, which are then checked


def _exact_groups(X: sparse.csr_matrix) -> np.ndarray:
    """Group numbers from the rows' column indices and values, compared as bytes."""
    X = X.copy()
    X.sort_indices()
    seen: dict[tuple[bytes, bytes], int] = {}
    out = np.empty(X.shape[0], dtype=np.int64)
    ptr, ind, val = X.indptr, X.indices, X.data
    for i in range(X.shape[0]):
        a, b = ptr[i], ptr[i + 1]
        out[i] = seen.setdefault((ind[a:b].tobytes(), val[a:b].tobytes()), len(seen))
    return out


def identical_rows(X: sparse.spmatrix) -> np.ndarray:
    """Group number of each row of ``X`` (0, 1, ... in order of first appearance); rows with
    the same values in the same columns share one."""
    X = sparse.csr_matrix(X)
    n = X.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    X.sum_duplicates()
    rng = np.random.default_rng(_PROJECTION_SEED)
    # equal rows give bitwise equal projections; the groups they propose are then checked
    keys = np.column_stack([X @ rng.standard_normal(X.shape[1]), X @ rng.standard_normal(X.shape[1]),
                            np.diff(X.indptr)])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if (X - X[first[inverse]]).count_nonzero():  # a collision of both projections: compare exactly
        return _exact_groups(X)
    # renumber in order of first appearance
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse].astype(np.int64)


def merge_rows(groups: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows kept, their labels, their summed weights): one row per (group, label), the first
    of each, in order of appearance. ``X[rows]`` with these weights has the same weighted
    loss as ``X`` with ``w`` for every model."""
    groups = np.asarray(groups, dtype=np.int64)
    y = np.asarray(y)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    if len(y) == 0:
        return np.zeros(0, dtype=np.int64), y.copy(), w.copy()
    _, labels = np.unique(y, return_inverse=True)
    key = groups * (int(labels.max()) + 1) + labels.ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    rows = first[order]
    weights = np.bincount(rank[inverse.ravel()], weights=w, minlength=len(rows))
    return rows, y[rows], weights


def _liblinear_scale(y: np.ndarray) -> float:
    y = np.asarray(y)
    pos = int((y == y.max()).sum()) if len(y) else 0
    return max(min(pos, len(y) - pos), 1) / max(len(y), 1)


def liblinear_tol(tol: float, y: np.ndarray, y_merged: np.ndarray) -> float:
    """The ``tol`` for a liblinear fit on merged rows that keeps the stopping rule of the fit
    on all rows: liblinear's primal solvers stop at tol x max(min(pos, neg), 1) / rows
    times the first gradient's norm, and the first gradient is unchanged by merging."""
    return float(tol) * _liblinear_scale(y) / _liblinear_scale(y_merged)
