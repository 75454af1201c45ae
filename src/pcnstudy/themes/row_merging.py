"""Identical rows of a sparse matrix found exactly, so that a weighted fit can merge them.

Short answers often reduce to the same TF-IDF row ("Good support." and "good support").
A weighted loss such as the L2-penalised logistic regression of the theme model's
corpus expansion, 0.5 |w|^2 + sum_i C_i loss_i, has the same value for every w when
rows with the same features and label are replaced by one row carrying their summed
weight, so the fit can run on the merged rows.

``identical_rows(X)`` gives a group number per row of a CSR matrix, rows with the same
stored values in the same columns sharing one (exact: candidate groups from a random
projection, then checked entry by entry; a collision falls back to comparing bytes).
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
