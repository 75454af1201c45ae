"""Effect metrics of paired change: scale points, percent of maximum possible, and
standardised mean differences beside Cohen's dz.

``effect_table(data, wave_order, scale_min, scale_max, alpha)`` gives one row per
cohort x domain x later wave (the complete pairs of ``pcnstudy.scores.pairs``):

* ``mean_diff`` with its t CI (as the change table), and the same as percent of
  maximum possible, ``pct_pomp = mean_diff / (scale_max - scale_min)`` (stored as a
  fraction, like ``pct_change``; its CI is the mean difference's CI on that scale).
  POMP does not depend on where the scale starts; ``pct_change`` (``mean_to /
  mean_from - 1``, kept beside it for comparison with the seed evaluations) does: the
  same gain is a larger percent change on a 0-4 scale than on 1-5;
* ``dz`` = mean difference / SD of the differences, its CI by inverting the
  noncentral t distribution of t = dz sqrt(n) with n - 1 df (as R effectsize's
  ``cohens_d(paired = TRUE)``);
* ``d_av`` = mean difference / the average of the two waves' SDs (Lakens 2013), with a
  Wald CI from its delta-method variance, var = sd_D² / (n s_av²) + d_av² (s1² + s2² +
  2 r² s1 s2) / (8 (n - 1) s_av²), s_av = (s1 + s2) / 2 (the large-sample variances of
  the SDs, as Bonett 2008 derives for the root-mean-square standardiser);
* ``g_av`` = J d_av, Hedges' correction J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))
  with m = n - 1 (the exact form metafor and effectsize use for paired designs); its
  CI is J times d_av's;
* ``sd_from``, ``sd_to``, ``r_pre_post``: the SDs of the two waves and their
  correlation, which is why dz exceeds d_av when r > 0.5.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from pcnstudy.scores.pairs import paired_blocks

EFFECT_COLUMNS = ["cohort", "level", "item", "wave_from", "wave_to", "n_pairs", "mean_from", "mean_to", "mean_diff",
                  "diff_ci_low", "diff_ci_high", "pct_pomp", "pct_pomp_ci_low", "pct_pomp_ci_high", "pct_change",
                  "sd_from", "sd_to", "r_pre_post", "dz", "dz_ci_low", "dz_ci_high", "d_av", "d_av_ci_low",
                  "d_av_ci_high", "g_av", "g_av_ci_low", "g_av_ci_high"]
#: The methods, as the paper's Methods name them.
EFFECT_METHODS = {"pomp": "mean change / (scale maximum - scale minimum)",
                  "dz_ci": "noncentral t inversion (n - 1 df)",
                  "d_av_ci": "Wald interval from the delta-method variance of d_av",
                  "hedges_j": "exact gamma-function correction with n - 1 df"}


def hedges_j(m: float) -> float:
    """Hedges' small-sample correction for ``m`` degrees of freedom (exact gamma form); NaN if m <= 1."""
    if not m > 1:
        return math.nan
    return float(math.exp(special.gammaln(m / 2) - math.log(math.sqrt(m / 2)) - special.gammaln((m - 1) / 2)))


