"""The ordinal model fitted on the (wave x response) count table equals the per-row fit.

The reference is statsmodels' ``OrderedModel`` fitted on every row (numerical
derivatives, tightly converged) with cluster-robust SEs by respondent: the count-table
fit must give the same maximum-likelihood estimates (to ``EST_TOL``) and the same
CRV1 standard errors (to ``SE_REL``, the precision of statsmodels' numerical Hessian).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.miscmodels.ordinal_model import OrderedModel

from pcnstudy.scores.ordinal import cluster_robust_cov, fit_cumulative_logit, fit_ordinal

EST_TOL = 1e-6
SE_REL = 1e-4


def _ratings(seed=11, n=60, waves=("baseline", "mid", "end")):
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n):
        base = rng.normal(3, 0.8)
        for k, w in enumerate(waves):
            if k and rng.random() < 0.2:
                continue  # drop-out: unbalanced clusters
            for item in ("i1", "i2", "i3"):
                rows.append(dict(respondent=f"r{r:03d}", wave=w, item=item,
                                 score=float(np.clip(np.round(base + 0.4 * k + rng.normal(0, 0.7)), 1, 5))))
    return pd.DataFrame(rows)


def _per_row_reference(data, waves):
    levels = sorted(data["score"].unique())
    endog = pd.Series(pd.Categorical(data["score"], categories=levels, ordered=True))
    exog = pd.DataFrame({f"wave[T.{w}]": (data["wave"] == w).astype(float).to_numpy() for w in waves[1:]})
    model = OrderedModel(endog, exog, distr="logit")
    groups = pd.factorize(data["respondent"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-12, cov_type="cluster",
                        cov_kwds={"groups": groups})
    return res.params[list(exog.columns)], res.bse[list(exog.columns)]


def test_count_table_fit_equals_per_row_fit():
    data = _ratings()
    waves = ["baseline", "mid", "end"]
    est, se = _per_row_reference(data, waves)
    table = fit_ordinal(data, waves).set_index("term")
    assert list(table.index) == ["wave[T.mid]", "wave[T.end]"]
    assert table["converged"].all() and (table["cov_type"] == "cluster").all()
    np.testing.assert_allclose(table["estimate"].to_numpy(), est.to_numpy(), rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(table["se"].to_numpy(), se.to_numpy(), rtol=SE_REL)
    assert (table["n_obs"] == len(data)).all() and (table["n_respondents"] == 60).all()


def test_row_order_does_not_matter():
    data = _ratings(seed=3)
    shuffled = data.sample(frac=1.0, random_state=1)
    a = fit_ordinal(data, ["baseline", "mid", "end"])
    b = fit_ordinal(shuffled, ["baseline", "mid", "end"])
    np.testing.assert_allclose(a["estimate"], b["estimate"], atol=1e-12)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-10)


def test_two_level_fit_is_logistic_regression():
    # with two response levels the model is a logistic regression: beta = log odds ratio
    x = np.array([[0.0], [0.0], [1.0], [1.0]])
    y = np.array([0, 1, 0, 1])
    w = np.array([30.0, 10.0, 15.0, 25.0])
    fit = fit_cumulative_logit(x, y, w, 2)
    assert fit.converged
    odds_ratio = (25 / 15) / (10 / 30)
    assert fit.params[1] == pytest.approx(np.log(odds_ratio), abs=1e-10)
    # and its model-based SE is Woolf's: sqrt(sum 1/count)
    se = np.sqrt(np.diag(np.linalg.inv(-fit.hessian)))[1]
    assert se == pytest.approx(np.sqrt(1 / 30 + 1 / 10 + 1 / 15 + 1 / 25), rel=1e-8)


def test_one_cluster_falls_back_to_model_based_ses_and_says_so():
    data = _ratings(n=1)
    with pytest.raises(ValueError):
        fit = fit_cumulative_logit(np.array([[0.0], [1.0]]), np.array([0, 1]), np.array([2.0, 2.0]), 2)
        cluster_robust_cov(fit, np.array([0, 1]), np.array([0, 0]))
    table = fit_ordinal(data, ["baseline", "mid", "end"])
    assert (table["cov_type"] == "nonrobust").all() and table["note"].str.contains("model-based").all()
