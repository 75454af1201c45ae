"""The guided topic model: codebook themes scored from seed terms, the corpus and human codes.

Takes a sequence of texts and a codebook's seed terms ({theme id: [terms]}), gives
per-document theme scores (``transform``: documents x themes, in [0, 1], a theme is
assigned when its score is at least 0.5), multi-label assignments (``predict``), the
plain seed-term rule beside it (``keyword_predict``), each theme's learned vocabulary
(``theme_terms_``) and K free topics for emergent themes (``free_topics_``).

Why this model
--------------
Guided topic models put the analyst's themes into an unsupervised model through seed
words: seeded LDA (Jagarlamudi, Daume and Udupa 2012; Watanabe and Zhou 2022) and
keyATM (Eshima, Imai and Sasaki 2024) give seed words of a topic extra prior weight;
CorEx with anchor words (Gallagher et al. 2017) anchors topics on words by raising
their mutual information; BERTopic's guided mode (Grootendorst 2022) nudges document
embeddings towards seed-word embeddings. All of them let the corpus decide how far a
theme reaches beyond its seeds, and keyATM shows that keyword topics plus a few
free topics beat both pure keyword counting and unseeded models for measuring
pre-specified concepts. On short answers (a median of 9 words on the NHS benchmark)
generative models get too few co-occurrences per document to move far from the
seeds, and a naive seeded NMF did worse than plain seed matching; sentence
embeddings cannot be loaded offline. So the model keeps the seed-term match as its
first piece of evidence (as keyATM's keyword topics do) and learns each theme's wider
vocabulary discriminatively, in the manner of weakly supervised "dataless"
classification (Chang et al. 2008; Meng et al. 2018, WeSTClass):

1. Seed evidence: each document's matches of the theme's seed terms after the same
   tokenising and Snowball stemming (multi-word terms match as stem sequences).
   A multi-word seed term also matches with up to ``phrase_gap`` words inserted
   ("kept me informed" for "kept informed"), for a theme only where the texts this adds
   score, under a classifier trained out of fold on the seed matches with the seed
   columns masked, like seed matches at an estimated precision of at least one half
   (``expansion.mixture_precision``; ``_phrase_variant_check``); those matches then join
   the theme's seed evidence. ``keyword_predict`` stays the plain rule.
2. Corpus expansion (zero-shot), kept only where it earns its keep: for each theme, a
   logistic regression on TF-IDF features learns to recognise the seed-matched
   documents *with the theme's own seed terms masked out*, so it can only succeed
   through the words that co-occur with the seeds (the anchor idea of CorEx). Whether
   its additions help is checked without human codes by held-out seeds
   (``expansion.held_out_seed_check``): each of ``expansion_groups`` groups of the
   theme's seed terms is hidden in turn, an expander trained on the other terms' matches
   ranks the documents they miss out of fold, and adding the top r x (their count)
   documents is scored by the F1 it gains against all seed matches (r from 0.05 to 1).
   Where the best mean gain is above zero the theme is expanded by that ratio of its
   seed-matched count (the cut is the out-of-fold score of the last document added);
   otherwise the theme keeps its seed terms alone. Seed matches are hard evidence: a
   document matching a seed term is always assigned without human codes.
3. Human codes (supervised, per theme): when some documents carry human codes (``y``
   rows of 0/1; uncoded rows -1), each theme gets a logistic regression trained on the
   coded documents only, on the TF-IDF terms, the TF-IDF of every word's lemma with stop
   words kept ("no", "nothing" and "not" carry meaning in short answers), every theme's
   seed rule and seed counts and the theme's zero-shot score, and a second stage
   (stacking) whose features add the other themes' out-of-fold first-stage scores as
   log-odds (``supervised.fit_stacked_codes``; folds shared by the themes, within the coded
   documents, nested for the second stage's own cross-validation). Each classifier's
   threshold maximises Cohen's kappa out of fold; per theme the stage with the higher out-of-fold
   Cohen's kappa is taken, and it replaces the zero-shot coding of the theme only where
   that kappa is above the zero-shot rule's on the same coded documents; themes with
   fewer than two coded examples keep the zero-shot rule. ``fit_codes(y)`` refits this
   step alone on the fitted corpus (the zero-shot step does not depend on the codes).
4. Free topics, for emergent themes the codebook lacks. The unexplained text is the
   sentences that match no seed term (a response often mixes a codebook theme with a
   new one), each stock sentence once: copies repeated across respondents, verbatim,
   with a prefix or with a typo, are one unit (``near_duplicate_groups``). The
   candidate terms are those, other than the themes' own terms, that recur in at
   least two such units. A sentence has too few words for topics to show in it, so,
   as in the word network topic model for short texts (Zuo, Zhao and Xu 2016), NMF
   is fitted on the candidate terms' document co-occurrence network over the whole
   corpus (each term's row of positive PMI with the others, ``term_ppmi``): a free
   topic is a group of unexplained terms that keep company across many responses.
   K is chosen from 1..``max_free_topics`` (at most one topic per ``n_top_terms``
   candidate terms, so that topics do not share their listed terms; or fixed) by
   the product of the topics' mean NPMI coherence on the corpus (rescaled to [0, 1])
   and their stability over
   ``n_stability_seeds`` NMF restarts (mean top-term Jaccard of Hungarian-matched
   topics); K = 0 when no K gives a coherent, stable set.

Work is shared, not repeated: each distinct text is tokenised once
(``preprocess.prepare_corpus``) and counted once for the TF-IDF matrix (``fit_tfidf``,
equal to ``TfidfVectorizer.fit_transform`` bit for bit); the masked classifiers train
on each distinct text once with its count as weight (the same penalised likelihood as
training on every copy; out-of-fold predictions then never see a copy of the held-out
text), distinct texts with the same features and pseudo-labels are one row carrying
their summed weight (``row_merging``), and every masked fit (the held-out seed check's
fold fits of every theme and hidden group, started from a rough fit per group, then the
kept themes' fits and fold fits) is a problem of one of four ``batched_logistic`` calls;
the features of the fitted corpus are kept, so
``transform``, ``keyword_predict``, ``seed_counts`` and ``theme_npmi`` on the same
texts reuse them.

Estimators follow scikit-learn's contract: ``__init__`` stores its arguments, ``fit``
returns self, learned attributes end in ``_``. ``FreeTopicModel`` works on any
non-negative matrix and passes ``sklearn.utils.estimator_checks``.
"""
from __future__ import annotations

