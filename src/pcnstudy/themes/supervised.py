"""Human codes in the guided model: per theme, a classifier kept only where it beats the seeds.

- ``word_vectorizer(min_df)``: TF-IDF of every word's lemma, stop words kept ("no",
  "nothing", "not" carry meaning in short answers), fitted on the coded texts;
- ``coded_features(Xt, Wt, S, Z0, j)``: the features a theme's first-stage classifier
  sees: the corpus TF-IDF terms, the word lemmas, every theme's seed-term rule (0/1) and
  number of seed terms matched, and the theme's own zero-shot score;
- ``coded_folds(Y, n_folds, seed)``: one fold per coded text, shared by every theme (so
  that one theme's out-of-fold scores can feed another's classifier): texts are dealt
  round robin in the order of their rarest code, so a rare theme's examples spread over
  the folds;
- ``first_stage_scores(Fs, Y, folds, C, seed)`` -> ``FirstStage``: per theme a logistic
  regression on its coded features, fitted on every coded text (``models``), its
  out-of-fold scores (``oof``: each text scored by the model fitted without its fold) and,
  for each fold k, the scores the second stage's cross-validation uses (``nested[k]``):
  the texts of fold k scored by the model fitted without fold k, every other text (of
  fold m) by the model fitted without folds k and m. No text's score comes from a model
  that saw its code, and in the second stage's fold k no score saw a code of fold k;
- ``fit_stacked_codes(Fs, Y, rules, n_folds, C, seed)`` -> (``FirstStage``, [``CodedTheme``
  or None]): the second stage (stacking) adds to each theme's features the other themes'
  first-stage scores (out of fold, as log-odds); per theme, the first-stage classifier, the second-stage
  classifier and the zero-shot rule are compared by cross-validated Cohen's kappa on the
  coded texts (each classifier at the cut that maximises its out-of-fold kappa), and a
  classifier is used (``use``) only where it beats the rule, so few or uninformative codes
  leave the zero-shot coding in place. Themes with fewer than two coded examples (or two
  coded non-examples) get None. The classifiers are not class-weighted: the kappa cut
  already sets the balance between missed and spurious assignments (a kappa cut rather
  than an F1 cut, since kappa is what the coding is judged by and, unlike F1, it counts
  the texts rightly left uncoded).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pcnstudy.themes.agreement import cohen_kappa
from pcnstudy.themes.metrics import best_kappa_threshold

LOGIT_EPS = 1e-4  # first-stage scores enter the second stage as log-odds within +-9.2


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


def logit(p: np.ndarray, eps: float = LOGIT_EPS) -> np.ndarray:
    """log(p / (1 - p)), p clipped to [eps, 1 - eps]."""
    q = np.clip(np.asarray(p, float), eps, 1 - eps)
    return np.log(q / (1 - q))


def stacked_features(F: sparse.spmatrix, P: np.ndarray, j: int) -> sparse.csr_matrix:
    """Theme ``j``'s second-stage features: its first-stage features ``F`` and every other
    theme's first-stage score (columns of ``P`` other than ``j``) as log-odds, the scale on
    which a logistic second stage combines them (a probability near 0 would otherwise
    leave a rare theme's score almost no range)."""
    others = logit(np.delete(np.asarray(P, float), j, axis=1))
    return sparse.hstack([F, sparse.csr_matrix(others)]).tocsr()


class ConstantScore:
    """The score of a theme whose training texts all carry the same code: that code."""

    def __init__(self, value: float):
        self.value = float(value)

    def predict_proba(self, F) -> np.ndarray:
        n = F.shape[0]
        return np.c_[np.full(n, 1 - self.value), np.full(n, self.value)]


@dataclass
class CodedTheme:
    """A theme's classifier from human codes: ``model`` (fitted on every coded text),
    ``stage`` (1: its own features; 2: with the other themes' first-stage scores),
    ``threshold`` (probability cut), ``kappa_cv`` (the chosen classifier's out-of-fold
    kappa), ``kappa_first`` and ``kappa_stacked`` (each stage's), ``kappa_rule`` (the
    zero-shot rule's kappa on the same texts) and ``use`` (kappa_cv > kappa_rule)."""

    model: LogisticRegression
    stage: int
    threshold: float
    kappa_cv: float
    kappa_first: float
    kappa_stacked: float
    kappa_rule: float
    use: bool


@dataclass
class FirstStage:
    """First-stage classifiers of every theme: ``models`` (fitted on every coded text),
    ``oof`` (texts x themes out-of-fold scores) and ``nested`` (per fold k, texts x themes
    scores from models that saw no code of fold k; see ``first_stage_scores``)."""

    models: list
    oof: np.ndarray
    nested: list


def _classifier(C: float, seed: int | None) -> LogisticRegression:
    return LogisticRegression(C=C, solver="liblinear", random_state=seed)


def _fit(F, y, C, seed):
    """A logistic regression on (F, y), or the constant score when y has one class."""
    y = np.asarray(y).astype(int)
    if len(y) == 0:
        return ConstantScore(0.0)
    if y.min() == y.max():
        return ConstantScore(float(y[0]))
    return _classifier(C, seed).fit(F, y)


def coded_folds(Y: np.ndarray, n_folds: int, seed: int | None) -> np.ndarray:
    """Fold (0..n_folds-1) of each coded text (rows of 0/1 ``Y``), shared by all themes: texts
    are ordered by the prevalence of their rarest code (ties at random) and dealt round robin."""
    Y = np.asarray(Y).astype(int)
    n = len(Y)
    prevalence = Y.sum(axis=0).astype(float)
    rarest = np.where(Y > 0, prevalence[None, :], np.inf).min(axis=1) if Y.shape[1] else np.full(n, np.inf)
    tie = np.random.default_rng(seed).permutation(n)
    order = np.lexsort((tie, rarest))
    folds = np.empty(n, dtype=int)
    folds[order] = np.arange(n) % max(1, int(n_folds))
    return folds


def first_stage_scores(Fs: list, Y: np.ndarray, folds: np.ndarray, C: float, seed: int | None) -> FirstStage:
    """Each theme's first-stage classifier and its out-of-fold and nested scores (module docstring)."""
    Y = np.asarray(Y).astype(int)
    folds = np.asarray(folds)
    n, T = Y.shape
    ks = np.unique(folds)
    oof = np.zeros((n, T))
    nested = {k: np.zeros((n, T)) for k in ks}
    models = []
    for j in range(T):
        F, y = Fs[j], Y[:, j]
        models.append(_fit(F, y, C, seed))
        for k in ks:
            train, test = folds != k, folds == k
            p = _fit(F[train], y[train], C, seed).predict_proba(F[test])[:, 1]
            oof[test, j] = p
            nested[k][test, j] = p
        for k, m in combinations(ks, 2):
            train = (folds != k) & (folds != m)
            clf = _fit(F[train], y[train], C, seed)
            for outer, inner in ((k, m), (m, k)):
                rows = folds == inner
                nested[outer][rows, j] = clf.predict_proba(F[rows])[:, 1]
    return FirstStage(models, oof, [nested[k] for k in ks])


def _cv_kappa(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(cut, kappa) of out-of-fold ``scores``: the cut maximising Cohen's kappa, and the kappa
    there from ``cohen_kappa``, the function the zero-shot rule's kappa comes from, so the
    two compare like for like."""
    tau, _ = best_kappa_threshold(y, scores)
    return float(tau), float(cohen_kappa((scores >= tau).astype(int), y))


def _better(a: float, b: float) -> bool:
    """a > b, where a missing kappa never wins and any kappa beats a missing one."""
    return bool(np.isfinite(a) and (not np.isfinite(b) or a > b))


def fit_stacked_codes(Fs: list, Y: np.ndarray, rules: np.ndarray, n_folds: int, C: float,
                      seed: int | None) -> tuple[FirstStage, list]:
    """Per theme, the classifier from the coded texts (features ``Fs[j]``, 0/1 codes ``Y``)
    that beats the zero-shot ``rules`` (0/1) by cross-validated kappa, if any; see the module docstring."""
    Y = np.asarray(Y).astype(int)
    rules = np.asarray(rules).astype(int)
    n, T = Y.shape
    folds = coded_folds(Y, min(int(n_folds), max(n, 1)), seed)
    first = first_stage_scores(Fs, Y, folds, C, seed)
    ks = np.unique(folds)
    out = []
    for j in range(T):
        y = Y[:, j]
        if min(int(y.sum()), int(n - y.sum())) < 2:
            out.append(None)
            continue
        tau1, kappa1 = _cv_kappa(y, first.oof[:, j])
        oof2 = np.zeros(n)
        for k, P in zip(ks, first.nested):
            train, test = folds != k, folds == k
            F2 = stacked_features(Fs[j], P, j)
            oof2[test] = _fit(F2[train], y[train], C, seed).predict_proba(F2[test])[:, 1]
        tau2, kappa2 = _cv_kappa(y, oof2)
        kappa_rule = float(cohen_kappa(rules[:, j], y))
        if _better(kappa2, kappa1):
            model, stage, tau, kappa = _fit(stacked_features(Fs[j], first.oof, j), y, C, seed), 2, tau2, kappa2
        else:
            model, stage, tau, kappa = first.models[j], 1, tau1, kappa1
        out.append(CodedTheme(model, stage, tau, kappa, kappa1, kappa2, kappa_rule, _better(kappa, kappa_rule)))
    return first, out
