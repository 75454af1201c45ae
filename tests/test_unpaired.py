"""Unpaired change (cohorts whose waves cannot be linked) against R's t.test / wilcox.test
answers on Student's sleep data taken as two independent groups, and against scipy and
statsmodels, through the functions the scores stage calls (``unpaired_change_table``,
``unpaired_model_table``); then the stage choosing statistics by each cohort's design."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats._delta_method import NonlinearDeltaCov

from lmm_oracle import lmm_from_arrays
from pcnstudy.core.paths import INSTRUMENT
from pcnstudy.scores.ratings_table import add_domain_scores, validate_long
from pcnstudy.scores.stage import ScoresSettings, compute, read_inputs, write
from pcnstudy.scores.unpaired import (UNPAIRED_COLUMNS, DesignError, cohort_designs, fit_unpaired_model,
                                      mann_whitney, mannwhitney_counts, pct_change_independent,
                                      unpaired_change_table, unpaired_model_table, welch_t)
from pcnstudy.simulate.ratings import simulate_ratings
from reference import RESULTS, assert_matches

SETTINGS = ScoresSettings(alpha=0.05, bootstrap_reps=50, seed=1, min_pcn_groups=10, min_cell=5,
                          disclosure_rule="threshold", cohorts=())


@pytest.fixture(scope="module")
def sleep():
    d = pd.read_csv(RESULTS / "sleep.csv")
    return d.loc[d["group"] == 1, "extra"].to_numpy(), d.loc[d["group"] == 2, "extra"].to_numpy()


def sleep_long(sleep):
    """The sleep data as an unpaired cohort: group 2 answered at baseline, group 1 (other people) at end,
    so that mean_to - mean_from is R's group 1 - group 2."""
    g1, g2 = sleep
    rows = [{"cohort": "anon", "respondent": f"b{i}", "wave": "baseline", "item": "x", "score": v}
            for i, v in enumerate(g2)]
    rows += [{"cohort": "anon", "respondent": f"e{i}", "wave": "end", "item": "x", "score": v}
             for i, v in enumerate(g1)]
    return add_domain_scores(validate_long(pd.DataFrame(rows)))


def test_table_welch_and_mann_whitney_match_r_on_sleep(sleep):
    row = unpaired_change_table(sleep_long(sleep)).iloc[0]
    assert_matches("sleep_welch_t", {"t": row["welch_t"], "df": row["welch_df"], "p": row["p_welch"],
                                     "ci_low": row["diff_ci_low"], "ci_high": row["diff_ci_high"]})
    assert_matches("sleep_mann_whitney", {"w": row["mannwhitney_u"], "p": row["p_mannwhitney"]})
    assert row["mannwhitney_method"] == "normal"  # sleep has ties: R's exact = FALSE route
    assert not row["paired"]
    assert list(unpaired_change_table(sleep_long(sleep)).columns) == UNPAIRED_COLUMNS


def test_welch_t_matches_scipy(sleep):
    rng = np.random.default_rng(3)
    for a, b in [sleep[::-1], (rng.normal(3, 1, 7), rng.normal(3.6, 2, 19))]:
        mine = welch_t(a, b, alpha=0.1)
        ref = stats.ttest_ind(b, a, equal_var=False)
        ci = ref.confidence_interval(0.9)
        for got, want in [(mine["welch_t"], ref.statistic), (mine["p_welch"], ref.pvalue), (mine["welch_df"], ref.df),
                          (mine["diff_ci_low"], ci.low), (mine["diff_ci_high"], ci.high)]:
            assert got == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_mann_whitney_matches_scipy_exact_and_asymptotic():
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.normal(size=int(rng.integers(2, 15)))
        b = rng.normal(0.5, size=int(rng.integers(2, 15)))
        mine = mann_whitney(a, b)
        ref = stats.mannwhitneyu(b, a, method="exact")
        assert mine["mannwhitney_method"] == "exact"
        assert mine["mannwhitney_u"] == ref.statistic
        assert mine["p_mannwhitney"] == pytest.approx(ref.pvalue, rel=1e-10)
    a, b = rng.integers(1, 6, 60).astype(float), rng.integers(2, 7, 45).astype(float)  # ties, large
    mine, ref = mann_whitney(a, b), stats.mannwhitneyu(b, a, method="asymptotic", use_continuity=True)
    assert mine["mannwhitney_method"] == "normal"
    assert mine["mannwhitney_u"] == ref.statistic
    assert mine["p_mannwhitney"] == pytest.approx(ref.pvalue, rel=1e-10)
    # CLES counts pairs directly; rank-biserial is 2 CLES - 1
    greater = (b[:, None] > a[None, :]).mean() + 0.5 * (b[:, None] == a[None, :]).mean()
    assert mine["cles"] == pytest.approx(greater, abs=1e-12)
    assert mine["rank_biserial"] == pytest.approx(2 * greater - 1, abs=1e-12)