import hashlib
import numbers
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from pcnstudy.themes.expansion import (VARIANT_PRECISION, ExpansionCheck, expansion_cut, held_out_seed_check,
                                       mixture_precision)
from pcnstudy.themes.free_topics import MAX_FREE_TERMS, FreeTopicModel, select_free_topics, term_ppmi
from pcnstudy.themes.metrics import best_f1_threshold, npmi_coherence
from pcnstudy.themes.preprocess import JOINER, compile_seed_terms, lemma, load_stopwords, prepare_corpus, tokenize
from pcnstudy.themes.batched_logistic import LinearScorer, fit_logistic_batch
from pcnstudy.themes.row_merging import identical_rows
from pcnstudy.themes.seed_terms import (count_seed_terms, phrase_variant_counts, seed_columns, seed_index,
                                        seed_term_matches)
from pcnstudy.themes.supervised import coded_features, fit_stacked_codes, stacked_features, word_vectorizer
from pcnstudy.themes.text_units import distinct_rows, near_duplicate_groups, split_sentences

ASSIGN_AT = 0.5  # scores are mapped so that every theme's threshold sits here
EXPANSION_TOL = 1e-7  # Newton stops at this gradient norm relative to w = 0 (batched_logistic)
CHECK_TOL = 1e-5  # the held-out seed check's fold fits (liblinear's default stops at about 2e-5)
START_TOL = 1e-2  # the same for a fit that only starts other fits (the held-out seed check's groups)


def _identity(doc: Any) -> Any:
    return doc


def _term_counts(docs: Sequence[list[str]], dtype) -> tuple[np.ndarray, sparse.spmatrix]:
    """(sorted terms, documents x terms counts): ``CountVectorizer(analyzer=identity,
    dtype=dtype).fit_transform(docs)`` and its ``get_feature_names_out()``, entry for entry
    and in the same stored order, from one pass over the terms.

    Like scikit-learn, each row's entries are stored in order of the terms' first
    appearance in the corpus, then the columns renumbered in sorted term order.
    """
    counter = CountVectorizer(analyzer=_identity, dtype=dtype)
    ids: dict[str, int] = {}
    flat = [ids.setdefault(term, len(ids)) for doc in docs for term in doc]
    if not ids:
        counter.fit_transform(docs)  # raises scikit-learn's ValueError for an empty vocabulary
    V = len(ids)
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    # (row, first-appearance id) pairs, sorted, with their multiplicities: each row's
    # entries in first-appearance order, as CountVectorizer stores them before renaming
    keys, values = np.unique(rows * V + np.asarray(flat, dtype=np.int64), return_counts=True)
    indptr = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // V, minlength=len(docs)), out=indptr[1:])
    terms = sorted(ids)
    rename = np.empty(V, dtype=np.int64)
    rename[[ids[t] for t in terms]] = np.arange(V)
    indices = rename[keys % V]
    index_dtype = np.int32 if len(keys) <= np.iinfo(np.int32).max else np.int64
    template = counter.fit_transform([[terms[0]]])  # the matrix class scikit-learn returns
    X = type(template)((values.astype(dtype), indices.astype(index_dtype), indptr.astype(index_dtype)),
                       shape=(len(docs), V))
    return np.asarray(terms, dtype=object), X


def fit_tfidf(terms: Sequence[list[str]], min_df: int | float) -> tuple[TfidfVectorizer, sparse.csr_matrix]:
    """``TfidfVectorizer(analyzer=identity, min_df=min_df, sublinear_tf=True).fit_transform(terms)``,
    the vectorizer and the matrix, with each distinct term list counted once.

    A repeated text shares its term list (``preprocess.prepare_corpus``): the counts are
    made for each distinct list and given to every copy by row, then the vocabulary is
    cut at ``min_df`` and the TF-IDF weights fitted on all rows by scikit-learn's own
    ``TfidfTransformer``, as ``fit_transform`` does. Raises ValueError when no term
    reaches ``min_df``, as ``fit_transform`` does.
    """
    position: dict[int, int] = {}
    inverse = np.fromiter((position.setdefault(id(doc), len(position)) for doc in terms), dtype=np.int64,
                          count=len(terms))
    distinct = [None] * len(position)
    for doc, k in zip(terms, inverse):
        distinct[k] = doc
    vec = TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True)
    names, counts = _term_counts(distinct, vec.dtype)
    counts = counts[inverse]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    low = min_df if isinstance(min_df, numbers.Integral) else min_df * counts.shape[0]
    kept = np.where(df >= low)[0]
    if len(kept) == 0:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    names = names[kept]
    counts = counts[:, kept]
    vec.vocabulary_ = {term: i for i, term in enumerate(names)}
    vec.fixed_vocabulary_ = False
    weights = TfidfTransformer(norm=vec.norm, use_idf=vec.use_idf, smooth_idf=vec.smooth_idf,
                               sublinear_tf=vec.sublinear_tf).fit(counts)
    vec.idf_ = weights.idf_
    return vec, weights.transform(counts, copy=False).tocsr()


