"""Bias checks of the paired change: regression to the mean, drop-out and PCN clustering.

``bias_table(data, wave_order, alpha)`` gives one row per cohort x domain x later wave
(the complete pairs of ``pcnstudy.scores.pairs``):

* regression to the mean: ``r_baseline_change``, the correlation of the baseline score
  with the change, with its Fisher-z CI (as R's ``cor.test``). A negative r is what
  regression to the mean produces even when nobody's true change depends on where
  they started; ``r_oldham`` (Oldham 1962: the mean of the two waves against the change,
  free of that artefact; it is 0 when the two waves' SDs are equal) with its
  Fisher-z CI says whether change truly depends on the starting level;
* drop-out (a delta-adjusted pattern-mixture analysis, tipping point): of the
  ``n_baseline`` respondents with a baseline score, ``n_lost`` have none at the later
  wave. If their unseen change were the completers' mean change minus delta, the
  baseline sample's mean change would be ``mean_diff - delta * frac_lost`` (its
  sampling error that of the completers' mean). ``delta_tip`` is the delta at which
  that mean change is zero, ``delta_tip_ci`` the delta at which its CI first reaches
  zero (0 when the completers' CI already includes zero; NaN without drop-out);
  ``delta_tip_sd`` is ``delta_tip`` in SDs of the completers' change;
* PCN clustering: ``n_pcn`` PCNs among the pairs; ``icc_pcn``, the one-way ANOVA
  intraclass correlation of the change by PCN (unequal sizes: n0 = (N - sum n_g² / N)
  / (G - 1); truncated at 0); ``deff`` = 1 + (N / G - 1) ICC, the design effect;
  ``cr_ci_low``/``cr_ci_high``, the cluster-robust CI of the mean change (the
  sandwich SE of an intercept-only regression clustered by PCN with the G / (G - 1)
  correction, as statsmodels' ``cov_type="cluster"``; t with G - 1 df), and
  ``cr_se_ratio``, its SE over the naive one. Respondents without a PCN are each
  their own cluster. NaN with fewer than 2 PCNs.

``publish_bias(table, threshold, marker, secondary)`` is its disclosure control: a row
resting on fewer pairs than the threshold shows the marker in every statistic; a
drop-out count between 1 and threshold - 1 shows the marker, and the drop-out columns
from which it could be worked back (the baseline count, the share lost, the tipping
points) show the complementary marker ``secondary`` (``[c]``: hidden to protect another
cell, of any size), as the attrition table hides them. A count hidden with its row that
is not itself below the threshold (the baseline count, the number of PCNs) shows
``secondary`` too, so that "<5" always means a count from 1 to threshold - 1 or a
statistic of fewer people.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.core.disclosure import SECONDARY_MARKER
from pcnstudy.scores.pairs import KEY_COLUMNS, paired_blocks

BIAS_COLUMNS = ["cohort", "level", "item", "wave_from", "wave_to", "n_pairs", "mean_diff", "diff_ci_low",
                "diff_ci_high", "r_baseline_change", "r_baseline_change_ci_low", "r_baseline_change_ci_high",
                "r_oldham", "r_oldham_ci_low", "r_oldham_ci_high", "n_baseline", "n_lost", "frac_lost", "delta_tip",
                "delta_tip_ci", "delta_tip_sd", "n_pcn", "icc_pcn", "deff", "cr_ci_low", "cr_ci_high",
                "cr_se_ratio"]
#: The methods, as the paper's Methods name them.
BIAS_METHODS = {"rtm": "Pearson correlations with Fisher-z intervals",
                "dropout": "delta-adjusted pattern-mixture tipping point",
                "clustering": "cluster-robust (CR1) interval by PCN with a t quantile on G - 1 df (G PCNs), "
                              "and the one-way ANOVA intraclass correlation of the change with its design effect"}


def correlation_ci(x, y, alpha: float = 0.05) -> tuple[float, float, float]:
    """Pearson r of x and y with its Fisher-z CI (as R's cor.test); NaN when n < 4 or a variable is constant."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    if n < 4 or x.std() == 0 or y.std() == 0:
        return math.nan, math.nan, math.nan
    r = float(np.corrcoef(x, y)[0, 1])
    r_c = min(max(r, -1 + 1e-15), 1 - 1e-15)
    half = stats.norm.ppf(1 - alpha / 2) / math.sqrt(n - 3)
    z = math.atanh(r_c)
    return r, math.tanh(z - half), math.tanh(z + half)


def tipping_point(mean_diff: float, ci_low: float, ci_high: float, n_pairs: int,
                  n_baseline: int) -> tuple[float, float, float]:
    """(frac_lost, delta at which the mean change vanishes, delta at which its CI reaches zero)."""
    n_lost = n_baseline - n_pairs
    if n_baseline <= 0 or n_lost <= 0 or not math.isfinite(mean_diff):
        return (0.0 if n_baseline > 0 else math.nan), math.nan, math.nan
    frac = n_lost / n_baseline
    tip = mean_diff / frac
    if ci_low <= 0 <= ci_high:
        tip_ci = 0.0
    else:
        tip_ci = (ci_low if mean_diff > 0 else ci_high) / frac
    return frac, tip, tip_ci


def icc_oneway(values, groups) -> float:
    """One-way ANOVA ICC(1) of ``values`` by ``groups`` (unequal group sizes), truncated at 0."""
    frame = pd.DataFrame({"v": np.asarray(values, float), "g": np.asarray(groups, dtype=object)})
    sizes = frame.groupby("g")["v"].size()
    g, n = sizes.size, len(frame)
    if g < 2 or n <= g:
        return math.nan
    grand = frame["v"].mean()
    means = frame.groupby("g")["v"].transform("mean")
    msb = float((sizes * (frame.groupby("g")["v"].mean() - grand) ** 2).sum() / (g - 1))
    msw = float(((frame["v"] - means) ** 2).sum() / (n - g))
    n0 = (n - float((sizes**2).sum()) / n) / (g - 1)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return math.nan
    return max(0.0, (msb - msw) / denom)


def cluster_robust_mean(values, groups, alpha: float = 0.05) -> tuple[float, float, float, int]:
    """Mean with its cluster-robust SE (CR1: G / (G - 1)) and t CI with G - 1 df; returns (se, low, high, G)."""
    v = np.asarray(values, float)
    frame = pd.DataFrame({"e": v - v.mean(), "g": np.asarray(groups, dtype=object)})
    sums = frame.groupby("g")["e"].sum()
    g, n = sums.size, v.size
    if g < 2:
        return math.nan, math.nan, math.nan, g
    se = math.sqrt(g / (g - 1) * float((sums**2).sum())) / n
    q = stats.t.ppf(1 - alpha / 2, g - 1)
    return se, float(v.mean() - q * se), float(v.mean() + q * se), g


def bias_row(x_from, x_to, pcn, n_baseline: int, alpha: float = 0.05) -> dict[str, float]:
    """Every bias check of one set of complete pairs (see the module docstring)."""
    x0 = np.asarray(x_from, float)
    x1 = np.asarray(x_to, float)
    d = x1 - x0
    n = int(d.size)
    md = float(d.mean()) if n else math.nan
    sdd = float(d.std(ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(1 - alpha / 2, n - 1) * sdd / math.sqrt(n)) if n > 1 else math.nan
    low, high = md - half, md + half
    r_bc = correlation_ci(x0, d, alpha)
    r_old = correlation_ci((x0 + x1) / 2, d, alpha)
    frac, tip, tip_ci = tipping_point(md, low, high, n, n_baseline)
    out = {"n_pairs": n, "mean_diff": md, "diff_ci_low": low, "diff_ci_high": high,
           "r_baseline_change": r_bc[0], "r_baseline_change_ci_low": r_bc[1], "r_baseline_change_ci_high": r_bc[2],
           "r_oldham": r_old[0], "r_oldham_ci_low": r_old[1], "r_oldham_ci_high": r_old[2],
           "n_baseline": int(n_baseline), "n_lost": int(n_baseline - n), "frac_lost": frac, "delta_tip": tip,
           "delta_tip_ci": tip_ci, "delta_tip_sd": tip / sdd if sdd and math.isfinite(tip) else math.nan,
           "n_pcn": 0, "icc_pcn": math.nan, "deff": math.nan, "cr_ci_low": math.nan, "cr_ci_high": math.nan,
           "cr_se_ratio": math.nan}
    if pcn is not None and n > 1:
        groups = np.array([p if p is not None and p == p else f"_own_{i}" for i, p in enumerate(pcn)], dtype=object)
        se, cr_low, cr_high, g = cluster_robust_mean(d, groups, alpha)
        icc = icc_oneway(d, groups)
        out.update(n_pcn=int(g), icc_pcn=icc, deff=1 + (n / g - 1) * icc if g else math.nan,
                   cr_ci_low=cr_low, cr_ci_high=cr_high,
                   cr_se_ratio=se / (sdd / math.sqrt(n)) if sdd > 0 and math.isfinite(se) else math.nan)
    return out


def bias_table(data: pd.DataFrame, wave_order: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """The bias checks per cohort x domain x later wave; columns BIAS_COLUMNS."""
    rows = []
    for block in paired_blocks(data, wave_order, "domain"):
        rows.append({"cohort": block.cohort, "level": block.level, "item": block.item,
                     "wave_from": block.wave_from, "wave_to": block.wave_to,
                     **bias_row(block.x_from, block.x_to, block.pcn, block.n_baseline, alpha)})
    return pd.DataFrame(rows, columns=BIAS_COLUMNS)


#: The columns from which the number lost could be worked back.
DROPOUT_COLUMNS = ["n_baseline", "n_lost", "frac_lost", "delta_tip", "delta_tip_ci", "delta_tip_sd"]


#: Count columns of the bias table: hidden with their row, each shows the primary marker only
#: when it is itself below the threshold.
BIAS_COUNTS = ["n_pairs", "n_baseline", "n_lost", "n_pcn"]


def publish_bias(table: pd.DataFrame, threshold: int, marker: str,
                 secondary: str = SECONDARY_MARKER) -> pd.DataFrame:
    """The bias table with small pair counts and small drop-out counts hidden (see the module docstring)."""
    out = table.astype(object).copy()
    if out.empty:
        return out
    lost = pd.to_numeric(table["n_lost"], errors="coerce")
    small_lost = (lost > 0) & (lost < threshold)
    out.loc[small_lost, [c for c in DROPOUT_COLUMNS if c != "n_lost"]] = secondary
    out.loc[small_lost, "n_lost"] = marker
    pairs = pd.to_numeric(table["n_pairs"], errors="coerce")
    small_pairs = (pairs > 0) & (pairs < threshold)
    out.loc[small_pairs, [c for c in out.columns if c not in KEY_COLUMNS]] = marker
    for col in BIAS_COUNTS:  # a count hidden with its row, not itself small
        covered = (out[col].astype(str) == marker) & (pd.to_numeric(table[col], errors="coerce") >= threshold)
        out.loc[covered, col] = secondary
    return out
