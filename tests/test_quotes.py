"""Exemplar quotes, prevalence intervals clustered by person and agreement with the seed-term rule.

Quotes: distinct (no two near-duplicates, no person twice for a theme), each carrying
the theme it illustrates (its own text matches the theme's seed terms), attributed by
role and programme without narrowing a quote to fewer than min_cell people, nothing
personal in the table. Clustered intervals: the cluster-robust variance checked against
statsmodels' OLS with cov_type="cluster" (a second implementation), the design effect
against its closed form for perfectly correlated clusters.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pcnstudy.core.proportions import cluster_proportion, cluster_wilson_ci, wilson_ci
from pcnstudy.paper.prose import seed_rule_sentence
from pcnstudy.paper.tables import programme_names, quotes_table
from pcnstudy.themes.coding import seed_rule_agreement
from pcnstudy.themes.prevalence import clustered_prevalence, disclose_clustered, prevalence_table
from pcnstudy.themes.quotes import (ANONYMOUS_ROLE, MAX_SIMILARITY, QUOTE_COLUMNS, quote_roles, quote_similarity,
                                    select_quotes, sentence_seed_themes, theme_excerpt)
from pcnstudy.themes.stage import disclose_agreement, quote_sources

SEEDS = {"trust": ["trust", "relationship"], "time": ["protected time", "headspace"],
         "mdt": ["pharmacist", "paramedic"]}
TEMPLATES = {
    "trust": ["It all comes down to relationships, without trust nothing moves.",
              "Trust was the thing we had to build first, everything else followed.",
              "Our relationship with the federation is much better than it was."],
    "time": ["Protected time away from the day job made all the difference.",
             "The headspace to step back from the surgery was really valuable.",
             "I finally had protected time for thinking about the network."],
    "mdt": ["Bringing the pharmacist into our planning meetings changed the conversation.",
            "Hearing the paramedic's point of view opened my eyes to urgent care.",
            "The pharmacist and I now run the medicines review clinic together."],
}
FILLER = ["The venue was easy to reach by train.", "Lunch was good.", "I would recommend it to colleagues."]


def _corpus(n_people: int = 30, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Texts built from stock sentences (each repeated by many people), two answers a person."""
    rng = np.random.default_rng(seed)
    rows, scores = [], []
    for person in range(n_people):
        for q in range(2):
            theme = list(TEMPLATES)[(person + q) % 3]
            other = list(TEMPLATES)[(person + q + 1) % 3]
            sentences = [rng.choice(TEMPLATES[theme]), rng.choice(FILLER)]
            if rng.random() < 0.5:
                sentences.append(rng.choice(TEMPLATES[other]))
            prefix = rng.choice(["", "For me, ", "Honestly, "])
            text = prefix + " ".join(sentences)
            rid = f"c{person % 2}-end-{person}-q{q}"
            rows.append({"id": rid, "text": text, "respondent": f"r_{person:012x}", "cohort": f"c{person % 2}"})
            for t in TEMPLATES:
                hit = sentence_seed_themes([text], SEEDS)[0][list(SEEDS).index(t)]
                scores.append({"id": rid, "theme": t, "score": 0.9 if hit else 0.1, "assigned": int(hit)})
    return pd.DataFrame(rows), pd.DataFrame(scores)


def test_similarity_catches_a_stock_sentence_inside_a_longer_answer():
    stock = "My job is to facilitate and enable, not to command."
    assert quote_similarity(stock, stock) == 1.0
    assert quote_similarity(stock, "Yeah, the collective decision is slower but it sticks. " + stock) == 1.0
    assert quote_similarity("For me it was the confidence to speak up.", "The confidence to speak up.") == 1.0
    assert quote_similarity("Lunch was good.", "Protected time away from the day job.") == 0.0
    # {protected, time, away, day, job} vs {time, clinical, work, reflect}: one shared word of four
    assert quote_similarity("Protected time away from the day job.",
                            "Time out from clinical work to reflect.") == pytest.approx(0.25)


def test_excerpt_keeps_only_the_sentences_carrying_the_theme():
    text = "Trust was the thing we had to build first. Lunch was good. Our relationship is better now."
    excerpt, others, n_terms = theme_excerpt(text, "trust", SEEDS)
    assert excerpt == "Trust was the thing we had to build first. … Our relationship is better now."
    assert others == 0 and n_terms == 2
    assert theme_excerpt("Lunch was good.", "trust", SEEDS)[1] is None  # no seed term: the whole text


