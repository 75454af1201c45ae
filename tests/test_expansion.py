"""Tests of the held-out seed check (pcnstudy.themes.expansion), the per-theme classifier from
human codes (pcnstudy.themes.supervised) and per-term seed matches, against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from pcnstudy.themes.expansion import added_f1_gain, expansion_cut, held_out_seed_check, seed_groups
from pcnstudy.themes.preprocess import compile_seed_terms, lemma, match_seed_terms, tokenize
from pcnstudy.themes.seed_terms import seed_term_matches
from pcnstudy.themes.supervised import coded_features, fit_coded_theme
from pcnstudy.themes.topics import GuidedThemeModel
from themes_corpus import make_corpus

SEEDS = {"trust": ["trust", "relationship", "get to know"],
         "time": ["protected time", "space to think", "reflect"],
         "mdt": ["pharmacist", "paramedic", "social prescriber"]}


def test_added_f1_gain_matches_hand_computation():
    base = np.array([1, 1, 0, 0, 0, 0], bool)
    target = np.array([0, 0, 1, 0, 1, 0], bool)
    scores = np.array([0.0, 0.0, 0.9, 0.8, 0.7, 0.1])
    # base F1 against the 4 true texts: 2*2/(2+4); adding doc 2 (a hit): 2*3/(3+4);
    # docs 2, 3: 2*3/(4+4); docs 2-5: 2*4/(6+4)
    gains = added_f1_gain(scores, base, target, np.ones(6), ratios=(0.5, 1.0, 2.0, 3.0))
    f0 = 4 / 6
    assert gains[:3] == pytest.approx([6 / 7 - f0, 6 / 8 - f0, 8 / 10 - f0])
    assert np.isnan(gains[3])  # six texts wanted, four outside the base


def test_added_f1_gain_counts_copies():
    base = np.array([1, 0, 0], bool)
    target = np.array([0, 1, 0], bool)
    # the base text occurs twice, the hit once: ratio 0.5 adds the hit (weight 1 of 2)
    gains = added_f1_gain(np.array([0.0, 0.9, 0.5]), base, target, np.array([2.0, 1.0, 1.0]), ratios=(0.5,))
    assert gains[0] == pytest.approx(2 * 3 / (3 + 3) - 2 * 2 / (2 + 3))


def test_expansion_cut_is_score_of_last_text_added():
    scores = np.array([0.2, 0.9, 0.8, 0.7, 0.6])
    matched = np.array([1, 1, 0, 0, 0], bool)
    assert expansion_cut(scores, matched, 0.5, np.ones(5)) == pytest.approx(0.8)  # one text
    assert expansion_cut(scores, matched, 1.0, np.ones(5)) == pytest.approx(0.7)  # two texts
    assert expansion_cut(scores, matched, 0.1, np.ones(5)) == float("inf")  # less than one text


def test_seed_groups_deal_terms_by_frequency():
    M = np.array([[1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 0, 1], [0, 0, 1, 0]], bool)
    groups = seed_groups(M, 2)  # frequencies 3, 0, 3, 1: term 1 never matches
    assert [g.tolist() for g in groups] == [[0, 3], [2]]
    assert seed_groups(np.zeros((3, 2), bool), 2) == []


def test_held_out_seed_check_keeps_a_precise_expansion_and_rejects_a_blind_one():
    rng = np.random.default_rng(0)
    n = 200
    M = np.zeros((n, 4), bool)
    for k in range(4):
        M[rng.choice(n, 15, replace=False), k] = True
    theme = M.any(axis=1)

    def precise(labels):  # ranks every seed-matched text first
        return theme.astype(float) + 0.01 * rng.random(n)

    def blind(labels):  # knows nothing beyond the visible seeds
        return rng.random(n)

    kept = held_out_seed_check(precise, M, np.ones(n), n_groups=2)
    assert kept.keep and kept.gain > 0 and kept.n_groups == 2
    rejected = held_out_seed_check(blind, M, np.ones(n), n_groups=2)
    assert not rejected.keep and rejected.gain <= 0
    assert not held_out_seed_check(lambda labels: None, M, np.ones(n)).keep


def test_seed_term_matches_equal_matching_each_term():
    texts, _ = make_corpus(60, seed=3)
    docs = texts["text"].tolist() + ["we had protected time to reflect"]
    lemmas = [[lemma(t) for t in tokenize(d)] for d in docs]
    terms = compile_seed_terms(SEEDS["time"])
    M = seed_term_matches(lemmas, terms)
    expected = np.array([[term in match_seed_terms(d, terms) for term in terms] for d in lemmas])
    assert np.array_equal(M, expected) and M[-1].tolist() == [True, False, True]


def test_coded_classifier_replaces_the_rule_only_when_it_beats_it():
    rng = np.random.default_rng(1)
    n = 120
    y = (rng.random(n) < 0.3).astype(int)
    informative = sparse.csr_matrix(np.c_[y + 0.1 * rng.random(n), rng.random((n, 3))])
    blind_rule = (rng.random(n) < 0.3).astype(int)
    fitted = fit_coded_theme(informative, y, blind_rule, n_folds=5, C=1.0, seed=0)
    assert fitted.use and fitted.kappa_cv > fitted.kappa_rule
    noise = sparse.csr_matrix(rng.random((n, 4)))
    kept = fit_coded_theme(noise, y, y, n_folds=5, C=1.0, seed=0)  # the rule is already perfect
    assert not kept.use and kept.kappa_rule == pytest.approx(1.0)
    assert fit_coded_theme(noise, np.r_[1, np.zeros(n - 1, int)], y, n_folds=5, C=1.0, seed=0) is None
    F = coded_features(sparse.csr_matrix(np.ones((2, 3))), sparse.csr_matrix(np.ones((2, 4))),
                       np.array([[0, 2], [1, 0]]), np.zeros((2, 2)), 1)
    assert F.shape == (2, 3 + 4 + 2 + 2 + 1)


def test_fit_codes_equals_fit_with_codes():
    texts, truth = make_corpus(160, seed=4)
    docs = texts["text"].tolist()
    gold = texts["id"].isin(set(truth.loc[truth["theme"] == "mdt", "id"])).to_numpy().astype(int)
    y = np.full((len(docs), 3), -1)
    y[:80] = 0
    y[:80, 2] = gold[:80]
    once = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs, y)
    later = GuidedThemeModel(seed_terms=SEEDS, n_free_topics=0, random_state=0).fit(docs).fit_codes(y)
    assert np.array_equal(once.predict(docs), later.predict(docs))
    assert once.threshold_rule_ == later.threshold_rule_
