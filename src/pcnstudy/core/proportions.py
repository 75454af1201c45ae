"""Proportions of yes/no feedback items with Wilson score 95% CIs.

``wilson_ci(k, n, alpha)`` is vectorised: statsmodels' ``proportion_confint(method="wilson")``
(Wilson 1927; Newcombe 1998, method 3), exactly 0 at k = 0 and 1 at k = n, NaN where n == 0.
``cluster_proportion(y, clusters)`` is a proportion of 0/1 observations grouped in
clusters (several free-text responses of one person): its cluster-robust (sandwich)
variance, G/(G-1) x sum over clusters of (y_c - p m_c)^2 / N^2, the variance statsmodels'
OLS of y on an intercept gives with ``cov_type="cluster"``, and the design effect, that
variance over the simple random sampling one p(1-p)/N (Kish 1965). ``cluster_wilson_ci``
is the Wilson interval on the effective sample size N / deff (Korn and Graubard 1998),
with deff truncated below at 1 so that clustering never narrows the interval.
``feedback_table(feedback, alpha)`` takes the processed feedback table (respondent,
cohort, wave, item, value 0/1) and gives one row per cohort x wave x item: cohort,
wave, item, n, k, pct, pct_ci_low, pct_ci_high (not yet disclosure-controlled; see
``pcnstudy.core.disclosure.suppress``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

FEEDBACK_COLUMNS = ["cohort", "wave", "item", "n", "k", "pct", "pct_ci_low", "pct_ci_high"]


def wilson_ci(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (arrays allowed); NaN where n == 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    some = np.where(n > 0, n, 1.0)  # n == 0 gives NaN below, without a division by zero
    low, high = proportion_confint(k, some, alpha=alpha, method="wilson")
    # the Wilson interval of 0/n starts at 0 and that of n/n ends at 1 exactly; the
    # library's arithmetic leaves them a rounding error away (inside, off the estimate)
    low = np.where(n > 0, np.where(k == 0, 0.0, np.clip(low, 0, 1)), np.nan)
    high = np.where(n > 0, np.where(k == n, 1.0, np.clip(high, 0, 1)), np.nan)
    return low, high


def cluster_proportion(y, clusters) -> tuple[float, float, float, int]:
    """(p, cluster-robust variance of p, design effect, number of clusters) of 0/1 ``y``.

    The variance is the sandwich G/(G-1) x sum_c (y_c - p m_c)^2 / N^2 over the G
    clusters (y_c the cluster's sum, m_c its size); the design effect is it over
    p(1-p)/N. The design effect is NaN where it is undefined (p of 0 or 1, one
    cluster, no observation).
    """
    y = np.asarray(y, dtype=float)
    clusters = np.asarray(clusters)
    n = len(y)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    codes, _ = pd.factorize(pd.Series(clusters), use_na_sentinel=False)
    g = int(codes.max()) + 1
    p = float(y.mean())
    sums = np.bincount(codes, weights=y, minlength=g)
    sizes = np.bincount(codes, minlength=g).astype(float)
    if g < 2:
        return p, math.nan, math.nan, g
    var = g / (g - 1) * float(np.sum((sums - p * sizes) ** 2)) / n ** 2
    srs = p * (1 - p) / n
    deff = var / srs if srs > 0 else math.nan
    return p, var, deff, g


def cluster_wilson_ci(k, n, deff, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval of k/n on the effective sample size n / max(deff, 1) (Korn and Graubard
    1998); a NaN design effect (undefined) counts as 1, giving the plain Wilson interval."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    deff = np.asarray(deff, dtype=float)
    used = np.where(np.isfinite(deff), np.maximum(deff, 1.0), 1.0)
    n_eff = n / used
    return wilson_ci(k / used, n_eff, alpha)


def feedback_table(feedback: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Yes-proportions per cohort x wave x item with Wilson CIs; sorted by those keys."""
    missing = [c for c in ("cohort", "wave", "item", "value") if c not in feedback.columns]
    if missing:
        raise KeyError(f"feedback table lacks column {missing[0]!r}")
    data = feedback.dropna(subset=["value"])
    value = pd.to_numeric(data["value"], errors="coerce")
    if value.isna().any() or not value.isin([0, 1]).all():
        raise ValueError("feedback values must be 0 or 1")
    data = data.assign(value=value.astype(int))
    table = (data.groupby(["cohort", "wave", "item"], sort=True, observed=True)["value"]
             .agg(n="size", k="sum").reset_index())
    table["pct"] = table["k"] / table["n"]
    table["pct_ci_low"], table["pct_ci_high"] = wilson_ci(table["k"], table["n"], alpha)
    return table[FEEDBACK_COLUMNS]