def test_quotes_are_distinct_carry_their_theme_and_never_quote_a_person_twice_for_a_theme():
    texts, doc = _corpus()
    quotes = select_quotes(doc, texts, n_quotes=3, seed_terms=SEEDS)
    assert list(quotes.columns) == QUOTE_COLUMNS
    assert set(quotes["theme"]) == set(SEEDS) and quotes.groupby("theme").size().max() <= 3
    for a, b in itertools.combinations(quotes["text"], 2):
        assert quote_similarity(a, b) < MAX_SIMILARITY, (a, b)
    person = texts.set_index("id")["respondent"]
    assert not quotes.assign(who=quotes["id"].map(person)).duplicated(["theme", "who"]).any()
    for rec in quotes.to_dict("records"):
        carried = sentence_seed_themes([rec["text"]], SEEDS)[0]
        assert carried[list(SEEDS).index(rec["theme"])] == 1, rec  # the quote's own words carry its theme
        assert rec["seed_matched"] == 1
        assert "Lunch was good" not in rec["text"] and "venue" not in rec["text"]  # nothing off the theme
        assert doc[(doc["id"] == rec["id"]) & (doc["theme"] == rec["theme"])]["assigned"].iloc[0] == 1
    # the old rule (whole answers by score) quotes stock sentences twice; this one cannot
    whole = select_quotes(doc, texts, n_quotes=3, max_similarity=1.01)
    assert any(quote_similarity(a, b) >= MAX_SIMILARITY for a, b in itertools.combinations(whole["text"], 2))


def test_quotes_rank_seed_matched_excerpts_before_answers_the_model_added():
    texts = pd.DataFrame({"id": ["a", "b"], "text": ["We met every month and talked things over properly.",
                                                      "Trust grew slowly between the practice managers there."]})
    doc = pd.DataFrame({"id": ["a", "b"], "theme": "trust", "score": [0.99, 0.6], "assigned": 1})
    quotes = select_quotes(doc, texts, n_quotes=2, seed_terms=SEEDS)
    assert quotes["id"].tolist() == ["b", "a"] and quotes["seed_matched"].tolist() == [1, 0]


def test_roles_are_shown_only_where_enough_people_share_them():
    people = pd.DataFrame({
        "respondent": [f"r{i}" for i in range(14)],
        "cohort": ["a"] * 12 + ["b"] * 2,
        "profession": ["GP"] * 8 + ["Nurse"] * 3 + ["Paramedic"] + ["GP"] * 2,
        "role": ["Clinical director"] * 5 + ["GP partner"] * 3 + ["Lead nurse"] * 3 + ["Paramedic practitioner"]
                + ["Clinical director"] * 2,
    })
    roles = quote_roles(people, min_cell=5)
    assert roles["r0"] == "Clinical director"  # 5 clinical directors in cohort a
    assert roles["r5"] == "GP"  # 3 GP partners: too few, but 8 GPs
    assert roles["r8"] == ANONYMOUS_ROLE and roles["r11"] == ANONYMOUS_ROLE  # 3 nurses, 1 paramedic
    assert roles["r12"] == ANONYMOUS_ROLE  # cohort b's 2 clinical directors: counted within their cohort
    for label in set(roles):
        if label != ANONYMOUS_ROLE:
            assert ((people["role"] == label) | (people["profession"] == label)).sum() >= 5


def test_stage_quote_sources_attribute_without_anything_personal():
    texts, doc = _corpus()
    processed = texts.rename(columns={"id": "response_id"}).assign(pcn="Alder PCN", group="set 1", profession="GP")
    people = processed.drop_duplicates("respondent")[["respondent", "cohort"]].assign(
        profession="GP", role=["Clinical director"] * 20 + ["Practice manager"] * 10)
    sources = quote_sources(processed, people, min_cell=5)
    quotes = select_quotes(doc, sources, n_quotes=3, seed_terms=SEEDS)
    assert not {"respondent", "pcn", "group", "profession"} & set(quotes.columns)
    assert (quotes["role"] != "").all() and (quotes["cohort"].isin(["c0", "c1"])).all()
    # roles held by at least 5 respondents of their cohort, else the profession, else "participant"
    counts = people.groupby(["cohort", "role"]).size()
    for rec in quotes.to_dict("records"):
        if rec["role"] in set(people["role"]):
            assert counts[(rec["cohort"], rec["role"])] >= 5
        assert "r_" not in rec["text"] and "Alder" not in rec["text"]


def test_paper_quotes_are_attributed_by_role_and_plain_programme_label():
    cohorts = [{"cohort": "se_2", "programme": "Multiprofessional programme", "start": "2021-09-01"},
               {"cohort": "se_1", "programme": "Multiprofessional programme", "start": "2020-09-01"},
               {"cohort": "llr", "programme": "Clinical directors programme", "start": "2020-09-01"}]
    names = programme_names(cohorts)
    assert names == {"se_1": "Multiprofessional programme, cohort 1", "llr": "Clinical directors programme",
                     "se_2": "Multiprofessional programme, cohort 2"}
    quotes = pd.DataFrame({"theme": ["t", "t"], "rank": ["1", "2"], "cohort": ["se_2", "llr"],
                           "role": ["practice manager", ANONYMOUS_ROLE], "text": ["One quote here.", "Another."]})
    table = quotes_table(quotes, {"t": "Trust"}, programmes=names)
    assert "Practice manager, Multiprofessional programme, cohort 2" in table
    assert "Participant, Clinical directors programme" in table
    assert "se_2" not in table and "llr" not in table and table.splitlines()[0].split("|")[3].strip() == "Source"


