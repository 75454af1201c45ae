"""Effect metrics (POMP, dz, d_av, g_av) and bias checks (regression to the mean,
drop-out tipping point, PCN clustering) against R values and second implementations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pcnstudy.scores.bias import (bias_table, cluster_robust_mean, correlation_ci, icc_oneway, publish_bias,
                                  tipping_point)
from pcnstudy.scores.effects import d_av_with_ci, dz_ci, effect_row, effect_table, hedges_j
from reference import RESULTS, assert_matches


@pytest.fixture(scope="module")
def sleep():
    d = pd.read_csv(RESULTS / "sleep.csv")
    return (d.loc[d["group"] == 1, "extra"].to_numpy(float), d.loc[d["group"] == 2, "extra"].to_numpy(float))


def test_effect_sizes_match_r_effectsize_and_lakens_d_av(sleep):
    x0, x1 = sleep
    row = effect_row(x0, x1, scale_min=-2.0, scale_max=8.0)
    assert_matches("sleep_effect_sizes", {**row, "hedges_j": hedges_j(len(x0) - 1)})
    assert row["g_av"] == pytest.approx(hedges_j(9) * row["d_av"])
    assert row["pct_pomp"] == pytest.approx(row["mean_diff"] / 10.0)
    assert row["pct_pomp_ci_low"] == pytest.approx(row["diff_ci_low"] / 10.0)


def test_pomp_does_not_depend_on_the_scale_origin_but_percent_change_does():
    rng = np.random.default_rng(1)
    x0 = rng.integers(1, 4, 40).astype(float)
    x1 = np.clip(x0 + rng.integers(0, 3, 40), 1, 5)
    on_1_5 = effect_row(x0, x1, 1, 5)
    on_0_4 = effect_row(x0 - 1, x1 - 1, 0, 4)
    assert on_1_5["pct_pomp"] == pytest.approx(on_0_4["pct_pomp"])
    assert on_0_4["pct_change"] > on_1_5["pct_change"] + 0.05


def test_d_av_interval_covers_at_its_level_and_its_variance_matches_simulation():
    rng = np.random.default_rng(20260101)
    n, reps, sd = 40, 3000, (1.0, 1.4)
    cov = [[sd[0] ** 2, 0.6 * sd[0] * sd[1]], [0.6 * sd[0] * sd[1], sd[1] ** 2]]
    true = 0.5 / ((sd[0] + sd[1]) / 2)
    draws = rng.multivariate_normal([0.0, 0.5], cov, size=(reps, n))
    est, covered, halves = [], 0, []
    for sample in draws:
        a, b = sample[:, 0], sample[:, 1]
        d, low, high = d_av_with_ci(float((b - a).mean()), a.std(ddof=1), b.std(ddof=1),
                                    float(np.corrcoef(a, b)[0, 1]), n)
        est.append(d)
        halves.append((high - low) / 2 / 1.959964)
        covered += low <= true <= high
    assert np.std(est) == pytest.approx(np.mean(halves), rel=0.06)
    assert 0.93 <= covered / reps <= 0.965


def test_dz_above_d_av_when_the_waves_correlate():
    rng = np.random.default_rng(3)
    x0 = rng.normal(3, 0.6, 50)
    x1 = x0 + 0.5 + rng.normal(0, 0.2, 50)
    row = effect_row(x0, x1, 1, 5)
    assert row["r_pre_post"] > 0.8 and row["dz"] > 2 * row["d_av"]
    assert row["dz_ci_low"] < row["dz"] < row["dz_ci_high"]


def test_baseline_change_correlation_matches_r_cor_test(sleep):
    x0, x1 = sleep
    r, low, high = correlation_ci(x0, x1 - x0)
    assert_matches("sleep_baseline_change", {"r": r, "r_ci_low": low, "r_ci_high": high})
    assert math.isnan(correlation_ci([1, 2, 3], [1, 2, 4])[0])


def test_tipping_point_is_where_the_delta_adjusted_change_vanishes():
    frac, tip, tip_ci = tipping_point(0.6, 0.2, 1.0, n_pairs=30, n_baseline=40)
    assert frac == pytest.approx(0.25)
    assert 0.6 - tip * frac == pytest.approx(0.0) and 0.2 - tip_ci * frac == pytest.approx(0.0)
    assert tipping_point(-0.6, -1.0, -0.2, 30, 40)[2] == pytest.approx(-0.8)
    assert tipping_point(0.1, -0.1, 0.3, 30, 40)[2] == 0.0
    assert math.isnan(tipping_point(0.6, 0.2, 1.0, 40, 40)[1])


def test_cluster_robust_mean_matches_statsmodels_and_icc_matches_anova():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(9), [3, 5, 4, 6, 2, 5, 4, 3, 6])
    values = rng.normal(0.5, 1, groups.size) + rng.normal(0, 0.7, 9)[groups]
    se, low, high, g = cluster_robust_mean(values, groups)
    fit = sm.OLS(values, np.ones(values.size)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert g == 9 and se == pytest.approx(float(fit.bse[0]), rel=1e-10)
    # balanced groups: ICC(1) = (MSB - MSW) / (MSB + (m - 1) MSW) by hand
    balanced = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0, 2.5, 3.0])
    labels = np.repeat([0, 1, 2], 3)
    msb = 3 * np.var([2.0, 5.0, 2.5], ddof=1)
    msw = (2 + 2 + 0.5) / 6
    assert icc_oneway(balanced, labels) == pytest.approx((msb - msw) / (msb + 2 * msw))


def _long(n_pcn=6, n=30, lost=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = rng.normal(3, 0.7)
        for wave, value in (("baseline", base), ("end", base + 0.6 + rng.normal(0, 0.5))):
            if wave == "end" and i < lost:
                continue
            rows.append({"cohort": "c", "level": "domain", "item": "leadership", "respondent": f"r{i}",
                         "pcn": f"p{i % n_pcn}", "wave": wave, "score": value})
    return pd.DataFrame(rows)


def test_tables_have_one_row_per_cohort_domain_wave_and_hide_small_dropout():
    data = _long()
    effects = effect_table(data, ["baseline", "end"], 1, 5)
    bias = bias_table(data, ["baseline", "end"])
    assert len(effects) == len(bias) == 1
    row = bias.iloc[0]
    assert row["n_pairs"] == 27 and row["n_baseline"] == 30 and row["n_lost"] == 3 and row["n_pcn"] == 6
    shown = publish_bias(bias, threshold=5, marker="<5").iloc[0]
    # the small count shows the rule's marker; what would give it back, the complementary one
    assert shown["n_lost"] == "<5"
    assert shown["n_baseline"] == shown["delta_tip"] == shown["frac_lost"] == shown["delta_tip_sd"] == "[c]"
    assert shown["r_baseline_change"] == row["r_baseline_change"] and shown["n_pairs"] == 27
    none_lost = publish_bias(bias_table(_long(lost=0), ["baseline", "end"]), 5, "<5").iloc[0]
    assert none_lost["n_lost"] == 0 and math.isnan(none_lost["delta_tip"])


def test_a_hidden_bias_cell_says_below_the_threshold_only_when_it_is():
    """"<5" in the bias table is a count from 1 to 4 or a statistic of fewer than 5 pairs; a
    cell hidden to protect one (the baseline count of 30 beside 3 lost; the 9 at baseline
    and 5 lost of a row with 4 pairs) carries the complementary marker."""
    bias = bias_table(pd.concat([_long(lost=3), _long(n=9, lost=5, seed=3).assign(cohort="d")],
                                ignore_index=True), ["baseline", "end"]).set_index("cohort")
    raw = bias.copy()
    shown = publish_bias(bias.reset_index(), threshold=5, marker="<5").set_index("cohort")
    for cohort, row in shown.iterrows():
        for col, cell in row.items():
            if cell == "<5" and col in ("n_pairs", "n_baseline", "n_lost", "n_pcn"):
                assert 1 <= raw.loc[cohort, col] <= 4, (cohort, col, raw.loc[cohort, col])
    assert shown.loc["c", "n_baseline"] == "[c]" and raw.loc["c", "n_baseline"] == 30
    assert raw.loc["d", "n_pairs"] == 4 and shown.loc["d", "n_pairs"] == "<5"
    assert shown.loc["d", "mean_diff"] == "<5"  # a statistic of 4 pairs
    assert shown.loc["d", "n_lost"] == shown.loc["d", "n_baseline"] == "[c]"


def test_effect_and_bias_rows_rest_on_the_change_tables_pairs():
    from pcnstudy.scores.change import change_table

    data = pd.concat([_long(seed=1), _long(seed=2, lost=6).assign(cohort="d")], ignore_index=True)
    change = change_table(data, ["baseline", "end"], pooled=False)
    effects = effect_table(data, ["baseline", "end"], 1, 5).set_index(["cohort", "item"])
    bias = bias_table(data, ["baseline", "end"]).set_index(["cohort", "item"])
    for rec in change[change["level"] == "domain"].itertuples():
        key = (rec.cohort, rec.item)
        assert effects.loc[key, "n_pairs"] == bias.loc[key, "n_pairs"] == rec.n_pairs
        assert effects.loc[key, "mean_diff"] == pytest.approx(rec.mean_diff)
        assert effects.loc[key, "diff_ci_low"] == pytest.approx(rec.diff_ci_low)
        assert effects.loc[key, "dz"] == pytest.approx(rec.dz)
        assert effects.loc[key, "pct_change"] == pytest.approx(rec.pct_change)


def test_then_minus_pre_uses_the_respondents_with_all_three_waves():
    from pcnstudy.scores.then_test import then_test_table

    rows = []
    for i in range(12):
        for wave, value in (("baseline", 3.0 + (i % 3) * 0.5), ("then", 2.5 + (i % 4) * 0.25), ("end", 4.0)):
            if wave == "end" and i == 0:
                continue  # respondent 0 has no end rating: out of the then-minus-pre pairs
            rows.append({"cohort": "c", "level": "domain", "item": "leadership", "respondent": f"r{i}",
                         "wave": wave, "score": value})
    data = pd.DataFrame(rows)
    table = then_test_table(data, ["then"], ["baseline", "end", "then"], 0.05).set_index("comparison")
    shift = table.loc["then_vs_pre"]
    kept = data[data["respondent"] != "r0"]
    expected = (kept[kept["wave"] == "then"]["score"].mean() - kept[kept["wave"] == "baseline"]["score"].mean())
    assert shift["n_pairs"] == 11 and shift["mean_diff"] == pytest.approx(expected)
    assert shift["wave_from"] == "baseline" and shift["wave_to"] == "then"


@pytest.mark.parametrize("dz,n", [(0.2, 3), (3.0, 4), (8.0, 5), (-6.0, 6), (0.5, 11), (15.0, 8), (-2.5, 2 + 1)])
def test_dz_interval_exists_where_scipys_noncentral_t_gives_nan_far_from_it(dz, n):
    low, high = dz_ci(dz, n)
    assert math.isfinite(low) and math.isfinite(high) and low < dz < high
    # each bound is where the noncentral t puts the observed t at the tail probability
    from scipy import stats
    assert stats.nct.cdf(dz * math.sqrt(n), n - 1, low * math.sqrt(n)) == pytest.approx(0.975, abs=1e-6)
