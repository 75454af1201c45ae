"""Tests of pcnstudy.themes.row_merging: identical rows found exactly."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from pcnstudy.themes.row_merging import _exact_groups, identical_rows


def _rows_with_copies(seed: int = 0):
    rng = np.random.default_rng(seed)
    base = sparse.random(40, 12, density=0.3, random_state=seed, format="csr")
    pick = rng.integers(0, 40, 120)
    return base[pick], pick


def test_identical_rows_groups_equal_rows_in_order_of_first_appearance():
    X, pick = _rows_with_copies()
    groups = identical_rows(X)
    dense = X.toarray()
    for i in range(X.shape[0]):
        for j in range(X.shape[0]):
            assert (groups[i] == groups[j]) == np.array_equal(dense[i], dense[j])
    assert groups[0] == 0 and np.all(np.diff(np.maximum.accumulate(groups)) <= 1)
    assert np.array_equal(groups, _exact_groups(X))
    assert identical_rows(sparse.csr_matrix((0, 3))).tolist() == []
    # rows differing in one value, or in where a value sits, stay apart; empty rows join
    Y = sparse.csr_matrix(np.array([[1.0, 0, 2], [1.0, 0, 2.0000001], [0, 1.0, 2], [0, 0, 0], [0, 0, 0]]))
    assert identical_rows(Y).tolist() == [0, 1, 2, 3, 3]