def test_cluster_robust_variance_matches_statsmodels():
    rng = np.random.default_rng(11)
    groups = rng.integers(0, 40, 250)
    y = (rng.normal(size=40)[groups] + rng.normal(size=250) > 0.4).astype(int)
    p, var, deff, g = cluster_proportion(y, groups)
    fit = sm.OLS(y.astype(float), np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert p == pytest.approx(fit.params[0], abs=1e-12)
    assert var == pytest.approx(fit.bse[0] ** 2, rel=1e-10)
    assert deff == pytest.approx(var / (p * (1 - p) / len(y)), rel=1e-12) and g == len(np.unique(groups))
    low, high = cluster_wilson_ci(y.sum(), len(y), deff)
    ref_low, ref_high = wilson_ci(y.sum() / deff, len(y) / deff)
    assert (float(low), float(high)) == pytest.approx((float(ref_low), float(ref_high)), abs=1e-12)
    naive = wilson_ci(y.sum(), len(y))
    assert deff > 1 and low < naive[0] and high > naive[1]


def test_design_effect_of_perfectly_correlated_clusters_is_its_closed_form():
    # G people each giving m identical answers: var = p(1-p)/(G-1), deff = mG/(G-1)
    m, per_person = 4, np.array([1, 0, 0, 1, 1, 0, 0, 0, 1, 0])
    y = np.repeat(per_person, m)
    groups = np.repeat(np.arange(len(per_person)), m)
    p, var, deff, g = cluster_proportion(y, groups)
    G = len(per_person)
    assert var == pytest.approx(p * (1 - p) / (G - 1), rel=1e-12)
    assert deff == pytest.approx(m * G / (G - 1), rel=1e-12)
    # one answer a person: deff is the small-sample factor N/(N-1), the interval barely wider
    assert cluster_proportion(per_person, np.arange(G))[2] == pytest.approx(G / (G - 1))
    # undefined (a share of 1, one person) counts as deff 1: the plain Wilson interval
    assert np.isnan(cluster_proportion(np.ones(5), np.arange(5))[2])
    assert cluster_wilson_ci(5, 5, np.nan) == wilson_ci(5, 5)


def test_clustered_prevalence_and_its_disclosure():
    texts, doc = _corpus()
    matrix = doc.pivot(index="id", columns="theme", values="assigned")
    meta = texts.set_index("id").loc[matrix.index]
    plain = prevalence_table(matrix, meta, by=["cohort"])
    clustered = clustered_prevalence(matrix, meta, by=["cohort"])
    assert clustered[["dimension", "level", "theme", "n", "n_total"]].equals(
        plain[["dimension", "level", "theme", "n", "n_total"]])
    overall = clustered[clustered["dimension"] == "all"]
    assert (overall["n_people"] == 30).all() and (overall["n_total"] == 60).all()
    wider = (clustered["prop_cl_ci_high"] - clustered["prop_cl_ci_low"]) >= (
        plain["prop_ci_high"] - plain["prop_ci_low"]) - 1e-12
    assert wider.all()  # deff below 1 counts as 1: never narrower
    shown = plain.astype({"n": str, "prop": str})
    shown.loc[1, ["n", "prop"]] = "<5"
    published = disclose_clustered(clustered, shown)
    assert list(published.columns) == ["dimension", "level", "theme", "deff", "prop_cl_ci_low", "prop_cl_ci_high"]
    assert (published.loc[1, ["deff", "prop_cl_ci_low", "prop_cl_ci_high"]] == "<5").all()
    assert float(published.loc[0, "prop_cl_ci_low"]) == pytest.approx(clustered.loc[0, "prop_cl_ci_low"], abs=1e-4)


def test_seed_rule_agreement_per_theme():
    keyword = np.array([[1, 0], [1, 1], [0, 0], [0, 1], [1, 0], [0, 0]])
    assigned = keyword.copy()
    assigned[2, 1] = 1  # the model adds one response to the second theme
    table = seed_rule_agreement(["a", "b"], assigned, keyword)
    assert table["kappa"].iloc[0] == pytest.approx(1.0)
    # second theme: model 3 of 6, rule 2 of 6, agreeing on 5: p_o 5/6, p_e (3*2 + 3*4)/36 = 0.5
    assert table["kappa"].iloc[1] == pytest.approx((5 / 6 - 0.5) / 0.5)
    shown = pd.DataFrame({"dimension": ["all", "all"], "level": "all", "theme": ["a", "b"], "n": ["3", "<5"],
                          "prop": ["0.5", "<5"]})
    published = disclose_agreement(table, shown)
    assert published["kappa"].tolist() == ["1.0000", "<5"] and published["alpha"].iloc[1] == "<5"


def test_seed_rule_sentence_says_what_the_agreement_means():
    assert "identical" in seed_rule_sentence({"kappa_min": 1.0, "kappa_max": 1.0, "n_themes": 10, "n_identical": 10})
    close = seed_rule_sentence({"kappa_min": 0.92, "kappa_max": 0.99, "n_themes": 10, "n_identical": 0})
    assert "0.92 to 0.99" in close and "little beyond its seed terms" in close
    assert "materially" in seed_rule_sentence({"kappa_min": 0.4, "kappa_max": 0.9, "n_themes": 3, "n_identical": 0})
    assert "could be shown" in seed_rule_sentence(None)
