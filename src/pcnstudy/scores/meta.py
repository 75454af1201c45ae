"""Random-effects meta-analysis of effects across cohorts.

``random_effects(y, v, method)`` pools estimates ``y`` with sampling variances ``v``:

* ``"dl"``: DerSimonian-Laird, tau² = max(0, (Q - (k - 1)) / (sum w - sum w² / sum w))
  (the same as statsmodels' ``combine_effects(method_re="dl")`` when positive; that
  function does not truncate at zero);
* ``"reml"``: restricted maximum likelihood for tau², by Fisher scoring
  (tau² <- tau² + [sum w²((y - mu)² - v - tau²) ... ] as in metafor's ``rma``),
  started at the DL value, truncated at zero.

Both give the pooled estimate, its SE and Wald CI (normal quantile; metafor's default
``test="z"``), tau², I²
(``tau² / (tau² + s²)`` with s² the "typical" within-study variance
``(k - 1) sum(w) / ((sum w)² - sum(w²))``, w = 1/v, as metafor reports it), Q and
its p-value, and beside the Wald interval:

* the Hartung-Knapp-Sidik-Jonkman interval (``hk_*``, metafor's ``test="knha"``): SE²
  = sum w (y - mu)² / ((k - 1) sum w) with w = 1/(v + tau²), not truncated below at
  the Wald SE (metafor's default for "knha"), t quantile with k - 1 df;
* the prediction interval for the effect in a new cohort (``pi_*``) as metafor's
  ``predict()`` gives it for a model fitted with ``test="knha"``: mu -/+ t_{k-1}
  sqrt(SE_HK² + tau²) (metafor's default ``test="z"`` uses the normal quantile and the
  Wald SE; Higgins, Thompson & Spiegelhalter's t_{k-2} is not used). With tau² = 0 it
  equals the HK interval; k < 2 gives NaN. ``pi_informative`` says whether it is worth
  reading: k >= 3 and, when a scale width is given, narrower than the scale.

Checked against metafor 3.8-1 on dat.bcg (tests/results/reference_values.csv).
``pool_change(change, ...)`` applies both methods to each domain's
mean change across cohorts (variance = SE² of the mean difference) and returns a
tidy table: domain, method, estimate, se, ci_low, ci_high, tau2, i2, q, p_q, k, and the
HK and prediction intervals. ``pool_programmes(change, programme_of, ...)`` treats the
cohorts of one programme as one unit: it pools each programme's cohorts first by the
fixed-effect inverse-variance mean (cohorts of one programme are repeated runs of one
intervention, so they share its true effect), then pools the programmes by random
effects as above; ``k`` is then the number of programmes.

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
                "wave_from", "wave_to", "cohorts", "hk_se", "hk_ci_low", "hk_ci_high", "pi_low", "pi_high",
                "pi_informative"]
#: The programme-level table: META_COLUMNS and the programmes pooled.
META_PROGRAMME_COLUMNS = META_COLUMNS + ["programmes"]
#: The estimators of tau² each table pools with (its ``method`` column), as the Methods name them.
META_ESTIMATORS = {"dl": "DerSimonian and Laird estimator", "reml": "restricted maximum-likelihood estimator"}
#: The estimator of the headline pooling (the top level of scores.json's ``meta`` sections) and its sensitivity analysis.
HEADLINE_ESTIMATOR, SENSITIVITY_ESTIMATOR = "reml", "dl"
#: What the tables' estimators and intervals are, as the Methods name them.
META_METHODS = {"estimator": META_ESTIMATORS[HEADLINE_ESTIMATOR],
                "estimator_sensitivity": META_ESTIMATORS[SENSITIVITY_ESTIMATOR],
                "ci": "Wald (normal quantile)", "hk_ci": "Hartung-Knapp-Sidik-Jonkman (t, k - 1 df)",
                "pi": "prediction interval as metafor predict() after test = \"knha\" (t, k - 1 df)",
                "within_programme": "fixed-effect inverse-variance mean"}


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
           "ci_high": math.nan, "tau2": math.nan, "i2": math.nan, "q": math.nan, "p_q": math.nan,
           "hk_se": math.nan, "hk_ci_low": math.nan, "hk_ci_high": math.nan, "pi_low": math.nan,
           "pi_high": math.nan}
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
    out.update(hartung_knapp(y, v, tau2, alpha))
    return out


def hartung_knapp(y, v, tau2: float, alpha: float = 0.05) -> dict[str, float]:
    """Hartung-Knapp-Sidik-Jonkman SE and CI, and the prediction interval, as metafor's
    ``rma(..., test="knha")`` and ``predict()``; NaN when k < 2."""
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    k = y.size
    nan = {"hk_se": math.nan, "hk_ci_low": math.nan, "hk_ci_high": math.nan, "pi_low": math.nan,
           "pi_high": math.nan}
    if k < 2 or not math.isfinite(tau2):
        return nan
    w = 1.0 / (v + tau2)
    est = float((w * y).sum() / w.sum())
    se = float(math.sqrt((w * (y - est) ** 2).sum() / ((k - 1) * w.sum())))
    q = float(stats.t.ppf(1 - alpha / 2, k - 1))
    half_pi = q * math.sqrt(se**2 + tau2)
    return {"hk_se": se, "hk_ci_low": est - q * se, "hk_ci_high": est + q * se, "pi_low": est - half_pi,
            "pi_high": est + half_pi}


def pi_informative(k: int, pi_low: float, pi_high: float, scale_width: float | None = None) -> bool:
    """Whether a prediction interval says anything: at least 3 units pooled, finite, and
    (given the scale's width, max - min) narrower than the scale."""
    if k < 3 or not (math.isfinite(pi_low) and math.isfinite(pi_high)):
        return False
    return scale_width is None or (pi_high - pi_low) < scale_width


def _last_domain_rows(change: pd.DataFrame, exclude: tuple[str, ...]) -> pd.DataFrame:
    """Each cohort's domain rows at its last later wave, with the sampling variance ``var``."""
    dom = change[(change["level"] == "domain") & ~change["cohort"].isin(exclude)].copy()
    dom["_order"] = np.arange(len(dom))
    last = dom.sort_values("_order").groupby(["cohort", "item"], sort=True).tail(1)
    return last.assign(var=last["sd_diff"] ** 2 / last["n_pairs"])


def pool_change(change: pd.DataFrame, alpha: float = 0.05, methods: tuple[str, ...] = tuple(META_ESTIMATORS),
                exclude: tuple[str, ...] = ("pooled", "all"), scale_width: float | None = None) -> pd.DataFrame:
    """Pool each domain's mean change (first wave to the last wave of each cohort) across cohorts.

    ``change`` is a change table (see ``pcnstudy.scores.change.change_table``) with domain
    rows; per cohort the last later wave is used. Sampling variance = SE² of the mean
    difference, (sd_diff² / n_pairs). ``scale_width`` (max - min of the rating scale)
    judges ``pi_informative``.
    """
    if change[(change["level"] == "domain") & ~change["cohort"].isin(exclude)].empty:
        return pd.DataFrame(columns=META_COLUMNS)
    last = _last_domain_rows(change, exclude)
    rows = []
    for domain, sub in last.groupby("item", sort=True):
        sub = sub[np.isfinite(sub["var"]) & (sub["var"] > 0)]
        for method in methods:
            res = random_effects(sub["mean_diff"].to_numpy(), sub["var"].to_numpy(), method=method, alpha=alpha)
            res.update(domain=domain, wave_from=";".join(sorted(set(sub["wave_from"]))),
                       wave_to=";".join(sorted(set(sub["wave_to"]))), cohorts=";".join(sub["cohort"]))
            res["pi_informative"] = pi_informative(res["k"], res["pi_low"], res["pi_high"], scale_width)
            rows.append(res)
    return pd.DataFrame(rows)[META_COLUMNS]


def within_programme(y, v) -> tuple[float, float]:
    """Fixed-effect inverse-variance mean of one programme's cohorts and its variance."""
    y = np.asarray(y, float)
    w = 1.0 / np.asarray(v, float)
    return float((w * y).sum() / w.sum()), float(1.0 / w.sum())


def pool_programmes(change: pd.DataFrame, programme_of: dict[str, str], alpha: float = 0.05,
                    methods: tuple[str, ...] = tuple(META_ESTIMATORS), exclude: tuple[str, ...] = ("pooled", "all"),
                    scale_width: float | None = None) -> pd.DataFrame:
    """Random-effects pooling with the programme, not the cohort, as the unit.

    Each programme's cohorts (``programme_of``: cohort -> programme; a cohort not in it
    is its own programme) are combined first by ``within_programme``; the programmes'
    means are then pooled as ``pool_change`` pools cohorts. Columns META_PROGRAMME_COLUMNS.
    """
    if change[(change["level"] == "domain") & ~change["cohort"].isin(exclude)].empty:
        return pd.DataFrame(columns=META_PROGRAMME_COLUMNS)
    last = _last_domain_rows(change, exclude)
    last = last.assign(programme=[programme_of.get(c, c) for c in last["cohort"]])
    rows = []
    for domain, sub in last.groupby("item", sort=True):
        sub = sub[np.isfinite(sub["var"]) & (sub["var"] > 0)]
        units = [(prog, *within_programme(part["mean_diff"], part["var"]))
                 for prog, part in sub.groupby("programme", sort=True)]
        y = np.array([u[1] for u in units])
        v = np.array([u[2] for u in units])
        for method in methods:
            res = random_effects(y, v, method=method, alpha=alpha)
            res.update(domain=domain, wave_from=";".join(sorted(set(sub["wave_from"]))),
                       wave_to=";".join(sorted(set(sub["wave_to"]))), cohorts=";".join(sub["cohort"]),
                       programmes=";".join(u[0] for u in units))
            res["pi_informative"] = pi_informative(res["k"], res["pi_low"], res["pi_high"], scale_width)
            rows.append(res)
    return pd.DataFrame(rows)[META_PROGRAMME_COLUMNS]
