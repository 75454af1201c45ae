"""Human codes in the guided model: per theme, a classifier kept only where it beats the seeds.

- ``word_vectorizer(min_df)``: TF-IDF of every word's lemma, stop words kept ("no",
  "nothing", "not" carry meaning in short answers), fitted on the coded texts;
- ``coded_features(Xt, Wt, S, Z0, j)``: the features a theme's classifier sees: the
  corpus TF-IDF terms, the word lemmas, every theme's seed-term rule (0/1) and number of
  seed terms matched, and the theme's own zero-shot score;
- ``fit_coded_theme(F, y, rule, n_folds, C, seed)`` -> ``CodedTheme`` or None: a
  class-balanced logistic regression trained on the coded texts only. Out-of-fold
  probabilities (stratified folds) give the cut that maximises F1 and the classifier's
  cross-validated Cohen's kappa; the classifier is used (``use``) only where that kappa
  is above the kappa of the theme's zero-shot rule on the same coded texts, so few or
  uninformative codes leave the zero-shot coding in place. Themes with fewer than two
  coded examples (or two coded non-examples) get None.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from pcnstudy.themes.agreement import cohen_kappa
from pcnstudy.themes.metrics import best_f1_threshold


def _identity(doc):
    return doc


def word_vectorizer(min_df: int) -> TfidfVectorizer:
    """TF-IDF over lists of word lemmas (stop words kept), terms of at least ``min_df`` texts."""
    return TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True)


def coded_features(Xt: sparse.spmatrix, Wt: sparse.spmatrix, S: np.ndarray, Z0: np.ndarray,
                   j: int) -> sparse.csr_matrix:
    """Texts x features for theme ``j``'s classifier: TF-IDF terms, word lemmas, every theme's
    rule (S > 0) and log(1 + seed terms matched), and theme ``j``'s zero-shot score."""
    S = np.asarray(S, float)
    return sparse.hstack([Xt, Wt, sparse.csr_matrix((S > 0).astype(float)), sparse.csr_matrix(np.log1p(S)),
                          sparse.csr_matrix(np.asarray(Z0, float)[:, [j]])]).tocsr()


@dataclass
class CodedTheme:
    """A theme's classifier from human codes: ``model`` (fitted on every coded text),
    ``threshold`` (probability cut), ``kappa_cv`` (its out-of-fold kappa), ``kappa_rule``
    (the zero-shot rule's kappa on the same texts) and ``use`` (kappa_cv > kappa_rule)."""

    model: LogisticRegression
    threshold: float
    kappa_cv: float
    kappa_rule: float
    use: bool


def _classifier(C: float, seed: int | None) -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=seed)


def fit_coded_theme(F: sparse.spmatrix, y: np.ndarray, rule: np.ndarray, n_folds: int, C: float,
                    seed: int | None) -> CodedTheme | None:
    """Fit one theme's classifier on coded texts ``F`` (0/1 codes ``y``) and compare it,
    out of fold, with the zero-shot ``rule`` (0/1) on the same texts; see the module docstring."""
    y = np.asarray(y).astype(int)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    k = min(int(n_folds), n_pos, n_neg)
    if k < 2:
        return None
    oof = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(y)), y):
        oof[test] = _classifier(C, seed).fit(F[train], y[train]).predict_proba(F[test])[:, 1]
    tau, _ = best_f1_threshold(y, oof)
    kappa_cv = cohen_kappa((oof >= tau).astype(int), y)
    kappa_rule = cohen_kappa(np.asarray(rule).astype(int), y)
    model = _classifier(C, seed).fit(F, y)
    use = bool(np.isfinite(kappa_cv) and (not np.isfinite(kappa_rule) or kappa_cv > kappa_rule))
    return CodedTheme(model, float(tau), float(kappa_cv), float(kappa_rule), use)
