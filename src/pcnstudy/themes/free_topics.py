"""Free topics for emergent themes: NMF on a term co-occurrence network, K chosen by
coherence and stability.

- ``term_ppmi(doc_term)``: terms x terms positive PMI of document co-occurrence, each
  row a term's "pseudo-document" (the word network topic model for short texts, Zuo,
  Zhao and Xu 2016);
- ``FreeTopicModel(n_topics, random_state)``: NMF topics on any non-negative matrix
  (a scikit-learn transformer that passes ``sklearn.utils.estimator_checks``; learned
  ``components_``; ``top_terms(n)`` the column indices of each topic's heaviest terms);
- ``select_free_topics(X, doc_term, candidates, seeds)``: the number of topics K that
  maximises (mean NPMI + 1) / 2 x stability over seeded restarts, and the table behind
  the choice (k, npmi, stability, criterion).

``GuidedThemeModel`` (``pcnstudy.themes.topics``) fits these on the terms its themes
leave unexplained.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from pcnstudy.core.progress import progress
from pcnstudy.themes.metrics import matched_jaccard, npmi_coherence

MAX_FREE_TERMS = 3000  # bound on the free-topic vocabulary (a dense terms x terms matrix)


def term_ppmi(doc_term: sparse.spmatrix) -> sparse.csr_matrix:
    """Terms x terms positive PMI of document co-occurrence (the diagonal set to 0).

    PPMI(a, b) = max(0, log(n_ab n / (n_a n_b))) with n_ab the documents holding both
    terms, n_a and n_b those holding each, n all documents. Each row is a term's
    "pseudo-document" of the words it keeps company with: topic models on these rows
    (the word network topic model, Zuo, Zhao and Xu 2016) find themes in short texts,
    where a single answer has too few words to show a co-occurrence pattern.
    """
    B = sparse.csc_matrix(doc_term > 0, dtype=float)
    n = B.shape[0]
    co = (B.T @ B).toarray()
    df = np.diag(co).copy()
    np.fill_diagonal(co, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(co * n / np.outer(df, df))
    out = np.where((co > 0) & np.isfinite(pmi), np.maximum(pmi, 0.0), 0.0)
    return sparse.csr_matrix(out)


class FreeTopicModel(TransformerMixin, BaseEstimator):
    """NMF topics on a non-negative document-term matrix.

    ``n_topics`` topics (0 allowed: an empty model), ``random_state`` seeds NMF's
    random initialisation. Learned: ``components_`` (topics x terms), ``n_iter_``, ``n_features_in_``.
    ``transform`` gives documents x topics loadings; ``top_terms(n)`` the column indices
    of each topic's heaviest terms.
    """

    def __init__(self, n_topics: int = 2, random_state: int | None = None, max_iter: int = 400):
        self.n_topics = n_topics
        self.random_state = random_state
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y=None):
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32], reset=True)
        if sparse.issparse(X):
            neg = X.data.size and X.data.min() < 0
        else:
            neg = X.size and X.min() < 0
        if neg:
            raise ValueError("Negative values in data passed to FreeTopicModel (NMF needs non-negative input)")
        k = int(self.n_topics)
        if k < 0:
            raise ValueError(f"n_topics must be >= 0, got {k}")
        if k == 0:
            self.components_ = np.zeros((0, X.shape[1]))
            self.nmf_ = None
            self.n_iter_ = 0
            return self
        self.nmf_ = NMF(n_components=k, init="random", random_state=self.random_state, max_iter=self.max_iter,
                        tol=1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.nmf_.fit(X)
        self.components_ = self.nmf_.components_
        self.n_iter_ = int(self.nmf_.n_iter_)
        return self

    def transform(self, X):
        check_is_fitted(self, "components_")
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32], reset=False)
        if self.nmf_ is None:
            return np.zeros((X.shape[0], 0))
        return self.nmf_.transform(X)

    def top_terms(self, n: int = 10) -> list[list[int]]:
        """Column indices of each topic's ``n`` heaviest terms (ties broken by column index)."""
        check_is_fitted(self, "components_")
        out = []
        for row in self.components_:
            order = np.lexsort((np.arange(len(row)), -row))
            out.append([int(i) for i in order[:n] if row[i] > 0])
        return out


def select_free_topics(
    X: sparse.spmatrix,
    doc_term: sparse.spmatrix,
    candidates: Sequence[int],
    seeds: Sequence[int],
    n_top: int = 10,
) -> tuple[int, pd.DataFrame]:
    """Choose the number of free topics by coherence and stability.

    For each K in ``candidates`` (K >= 1), NMF is fitted once per seed; coherence is the
    mean NPMI (on ``doc_term``, the whole corpus) of the first seed's topics, stability
    the mean Hungarian-matched top-term Jaccard of every other seed's topics with the
    first seed's. Criterion = (NPMI + 1) / 2 x stability (coherence rescaled to [0, 1]:
    on short answers NPMI of ten top terms is often below 0 even for a real theme); the
    K with the largest criterion wins (ties: smaller K); K = 0 when every criterion is 0. Returns (K, table with
    columns k, npmi, stability, criterion).
    """
    rows = []
    for k in progress(sorted(set(int(c) for c in candidates if int(c) >= 1)), desc="free topics", leave=False):
        if X.shape[0] < 2 * k or X.shape[1] < k:
            continue
        runs = []
        for s in seeds:
            model = FreeTopicModel(n_topics=k, random_state=int(s)).fit(X)
            runs.append(model.top_terms(n_top))
        npmi = float(np.nanmean([npmi_coherence(t, doc_term) for t in runs[0]])) if runs[0] else float("nan")
        stab = float(np.mean([matched_jaccard(runs[0], r) for r in runs[1:]])) if len(runs) > 1 else float("nan")
        crit = (npmi + 1) / 2 * (stab if np.isfinite(stab) else 1.0) if np.isfinite(npmi) else 0.0
        rows.append({"k": k, "npmi": npmi, "stability": stab, "criterion": crit})
    table = pd.DataFrame(rows, columns=["k", "npmi", "stability", "criterion"])
    if table.empty or table["criterion"].max() <= 0:
        return 0, table
    best = table.sort_values(["criterion", "k"], ascending=[False, True]).iloc[0]
    return int(best["k"]), table
