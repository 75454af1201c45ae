"""Tests of the theme model (pcnstudy.themes.topics, .free_topics, .metrics, .seed_terms,
.text_units): metrics against hand-computed values, the estimators' contract, and the guided
model's behaviour on a small synthetic corpus."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from pcnstudy.themes.free_topics import FreeTopicModel, select_free_topics, term_ppmi
from pcnstudy.themes.metrics import best_f1_threshold, best_kappa_threshold, matched_jaccard, npmi_coherence, precision_threshold
from pcnstudy.themes.preprocess import match_seed_terms, prepare_corpus
from pcnstudy.themes.text_units import distinct_rows, near_duplicate_groups
from pcnstudy.themes.topics import GuidedThemeModel, _identity, fit_tfidf
from themes_corpus import make_corpus

REF = json.loads((Path(__file__).parent / "results" / "themes_reference.json").read_text())
SEEDS = {"trust": ["trust", "relationship", "get to know"],
         "time": ["protected time", "space to think", "reflect"],
         "mdt": ["pharmacist", "paramedic", "social prescriber"]}


def test_npmi_matches_hand_computation():
    ref = REF["npmi"]
    vocab = ["a", "b", "c"]
    M = sparse.csr_matrix([[float(t in d) for t in vocab] for d in ref["docs"]])
    assert npmi_coherence([0, 1], M) == pytest.approx(ref["npmi_ab"], abs=ref["tolerance"])
    assert npmi_coherence([0, 1, 2], M) == pytest.approx(ref["mean_abc"], abs=ref["tolerance"])
    assert np.isnan(npmi_coherence([0], M))


def test_matched_jaccard_matches_hand_computation():
    ref = REF["matched_jaccard"]
    assert matched_jaccard(ref["ref"], ref["other"]) == pytest.approx(ref["value"], abs=ref["tolerance"])


def test_best_f1_threshold_agrees_with_brute_force():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60) + 0.3 * y, 2)
    cut, f1 = best_f1_threshold(y, s)
    best = max(((2 * np.sum((s >= c) & (y == 1)) / (np.sum(s >= c) + y.sum()), c) for c in np.unique(s)),
               key=lambda fc: (fc[0], fc[1]))
    assert f1 == pytest.approx(best[0]) and cut == pytest.approx(best[1])
    assert best_f1_threshold(np.zeros(4), np.ones(4)) == (float("inf"), 0.0)


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_best_kappa_threshold_agrees_with_brute_force_sklearn_kappa(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(80) < 0.2).astype(int)
    s = np.round(rng.random(80) + 0.4 * y, 2)  # rounded: blocks of tied scores
    cut, kappa = best_kappa_threshold(y, s)
    best = max(((cohen_kappa_score(y, (s >= c).astype(int)), c) for c in np.unique(s)),
               key=lambda kc: (round(kc[0], 12), kc[1]))
    assert kappa == pytest.approx(best[0]) and cut == pytest.approx(best[1])
    assert best_kappa_threshold(np.zeros(4), np.ones(4)) == (float("inf"), 0.0)


def test_kappa_cut_differs_from_f1_cut_and_has_the_higher_kappa():
    # F1 ignores true negatives and kappa does not, so the two cuts can part.
    y = np.array([1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0])
    s = np.array([1.13, .5, .66, .67, .82, .71, .46, .51, .79, .09, .58, .7, 1.31, .99, .99])
    cut_k, kappa = best_kappa_threshold(y, s)
    cut_f, _ = best_f1_threshold(y, s)
    assert cut_k == pytest.approx(0.82) and cut_f == pytest.approx(0.66)
    assert kappa == pytest.approx(cohen_kappa_score(y, (s >= cut_k).astype(int)))
    assert kappa > cohen_kappa_score(y, (s >= cut_f).astype(int))


def test_precision_threshold_is_lowest_cut_reaching_precision():
    y = np.array([1, 1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert precision_threshold(y, s, 0.75) == pytest.approx(0.6)
    assert precision_threshold(y, s, 1.0) == pytest.approx(0.8)
    assert precision_threshold(np.zeros(3), s[:3], 0.5) == float("inf")


@parametrize_with_checks(
    [FreeTopicModel(n_topics=2, random_state=0)],
    expected_failed_checks=lambda est: {
        "check_methods_subset_invariance": "NMF's transform is iterative: batch results differ at 1e-5",
    },
)
def test_free_topic_model_follows_sklearn_contract(estimator, check):
    check(estimator)


def test_guided_model_contract_and_clone():
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=1)
    params = model.get_params()
    assert params["seed_terms"] is SEEDS and params["n_free_topics"] == 0
    texts, _ = make_corpus(60, seed=1)
    assert model.fit(texts["text"].tolist()) is model
    assert model.get_params()["seed_terms"] is SEEDS  # fit leaves parameters alone
    twin = clone(model)
    assert not hasattr(twin, "themes_") and twin.get_params()["random_state"] == 1
    scores = model.transform(texts["text"].tolist())
    assert scores.shape == (60, 3) and scores.min() >= 0 and scores.max() <= 1
    with pytest.raises(ValueError):
        GuidedThemeModel(seed_terms={}).fit(["a text"])


def test_seed_matches_are_assigned_and_corpus_expands_themes():
    texts, truth = make_corpus(160, seed=2)
    docs = texts["text"].tolist()
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs)
    keyword = model.keyword_predict(docs)
    predicted = model.predict(docs)
    assert (predicted >= keyword).all()  # a seed match is always assigned
    truth_time = texts["id"].isin(truth.loc[truth["theme"] == "time", "id"]).to_numpy()
    # "a chance to step back from the surgery" has no seed term: only the corpus can find it
    hidden = texts["text"].str.contains("a chance to step back").to_numpy()
    assert hidden.any() and keyword[hidden, 1].sum() == 0
    assert predicted[hidden, 1].sum() >= 2
    scores = model.transform(docs)[:, 1]
    # on average the hidden texts score above every text without the theme (the held-out
    # seed check sets the cut from the seed-matched count, so the scale is the ranking's)
    assert scores[hidden].mean() > scores[~truth_time].max()
    assert predicted[~truth_time, 1].mean() < 0.1


def test_human_codes_teach_what_seeds_miss():
    texts, truth = make_corpus(160, seed=4)
    docs = texts["text"].tolist()
    theme_docs = set(truth.loc[truth["theme"] == "mdt", "id"])
    gold = texts["id"].isin(theme_docs).to_numpy().astype(int)
    y = np.full((len(docs), 3), -1)
    y[:80] = 0
    y[:80, 2] = gold[:80]
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs, y)
    assert "mdt" in model.supervised_ and model.threshold_rule_["mdt"].startswith("human codes")
    held = slice(80, None)
    recall_model = model.predict(docs)[held, 2][gold[held] == 1].mean()
    recall_keyword = model.keyword_predict(docs)[held, 2][gold[held] == 1].mean()
    assert recall_model > recall_keyword


def test_emergent_topic_surfaces_theme_missing_from_codebook():
    texts, _ = make_corpus(160, seed=5)
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics="auto", max_free_topics=3,
                             n_stability_seeds=3, random_state=0).fit(texts["text"].tolist())
    assert model.n_free_topics_ >= 1
    terms = model.free_topic_terms_
    top = terms[terms["rank"] <= 3]["term"].tolist()
    assert any(t in ("parking", "hub", "car park", "spaces") for t in top)
    sel = model.free_topic_selection_
    assert list(sel.columns) == ["k", "npmi", "stability", "criterion"]
    assert sel["criterion"].max() == pytest.approx(
        float(sel.loc[sel["k"] == model.n_free_topics_, "criterion"].iloc[0]))


def test_select_free_topics_zero_when_nothing_coherent():
    X = sparse.csr_matrix(np.eye(6))  # every document its own word: no co-occurrence at all
    k, table = select_free_topics(X, X, [1, 2], seeds=[0, 1], n_top=3)
    assert k == 0 and (table["criterion"] == 0).all()


# ------------------------------------------------ speed: shared work, same results
def test_term_ppmi_matches_hand_computation():
    ref = REF["ppmi"]
    vocab = ["a", "b", "c"]
    M = sparse.csr_matrix([[float(t in d) for t in vocab] for d in ref["docs"]])
    P = term_ppmi(M).toarray()
    assert P[0, 1] == pytest.approx(ref["ppmi_ab"], abs=ref["tolerance"]) and P[1, 0] == P[0, 1]
    assert P[0, 2] == 0 and P[1, 2] == 0 and (np.diag(P) == 0).all()


def test_distinct_rows_groups_identical_texts():
    texts = ["b", "a", "b", None, "a", ""]
    first, inverse, counts = distinct_rows(texts)
    assert first.tolist() == [0, 1, 3] and inverse.tolist() == [0, 1, 0, 2, 1, 2]
    assert counts.tolist() == [2, 2, 2]  # None and "" are the same empty text


def test_near_duplicate_groups_join_copies_with_a_prefix_or_typo_only():
    texts = ["we sorted out an old disagreement between two practices by talking",
             "since the programme, we sorted out an old disagreement between two practices by talking",
             "we sortred out an old disagreement between two practices by talkinng",
             "we sorted out the rota",
             "the demand just keeps rising",
             "the demand just keeps rising"]
    groups = near_duplicate_groups(texts)
    assert groups.tolist() == [0, 0, 0, 3, 4, 4]
    assert near_duplicate_groups([]).tolist() == []


def test_fitted_features_are_reused_and_equal_fresh_ones():
    texts, _ = make_corpus(80, seed=6)
    docs = texts["text"].tolist()
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs)
    Xt_cached, S_cached = model._features(list(docs))
    Xt_fresh, S_fresh = model._features(docs + ["an extra text"])  # not the fitted corpus: recomputed
    assert Xt_cached is model._fitted_features[1]
    assert np.allclose(Xt_cached.toarray(), Xt_fresh[:-1].toarray()) and np.array_equal(S_cached, S_fresh[:-1])
    assert np.allclose(model.transform(docs), model.transform(docs + ["x"])[:-1], atol=1e-12)


def test_seed_counts_by_index_equal_matching_each_term():
    texts, _ = make_corpus(120, seed=7)
    docs = texts["text"].tolist() + ["We had protected time and protected time again to reflect"] * 2
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs)
    lemmas = model._corpus(docs, fit=False).lemmas
    expected = np.array([[len(match_seed_terms(d, model.compiled_[t])) for t in model.themes_] for d in lemmas])
    assert np.array_equal(model.seed_counts(docs), expected)
    assert expected[-1, 1] == 2  # "protected time" counted once, "reflect" once


def test_expanders_on_distinct_texts_equal_fit_on_every_copy():
    """Weighting each distinct text by its count gives the same classifier as fitting every copy."""
    rng = np.random.default_rng(0)
    X = sparse.csr_matrix(rng.random((30, 6)))
    y = (rng.random(30) > 0.6).astype(int)
    reps = rng.integers(1, 4, 30)
    full = LogisticRegression(class_weight="balanced", solver="liblinear").fit(
        sparse.csr_matrix(np.repeat(X.toarray(), reps, axis=0)), np.repeat(y, reps))
    weighted = LogisticRegression(class_weight="balanced", solver="liblinear").fit(X, y, sample_weight=reps)
    assert np.allclose(full.coef_, weighted.coef_, atol=1e-4)


def test_fit_tfidf_equals_tfidf_vectorizer_on_every_text():
    """Counting each distinct term list once gives TfidfVectorizer's vocabulary, weights and rows, bit for bit."""
    texts, _ = make_corpus(150, seed=3)
    docs = texts["text"].tolist()
    terms = prepare_corpus(docs + docs[:40] + ["", None]).terms
    for min_df in (1, 2, 5, 0.02):
        ref = TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True)
        A = ref.fit_transform(terms).tocsr()
        vec, B = fit_tfidf(terms, min_df)
        assert ref.vocabulary_ == vec.vocabulary_ and np.array_equal(ref.idf_, vec.idf_)
        assert np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
        assert np.array_equal(A.data, B.data)
        new = [["protect", "time", "unseen"], [], terms[3]]
        assert (ref.transform(new) != vec.transform(new)).nnz == 0
    with pytest.raises(ValueError, match="no terms remain"):
        fit_tfidf([["a"], ["b"]], 2)


