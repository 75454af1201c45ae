"""Paired change scores: each later wave against the first, on complete pairs.

Takes a long table of ratings (read and checked by ``pcnstudy.scores.ratings_table``) (``respondent, wave, item, score``;
optionally ``cohort, domain, pcn``) and gives one row per cohort x item (or domain) x later
wave, comparing each later wave with the first (the baseline) on complete pairs:

* n pairs, the two means, the mean difference with its t-based CI;
* percent change of the mean, ``mean_to / mean_from - 1``, with a CI by the delta
  method on the log of the ratio of the paired means (variances and covariance of the
  pairs, t quantile with n - 1 df), back-transformed; optionally also a seeded
  percentile bootstrap over respondents (``bootstrap_reps``, ``seed``);
* the paired t-test (as R's ``t.test(paired = TRUE)``), computed in one place,
  ``paired_t_from_summary``, for the table and for ``paired_t``;
* the Wilcoxon signed-rank test as R's ``wilcox.test(paired = TRUE)`` with its
  defaults: zero differences dropped (Wilcoxon's method), ``V`` = sum of the ranks of
  the positive differences; the exact null distribution when fewer than 50 non-zero
  differences remain and there are neither ties nor zeros, otherwise the normal
  approximation with tie-corrected variance and continuity correction
  (``correct = TRUE``). Differences are rounded to 10 significant digits before
  ranking so that floating-point noise in domain means does not break real ties;
* Cohen's dz (mean difference / SD of differences) and the matched-pairs
  rank-biserial correlation ``(T+ - T-) / (T+ + T-)`` on the non-zero differences;
* Holm and Benjamini-Hochberg adjusted p-values of the t-test (statsmodels'
  ``multipletests``) within each family:
  one cohort x later wave x level (the items; separately the domains).

A domain score is the mean of the respondent's answered items of that domain in that
wave; domain rows carry the domain id in ``item`` and ``level == "domain"``.
When the input has several cohorts, ``pooled`` rows combine them (first wave of the
global order against each later wave). ``cohort`` is ``all`` when the input has none.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from pcnstudy.core.progress import progress
from pcnstudy.scores.ratings_table import POOLED, add_domain_scores, order_waves

CHANGE_COLUMNS = [
    "cohort", "item", "wave_from", "wave_to", "n_pairs", "mean_from", "mean_to", "mean_diff",
    "diff_ci_low", "diff_ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "t", "df", "p_t",
    "wilcoxon_v", "p_wilcoxon", "dz", "rank_biserial", "p_holm", "p_bh",
]
CHANGE_EXTRA_COLUMNS = ["level", "sd_diff", "wilcoxon_method", "n_nonzero"]
RANK_DIGITS = 10
#: The Wilcoxon test is exact below this many non-zero differences (without ties or zeros), as R's.
WILCOXON_EXACT_BELOW = 50
#: The names other modules and the command reach through this one (they live in ratings_table).
__all__ = ["ADJUSTMENTS", "CHANGE_COLUMNS", "CHANGE_EXTRA_COLUMNS", "CHANGE_METHODS", "adjust_pvalues", "holm_adjust", "change_table", "paired_t",
           "paired_t_from_summary", "pct_change_bootstrap", "pct_change_delta", "psignrank", "rank_biserial",
           "wilcoxon_signed_rank"]


# ----------------------------------------------------------------------------- tests

@lru_cache(maxsize=64)
def signrank_counts(n: int) -> np.ndarray:
    """Number of subsets of {1..n} with each sum 0..n(n+1)/2 (the exact null of V, times 2**n)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=float)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def psignrank(v: float, n: int) -> float:
    """P(V <= v) under the null for n non-zero, untied differences (as R's psignrank)."""
    counts = signrank_counts(n)
    v = int(math.floor(v + 1e-7))
    if v < 0:
        return 0.0
    return float(counts[: v + 1].sum() / 2.0**n)


def _rank_ready(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(d == 0, 0.0, np.floor(np.log10(np.abs(d))))
    scale = 10.0 ** (RANK_DIGITS - 1 - mag)
    return np.round(d * scale) / scale


def wilcoxon_signed_rank(diff, correct: bool = True) -> tuple[float, float, str, int]:
    """Wilcoxon signed-rank test of paired differences, as R's wilcox.test(paired=TRUE).

    Returns (V, two-sided p, method, n non-zero). method is 'exact' or 'normal'.
    """
    d = _rank_ready(np.asarray(diff, dtype=float))
    d = d[~np.isnan(d)]
    zeros = bool((d == 0).any())
    d = d[d != 0]
    n = d.size
    if n == 0:
        return math.nan, math.nan, "none", 0
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    _, tie_counts = np.unique(ranks, return_counts=True)
    ties = bool((tie_counts > 1).any())
    if n < WILCOXON_EXACT_BELOW and not ties and not zeros:
        if v > n * (n + 1) / 4:
            p = 1.0 - psignrank(v - 1, n)
        else:
            p = psignrank(v, n)
        return v, min(2.0 * p, 1.0), "exact", n
    z = v - n * (n + 1) / 4
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - float((tie_counts**3 - tie_counts).sum()) / 48)
    if sigma == 0:
        return v, math.nan, "normal", n
    correction = math.copysign(0.5, z) if (correct and z != 0) else 0.0
    z = (z - correction) / sigma
    p = 2.0 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return v, float(min(p, 1.0)), "normal", n