def test_exact_null_counts_are_the_binomial_orderings():
    from math import comb
    for m, n in [(1, 1), (3, 4), (6, 2), (10, 10)]:
        counts = mannwhitney_counts(m, n)
        assert counts.size == m * n + 1 and counts.sum() == comb(m + n, m)
        assert np.array_equal(counts, counts[::-1])  # symmetric about m n / 2


def test_pct_change_ci_is_the_delta_method_on_the_log_ratio():
    rng = np.random.default_rng(7)
    a, b = rng.normal(3.0, 0.8, 23), rng.normal(3.7, 0.6, 31)
    pct, low, high = pct_change_independent(a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size)
    # statsmodels' delta method (numerical derivative) on log(m_to / m_from), the means independent
    delta = NonlinearDeltaCov(lambda p: np.log(np.atleast_1d(p[1] / p[0])), np.array([a.mean(), b.mean()]),
                              np.diag([a.var(ddof=1) / a.size, b.var(ddof=1) / b.size]))
    se = float(np.sqrt(delta.cov())[0, 0])
    va, vb = a.var(ddof=1) / (a.size * a.mean() ** 2), b.var(ddof=1) / (b.size * b.mean() ** 2)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    q = stats.t.ppf(0.975, df)
    assert float(pct) == pytest.approx(b.mean() / a.mean() - 1, rel=1e-12)
    assert float(low) == pytest.approx(np.exp(np.log(b.mean() / a.mean()) - q * se) - 1, rel=1e-6)
    assert float(high) == pytest.approx(np.exp(np.log(b.mean() / a.mean()) + q * se) - 1, rel=1e-6)
    nan = pct_change_independent(-1.0, 1.0, 10, 2.0, 1.0, 10)
    assert np.isnan(nan[1]) and np.isnan(nan[2])