def dz_ci(dz: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """CI of dz by inverting the noncentral t of t = dz sqrt(n), n - 1 df."""
    if n < 3 or not math.isfinite(dz):
        return math.nan, math.nan
    df = n - 1
    t_obs = dz * math.sqrt(n)

    def cdf(ncp: float) -> float:
        # scipy's noncentral t gives NaN far from the ncp's interval, where the cdf is 1
        # (ncp well below t) or 0 (well above): the limit is used there
        value = float(stats.nct.cdf(t_obs, df, ncp))
        return value if math.isfinite(value) else (1.0 if ncp < t_obs else 0.0)

    def bound(target: float) -> float:
        # the ncp's interval is about t -/+ z sqrt(1 + t² / (2 df)): bracket it widely
        width = 6.0 * math.sqrt(1 + t_obs**2 / (2 * df)) + 2.0
        return float(optimize.brentq(lambda ncp: cdf(ncp) - target, t_obs - width, t_obs + width, xtol=1e-12))

    try:
        return bound(1 - alpha / 2) / math.sqrt(n), bound(alpha / 2) / math.sqrt(n)
    except ValueError:  # no sign change inside the bracket: no interval rather than a wrong one
        return math.nan, math.nan


def d_av_with_ci(mean_diff: float, sd_from: float, sd_to: float, r: float, n: int,
                 alpha: float = 0.05) -> tuple[float, float, float]:
    """d_av = mean_diff / ((sd_from + sd_to) / 2) and its delta-method Wald CI."""
    s_av = (sd_from + sd_to) / 2
    if n < 3 or not s_av > 0:
        return math.nan, math.nan, math.nan
    d = mean_diff / s_av
    r = r if math.isfinite(r) else 0.0
    var_diff = sd_from**2 + sd_to**2 - 2 * r * sd_from * sd_to
    var = var_diff / (n * s_av**2) + d**2 * (sd_from**2 + sd_to**2 + 2 * r**2 * sd_from * sd_to) / (
        8 * (n - 1) * s_av**2)
    half = stats.norm.ppf(1 - alpha / 2) * math.sqrt(var)
    return d, d - half, d + half


def effect_row(x_from, x_to, scale_min: float, scale_max: float, alpha: float = 0.05) -> dict[str, float]:
    """Every effect metric of one set of complete pairs (see the module docstring)."""
    x0 = np.asarray(x_from, float)
    x1 = np.asarray(x_to, float)
    n = int(x0.size)
    d = x1 - x0
    width = float(scale_max) - float(scale_min)
    if not width > 0:
        raise ValueError(f"the rating scale's max ({scale_max}) must exceed its min ({scale_min})")
    nan = math.nan
    md = float(d.mean()) if n else nan
    sd0 = float(x0.std(ddof=1)) if n > 1 else nan
    sd1 = float(x1.std(ddof=1)) if n > 1 else nan
    sdd = float(d.std(ddof=1)) if n > 1 else nan
    r = float(np.corrcoef(x0, x1)[0, 1]) if n > 2 and sd0 > 0 and sd1 > 0 else nan
    half = float(stats.t.ppf(1 - alpha / 2, n - 1) * sdd / math.sqrt(n)) if n > 1 else nan
    mean_from, mean_to = (float(x0.mean()), float(x1.mean())) if n else (nan, nan)
    dz = md / sdd if n > 1 and sdd > 0 else nan
    dz_low, dz_high = dz_ci(dz, n, alpha)
    dav, dav_low, dav_high = d_av_with_ci(md, sd0, sd1, r, n, alpha)
    j = hedges_j(n - 1)
    return {"n_pairs": n, "mean_from": mean_from, "mean_to": mean_to, "mean_diff": md,
            "diff_ci_low": md - half, "diff_ci_high": md + half, "pct_pomp": md / width,
            "pct_pomp_ci_low": (md - half) / width, "pct_pomp_ci_high": (md + half) / width,
            "pct_change": mean_to / mean_from - 1 if mean_from else nan, "sd_from": sd0, "sd_to": sd1,
            "r_pre_post": r, "dz": dz, "dz_ci_low": dz_low, "dz_ci_high": dz_high, "d_av": dav,
            "d_av_ci_low": dav_low, "d_av_ci_high": dav_high, "g_av": j * dav, "g_av_ci_low": j * dav_low,
            "g_av_ci_high": j * dav_high}


def effect_table(data: pd.DataFrame, wave_order: list[str], scale_min: float, scale_max: float,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Effect metrics per cohort x domain x later wave; columns EFFECT_COLUMNS."""
    rows = []
    for block in paired_blocks(data, wave_order, "domain"):
        rows.append({"cohort": block.cohort, "level": block.level, "item": block.item,
                     "wave_from": block.wave_from, "wave_to": block.wave_to,
                     **effect_row(block.x_from, block.x_to, scale_min, scale_max, alpha)})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)
