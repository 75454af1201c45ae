"""Tests of pcnstudy.themes.row_merging: identical rows found exactly, merged fits equal full fits."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from pcnstudy.themes.row_merging import _exact_groups, identical_rows, liblinear_tol, merge_rows


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


def test_merge_rows_sums_weights_per_group_and_label():
    groups = np.array([0, 1, 0, 0, 2, 1])
    y = np.array([1, 0, 1, 0, 1, 0])
    rows, y_rows, w_rows = merge_rows(groups, y, np.array([1.0, 2, 3, 4, 5, 6]))
    assert rows.tolist() == [0, 1, 3, 4] and y_rows.tolist() == [1, 0, 0, 1]
    assert w_rows.tolist() == [4.0, 8.0, 4.0, 5.0]
    assert merge_rows(groups, y)[2].tolist() == [2.0, 2.0, 1.0, 1.0]


def test_merged_liblinear_fit_equals_the_fit_on_every_row():
    """Same penalised likelihood and stopping rule: the fits agree to liblinear's own accuracy."""
    X, pick = _rows_with_copies(1)
    y = (pick % 3 == 0).astype(int)
    w = np.random.default_rng(1).integers(1, 4, len(y)).astype(float)
    rows, y_rows, w_rows = merge_rows(identical_rows(X), y, w)
    assert len(rows) < len(y)
    full = LogisticRegression(class_weight="balanced", solver="liblinear").fit(X, y, sample_weight=w)
    merged = LogisticRegression(class_weight="balanced", solver="liblinear", tol=liblinear_tol(1e-4, y, y_rows)).fit(
        X[rows], y_rows, sample_weight=w_rows)
    assert np.allclose(full.coef_, merged.coef_, atol=1e-6) and np.allclose(full.intercept_, merged.intercept_, atol=1e-6)
    tight = [LogisticRegression(class_weight="balanced", solver="liblinear", tol=1e-10).fit(*a, sample_weight=b)
             for a, b in (((X, y), w), ((X[rows], y_rows), w_rows))]
    assert np.allclose(tight[0].coef_, tight[1].coef_, atol=1e-8)


def test_liblinear_tol_keeps_the_stopping_rule():
    y = np.array([1] * 10 + [0] * 30)
    y_rows = np.array([1] * 4 + [0] * 6)
    # 1e-4 x 10/40 on all rows; the merged fit's 4/10 scale times the new tol gives the same
    assert np.isclose(liblinear_tol(1e-4, y, y_rows) * 4 / 10, 1e-4 * 10 / 40)
