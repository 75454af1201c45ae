"""Ordinal sensitivity analysis: proportional-odds (cumulative logit) models of item
responses on wave, per cohort x domain, with statsmodels ``OrderedModel``.

Each item response (1..5) of every respondent in every wave is one observation,
``logit P(Y <= j) = theta_j - x'beta`` with wave dummies (first wave = reference):
a positive ``wave[T.end]`` coefficient means higher responses at that wave, and
``odds_ratio = exp(estimate)`` is the common odds ratio of answering higher.
Responses of one respondent (several items, several waves) are not independent, so
standard errors are cluster-robust by respondent (sandwich, ``cov_type='cluster'``)
when that fit succeeds, else model-based; the ``cov_type`` column says which.
``ordinal_table(long, waves, alpha)`` gives: cohort, domain, term, estimate, se,
ci_low, ci_high, p, odds_ratio, n_obs, n_respondents, cov_type, converged, note.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.change import order_waves

ORDINAL_COLUMNS = ["cohort", "domain", "term", "estimate", "se", "ci_low", "ci_high", "p", "odds_ratio",
                   "n_obs", "n_respondents", "cov_type", "converged", "note"]


def fit_ordinal(data: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Fit the proportional-odds model of ``score`` on wave for one domain; one row per wave term."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    order = order_waves(data["wave"], waves)
    frame = data[data["wave"].isin(order)].dropna(subset=["score"]).sort_values(
        ["respondent", "wave", "item"], kind="mergesort").reset_index(drop=True)
    levels = sorted(frame["score"].unique())
    present = [w for w in order if w in set(frame["wave"])]
    base = {"n_obs": len(frame), "n_respondents": frame["respondent"].nunique()}
    if len(present) < 2 or len(levels) < 2:
        return pd.DataFrame([{**base, "term": "", "converged": False, "cov_type": "",
                              "note": "not fitted: fewer than two waves or response levels"}])
    endog = pd.Series(pd.Categorical(frame["score"], categories=levels, ordered=True))
    exog = pd.DataFrame({f"wave[T.{w}]": (frame["wave"] == w).astype(float) for w in present[1:]})
    notes: list[str] = []
    model = OrderedModel(endog, exog, distr="logit")
    groups = pd.factorize(frame["respondent"])[0]
    cov_type = "cluster"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(method="bfgs", disp=False, maxiter=500, cov_type="cluster",
                            cov_kwds={"groups": groups})
        except Exception as exc:  # noqa: BLE001 - fall back to model-based SEs, and say so
            notes.append(f"cluster-robust SEs failed ({type(exc).__name__}); model-based SEs")
            cov_type = "nonrobust"
            res = model.fit(method="bfgs", disp=False, maxiter=500)
    for w in caught:
        notes.append(f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}")
    converged = bool(res.mle_retvals.get("converged", True))
    if not converged:
        notes.append("optimiser did not converge")
    names = list(exog.columns)
    est = np.asarray(res.params[names], float)
    se = np.asarray(res.bse[names], float)
    z = stats.norm.ppf(1 - alpha / 2)
    out = pd.DataFrame({"term": names, "estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
                        "p": 2 * stats.norm.sf(np.abs(est / se)), "odds_ratio": np.exp(est)})
    out["n_obs"], out["n_respondents"] = base["n_obs"], base["n_respondents"]
    out["cov_type"], out["converged"], out["note"] = cov_type, converged, "; ".join(dict.fromkeys(notes))
    return out


def ordinal_table(long: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                  progress: bool | None = None) -> pd.DataFrame:
    """Proportional-odds fits per cohort x domain of the item-level rows of ``long``."""
    from tqdm import tqdm

    data = long[long["level"] == "item"] if "level" in long.columns else long
    if "domain" not in data.columns:
        data = data.assign(domain="all")
    data = data[data["domain"].astype(str) != ""]
    wave_order = order_waves(data["wave"], waves)
    groups = list(data.groupby(["cohort", "domain"], sort=True))
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    frames = []
    for (cohort, domain), sub in tqdm(groups, desc="ordinal models", disable=disable):
        fit = fit_ordinal(sub, wave_order, alpha)
        fit.insert(0, "cohort", cohort)
        fit.insert(1, "domain", domain)
        frames.append(fit)
    if not frames:
        return pd.DataFrame(columns=ORDINAL_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=ORDINAL_COLUMNS)
