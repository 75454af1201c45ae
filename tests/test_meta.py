"""Random-effects meta-analysis against metafor's dat.bcg answers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from pcnstudy.scores.meta import pi_informative, pool_change, pool_programmes, random_effects, within_programme
from reference import RESULTS, assert_matches, reference


@pytest.fixture(scope="module")
def bcg():
    d = pd.read_csv(RESULTS / "bcg.csv")
    n1, n2 = d.tpos + d.tneg, d.cpos + d.cneg
    yi = np.log(d.tpos / n1) - np.log(d.cpos / n2)
    vi = 1 / d.tpos - 1 / n1 + 1 / d.cpos - 1 / n2
    return yi.to_numpy(), vi.to_numpy()


@pytest.mark.parametrize("method", ["dl", "reml"])
def test_bcg_matches_metafor(bcg, method):
    res = random_effects(*bcg, method=method)
    assert res["k"] == 13
    assert_matches(f"bcg_{method}", res)
    if method == "dl":
        ref = combine_effects(*bcg, method_re="dl")
        assert res["estimate"] == pytest.approx(ref.mean_effect_re, rel=1e-10)
        assert res["tau2"] == pytest.approx(ref.tau2, rel=1e-10)


def test_single_study_and_homogeneous():
    res = random_effects([0.5], [0.04], "reml")
    assert res["estimate"] == 0.5 and res["tau2"] == 0.0 and res["se"] == pytest.approx(0.2)
    res = random_effects([0.5, 0.5, 0.5], [0.04, 0.04, 0.04], "dl")
    assert res["tau2"] == 0.0 and res["i2"] == 0.0


def test_pool_change_uses_last_wave_of_each_cohort():
    change = pd.DataFrame({
        "cohort": ["a", "a", "b", "pooled"], "item": ["d"] * 4, "level": ["domain"] * 4,
        "wave_from": ["baseline"] * 4, "wave_to": ["mid", "end", "end", "end"],
        "mean_diff": [0.1, 0.4, 0.6, 0.5], "sd_diff": [1.0, 1.0, 1.0, 1.0], "n_pairs": [25, 25, 25, 50]})
    table = pool_change(change)
    assert set(table["method"]) == {"dl", "reml"} and (table["k"] == 2).all()
    assert table["estimate"].iloc[0] == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["dl", "reml"])
def test_bcg_hartung_knapp_and_prediction_interval_match_metafor_knha(bcg, method):
    res = random_effects(*bcg, method=method)
    assert_matches(f"bcg_{method}_knha", res)
    # the HK interval is not the Wald one
    assert res["hk_ci_high"] - res["hk_ci_low"] > res["ci_high"] - res["ci_low"]


def test_bcg_prediction_interval_is_metafors_knha_not_its_default(bcg):
    res = random_effects(*bcg, method="reml")
    default_pi = reference("bcg_reml_z_pi")
    assert abs(res["pi_low"] - default_pi["pi_low"][0]) > 0.1  # t with k - 1 df, not the normal quantile


def test_three_trials_without_heterogeneity_match_metafor(bcg):
    y, v = bcg
    res = random_effects(y[:3], v[:3], method="reml")
    assert_matches("bcg3_reml_knha", res)
    assert res["hk_se"] < res["se"]  # metafor's knha does not truncate the HK factor at 1


def test_prediction_interval_informative_only_from_three_units_and_inside_the_scale():
    assert not pi_informative(2, -1.0, 1.0)
    assert pi_informative(3, 0.2, 0.9, scale_width=4.0)
    assert not pi_informative(3, -3.0, 3.5, scale_width=4.0)
    assert not pi_informative(5, math.nan, 1.0)
    res = random_effects([0.4, 0.6], [0.01, 0.02], "reml")
    assert np.isfinite(res["pi_low"]) and np.isfinite(res["hk_ci_low"])
    assert math.isnan(random_effects([0.4], [0.01], "reml")["hk_ci_low"])


def test_pool_programmes_pools_cohorts_of_one_programme_first():
    change = pd.DataFrame({
        "cohort": ["a1", "a2", "b", "c"], "item": ["d"] * 4, "level": ["domain"] * 4,
        "wave_from": ["baseline"] * 4, "wave_to": ["end"] * 4,
        "mean_diff": [0.2, 0.4, 0.6, 0.9], "sd_diff": [1.0, 1.0, 1.0, 1.0], "n_pairs": [25, 100, 25, 25]})
    table = pool_programmes(change, {"a1": "A", "a2": "A", "b": "B"}, scale_width=4.0)
    reml = table[table["method"] == "reml"].iloc[0]
    assert reml["k"] == 3 and reml["programmes"] == "A;B;c"
    # programme A enters as the inverse-variance mean of its cohorts, variance 1 / sum(w)
    ya, va = within_programme([0.2, 0.4], [1 / 25, 1 / 100])
    assert ya == pytest.approx(0.36) and va == pytest.approx(1 / 125)
    direct = random_effects([ya, 0.6, 0.9], [va, 1 / 25, 1 / 25], "reml")
    assert reml["estimate"] == pytest.approx(direct["estimate"]) and reml["hk_ci_low"] == pytest.approx(direct["hk_ci_low"])
    by_cohort = pool_change(change)
    assert (by_cohort["k"] == 4).all()