def rank_biserial(diff) -> float:
    """Matched-pairs rank-biserial correlation (T+ - T-) / (T+ + T-), zeros dropped."""
    d = _rank_ready(np.asarray(diff, dtype=float))
    d = d[~np.isnan(d) & (d != 0)]
    if d.size == 0:
        return math.nan
    ranks = stats.rankdata(np.abs(d))
    pos, neg = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((pos - neg) / (pos + neg))


def paired_t_from_summary(mean_diff, sd_diff, n, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Paired t statistics from the mean, SD (ddof 1) and number of the differences; vectorised.

    Gives se, t, df (n - 1), two-sided p, the t-based CI of the mean difference and
    Cohen's dz; NaN where undefined (n < 2, SD 0). The one place the paired t-test is
    computed: ``paired_t`` and ``change_table`` both call it, and a change table's CI at
    another alpha is recomputed with it from the stored mean_diff, sd_diff, n_pairs.
    """
    md = np.asarray(mean_diff, dtype=float)
    sd = np.asarray(sd_diff, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = sd / np.sqrt(n)
        df = n - 1
        df_ok = np.where(df > 0, df, np.nan)
        t = np.where(se > 0, md / se, np.nan)
        q = stats.t.ppf(1 - alpha / 2, df_ok)
        p = 2 * stats.t.sf(np.abs(t), df_ok)
        low, high = md - q * se, md + q * se
        dz = np.where(sd > 0, md / sd, np.nan)
    return {"se": se, "t": t, "df": df, "p_t": p, "diff_ci_low": low, "diff_ci_high": high, "dz": dz}


def paired_t(x_from, x_to, alpha: float = 0.05) -> dict[str, float]:
    """Paired t-test of x_to - x_from (as R's t.test(x_to, x_from, paired=TRUE))."""
    d = np.asarray(x_to, dtype=float) - np.asarray(x_from, dtype=float)
    n = d.size
    md = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    res = paired_t_from_summary(md, sd, n, alpha)
    return {"mean_diff": md, "sd_diff": sd, **{k: float(res[k]) for k in ("t", "df", "p_t", "diff_ci_low",
                                                                        "diff_ci_high", "dz")}}


def pct_change_delta(mean_from, mean_to, var_from, var_to, cov, n, alpha: float = 0.05):
    """Percent change mean_to/mean_from - 1 and its delta-method CI on the log ratio.

    Vectorised over arrays. Var(log R) ~ var_to/(n mt^2) + var_from/(n mf^2)
    - 2 cov/(n mt mf); the interval is exp(log R -/+ t_{n-1} se) - 1. NaN when a mean
    is not positive or n < 2.
    """
    mf, mt = np.asarray(mean_from, float), np.asarray(mean_to, float)
    vf, vt, cv = np.asarray(var_from, float), np.asarray(var_to, float), np.asarray(cov, float)
    n = np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (mf > 0) & (mt > 0) & (n > 1)
        var_log = (vt / (n * mt**2) + vf / (n * mf**2) - 2 * cv / (n * mt * mf))
        se = np.sqrt(np.clip(var_log, 0, None))
        q = stats.t.ppf(1 - alpha / 2, np.where(n > 1, n - 1, 1))
        log_r = np.log(np.where(ok, mt / mf, np.nan))
        pct = np.where(mf != 0, mt / mf - 1, np.nan)
        low = np.where(ok, np.exp(log_r - q * se) - 1, np.nan)
        high = np.where(ok, np.exp(log_r + q * se) - 1, np.nan)
    return pct, low, high


#: Bootstrap replicates whose means are taken at once (bounds the float temporaries).
BOOT_CHUNK_ELEMENTS = 4_000_000


def pct_change_bootstrap(x_from, x_to, reps: int, seed: int, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap CI (resampling respondents) for mean(x_to)/mean(x_from) - 1.

    One (reps x n) matrix of resampled indices from ``default_rng(seed)`` (the stream
    of ``rng.integers(0, n, size=(reps, n))``); the means are taken a block of
    replicates at a time (the same numbers as all at once, with at most
    ``BOOT_CHUNK_ELEMENTS`` resampled values in memory per array).
    """
    x_from = np.asarray(x_from, float)
    x_to = np.asarray(x_to, float)
    n = x_from.size
    if n < 2 or reps < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    # int32 indices: the same draws as int64 below 2**32 (numpy's bounded integers use
    # 32-bit draws for such ranges either way), half the memory, faster gathers
    dtype = np.int32 if n < 2**31 else np.int64
    idx = rng.integers(0, n, size=(int(reps), n), dtype=dtype)
    ratios = np.empty(int(reps))
    step = max(1, BOOT_CHUNK_ELEMENTS // n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, int(reps), step):
            block = idx[start:start + step]
            ratios[start:start + step] = np.take(x_to, block).mean(axis=1) / np.take(x_from, block).mean(axis=1) - 1
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


#: ``adjust_pvalues`` method -> statsmodels' ``multipletests`` method.
ADJUSTMENTS = {"holm": "holm", "bh": "fdr_bh"}
#: Each adjustment (column ``p_<key>``), as the paper's Methods name it.
ADJUSTMENT_NAMES = {"holm": "Holm's step-down method", "bh": "Benjamini and Hochberg's step-up method"}
#: The adjustment the change table reports (``p_holm``) and its sensitivity analysis (``p_bh``).
HEADLINE_ADJUSTMENT, SENSITIVITY_ADJUSTMENT = "holm", "bh"
#: One family of adjusted p-values: the rows sharing these columns.
ADJUSTMENT_FAMILY = ("cohort", "wave_to", "level")
#: The tests of the change table, as the paper's Methods name them (scores.json ``methods.change``).
CHANGE_METHODS = {
    "test": "paired t-test",
    "nonparametric": (f"Wilcoxon signed-rank test (zero differences dropped; exact below {WILCOXON_EXACT_BELOW} "
                      "non-zero differences without ties, else the normal approximation with continuity correction)"),
    "nonparametric_effect": "matched-pairs rank-biserial correlation",
    "adjustment": ADJUSTMENT_NAMES[HEADLINE_ADJUSTMENT],
    "adjustment_sensitivity": ADJUSTMENT_NAMES[SENSITIVITY_ADJUSTMENT],
    "family": "the domains, and separately the items, of one cohort and wave",
}


def holm_adjust(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values: the k-th smallest of n times (n - k + 1), made
    monotone by a running maximum, capped at 1.

    The same arithmetic as statsmodels' ``multipletests(method="holm")``, which also calls
    ``gc.collect()`` on every call (about 1.2 s of the scores stage, for 32 families);
    tests/test_change.py checks the two agree exactly, and both against R's ``p.adjust``."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1))
    out = np.empty_like(adjusted)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def adjust_pvalues(p, method: str) -> np.ndarray:
    """Holm ('holm', ``holm_adjust``) or Benjamini-Hochberg ('bh', statsmodels'
    ``multipletests``) adjustment; NaNs are left out of the family and kept."""
    if method not in ADJUSTMENTS:
        raise ValueError(f"unknown adjustment {method!r}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = holm_adjust(p[ok]) if method == "holm" else multipletests(p[ok], method=ADJUSTMENTS[method])[1]
    return out


# ----------------------------------------------------------------------------- change table

def _pairs(data: pd.DataFrame, wave_order: list[str], keys: list[str]) -> pd.DataFrame:
    """Wide table: one row per keys x respondent, one column per wave."""
    wide = data.pivot_table(index=keys + ["respondent"], columns="wave", values="score",
                            aggfunc="first", observed=True, sort=True)
    return wide.reindex(columns=[w for w in wave_order if w in wide.columns])


def _change_for(data: pd.DataFrame, wave_order: list[str], cohort_label: str | None, alpha: float,
                bootstrap_reps: int, seed: int | None) -> list[pd.DataFrame]:
    keys = ["cohort", "level", "item"]
    frame = data.copy()
    if cohort_label is not None:
        frame["cohort"] = cohort_label
    # each cohort's own baseline: its first wave in the global order
    parts = []
    for cohort, sub in frame.groupby("cohort", sort=True):
        seen = set(sub["wave"].unique())
        waves_here = [w for w in wave_order if w in seen]
        if len(waves_here) < 2:
            continue
        wide = _pairs(sub, waves_here, keys)
        first = waves_here[0]
        for later in waves_here[1:]:
            pair = wide[[first, later]].dropna().sort_index()
            if pair.empty:
                continue
            x0, x1 = pair[first], pair[later]
            g = pair.groupby(level=keys, sort=True)
            d = (x1 - x0)
            agg = pd.DataFrame({
                "n_pairs": g.size(),
                "mean_from": x0.groupby(level=keys).mean(),
                "mean_to": x1.groupby(level=keys).mean(),
                "var_from": x0.groupby(level=keys).var(ddof=1),
                "var_to": x1.groupby(level=keys).var(ddof=1),
                "mean_diff": d.groupby(level=keys).mean(),
                "sd_diff": d.groupby(level=keys).std(ddof=1),
            })
            # cov(x0, x1) = (var0 + var1 - var_d) / 2
            agg["cov"] = (agg["var_from"] + agg["var_to"] - agg["sd_diff"] ** 2) / 2
            n = agg["n_pairs"].to_numpy(float)
            tt = paired_t_from_summary(agg["mean_diff"], agg["sd_diff"], n, alpha)
            for col in ("t", "df", "p_t", "diff_ci_low", "diff_ci_high", "dz"):
                agg[col] = tt[col]
            pct, low, high = pct_change_delta(agg["mean_from"], agg["mean_to"], agg["var_from"],
                                              agg["var_to"], agg["cov"], n, alpha)
            agg["pct_change"], agg["pct_ci_low"], agg["pct_ci_high"] = pct, low, high
            wil = d.groupby(level=keys, sort=True).apply(lambda s: wilcoxon_signed_rank(s.to_numpy()))
            agg["wilcoxon_v"] = [w[0] for w in wil]
            agg["p_wilcoxon"] = [w[1] for w in wil]
            agg["wilcoxon_method"] = [w[2] for w in wil]
            agg["n_nonzero"] = [w[3] for w in wil]
            agg["rank_biserial"] = d.groupby(level=keys, sort=True).apply(lambda s: rank_biserial(s.to_numpy()))
            if bootstrap_reps and seed is not None:
                # pair is sorted by keys: each key's pairs are one contiguous block, in agg's order
                ends = np.cumsum(agg["n_pairs"].to_numpy())
                starts = ends - agg["n_pairs"].to_numpy()
                v0, v1 = x0.to_numpy(float), x1.to_numpy(float)
                boots = [pct_change_bootstrap(v0[a:b], v1[a:b], bootstrap_reps, seed + i, alpha)
                         for i, (a, b) in enumerate(progress(list(zip(starts, ends)), desc=f"bootstrap {cohort} {later}",
                                                             leave=False))]
                agg["pct_boot_ci_low"] = [b[0] for b in boots]
                agg["pct_boot_ci_high"] = [b[1] for b in boots]
            agg = agg.reset_index()
            agg["wave_from"], agg["wave_to"] = first, later
            parts.append(agg)
    return parts


def change_table(long: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                 pooled: bool = True, bootstrap_reps: int = 0, seed: int | None = None) -> pd.DataFrame:
    """Paired change per cohort x item/domain x later wave; columns CHANGE_COLUMNS then extras.

    ``long`` is a validated long table (see ``validate_long``); domain rows are added
    when it has a ``domain`` column. With ``bootstrap_reps`` > 0 and a ``seed``, the
    columns ``pct_boot_ci_low/high`` hold a percentile bootstrap CI beside the delta CI.
    """
    data = long if "level" in long.columns else add_domain_scores(long)
    wave_order = order_waves(data["wave"], waves)
    parts = _change_for(data, wave_order, None, alpha, bootstrap_reps, seed)
    if pooled and data["cohort"].nunique() > 1:
        pooled_data = data.copy()
        pooled_data["respondent"] = pooled_data["cohort"] + "/" + pooled_data["respondent"]
        parts += _change_for(pooled_data, wave_order, POOLED, alpha, bootstrap_reps, seed)
    extras = CHANGE_EXTRA_COLUMNS + (["pct_boot_ci_low", "pct_boot_ci_high"] if bootstrap_reps and seed is not None else [])
    if not parts:
        return pd.DataFrame(columns=CHANGE_COLUMNS + extras)
    table = pd.concat(parts, ignore_index=True)
    for method in ADJUSTMENTS:
        table[f"p_{method}"] = np.nan
    for _, idx in table.groupby(list(ADJUSTMENT_FAMILY), sort=True).groups.items():
        p = table.loc[idx, "p_t"].to_numpy(float)
        for method in ADJUSTMENTS:
            table.loc[idx, f"p_{method}"] = adjust_pvalues(p, method)
    rank = {w: i for i, w in enumerate(wave_order)}
    table["_w"] = table["wave_to"].map(rank)
    table["_l"] = (table["level"] == "domain").astype(int)
    table["_p"] = (table["cohort"] == POOLED).astype(int)
    table = table.sort_values(["_p", "cohort", "_w", "_l", "item"], kind="mergesort")
    table["n_pairs"] = table["n_pairs"].astype(int)
    table["n_nonzero"] = table["n_nonzero"].astype(int)
    return table[CHANGE_COLUMNS + extras].reset_index(drop=True)
