"""Random-effects meta-analysis of effects across cohorts.

``random_effects(y, v, method)`` pools estimates ``y`` with sampling variances ``v``:

* ``"dl"``: DerSimonian-Laird, tau² = max(0, (Q - (k - 1)) / (sum w - sum w² / sum w))
  (the same as statsmodels' ``combine_effects(method_re="dl")`` when positive; that
  function does not truncate at zero);
* ``"reml"``: restricted maximum likelihood for tau², by Fisher scoring
  (tau² <- tau² + [sum w²((y - mu)² - v - tau²) ... ] as in metafor's ``rma``),
  started at the DL value, truncated at zero.

Both give the pooled estimate, its SE and Wald CI (normal quantile), tau², I²
(``tau² / (tau² + s²)`` with s² the "typical" within-study variance
``(k - 1) sum(w) / ((sum w)² - sum(w²))``, w = 1/v, as metafor reports it), Q and
its p-value. ``pool_change(change, ...)`` applies both methods to each domain's
mean change across cohorts (variance = SE² of the mean difference) and returns a
tidy table: domain, method, estimate, se, ci_low, ci_high, tau2, i2, q, p_q, k.

Why hand-written: statsmodels' ``combine_effects`` has DL but no REML tau² (and does
not truncate DL at zero); the Fisher-scoring REML is a few lines, checked against
metafor's dat.bcg answers (tests/test_meta.py).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

META_COLUMNS = ["domain", "method", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "p_q", "k",
                "wave_from", "wave_to", "cohorts"]


def _i2(v: np.ndarray, tau2: float) -> float:
    w = 1.0 / v
    k = v.size
    denom = w.sum() ** 2 - (w**2).sum()
    if k < 2 or denom <= 0:
        return math.nan
    s2 = (k - 1) * w.sum() / denom
    return float(tau2 / (tau2 + s2)) if tau2 + s2 > 0 else math.nan


def reml_tau2(y, v, tol: float = 1e-10, max_iter: int = 500, start: float | None = None) -> tuple[float, bool]:
    """REML estimate of tau² by Fisher scoring; returns (tau2, converged)."""
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    tau2 = max(float(start if start is not None else 0.0), 0.0)
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        mu = (w * y).sum() / w.sum()
        # P-matrix quantities for the REML score and information
        adj = (w**2 * ((y - mu) ** 2 - v)).sum() / (w**2).sum() + 1.0 / w.sum()
        new = max(adj, 0.0)
        if abs(new - tau2) < tol * max(1.0, tau2):
            return new, True
        tau2 = new
    return tau2, False


def random_effects(y, v, method: str = "dl", alpha: float = 0.05) -> dict[str, float]:
    """Pool ``y`` (variances ``v``) with a random-effects model; method 'dl' or 'reml'."""
    if method not in ("dl", "reml"):
        raise ValueError(f"unknown meta-analysis method {method!r} (dl or reml)")
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v = y[ok], v[ok]
    k = int(y.size)
    out = {"method": method, "k": k, "estimate": math.nan, "se": math.nan, "ci_low": math.nan,
           "ci_high": math.nan, "tau2": math.nan, "i2": math.nan, "q": math.nan, "p_q": math.nan}
    if k == 0:
        return out
    w = 1.0 / v
    mu_fe = (w * y).sum() / w.sum()
    q = float((w * (y - mu_fe) ** 2).sum())
    out["q"] = q
    out["p_q"] = float(stats.chi2.sf(q, k - 1)) if k > 1 else math.nan
    if k == 1:
        tau2 = 0.0
    else:
        c = w.sum() - (w**2).sum() / w.sum()
        tau2_dl = max((q - (k - 1)) / c, 0.0) if c > 0 else 0.0
        if method == "dl":
            tau2 = tau2_dl
        elif method == "reml":
            tau2, _ = reml_tau2(y, v, start=tau2_dl)
        else:
            raise ValueError(f"unknown meta-analysis method {method!r} (dl or reml)")
    wr = 1.0 / (v + tau2)
    est = float((wr * y).sum() / wr.sum())
    se = float(math.sqrt(1.0 / wr.sum()))
    z = stats.norm.ppf(1 - alpha / 2)
    out.update(estimate=est, se=se, ci_low=float(est - z * se), ci_high=float(est + z * se), tau2=float(tau2),
               i2=_i2(v, tau2) if k > 1 else math.nan)
    return out


def pool_change(change: pd.DataFrame, alpha: float = 0.05, methods: tuple[str, ...] = ("dl", "reml"),
                exclude: tuple[str, ...] = ("pooled", "all")) -> pd.DataFrame:
    """Pool each domain's mean change (first wave to the last wave of each cohort) across cohorts.

    ``change`` is a change table (see ``pcnstudy.scores.change.change_table``) with domain
    rows; per cohort the last later wave is used. Sampling variance = SE² of the mean
    difference, (sd_diff² / n_pairs).
    """
    dom = change[(change["level"] == "domain") & ~change["cohort"].isin(exclude)].copy()
    if dom.empty:
        return pd.DataFrame(columns=META_COLUMNS)
    # the last later wave each cohort has, per domain
    dom["_order"] = np.arange(len(dom))
    last = dom.sort_values("_order").groupby(["cohort", "item"], sort=True).tail(1)
    last = last.assign(var=last["sd_diff"] ** 2 / last["n_pairs"])
    rows = []
    for domain, sub in last.groupby("item", sort=True):
        sub = sub[np.isfinite(sub["var"]) & (sub["var"] > 0)]
        for method in methods:
            res = random_effects(sub["mean_diff"].to_numpy(), sub["var"].to_numpy(), method=method, alpha=alpha)
            res.update(domain=domain, wave_from=";".join(sorted(set(sub["wave_from"]))),
                       wave_to=";".join(sorted(set(sub["wave_to"]))), cohorts=";".join(sub["cohort"]))
            rows.append(res)
    return pd.DataFrame(rows)[META_COLUMNS]
