"""Tests of multi-word seeds matched with an inserted word and of the phrase-variant guard
(pcnstudy.themes.seed_terms.phrase_variant_counts, expansion.mixture_precision and
GuidedThemeModel's use of them), against hand-written sentences and hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from pcnstudy.themes.expansion import mixture_precision
from pcnstudy.themes.preprocess import compile_seed_terms, lemma, tokenize
from pcnstudy.themes.seed_terms import count_seed_terms, phrase_variant_counts, seed_index
from pcnstudy.themes.topics import ASSIGN_AT, GuidedThemeModel


def _lemmas(texts):
    return [[lemma(t) for t in tokenize(text)] for text in texts]


def _variants(texts, seeds, max_gap=1):
    themes = list(seeds)
    index = seed_index(themes, {t: compile_seed_terms(seeds[t]) for t in themes})
    return phrase_variant_counts(_lemmas(texts), index, len(themes), max_gap)


def test_phrase_variants_match_one_inserted_word_in_order_only():
    seeds = {"informed": ["kept informed", "kept up to date"], "wait": ["wait"]}
    texts = ["They kept me informed throughout.",      # one word inserted: a variant
             "We were kept informed.",                 # as written: the rule's match, not a variant
             "They kept us fully informed.",           # two words inserted: too far at gap 1
             "Informed and kept waiting.",             # wrong order
             "Keep me up to date please.",             # inflection and one word: a variant
             "Kept me informed and kept us up to date.",  # two distinct variant terms
             "Short wait."]                            # single-word seeds never count
    V = _variants(texts, seeds)
    assert V[:, 0].tolist() == [1, 0, 0, 0, 1, 2, 0]
    assert V[:, 1].tolist() == [0] * 7
    assert _variants(texts, seeds, max_gap=2)[2, 0] == 1  # two inserted words at gap 2


def test_phrase_variant_is_not_counted_where_the_term_occurs_as_written():
    seeds = {"informed": ["kept informed"]}
    texts = ["Kept me informed, and later kept informed again."]
    assert _variants(texts, seeds)[0, 0] == 0
    index = seed_index(["informed"], {"informed": compile_seed_terms(seeds["informed"])})
    assert count_seed_terms(_lemmas(texts), index, 1)[0, 0] == 1


def test_mixture_precision_matches_hand_computation():
    # seed matches score 0.8 on average, the rest 0.2; added texts 0.5 -> (0.5-0.2)/(0.8-0.2)
    scores = np.array([0.9, 0.7, 0.6, 0.4, 0.3, 0.1, 0.2])
    seed = np.array([1, 1, 0, 0, 0, 0, 0], bool)
    added = np.array([0, 0, 1, 1, 0, 0, 0], bool)
    assert mixture_precision(scores, seed, added, np.ones(7)) == pytest.approx(0.5)
    # copies weigh: the added text at 0.6 counted three times -> mean (1.8+0.4)/4 = 0.55
    w = np.array([1, 1, 3, 1, 1, 1, 1.0])
    assert mixture_precision(scores, seed, added, w) == pytest.approx((0.55 - 0.2) / 0.6)
    # undefined when nothing is added or the seed matches do not score above the rest
    assert np.isnan(mixture_precision(scores, seed, np.zeros(7, bool), np.ones(7)))
    assert np.isnan(mixture_precision(1 - scores, seed, added, np.ones(7)))


def _corpus(variant_context: str, n: int = 30):
    texts = []
    for i in range(n):
        texts.append(f"the crew kept informed about the arrival time {i % 3}")
        texts.append(f"arrival time updates and kept informed by phone call {i % 4}")
        texts.append(f"lovely food and a nice garden today {i % 5}")
        texts.append(f"parking was hard and the car park full {i % 2}")
    texts += [f"they kept me informed {variant_context}" for _ in range(6)]
    return texts


def test_guard_keeps_variants_whose_texts_read_like_seed_matches_and_rule_is_unchanged():
    seeds = {"informed": ["kept informed"], "food": ["food"]}
    texts = _corpus("about the arrival time by phone call")
    model = GuidedThemeModel(seed_terms=seeds, n_free_topics=0, random_state=0).fit(texts)
    check = model.phrase_variant_check_["informed"]
    assert check["n_added"] == 6 and check["precision"] >= 0.5 and check["kept"]
    assert model.phrase_themes_ == ["informed"]
    variant = [i for i, t in enumerate(texts) if "kept me informed" in t]
    assert (model.transform(texts)[variant, 0] >= ASSIGN_AT).all()
    assert model.keyword_predict(texts)[variant, 0].sum() == 0  # the plain rule matches as written only
    # the same on texts not fitted (evidence recomputed)
    fresh = ["they kept me informed about the arrival", "lovely food"]
    assert model.predict(fresh).tolist() == [[1, 0], [0, 1]]


def test_guard_rejects_variants_whose_texts_read_unlike_seed_matches():
    seeds = {"informed": ["kept informed"], "food": ["food"]}
    texts = _corpus("and the car park was full parking")
    model = GuidedThemeModel(seed_terms=seeds, n_free_topics=0, random_state=0).fit(texts)
    check = model.phrase_variant_check_["informed"]
    assert check["precision"] < 0.5 and not check["kept"]
    assert model.phrase_themes_ == []
    variant = [i for i, t in enumerate(texts) if "kept me informed" in t]
    assert model.seed_counts(texts)[variant, 0].sum() == 0
    assert not model.expansion_check_.get("informed") or not model.expansion_check_["informed"].keep
    assert model.zero_shot_predict(texts)[variant, 0].sum() == 0  # not seed evidence, not expanded to


def test_phrase_gap_zero_turns_variants_off():
    seeds = {"informed": ["kept informed"], "food": ["food"]}
    texts = _corpus("about the arrival time by phone call")
    model = GuidedThemeModel(seed_terms=seeds, n_free_topics=0, phrase_gap=0, random_state=0).fit(texts)
    assert model.phrase_themes_ == []
