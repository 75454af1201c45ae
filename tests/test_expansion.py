"""Tests of the held-out seed check (pcnstudy.themes.expansion), the per-theme classifier from
human codes (pcnstudy.themes.supervised) and per-term seed matches, against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.special import logit as scipy_logit

from pcnstudy.themes.expansion import added_f1_gain, expansion_cut, held_out_seed_check, seed_groups
from pcnstudy.themes.preprocess import compile_seed_terms, lemma, match_seed_terms, tokenize
from pcnstudy.themes.seed_terms import seed_term_matches
from pcnstudy.themes.supervised import (coded_features, coded_folds, first_stage_scores, fit_stacked_codes,
                                        stacked_features)
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
    noise = sparse.csr_matrix(rng.random((n, 4)))
    blind_rule = (rng.random(n) < 0.3).astype(int)
    Y = np.c_[y, y, np.r_[1, np.zeros(n - 1, int)]]
    _, (fitted, kept, rare) = fit_stacked_codes([informative, noise, noise], Y, np.c_[blind_rule, y, y],
                                                n_folds=5, C=1.0, seed=0)
    assert fitted.use and fitted.kappa_cv > fitted.kappa_rule
    assert not kept.use and kept.kappa_rule == pytest.approx(1.0)  # the rule is already perfect
    assert rare is None  # a single coded example
    F = coded_features(sparse.csr_matrix(np.ones((2, 3))), sparse.csr_matrix(np.ones((2, 4))),
                       np.array([[0, 2], [1, 0]]), np.zeros((2, 2)), 1)
    assert F.shape == (2, 3 + 4 + 2 + 2 + 1)
    P = np.array([[0.1, 0.5, 0.9], [0.2, 0.5, 1.0]])
    stacked = stacked_features(F, P, 1).toarray()
    assert stacked.shape == (2, F.shape[1] + 2) and np.array_equal(stacked[:, :F.shape[1]], F.toarray())
    assert np.allclose(stacked[:, -2:], scipy_logit(np.array([[0.1, 0.9], [0.2, 1 - 1e-4]])))


def test_stacking_learns_a_theme_from_another_themes_scores():
    # theme 1 is coded exactly when theme 0 is, but its own features are noise: only the
    # second stage (theme 0's out-of-fold first-stage score among its features) can learn it
    rng = np.random.default_rng(2)
    n = 150
    y = (rng.random(n) < 0.3).astype(int)
    informative = sparse.csr_matrix(np.c_[y + 0.2 * rng.random(n), rng.random((n, 3))])
    noise = sparse.csr_matrix(rng.random((n, 4)))
    rule = np.zeros((n, 2), int)
    _, (a, b) = fit_stacked_codes([informative, noise], np.c_[y, y], rule, n_folds=5, C=10.0, seed=0)
    assert a.use and b.use and b.stage == 2
    assert b.kappa_stacked > 0.8 and b.kappa_first < 0.3


def test_coded_folds_share_rare_examples():
    Y = np.zeros((40, 2), int)
    Y[:5, 0] = 1
    Y[5:25, 1] = 1
    folds = coded_folds(Y, 5, seed=0)
    assert sorted(folds[:5].tolist()) == [0, 1, 2, 3, 4]  # the rare theme's examples, one per fold
    assert np.bincount(folds).tolist() == [8] * 5


def _flip_changes(scores_of, Y, rows, flip):
    """Whether flipping the codes of ``flip`` (every theme) changes the scores of ``rows``."""
    Z = Y.copy()
    Z[flip] = 1 - Z[flip]
    return not np.allclose(scores_of(Y)[rows], scores_of(Z)[rows])


def test_first_stage_scores_never_see_the_texts_own_code():
    rng = np.random.default_rng(3)
    n, T = 60, 3
    Y = (rng.random((n, T)) < 0.4).astype(int)
    Fs = [sparse.csr_matrix(np.c_[Y[:, j] + 0.5 * rng.random(n), rng.random((n, 2))]) for j in range(T)]
    folds = coded_folds(Y, 4, seed=0)
    stage = lambda Z: first_stage_scores(Fs, Z, folds, 1.0, 0)
    for i in (0, 17, 42):
        # out of fold: a text's score does not move when its own code does ...
        assert not _flip_changes(lambda Z: stage(Z).oof, Y, [i], [i])
        # ... but moves when the codes of another fold do (the check can fail)
        assert _flip_changes(lambda Z: stage(Z).oof, Y, [i], np.where(folds != folds[i])[0])
    k = 1
    fold_k = np.where(folds == k)[0]
    other = np.where(folds == 2)[0]
    nested = lambda Z: stage(Z).nested[k]
    # in the second stage's fold k, no first-stage score saw a code of fold k, and a text of
    # fold m none of fold m
    assert not _flip_changes(nested, Y, np.arange(n), fold_k)
    assert not _flip_changes(nested, Y, other, other)
    assert _flip_changes(nested, Y, other, np.where(folds == 3)[0])


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
