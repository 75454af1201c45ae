"""Mixed models against lme4's sleepstudy answers, and their notes on failure.

The statsmodels MixedLM fits (tests/lmm_oracle.py) are the oracle the package's REML is compared with."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scipy import stats

from lmm_oracle import fit_lmm, lmm_from_arrays
from pcnstudy.scores.mixed import MIXED_COLUMNS, fit_wave_model, mixed_table, wave_design
from pcnstudy.scores.reml import fit_nested_reml
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


def test_sleepstudy_from_arrays_matches_lme4():
    data = pd.read_csv(RESULTS / "sleepstudy.csv")
    exog = pd.DataFrame({"Intercept": 1.0, "Days": data["Days"].astype(float)})
    model = lmm_from_arrays(data["Reaction"], exog, data["Subject"].to_numpy())
    result, notes, converged = fit_lmm("", data, "Subject", model=model)
    assert converged
    assert_matches("sleepstudy_lmm", {
        "intercept": result.fe_params["Intercept"], "days": result.fe_params["Days"],
        "se_intercept": result.bse_fe["Intercept"], "se_days": result.bse_fe["Days"],
        "sd_subject": math.sqrt(result.cov_re.iloc[0, 0]), "sd_residual": math.sqrt(result.scale)})


def test_nested_model_from_arrays_equals_formula_model():
    data = _balanced(seed=4, n=36).sample(frac=1.0, random_state=2).reset_index(drop=True)  # rows out of order
    data["wave"] = pd.Categorical(data["wave"], categories=["baseline", "end"])
    formula, _, _ = fit_lmm("score ~ C(wave)", data, "pcn", vc_formula={"respondent": "0 + C(respondent)"})
    model = lmm_from_arrays(data["score"], wave_design(data["wave"]), data["pcn"].to_numpy(),
                            data["respondent"].to_numpy())
    direct, _, converged = fit_lmm("", data, "pcn", model=model)
    assert converged
    assert list(direct.fe_params.index) == list(formula.fe_params.index)
    np.testing.assert_allclose(direct.fe_params, formula.fe_params, rtol=1e-10)
    np.testing.assert_allclose(direct.bse_fe, formula.bse_fe, rtol=1e-8)
    np.testing.assert_allclose(direct.vcomp, formula.vcomp, rtol=1e-8)
    assert direct.cov_re.iloc[0, 0] == pytest.approx(formula.cov_re.iloc[0, 0], rel=1e-8)
    assert direct.scale == pytest.approx(formula.scale, rel=1e-10)


def test_nested_reml_matches_lme4_sleepstudy():
    data = pd.read_csv(RESULTS / "sleepstudy.csv")
    X = np.column_stack([np.ones(len(data)), data["Days"].to_numpy(float)])
    fit = fit_nested_reml(data["Reaction"], X, data["Subject"])
    assert fit.converged and fit.var_pcn == 0
    se = np.sqrt(np.diag(fit.cov_beta))
    assert_matches("sleepstudy_lmm", {
        "intercept": fit.beta[0], "days": fit.beta[1], "se_intercept": se[0], "se_days": se[1],
        "sd_subject": math.sqrt(fit.var_respondent), "sd_residual": math.sqrt(fit.sigma2)})


# Balanced nested data: REML equals the ANOVA (expected mean squares) estimators when
# they are positive (Searle, Casella & McCulloch 1992, Variance Components, ch. 4 and 6).
ANOVA_REL = 1e-6


def test_nested_reml_equals_anova_estimators_on_balanced_data():
    rng = np.random.default_rng(8)
    P, R, J = 14, 6, 3
    pcn_eff = rng.normal(0, 0.4, P)
    resp_eff = rng.normal(0, 0.7, (P, R))
    wave_eff = np.array([0.0, 0.3, 0.6])
    y = 3 + pcn_eff[:, None, None] + resp_eff[:, :, None] + wave_eff[None, None, :] + rng.normal(0, 0.5, (P, R, J))
    ybar, yp, yr, yw = y.mean(), y.mean(axis=(1, 2)), y.mean(axis=2), y.mean(axis=(0, 1))
    ms_p = R * J * ((yp - ybar) ** 2).sum() / (P - 1)
    ms_r = J * ((yr - yp[:, None]) ** 2).sum() / (P * (R - 1))
    ms_e = ((y - yr[:, :, None] - yw[None, None, :] + ybar) ** 2).sum() / ((P * R - 1) * (J - 1))
    var_e, var_r, var_p = ms_e, (ms_r - ms_e) / J, (ms_p - ms_r) / (R * J)
    assert var_r > 0 and var_p > 0
    pcn = np.repeat(np.arange(P), R * J).astype(str)
    resp = np.repeat(np.arange(P * R), J).astype(str)
    wave = np.tile(np.arange(J), P * R)
    X = np.column_stack([np.ones(P * R * J), wave == 1, wave == 2]).astype(float)
    fit = fit_nested_reml(y.ravel(), X, resp, pcn)
    assert fit.converged
    assert fit.sigma2 == pytest.approx(var_e, rel=ANOVA_REL)
    assert fit.var_respondent == pytest.approx(var_r, rel=ANOVA_REL)
    assert fit.var_pcn == pytest.approx(var_p, rel=ANOVA_REL)
    np.testing.assert_allclose(fit.beta[1:], yw[1:] - yw[0], rtol=1e-9)
    se = np.sqrt(np.diag(fit.cov_beta))[1:]
    np.testing.assert_allclose(se, np.sqrt(2 * var_e / (P * R)), rtol=ANOVA_REL)


def test_nested_reml_agrees_with_statsmodels_on_unbalanced_data():
    rng = np.random.default_rng(3)
    rows = []
    for r in range(90):
        pcn, eff = f"p{r % 15}", rng.normal(0, 0.6)
        for k, w in enumerate(("baseline", "mid", "end")):
            if k and rng.random() < 0.25:
                continue
            rows.append({"respondent": f"r{r}", "pcn": pcn, "wave": w,
                         "score": 3 + 0.3 * k + eff + 0.2 * (r % 15 > 7) + rng.normal(0, 0.5)})
    data = pd.DataFrame(rows)
    data["wave"] = pd.Categorical(data["wave"], categories=["baseline", "mid", "end"])
    exog = wave_design(data["wave"])
    fit = fit_nested_reml(data["score"], exog.to_numpy(), data["respondent"], data["pcn"])
    sm, _, ok = fit_lmm("", data, "pcn", model=lmm_from_arrays(data["score"], exog, data["pcn"].to_numpy(),
                                                                   data["respondent"].to_numpy()))
    assert fit.converged and ok
    np.testing.assert_allclose(fit.beta, sm.fe_params.to_numpy(), atol=1e-4)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_beta)), sm.bse_fe.to_numpy(), rtol=1e-2)
    assert fit.sigma2 == pytest.approx(sm.scale, rel=1e-3)
    assert fit.var_respondent == pytest.approx(sm.vcomp[0], rel=1e-2)


def test_degenerate_fits_say_so():
    exact = pd.DataFrame({"respondent": ["a", "a", "b", "b"], "wave": ["baseline", "end"] * 2,
                          "score": [3.0, 4.0, 2.0, 3.0]})
    fit = fit_wave_model(exact, ["baseline", "end"])
    assert not fit.converged and any("residual variance estimated at zero" in n for n in fit.notes)
    too_few = pd.DataFrame({"respondent": ["a", "b"], "wave": ["baseline", "end"], "score": [3.0, 4.0]})
    fit = fit_wave_model(too_few, ["baseline", "end"])
    assert not fit.converged and fit.notes[-1].startswith("fit failed: ValueError")