def _two_waves(n_pcn: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for wave, shift in (("baseline", 0.0), ("end", 0.6)):
        for i in range(60):
            pcn = f"p{i % n_pcn}"
            effect = (i % n_pcn) * 0.15
            rows.append({"cohort": "anon", "respondent": f"{wave}{i}", "wave": wave, "item": "d", "level": "domain",
                         "pcn": pcn, "score": 3 + shift + effect + rng.normal(0, 0.7)})
    return pd.DataFrame(rows)


def test_model_without_random_effect_is_ols():
    data = _two_waves(4, 9)
    fit = fit_unpaired_model(data, ["baseline", "end"], min_pcn_groups=10).set_index("term")
    ols = sm.OLS(data["score"], sm.add_constant((data["wave"] == "end").astype(float))).fit()
    assert fit.loc["wave[T.end]", "estimate"] == pytest.approx(ols.params.iloc[1], rel=1e-10)
    assert fit.loc["wave[T.end]", "se"] == pytest.approx(ols.bse.iloc[1], rel=1e-10)
    assert fit.loc["wave[T.end]", "p"] == pytest.approx(ols.pvalues.iloc[1], rel=1e-8)
    ci = ols.conf_int().iloc[1]
    assert fit.loc["wave[T.end]", "ci_low"] == pytest.approx(ci[0], rel=1e-10)
    assert (fit["model"] == "ols").all() and "no respondent effect" in fit["note"].iloc[0]
    # two waves, no random effect: the pooled-variance t-test
    t = stats.ttest_ind(data.loc[data.wave == "end", "score"], data.loc[data.wave == "baseline", "score"])
    assert fit.loc["wave[T.end]", "p"] == pytest.approx(t.pvalue, rel=1e-8)


def test_model_with_pcn_intercept_matches_statsmodels_mixedlm():
    data = _two_waves(12, 10)
    fit = fit_unpaired_model(data, ["baseline", "end"], min_pcn_groups=10).set_index("term")
    exog = pd.DataFrame({"Intercept": 1.0, "end": (data["wave"] == "end").astype(float)})
    ref = lmm_from_arrays(data["score"].to_numpy(), exog, data["pcn"].to_numpy()).fit(reml=True)
    assert (fit["model"] == "pcn_random_intercept").all()
    assert fit.loc["wave[T.end]", "estimate"] == pytest.approx(ref.fe_params.iloc[1], abs=1e-5)
    assert fit.loc["wave[T.end]", "se"] == pytest.approx(ref.bse_fe.iloc[1], rel=2e-2)
    assert fit["sd_pcn"].iloc[0] == pytest.approx(np.sqrt(ref.cov_re.iloc[0, 0]), rel=1e-3)


def test_designs_are_read_from_the_cohorts_table():
    assert cohort_designs(None) == {}
    assert cohort_designs(pd.DataFrame({"cohort": ["a"]})) == {}
    table = pd.DataFrame({"cohort": ["a", "b", "c"], "design": ["unpaired", None, "single_wave"]})
    assert cohort_designs(table) == {"a": "unpaired", "b": "paired", "c": "single_wave"}
    with pytest.raises(DesignError, match=r"cohorts.parquet:3:design: unknown design 'anonymus'"):
        cohort_designs(pd.DataFrame({"cohort": ["a", "b"], "design": ["paired", "anonymus"]}))


# --------------------------------------------------------------------------- the stage, by design

def _spec(name, waves, n, pct):
    return {"cohort": name, "pcns": [f"{name} PCN {i}" for i in range(6)], "n_respondents": n,
            "waves": {w: {"items": True} for w in waves}, "attrition": {w: 0.15 for w in waves[1:]},
            "ratings": {"pct_change": pct}}


def _write_study(folder, ratings, designs):
    ratings.to_parquet(folder / "ratings.parquet")
    ends = ratings[ratings.wave == "end"].drop_duplicates(["cohort", "respondent"])
    fb = ends[["respondent", "cohort", "pcn", "profession"]].assign(wave="end", item="took_action", value=1)
    fb["group"] = ""
    fb.to_parquet(folder / "feedback.parquet")
    ratings.drop_duplicates(["cohort", "respondent"])[["respondent", "cohort", "pcn", "profession"]].to_parquet(
        folder / "respondents.parquet")
    if designs is not None:
        cohorts = pd.DataFrame({"cohort": list(designs)})
        if any(v is not None for v in designs.values()):
            cohorts["design"] = list(designs.values())
        cohorts.to_parquet(folder / "cohorts.parquet")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    rng = np.random.default_rng(21)
    paired = simulate_ratings(_spec("linked", ["baseline", "end"], 40,
                                    {"leadership": 0.2, "systems": 0.3, "partners": 0.1}), rng)
    anon = simulate_ratings(_spec("anon", ["baseline", "end"], 45,
                                  {"leadership": 0.25, "systems": 0.35, "partners": 0.15}), rng)
    # anonymous waves: every answer its own pseudonymous respondent, nobody links the waves
    anon["respondent"] = anon["wave"] + "-" + anon["respondent"].astype(str)
    ratings = pd.concat([paired, anon], ignore_index=True)
    ratings["respondent"] = ratings["cohort"] + "_" + ratings["respondent"].astype(str)
    ratings["profession"] = "GP"
    ratings["group"] = ""
    out = {}
    for name, designs in {"typed": {"linked": "linked", "anon": "unpaired"},
                          "paired_only": None}.items():
        folder = tmp_path_factory.mktemp(name)
        frame = ratings if designs is not None else ratings[ratings["cohort"] == "linked"]
        _write_study(folder, frame, designs)
        out[name] = (compute(read_inputs(folder, INSTRUMENT), SETTINGS), folder)
    return out, ratings


def test_unpaired_cohort_gets_unpaired_statistics_only(study, tmp_path):
    results, ratings = study
    result, _ = results["typed"]
    tables = result.tables
    for name in ("change_scores", "mixed_models", "ordinal", "attrition", "then_test"):
        assert "anon" not in set(tables[name].get("cohort", pd.Series(dtype=object))), name
    unpaired = tables["unpaired_change"]
    assert set(unpaired["cohort"]) == {"anon"} and (unpaired["paired"] == False).all()  # noqa: E712
    assert {"leadership", "systems", "partners"} <= set(unpaired.loc[unpaired.level == "domain", "item"])
    assert set(tables["unpaired_models"]["cohort"]) == {"anon"}
    assert "anon" in set(tables["reliability"]["cohort"])  # reliability still
    # the table's numbers are the two waves' respondents as independent samples
    row = unpaired[(unpaired.level == "domain") & (unpaired.item == "leadership")].iloc[0]
    dom = add_domain_scores(validate_long(ratings[ratings.cohort == "anon"][["respondent", "cohort", "wave", "item",
                                                                              "domain", "score"]]))
    lead = dom[(dom.level == "domain") & (dom.item == "leadership")]
    ref = stats.ttest_ind(lead.loc[lead.wave == "end", "score"], lead.loc[lead.wave == "baseline", "score"],
                          equal_var=False)
    assert float(row["p_welch"]) == pytest.approx(ref.pvalue, rel=1e-10)
    assert int(row["n_from"]) == (lead.wave == "baseline").sum() and int(row["n_to"]) == (lead.wave == "end").sum()
    summary = result.summary
    assert summary["unpaired_change"]["anon"]["leadership"]["paired"] is False
    assert "anon" not in summary["change"]
    written = write(result, tmp_path / "results", tmp_path / "figures")
    assert (tmp_path / "results" / "scores" / "unpaired_change.csv") == written["tables"]["unpaired_change"]
    models = json.loads((tmp_path / "results" / "scores.json").read_text())["unpaired_models"]["anon"]
    lead_model = models["leadership"]
    assert lead_model["wave_to"] == "end" and lead_model["n_respondents"] == lead_model["n_obs"] == len(lead)
    assert lead_model["model"] == "ols" and 0 <= lead_model["p_mixed"] <= 1  # 6 PCNs < min_pcn_groups
    assert lead_model["estimate"] == pytest.approx(float(row["mean_diff"]), abs=1e-10)  # OLS on wave: the difference


def test_paired_cohort_unchanged_by_an_unpaired_neighbour(study):
    results, _ = study
    typed, only = results["typed"][0], results["paired_only"][0]
    for name in ("change_scores", "mixed_models", "ordinal", "attrition"):
        mine = typed.tables[name]
        pd.testing.assert_frame_equal(mine[mine["cohort"] == "linked"].reset_index(drop=True),
                                      only.tables[name][only.tables[name]["cohort"] == "linked"].reset_index(drop=True),
                                      check_dtype=False)
    # no unpaired cohort: scores.json has no unpaired section, the unpaired tables are empty
    assert not any(key.startswith("unpaired") for key in only.summary)
    assert only.tables["unpaired_change"].empty and list(only.tables["unpaired_change"].columns) == UNPAIRED_COLUMNS


def test_single_wave_and_untyped_cohorts(tmp_path):
    rng = np.random.default_rng(4)
    two = simulate_ratings(_spec("two", ["baseline", "end"], 30, {"leadership": 0.2}), rng)
    two["profession"], two["group"] = "GP", ""
    base = {}
    for name, designs in {"absent": None, "no_column": {"two": None}, "typed": {"two": "single_wave"}}.items():
        folder = tmp_path / name
        folder.mkdir()
        _write_study(folder, two, designs)
        base[name] = compute(read_inputs(folder, INSTRUMENT), SETTINGS)
    # no cohorts table, or one without a design column: paired, as before
    pd.testing.assert_frame_equal(base["absent"].tables["change_scores"], base["no_column"].tables["change_scores"])
    assert not base["absent"].tables["change_scores"].empty
    # single_wave: nothing about change, reliability still
    single = base["typed"]
    for name in ("change_scores", "mixed_models", "unpaired_change", "unpaired_models", "attrition"):
        assert single.tables[name].empty, name
    assert not single.tables["reliability"].empty


def test_small_waves_are_suppressed(sleep):
    from pcnstudy.scores.publish import publish_unpaired
    table = unpaired_change_table(sleep_long(sleep))
    shown = publish_unpaired(table, "<5", 5)
    assert shown.loc[0, "welch_t"] == table.loc[0, "welch_t"]
    hidden = publish_unpaired(table.assign(n_to=3), "<5", 5)
    assert hidden.loc[0, "n_to"] == "<5" and hidden.loc[0, "mean_diff"] == "<5" and hidden.loc[0, "n_from"] == 10
    assert hidden.loc[0, "item"] == "x" and hidden.loc[0, "paired"] == False  # noqa: E712


def test_unpaired_model_table_one_row_per_term(sleep):
    table = unpaired_model_table(sleep_long(sleep), levels=("item",))
    assert list(table["term"]) == ["Intercept", "wave[T.end]"]
    assert table["model"].eq("ols").all()
