"""Mixed models against lme4's sleepstudy answers, and their notes on failure."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pcnstudy.mixed import MIXED_COLUMNS, fit_lmm, fit_wave_model, mixed_table
from reference import RESULTS, assert_matches


def test_sleepstudy_matches_lme4():
    data = pd.read_csv(RESULTS / "sleepstudy.csv")
    result, notes, converged = fit_lmm("Reaction ~ Days", data, "Subject")
    assert converged
    assert_matches("sleepstudy_lmm", {
        "intercept": result.fe_params["Intercept"], "days": result.fe_params["Days"],
        "se_intercept": result.bse_fe["Intercept"], "se_days": result.bse_fe["Days"],
        "sd_subject": math.sqrt(result.cov_re.iloc[0, 0]), "sd_residual": math.sqrt(result.scale)})


def _balanced(seed=2, n=40):
    rng = np.random.default_rng(seed)
    person = rng.normal(0, 0.8, n)
    rows = []
    for i in range(n):
        for w, eff in (("baseline", 0.0), ("end", 0.5)):
            rows.append({"respondent": f"r{i:02d}", "wave": w, "score": 3 + person[i] + eff + rng.normal(0, 0.5),
                         "pcn": f"p{i % 12}"})
    return pd.DataFrame(rows)


def test_balanced_wave_effect_equals_paired_mean_difference():
    data = _balanced()
    fit = fit_wave_model(data, ["baseline", "end"], min_pcn_groups=100)
    wide = data.pivot(index="respondent", columns="wave", values="score")
    est = fit.terms.set_index("term").loc["wave[T.end]"]
    assert est["estimate"] == pytest.approx((wide["end"] - wide["baseline"]).mean(), rel=1e-6)
    # with complete pairs the REML SE is the paired-t SE, and the CI the paired-t CI
    d = wide["end"] - wide["baseline"]
    assert est["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(len(d)), rel=1e-4)
    from scipy import stats

    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert est["ci_high"] - est["estimate"] == pytest.approx(half, rel=1e-4)
    normal = fit_wave_model(data, ["baseline", "end"], min_pcn_groups=100, ci_df="normal")
    wald = normal.terms.set_index("term").loc["wave[T.end]"]
    assert wald["ci_high"] - wald["estimate"] == pytest.approx(1.959964 * est["se"], rel=1e-5)
    assert fit.converged and fit.n_obs == 80 and fit.n_respondents == 40


def test_pcn_variance_component_used_with_enough_pcns():
    fit = fit_wave_model(_balanced(), ["baseline", "end"], min_pcn_groups=10)
    assert fit.n_pcn == 12 and not math.isnan(fit.sd_pcn)
    few = fit_wave_model(_balanced(), ["baseline", "end"], min_pcn_groups=20)
    assert math.isnan(few.sd_pcn) and any("PCN not modelled" in n for n in few.notes)


def test_failures_are_never_silent():
    data = pd.DataFrame({"respondent": ["a", "a", "b", "b"], "wave": ["baseline", "end"] * 2,
                         "score": [3.0, 3.0, 3.0, 3.0]})
    fit = fit_wave_model(data, ["baseline", "end"])
    assert not fit.converged and fit.notes
    table = mixed_table(data.assign(item="x", cohort="c"), ["baseline", "end"])
    assert list(table.columns[:13]) == MIXED_COLUMNS
    assert not table["converged"].any() and table["note"].str.len().gt(0).all()
