"""Tests of pcnstudy.themes.batched_logistic against scikit-learn's liblinear logistic regression."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_class_weight

from pcnstudy.themes.batched_logistic import LinearScorer, fit_logistic_batch


def _problems(seed: int = 0, n: int = 300, d: int = 25):
    """Rows shared by four problems: different labels, weights (zeros leave rows out) and masks."""
    rng = np.random.default_rng(seed)
    X = sparse.random(n, d, density=0.25, random_state=seed, format="csr")
    X.data = rng.random(X.nnz) * 2
    truth = rng.normal(size=(d, 4)) * 2
    Y = (rng.random((n, 4)) < 1 / (1 + np.exp(-(X @ truth - 0.8)))).astype(int)
    counts = rng.integers(1, 6, (n, 4)).astype(float)
    counts[rng.random((n, 4)) < 0.2] = 0.0  # rows held out of a problem
    free = np.ones((d, 4), dtype=bool)
    free[[0, 3, 7], 1] = False
    free[[2], 3] = False
    return X, Y, counts, free


def _liblinear(X, y, w, free, C, tol=1e-12):
    keep = w > 0
    Xm = X[keep] @ sparse.diags(free.astype(float))
    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", tol=tol).fit(
        Xm, y[keep], sample_weight=w[keep])


@pytest.mark.parametrize("C", [1.0, 0.3])
def test_batch_reaches_liblinears_optimum_with_balanced_weights_and_masks(C):
    X, Y, counts, free = _problems()
    W = np.zeros_like(counts)
    for p in range(Y.shape[1]):
        keep = counts[:, p] > 0
        cw = compute_class_weight("balanced", classes=np.array([0, 1]), y=Y[keep, p], sample_weight=counts[keep, p])
        W[:, p] = C * counts[:, p] * cw[Y[:, p]]
    coef, intercept, n_iter = fit_logistic_batch(X, Y, W, free, tol=1e-10)
    assert (n_iter > 0).all()
    for p in range(Y.shape[1]):
        ref = _liblinear(X, Y[:, p], counts[:, p], free[:, p], C)
        assert np.allclose(coef[:, p], ref.coef_.ravel(), atol=1e-7)
        assert np.isclose(intercept[p], ref.intercept_[0], atol=1e-7)
        assert np.all(coef[~free[:, p], p] == 0.0)
        scorer = LinearScorer(coef[:, p], intercept[p])
        assert np.allclose(scorer.predict_proba(X)[:, 1], ref.predict_proba(X @ sparse.diags(free[:, p] * 1.0))[:, 1],
                           atol=1e-8)


def test_batch_fits_each_problem_as_if_alone_and_warm_starts_reach_the_same_optimum():
    X, Y, counts, free = _problems(1)
    coef, intercept, _ = fit_logistic_batch(X, Y, counts, free, tol=1e-10)
    for p in range(Y.shape[1]):
        alone, b_alone, _ = fit_logistic_batch(X, Y[:, [p]], counts[:, [p]], free[:, [p]], tol=1e-10)
        assert np.allclose(alone[:, 0], coef[:, p], atol=1e-9) and np.isclose(b_alone[0], intercept[p], atol=1e-9)
    warm, b_warm, it_warm = fit_logistic_batch(X, Y, counts, free, tol=1e-10, init=(coef + 0.05, intercept - 0.05))
    assert np.allclose(warm, coef, atol=1e-8) and np.allclose(b_warm, intercept, atol=1e-8)
    again = fit_logistic_batch(X, Y, counts, free, tol=1e-10)
    assert np.array_equal(again[0], coef) and np.array_equal(again[1], intercept)  # deterministic


def test_batch_rejects_bad_input():
    X, Y, counts, free = _problems()
    with pytest.raises(ValueError, match="rows x problems"):
        fit_logistic_batch(X, Y[:-1], counts[:-1])
    with pytest.raises(ValueError, match="0/1"):
        fit_logistic_batch(X, Y * 2, counts)
    with pytest.raises(ValueError, match="non-negative"):
        fit_logistic_batch(X, Y, -counts)
    with pytest.raises(ValueError, match="features x problems"):
        fit_logistic_batch(X, Y, counts, free[:-1])


def test_blocks_depend_on_the_number_of_problems_only_and_threads_do_not_change_the_fit():
    from pcnstudy.themes.batched_logistic import BLOCKS, MIN_BLOCK, problem_blocks

    assert [len(b) for b in problem_blocks(BLOCKS * MIN_BLOCK - 1)] == [BLOCKS * MIN_BLOCK - 1]
    blocks = problem_blocks(BLOCKS * MIN_BLOCK + 1)
    assert len(blocks) == BLOCKS and np.array_equal(np.concatenate(blocks), np.arange(BLOCKS * MIN_BLOCK + 1))
    rng = np.random.default_rng(3)
    X, Y, counts, free = _problems(2)
    reps = BLOCKS * MIN_BLOCK // Y.shape[1] + 1  # enough problems for several blocks
    Y, counts, free = (np.tile(a, reps) for a in (Y, counts, free))
    counts = counts * rng.random(counts.shape)  # every problem different
    one = fit_logistic_batch(X, Y, counts, free, tol=1e-8, workers=1)
    two = fit_logistic_batch(X, Y, counts, free, tol=1e-8, workers=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    for p in (0, Y.shape[1] - 1):  # a problem of the first block and one of the last
        alone, b_alone, _ = fit_logistic_batch(X, Y[:, [p]], counts[:, [p]], free[:, [p]], tol=1e-8)
        assert np.allclose(alone[:, 0], one[0][:, p], atol=1e-7) and np.isclose(b_alone[0], one[1][p], atol=1e-7)