def _map_to_common_scale(p: np.ndarray, tau: float) -> np.ndarray:
    """Map probabilities monotonically to [0, 1] so that ``tau`` lands on ASSIGN_AT (0.5)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if not np.isfinite(tau):
        return p * ASSIGN_AT * 0.999
    tau = min(max(tau, 1e-9), 1 - 1e-9)
    low = ASSIGN_AT * p / tau
    high = ASSIGN_AT + (1 - ASSIGN_AT) * (p - tau) / (1 - tau)
    return np.where(p >= tau, high, low)


class GuidedThemeModel(TransformerMixin, BaseEstimator):
    """Codebook-guided, semi-supervised theme scorer with free topics (see module docstring).

    Parameters
    ----------
    seed_terms : dict {theme id: [seed terms]}, in codebook order.
    n_free_topics : int or "auto" (choose 0..max_free_topics by NPMI x stability).
    max_free_topics, n_stability_seeds : the search for "auto" and the stability check.
    min_df : minimum document frequency of a vocabulary term.
    n_folds : cross-validation folds for thresholds.
    C : inverse regularisation of the logistic regressions.
    min_seed_docs : a theme's vocabulary is expanded only when at least this many
        documents match its seeds (fewer gives no basis to learn from).
    expansion_groups : the held-out seed check hides each of this many groups of a
        theme's seed terms in turn (``expansion.held_out_seed_check``); the expansion is
        kept only where it recovers the hidden terms' matches well enough to raise F1.
    C_codes : inverse regularisation of the classifiers trained on human codes.
    n_top_terms : terms listed per topic.
    phrase_gap : a multi-word seed term also matches with up to this many words inserted
        between its words, for the themes where the phrase-variant guard keeps it (0: never).
    residual : the unexplained units whose recurring terms make the free topics'
        vocabulary: "sentences" matching no seed term (a response often mixes a
        codebook theme with an emergent one) or "documents" no theme is assigned to.
    random_state : seed for folds and NMF.

    Fitted attributes: ``themes_``, ``vectorizer_``, ``collocations_``, ``thresholds_``
    (per theme, on the probability scale of the model deciding it), ``threshold_rule_``,
    ``expansion_f1_`` (themes whose expansion passed the check), ``expansion_check_`` (per theme with enough seed matches to try an
    expansion: ``expansion.ExpansionCheck``), ``coded_kappa_`` (per theme with codes: the
    chosen classifier's, each stage's and the zero-shot rule's cross-validated kappa), ``theme_terms_``
    (DataFrame topic, rank, term, weight, theme),
    ``free_topics_`` (FreeTopicModel), ``free_topic_terms_``, ``n_free_topics_``,
    ``free_topic_selection_`` (DataFrame), ``supervised_`` (themes using human codes),
    ``coded_stage_`` (their stage: 1 or 2, stacked), ``first_stage_`` (every theme's first-stage classifier).
    """

    def __init__(
        self,
        seed_terms: dict[str, list[str]] | None = None,
        n_free_topics: int | str = "auto",
        max_free_topics: int = 4,
        n_stability_seeds: int = 5,
        min_df: int = 2,
        n_folds: int = 5,
        C: float = 1.0,
        min_seed_docs: int = 5,
        expansion_groups: int = 2,
        C_codes: float = 3.0,
        n_top_terms: int = 10,
        residual: str = "sentences",
        phrase_gap: int = 1,
        random_state: int | None = None,
    ):
        self.phrase_gap = phrase_gap
        self.residual = residual
        self.expansion_groups = expansion_groups
        self.C_codes = C_codes
        self.seed_terms = seed_terms
        self.n_free_topics = n_free_topics
        self.max_free_topics = max_free_topics
        self.n_stability_seeds = n_stability_seeds
        self.min_df = min_df
        self.n_folds = n_folds
        self.C = C
        self.min_seed_docs = min_seed_docs
        self.n_top_terms = n_top_terms
        self.random_state = random_state

    # ---------------------------------------------------------------- features
    def _corpus(self, X: Sequence[str], fit: bool):
        texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in X]
        phrases = [p for comp in self.compiled_.values() for p in comp if len(p) > 1]
        colloc = True if fit else self.collocations_
        return prepare_corpus(texts, seed_phrases=phrases, stopwords=self.stopwords_, collocations=colloc)

    def _seed_counts(self, lemmas: list[list[str]]) -> np.ndarray:
        """Documents x themes number of distinct seed terms matched (``seed_terms.count_seed_terms``)."""
        return count_seed_terms(lemmas, seed_index(self.themes_, self.compiled_), len(self.themes_))

    def _phrase_counts(self, lemmas: list[list[str]], themes: Sequence[str]) -> np.ndarray:
        """Documents x themes multi-word seeds of ``themes`` matched only with up to
        ``phrase_gap`` inserted words (``seed_terms.phrase_variant_counts``); 0 elsewhere."""
        T = len(self.themes_)
        if not themes or int(self.phrase_gap) < 1:
            return np.zeros((len(lemmas), T))
        compiled = {t: (self.compiled_[t] if t in themes else []) for t in self.themes_}
        return phrase_variant_counts(lemmas, seed_index(self.themes_, compiled), T, int(self.phrase_gap))

    def _phrase_variant_check(self, Xu: sparse.csr_matrix, Su: np.ndarray, Vu: np.ndarray,
                              counts: np.ndarray) -> list[str]:
        """The themes whose multi-word seeds also count with an inserted word: those where
        the texts only such matches add (``Vu`` > 0, ``Su`` = 0 on the distinct texts) score,
        under a classifier trained out of fold on the seed matches with the seed terms'
        columns masked, like seed matches at an estimated precision of at least
        ``expansion.VARIANT_PRECISION`` (``expansion.mixture_precision``). Sets
        ``phrase_variant_check_`` {theme: n_added, precision, kept}."""
        self.phrase_variant_check_: dict[str, dict] = {}
        total = counts.sum()
        tried = []
        for j, t in enumerate(self.themes_):
            seed, added = Su[:, j] > 0, (Vu[:, j] > 0) & (Su[:, j] == 0)
            if added.any() and self.min_seed_docs <= counts[seed].sum() <= total - self.min_seed_docs:
                folds = self._fold_splits(seed.astype(int))
                if folds is not None:
                    tried.append((t, seed, added, folds))
        if not tried:
            return []
        key = np.column_stack([self._row_groups(Xu)] + [seed for _, seed, _, _ in tried])
        _, rep, row_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
        row_of = row_of.ravel()
        M = Xu[rep]
        start_coef, start_b, _ = self._masked_problems(M, rep, row_of, counts,
                                                       [(t, seed, None) for t, seed, _, _ in tried], tol=START_TOL)
        owner = [k for k, (_, _, _, folds) in enumerate(tried) for _ in folds]
        coef, b, _ = self._masked_problems(M, rep, row_of, counts,
                                           [(t, seed, train) for t, seed, _, folds in tried for train, _ in folds],
                                           init=(start_coef[:, owner], start_b[owner]), tol=CHECK_TOL)
        Z = np.asarray(M @ coef) + b
        kept, p = [], 0
        for t, seed, added, folds in tried:
            oof = self._out_of_fold(Z, row_of, folds, p, len(counts))
            p += len(folds)
            precision = mixture_precision(oof, seed, added, counts)
            keep = bool(np.isfinite(precision) and precision >= VARIANT_PRECISION)
            self.phrase_variant_check_[t] = {"n_added": int(counts[added].sum()), "precision": precision,
                                             "kept": keep}
            if keep:
                kept.append(t)
        return kept

    def _row_groups(self, Xu: sparse.csr_matrix) -> np.ndarray:
        """``row_merging.identical_rows(Xu)``, found once for the distinct texts' features
        (the phrase-variant check and the corpus expansion merge rows of the same matrix)."""
        cache = getattr(self, "_row_groups_of", None)
        if cache is None or cache[0] is not Xu:
            cache = self._row_groups_of = (Xu, identical_rows(Xu))
        return cache[1]

    def _seed_columns(self, theme: str) -> np.ndarray:
        return seed_columns(self.compiled_[theme], self.vectorizer_.vocabulary_, self.stopwords_)

    def _lr(self, seed_offset: int = 0) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear",
                                  random_state=None if self.random_state is None else self.random_state + seed_offset)

    def _folds(self, y: np.ndarray) -> StratifiedKFold | None:
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        k = min(self.n_folds, n_pos, n_neg)
        if k < 2:
            return None
        return StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)

    def _fold_splits(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """The (train, test) splits of the stratified folds on 0/1 ``y`` (None when fewer than two)."""
        splitter = self._folds(y)
        return None if splitter is None else list(splitter.split(np.zeros(len(y)), y))

    def _seed_term_matches(self, lemmas: list[list[str]], themes: list[str]) -> dict[str, np.ndarray]:
        """Per theme, texts x its seed terms (in codebook order) of ``seed_terms.seed_term_matches``,
        every theme's terms matched in one pass."""
        terms = list(dict.fromkeys(term for t in themes for term in self.compiled_[t]))
        column = {term: k for k, term in enumerate(terms)}
        every = seed_term_matches(lemmas, terms)
        return {t: every[:, [column[term] for term in self.compiled_[t]]].reshape(len(lemmas), -1) for t in themes}

    def _held_out_check(self, M: np.ndarray, counts: np.ndarray, rank) -> ExpansionCheck:
        return held_out_seed_check(rank, M, counts, n_groups=self.expansion_groups, min_docs=self.min_seed_docs)

    def _masked_problems(self, M: sparse.csr_matrix, rep: np.ndarray, row_of: np.ndarray, counts: np.ndarray,
                         specs, init=None, tol: float = EXPANSION_TOL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve the masked classifiers ``specs`` together (``batched_logistic.fit_logistic_batch``).

        Each spec is (theme, 0/1 labels of the distinct texts, training texts or None for
        all): an L2-penalised logistic regression with class weights balanced over the
        weighted counts of its training texts and the theme's seed columns held at zero,
        liblinear's objective (what ``_lr`` fits with each text's count as sample weight).
        ``M`` holds the merged rows (``rep``: a distinct text of each; ``row_of``: each
        distinct text's row); a fold's held-out texts weigh 0; ``tol`` as in ``fit_logistic_batch``.
        """
        d = M.shape[1]
        Ys, Ws, Fs = [], [], []
        for theme, y, train in specs:
            w = counts if train is None else np.bincount(train, weights=counts[train], minlength=len(counts))
            w_rows = np.bincount(row_of, weights=w, minlength=len(rep))
            y_rows = np.asarray(y)[rep].astype(int)
            class_w = w_rows.sum() / (2.0 * np.array([w_rows[y_rows == 0].sum(), w_rows[y_rows == 1].sum()]))
            free = np.ones(d)
            free[self.seed_columns_[theme]] = 0.0
            Ys.append(y_rows)
            Ws.append(self.C * w_rows * class_w[y_rows])
            Fs.append(free)
        return fit_logistic_batch(M, np.column_stack(Ys), np.column_stack(Ws), np.column_stack(Fs),
                                  tol=tol, init=init)

    @staticmethod
    def _out_of_fold(Z: np.ndarray, row_of: np.ndarray, folds, first: int, n: int) -> np.ndarray:
        """Out-of-fold probabilities from the fold problems' scores ``Z[:, first:]``, in fold order."""
        oof = np.zeros(n)
        for p, (_, test) in enumerate(folds, start=first):
            oof[test] = expit(Z[row_of[test], p])
        return oof

    def _fit_expansion(self, Xu: sparse.csr_matrix, labels: np.ndarray, counts: np.ndarray,
                       lemmas_u: list[list[str]], themes: list[str]) -> dict[str, tuple[np.ndarray, LinearScorer]]:
        """The held-out seed check of ``themes`` and, for those it keeps, their expander and its
        out-of-fold probabilities on the distinct texts.

        ``Xu``: features of the distinct texts; ``labels``: their seed matches (texts x all
        themes); ``counts``: how often each occurs; ``lemmas_u``: their lemmas. Every fit
        is a masked classifier (``_masked_problems``) solved in ``fit_logistic_batch`` calls:
        for each group of seed terms the check hides (``expansion.held_out_seed_check``), a
        rough fit (to ``START_TOL``) on the other terms' matches; then the check's fold fits
        (one per stratified fold and group), each starting from its group's fit; then, for
        the themes the check keeps, their fits on all their seed matches, and their fold
        fits starting from those. The check is run twice: once to learn which labels it
        asks to rank, once answering them from the batch. Distinct texts with the same
        features and labels (in every problem) are one row carrying their summed count.
        Sets ``expansion_check_``.
        """
        self.expansion_check_: dict[str, ExpansionCheck] = {}
        if not themes:
            return {}
        n = len(counts)
        matches = self._seed_term_matches(lemmas_u, themes)
        seeds = {t: labels[:, self.themes_.index(t)] for t in themes}
        asked: dict[str, list[np.ndarray]] = {t: [] for t in themes}
        for t in themes:  # the labels the check ranks (an unanswered rank skips its group)
            self._held_out_check(matches[t], counts, lambda y, a=asked[t]: a.append(np.asarray(y).copy()))
        checks = [(t, y, self._fold_splits(y)) for t in themes for y in asked[t]]
        checks_fitted = [(t, y, folds) for t, y, folds in checks if folds]
        key = np.column_stack([self._row_groups(Xu)] + [y for _, y, _ in checks] + [seeds[t] for t in themes])
        _, rep, row_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
        row_of = row_of.ravel()
        M = Xu[rep]

        # per tested group, a rough fit on all the visible terms' matches: only the start of
        # that group's fold fits, which converge to EXPANSION_TOL from it
        group_coef, group_b, _ = self._masked_problems(
            M, rep, row_of, counts, [(t, y, None) for t, y, _ in checks_fitted], tol=START_TOL) \
            if checks_fitted else (np.zeros((M.shape[1], 0)), np.zeros(0), None)
        owner = [g for g, (_, _, folds) in enumerate(checks_fitted) for _ in folds]
        check_coef, check_b, _ = self._masked_problems(
            M, rep, row_of, counts, [(t, y, train) for t, y, folds in checks_fitted for train, _ in folds],
            init=(group_coef[:, owner], group_b[owner]), tol=CHECK_TOL) if owner else (np.zeros((M.shape[1], 0)), np.zeros(0), None)
        Z = np.asarray(M @ check_coef) + check_b
        answers: dict[str, list] = {t: [] for t in themes}
        p = 0
        for t, y, folds in checks:
            answers[t].append((y, None if folds is None else self._out_of_fold(Z, row_of, folds, p, n)))
            p += len(folds or [])
        for t in themes:
            replies = iter(answers[t])

            def rank(y, replies=replies):
                asked_y, scores = next(replies)
                if not np.array_equal(asked_y, y):
                    raise RuntimeError("the held-out seed check asked for labels in a different order")
                return scores

            self.expansion_check_[t] = self._held_out_check(matches[t], counts, rank)

        kept = [(t, self._fold_splits(seeds[t])) for t in themes if self.expansion_check_[t].keep]
        kept = [(t, folds) for t, folds in kept if folds is not None]
        if not kept:
            return {}
        coef, b, n_iter = self._masked_problems(M, rep, row_of, counts, [(t, seeds[t], None) for t, _ in kept])
        owner = [k for k, (_, folds) in enumerate(kept) for _ in folds]
        fold_coef, fold_b, _ = self._masked_problems(M, rep, row_of, counts,
                                                     [(t, seeds[t], train) for t, folds in kept for train, _ in folds],
                                                     init=(coef[:, owner], b[owner]))
        Zf = np.asarray(M @ fold_coef) + fold_b
        out, p = {}, 0
        for k, (t, folds) in enumerate(kept):
            out[t] = (self._out_of_fold(Zf, row_of, folds, p, n), LinearScorer(coef[:, k], b[k], n_iter[k]))
            p += len(folds)
        return out

    # --------------------------------------------------------------------- fit
    def fit(self, X: Sequence[str], y: np.ndarray | None = None):
        """Fit on texts ``X``; ``y`` optional (n_docs x n_themes) 0/1 human codes, -1 rows uncoded."""
        if not self.seed_terms:
            raise ValueError("seed_terms must name at least one theme with seed terms")
        self.themes_ = list(self.seed_terms)
        self.compiled_ = {t: compile_seed_terms(self.seed_terms[t]) for t in self.themes_}
        self.stopwords_ = load_stopwords()
        corpus = self._corpus(X, fit=True)
        self.collocations_ = corpus.collocations
        self.surface_ = corpus.surface
        try:
            self.vectorizer_, Xt = fit_tfidf(corpus.terms, self.min_df)
        except ValueError:  # empty vocabulary (tiny or empty corpus): fall back to min_df=1
            self.vectorizer_ = TfidfVectorizer(analyzer=_identity, min_df=1, sublinear_tf=True)
            Xt = self.vectorizer_.fit_transform([d or ["_empty_"] for d in corpus.terms]).tocsr()
        self.feature_names_ = np.array(self.vectorizer_.get_feature_names_out(), dtype=object)
        S = self._seed_counts(corpus.lemmas)
        n, T = S.shape
        self._fitted_lemmas = corpus.lemmas  # the human-code step's word features (stop words kept)
        self.seed_columns_ = {t: self._seed_columns(t) for t in self.themes_}
        # identical texts have identical features: the masked classifiers train on each
        # distinct text once, weighted by its count (the same penalised likelihood), so the
        # out-of-fold predictions never see a copy of the held-out text in training
        first, inverse, counts = distinct_rows(X)

        # 1b. multi-word seeds with an inserted word, per theme where the texts they add
        # read like its seed matches (the phrase-variant guard); they join the seed evidence
        V = self._phrase_counts(corpus.lemmas, self.themes_)
        Xu = Xt[first]  # the distinct texts' features, shared by steps 1b and 2
        self.phrase_themes_ = self._phrase_variant_check(Xu, S[first], V[first], counts)
        V = V * np.isin(self.themes_, self.phrase_themes_)
        self._fitted_features = (self._corpus_key(list(X)), Xt, S, S + V)
        S_rule, S = S, S + V  # the plain rule's counts; the model's seed evidence

        # 2. zero-shot corpus expansion, one masked classifier per theme
        self.expanders_: dict[str, LinearScorer] = {}
        self.zero_shot_thresholds_: dict[str, float] = {}
        self.expansion_f1_: dict[str, float] = {}
        term_rows = []
        self.theme_term_columns_: dict[str, list[int]] = {}
        eligible = [t for j, t in enumerate(self.themes_)
                    if self.min_seed_docs <= int((S[:, j] > 0).sum()) <= n - self.min_seed_docs]
        fitted = self._fit_expansion(Xu, (S[first] > 0).astype(int), counts,
                                     [corpus.lemmas[i] for i in first], eligible)
        self._row_groups_of = None
        for j, theme in enumerate(self.themes_):
            tau, f1 = float("inf"), float("nan")
            if theme in fitted:
                pseudo = (S[:, j] > 0).astype(int)
                oof_u, scorer = fitted[theme]
                _, f1 = best_f1_threshold(pseudo, oof_u[inverse])
                tau = expansion_cut(oof_u, pseudo[first].astype(bool), self.expansion_check_[theme].ratio, counts)
                if np.isfinite(tau):
                    self.expanders_[theme] = scorer
            self.zero_shot_thresholds_[theme] = tau
            self.expansion_f1_[theme] = f1
        Z0 = self._zero_shot_scores(Xt, S)

        # 3. human codes: per theme, a classifier kept where it beats the zero-shot rule
        self._fit_codes(Xt, S_rule, Z0, y)

        # 4. each theme's terms, then free topics on what the themes leave unexplained
        Z = self._final_scores(Xt, S_rule, Z0, X)
        for j, theme in enumerate(self.themes_):
            term_rows.extend(self._theme_term_rows(theme, Z[:, j] >= ASSIGN_AT, Xt))
        self.theme_terms_ = pd.DataFrame(term_rows, columns=["topic", "rank", "term", "weight", "theme"])
        self._fit_free_topics(Xt, Z, X)
        return self

    def _fit_codes(self, Xt, S, Z0, y) -> None:
        """Step 3: a classifier per theme from the coded rows of ``y`` (``supervised.fit_stacked_codes``),
        used where its cross-validated kappa beats the zero-shot rule's on the same texts."""
        n, T = S.shape
        self.supervised_: dict[str, LogisticRegression] = {}
        self.coded_kappa_: dict[str, dict[str, float]] = {}
        self.first_stage_: list = []
        self.coded_stage_: dict[str, int] = {}
        self.thresholds_ = dict(self.zero_shot_thresholds_)
        self.threshold_rule_ = {t: "zero-shot: seed match, or expansion passing the held-out seed check"
                                if np.isfinite(self.zero_shot_thresholds_[t]) else "seed match only"
                                for t in self.themes_}
        if y is None:
            return
        Y = np.asarray(y)
        if Y.shape != (n, T):
            raise ValueError(f"y must have shape {(n, T)}, got {Y.shape}")
        coded = (Y >= 0).all(axis=1)
        self.word_vectorizer_ = word_vectorizer(self.min_df)
        try:
            Wt = self.word_vectorizer_.fit_transform(self._fitted_lemmas).tocsr()
        except ValueError:  # empty vocabulary (tiny corpus): every word
            self.word_vectorizer_ = word_vectorizer(1)
            Wt = self.word_vectorizer_.fit_transform([d or ["_empty_"] for d in self._fitted_lemmas]).tocsr()
        self._fitted_words = (self._fitted_features[0], Wt)
        Fs = [self._supervised_features(Xt, Wt, S, Z0, j)[coded] for j in range(T)]
        first, fitted = fit_stacked_codes(Fs, Y[coded], (Z0[coded] >= ASSIGN_AT).astype(int), self.n_folds,
                                          self.C_codes, self.random_state)
        self.first_stage_ = first.models
        for theme, fit in zip(self.themes_, fitted):
            if fit is None:
                continue
            self.coded_kappa_[theme] = {"classifier": fit.kappa_cv, "first_stage": fit.kappa_first,
                                        "stacked": fit.kappa_stacked, "zero_shot": fit.kappa_rule}
            if fit.use:
                self.supervised_[theme] = fit.model
                self.coded_stage_[theme] = fit.stage
                self.thresholds_[theme] = fit.threshold
                self.threshold_rule_[theme] = "human codes: cross-validated kappa maximum"
            else:
                self.threshold_rule_[theme] += " (human codes: the classifier did not beat it)"

    def _theme_term_rows(self, theme: str, members: np.ndarray, Xt) -> list[dict]:
        """The theme's topic: the heaviest terms of the mean TF-IDF vector of its assigned documents."""
        names = self.feature_names_
        if not members.any():
            self.theme_term_columns_[theme] = []
            return []
        centroid = np.asarray(Xt[members].mean(axis=0)).ravel()
        order = np.lexsort((names.astype(str), -centroid))
        top = [int(c) for c in order[: self.n_top_terms] if centroid[c] > 0]
        self.theme_term_columns_[theme] = top
        return [{"topic": theme, "rank": rank, "term": self.surface_.get(names[c], names[c].replace(JOINER, " ")),
                 "weight": float(centroid[c]), "theme": theme} for rank, c in enumerate(top, start=1)]

    def _zero_shot_scores(self, Xt, S) -> np.ndarray:
        n, T = S.shape
        Z = np.zeros((n, T))
        for j, theme in enumerate(self.themes_):
            seed_part = np.where(S[:, j] > 0, ASSIGN_AT + (1 - ASSIGN_AT) * (1 - 0.5 ** S[:, j]), 0.0)
            clf = self.expanders_.get(theme)
            if clf is not None:
                p = clf.predict_proba(Xt)[:, 1]  # its coefficients on the theme's seed columns are 0
                learned = _map_to_common_scale(p, self.zero_shot_thresholds_[theme])
            else:
                learned = np.zeros(n)
            Z[:, j] = np.maximum(seed_part, learned)
        return Z

    @staticmethod
    def _supervised_features(Xt, Wt, S, Z0, j) -> sparse.csr_matrix:
        return coded_features(Xt, Wt, S, Z0, j)

    def _word_features(self, X) -> sparse.csr_matrix:
        """The human-code step's word features of ``X`` (kept for the fitted corpus)."""
        cache = getattr(self, "_fitted_words", None)
        if cache is not None and cache[0] == self._corpus_key(list(X)):
            return cache[1]
        return self.word_vectorizer_.transform(self._corpus(list(X), fit=False).lemmas).tocsr()

    def _final_scores(self, Xt, S, Z0, X) -> np.ndarray:
        Z = Z0.copy()
        if not self.supervised_:
            return Z
        Wt = self._word_features(X)
        Fs = [self._supervised_features(Xt, Wt, S, Z0, j) for j in range(len(self.themes_))]
        P = None
        if any(stage == 2 for stage in self.coded_stage_.values()):  # every theme's first-stage score
            P = np.column_stack([m.predict_proba(F)[:, 1] for m, F in zip(self.first_stage_, Fs)])
        for j, theme in enumerate(self.themes_):
            clf = self.supervised_.get(theme)
            if clf is not None:
                F = stacked_features(Fs[j], P, j) if self.coded_stage_[theme] == 2 else Fs[j]
                Z[:, j] = _map_to_common_scale(clf.predict_proba(F)[:, 1], self.thresholds_[theme])
        return Z

    def _residual_units(self, X, Xt, Z):
        """The text units no theme explains: sentences (default) or whole documents."""
        if self.residual == "documents":
            return Xt[~(Z >= ASSIGN_AT).any(axis=1)]
        if self.residual != "sentences":
            raise ValueError(f"residual must be 'sentences' or 'documents', got {self.residual!r}")
        # each stock sentence once: a sentence repeated across respondents, verbatim or
        # with a typo, counts as one unit, so it cannot outweigh a theme many people
        # express in their own words
        sentences = sorted({" ".join(s.lower().split()) for doc in dict.fromkeys(X) for s in split_sentences(doc)})
        if not sentences:
            return Xt[:0]
        groups = near_duplicate_groups(sentences)
        _, first = np.unique(groups, return_index=True)
        sentences = [sentences[i] for i in np.sort(first)]
        self.n_residual_sentences_ = len(sentences)
        # seed evidence only: the corpus expansion learns from whole responses, so it
        # credits a theme with the words of any sentence that shares a response with it.
        # Seed matching needs only the lemmas; the full features are made for the
        # sentences that match no seed (each sentence's features depend on it alone)
        Ss = self._seed_counts([[lemma(t) for t in tokenize(sentence)] for sentence in sentences])
        unmatched = [sentence for sentence, row in zip(sentences, Ss) if not row.any()]
        if not unmatched:
            return Xt[:0]
        # their TF-IDF rows only (``_features`` would match their seeds again: none match)
        return self.vectorizer_.transform(self._corpus(unmatched, fit=False).terms).tocsr()

    def _fit_free_topics(self, Xt, Z, X) -> None:
        Xu = self._residual_units(X, Xt, Z)
        theme_cols = set()
        for theme in self.themes_:
            theme_cols.update(self.seed_columns_[theme].tolist())
        for cols in self.theme_term_columns_.values():
            theme_cols.update(cols)
        # unigrams only: a phrase repeated verbatim would otherwise weigh as several terms
        unigram = np.array([JOINER not in str(t) for t in self.feature_names_])
        keep = np.array(sorted(set(np.where(unigram)[0].tolist()) - theme_cols), dtype=int)
        self.free_columns_ = keep
        Xr = Xu[:, keep] if len(keep) else sparse.csr_matrix((Xu.shape[0], 0))
        self.n_unexplained_ = int(Xu.shape[0])
        # the terms that recur in at least two unexplained units (a stock sentence counts
        # once, so its words do not recur by repetition alone); free topics are clusters
        # of these terms in their document co-occurrence network (see term_ppmi)
        unit_df = np.asarray((Xr > 0).sum(axis=0)).ravel()
        recur = np.where(unit_df >= 2)[0]
        if len(recur) > MAX_FREE_TERMS:  # the most widespread ones
            recur = np.sort(recur[np.lexsort((recur, -unit_df[recur]))[:MAX_FREE_TERMS]])
        keep = keep[recur] if len(keep) else keep
        self.free_columns_ = keep
        Xr = term_ppmi(Xt[:, keep]) if len(keep) >= 2 else sparse.csr_matrix((0, len(keep)))
        Xr = Xr[np.asarray(Xr.sum(axis=1)).ravel() > 0]
        base = 0 if self.random_state is None else int(self.random_state)
        seeds = [base + i for i in range(max(1, int(self.n_stability_seeds)))]
        doc_term = Xt[:, keep] if len(keep) else Xt
        if isinstance(self.n_free_topics, str):
            if self.n_free_topics != "auto":
                raise ValueError(f"n_free_topics must be an integer or 'auto', got {self.n_free_topics!r}")
            # K topics need about K x n_top_terms candidate terms to list distinct terms
            most = max(1, min(int(self.max_free_topics), len(keep) // max(1, int(self.n_top_terms))))
            candidates = range(1, most + 1)
        else:
            candidates = [int(self.n_free_topics)]
        if Xr.shape[0] == 0 or Xr.shape[1] == 0 or (not isinstance(self.n_free_topics, str) and int(self.n_free_topics) == 0):
            k, table = 0, pd.DataFrame(columns=["k", "npmi", "stability", "criterion"])
        else:
            k, table = select_free_topics(Xr, doc_term, candidates, seeds, n_top=self.n_top_terms)
            if not isinstance(self.n_free_topics, str):
                k = int(self.n_free_topics) if not table.empty else 0
        self.free_topic_selection_ = table
        self.n_free_topics_ = k
        self.free_topics_ = FreeTopicModel(n_topics=k, random_state=seeds[0]).fit(Xr if k else sparse.csr_matrix((1, max(1, len(keep)))))
        names = self.feature_names_[keep] if len(keep) else np.array([], dtype=object)
        rows = []
        for t, top in enumerate(self.free_topics_.top_terms(self.n_top_terms) if k else []):
            for rank, c in enumerate(top, start=1):
                term = names[c]
                rows.append({"topic": f"emergent_{t + 1}", "rank": rank,
                             "term": self.surface_.get(term, term.replace(JOINER, " ")),
                             "weight": float(self.free_topics_.components_[t, c]), "theme": "emergent"})
        self.free_topic_terms_ = pd.DataFrame(rows, columns=["topic", "rank", "term", "weight", "theme"])
        self.free_topic_npmi_ = {f"emergent_{t + 1}": npmi_coherence(top, doc_term)
                                 for t, top in enumerate(self.free_topics_.top_terms(self.n_top_terms) if k else [])}

    # ---------------------------------------------------------------- predict
    @staticmethod
    def _corpus_key(X: Sequence[str]) -> tuple[int, str]:
        """A digest of the texts (and their count), to recognise the corpus the model was fitted on."""
        texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in X]
        # one update with every text and its separator: the digest of updating text by text
        digest = hashlib.blake2b(("\x1f".join(texts) + "\x1f" if texts else "").encode("utf-8", "surrogatepass"),
                                 digest_size=16)
        return len(X), digest.hexdigest()

    def _features(self, X):
        """(TF-IDF matrix, seed counts) of ``X``: computed once for the fitted corpus and reused.

        ``transform``, ``keyword_predict``, ``seed_counts`` and ``theme_npmi`` on the texts
        the model was fitted on read the features ``fit`` computed instead of tokenising,
        stemming and matching seeds again.
        """
        return self._evidence(X)[:2]

    def _evidence(self, X):
        """(TF-IDF matrix, the plain rule's seed counts, the model's seed evidence) of ``X``:
        the evidence adds the multi-word seeds matched with an inserted word of the themes
        the phrase-variant guard kept (``phrase_themes_``)."""
        check_is_fitted(self, "themes_")
        X = list(X)
        cache = getattr(self, "_fitted_features", None)
        if cache is not None and cache[0] == self._corpus_key(X):
            return cache[1], cache[2], cache[3]
        corpus = self._corpus(X, fit=False)
        Xt = self.vectorizer_.transform(corpus.terms).tocsr()
        S = self._seed_counts(corpus.lemmas)
        return Xt, S, S + self._phrase_counts(corpus.lemmas, getattr(self, "phrase_themes_", []))

    def fit_codes(self, y: np.ndarray):
        """Refit only the human-code step on the corpus the model was fitted on (its
        zero-shot coding, theme terms and free topics stay as fitted); returns self.

        ``fit(X, y)`` gives the same assignments as ``fit(X).fit_codes(y)``: the codes do
        not change the zero-shot step, so a learning curve fits it once.
        """
        check_is_fitted(self, "themes_")
        _, Xt, S, E = self._fitted_features
        self._fit_codes(Xt, S, self._zero_shot_scores(Xt, E), y)
        return self

    def transform(self, X: Sequence[str]) -> np.ndarray:
        """Documents x themes scores in [0, 1]; a theme is assigned at 0.5 or above."""
        Xt, S, E = self._evidence(X)
        return self._final_scores(Xt, S, self._zero_shot_scores(Xt, E), X)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Documents x themes 0/1 assignments of the model."""
        return (self.transform(X) >= ASSIGN_AT).astype(int)

    def zero_shot_predict(self, X: Sequence[str]) -> np.ndarray:
        """Documents x themes 0/1 assignments from seeds and corpus expansion only (no human codes)."""
        Xt, _, E = self._evidence(X)
        return (self._zero_shot_scores(Xt, E) >= ASSIGN_AT).astype(int)

    def keyword_predict(self, X: Sequence[str]) -> np.ndarray:
        """Documents x themes 0/1 assignments of the plain seed-term rule (the baseline)."""
        _, S = self._features(X)
        return (S > 0).astype(int)

    def seed_counts(self, X: Sequence[str]) -> np.ndarray:
        """Documents x themes number of distinct seed terms matched."""
        return self._features(X)[1]

    def topic_terms(self) -> pd.DataFrame:
        """topics.csv rows: theme topics then emergent topics (topic, rank, term, weight, theme)."""
        check_is_fitted(self, "themes_")
        return pd.concat([self.theme_terms_, self.free_topic_terms_], ignore_index=True)

    def theme_npmi(self, X: Sequence[str]) -> dict[str, float]:
        """NPMI coherence of each theme's listed terms on the corpus ``X``."""
        Xt, _ = self._features(X)
        return {theme: npmi_coherence(self.theme_term_columns_.get(theme, []), Xt) for theme in self.themes_}