def test_batched_held_out_check_and_expanders_equal_liblinear_fit_by_fit():
    """The check's fold fits and the expanders, solved in fit_logistic_batch, equal liblinear's
    fits one by one (the check run with a liblinear ranker, as ``held_out_seed_check`` documents)."""
    from sklearn.model_selection import StratifiedKFold

    from pcnstudy.themes.expansion import held_out_seed_check
    from pcnstudy.themes.seed_terms import seed_term_matches

    texts, _ = make_corpus(160, seed=2)
    docs = texts["text"].tolist()
    model = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs)
    first, _, counts = distinct_rows(docs)
    Xt = model._fitted_features[1][first]
    lemmas = [model._fitted_lemmas[i] for i in first]

    def liblinear(X, y, w):
        return LogisticRegression(C=model.C, class_weight="balanced", solver="liblinear", tol=1e-10).fit(
            X, y, sample_weight=w)

    assert model.expansion_check_ and any(c.keep for c in model.expansion_check_.values())
    for theme, check in model.expansion_check_.items():
        keep = np.ones(Xt.shape[1])
        keep[model.seed_columns_[theme]] = 0.0
        Xm = sparse.csr_matrix(Xt @ sparse.diags(keep))

        def rank(labels):
            k = min(model.n_folds, int(labels.sum()), int(len(labels) - labels.sum()))
            if k < 2:
                return None
            out = np.zeros(len(labels))
            for train, test in StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(len(labels)), labels):
                out[test] = liblinear(Xm[train], labels[train], counts[train]).predict_proba(Xm[test])[:, 1]
            return out

        ref = held_out_seed_check(rank, seed_term_matches(lemmas, model.compiled_[theme]), counts,
                                  n_groups=model.expansion_groups, min_docs=model.min_seed_docs)
        assert (ref.keep, ref.ratio, ref.n_groups) == (check.keep, check.ratio, check.n_groups), theme
        assert np.allclose(ref.gains, check.gains, atol=1e-9, equal_nan=True), theme
        if theme in model.expanders_:
            j = model.themes_.index(theme)
            full = liblinear(Xm, (model._fitted_features[2][first, j] > 0).astype(int), counts)
            assert np.allclose(model.expanders_[theme].coef_, full.coef_, atol=1e-5), theme
            assert np.allclose(model.expanders_[theme].intercept_, full.intercept_, atol=1e-5), theme


def test_term_counts_store_count_vectorizer_entries_in_its_order():
    """The one-pass counts are CountVectorizer's: names, row pointers, stored column order, values."""
    from pcnstudy.themes.topics import _term_counts

    texts, _ = make_corpus(120, seed=5)
    terms = prepare_corpus(texts["text"].tolist()).terms + [[], ["zz", "aa", "zz", "mm"]]
    ref = CountVectorizer(analyzer=_identity, dtype=np.float64)
    A = ref.fit_transform(terms)
    names, B = _term_counts(terms, np.float64)
    assert type(A) is type(B) and A.indices.dtype == B.indices.dtype and A.data.dtype == B.data.dtype
    assert np.array_equal(ref.get_feature_names_out(), names)
    assert np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
    assert np.array_equal(A.data, B.data)
    with pytest.raises(ValueError, match="empty vocabulary"):
        _term_counts([[], []], np.float64)
