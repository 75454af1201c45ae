"""Ordinal sensitivity analysis: proportional-odds (cumulative logit) models of item
responses on wave, per cohort x domain (the model of statsmodels' ``OrderedModel``
with ``distr="logit"``, fitted here on counts; tests/test_ordinal.py checks the two agree).

Each item response (1..5) of every respondent in every wave is one observation,
``logit P(Y <= j) = theta_j - x'beta`` with wave dummies (first wave = reference):
a positive ``wave[T.end]`` coefficient means higher responses at that wave, and
``odds_ratio = exp(estimate)`` is the common odds ratio of answering higher.
Responses of one respondent (several items, several waves) are not independent, so
standard errors are cluster-robust by respondent (sandwich, ``cov_type='cluster'``)
when they can be computed (at least two respondents), else model-based; the
``cov_type`` column says which.
``ordinal_table(long, waves, alpha)`` gives: cohort, domain, term, estimate, se,
ci_low, ci_high, p, odds_ratio, n_obs, n_respondents, cov_type, converged, note.

The only covariate is wave, so every observation falls in one (wave x response)
cell and the log-likelihood is a sum over cells, weighted by their counts:
``fit_cumulative_logit`` maximises it by Newton's method with the exact gradient and
Hessian on that count table (a handful of rows, whatever the number of answers):
the same maximum-likelihood estimates as a fit on every row. The cluster-robust
covariance is the CRV1 sandwich statsmodels computes (``cov_type='cluster'``, with
its small-sample factor G/(G-1) (N-1)/(N-K)); each respondent's score is their
(respondent x cell) counts times the cells' scores, so it too needs no per-row pass.

Why hand-written: statsmodels' ``OrderedModel`` fits on every row with numerical
derivatives; the count-table Newton fit gives the same estimates in a few steps on a
handful of cells, whatever the number of answers (checked in tests/test_ordinal.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from pcnstudy.core.progress import progress as progress_bar
from pcnstudy.scores.ratings_table import order_waves

ORDINAL_COLUMNS = ["cohort", "domain", "term", "estimate", "se", "ci_low", "ci_high", "p", "odds_ratio",
                   "n_obs", "n_respondents", "cov_type", "converged", "note"]


#: The model, as the paper's Methods name it (scores.json ``methods.ordinal``).
ORDINAL_METHODS = {"model": ("proportional-odds (cumulative logit) model of the item responses on wave with standard "
                             "errors cluster-robust by respondent")}

MAX_NEWTON_STEPS = 200
#: Newton's method stops when no parameter moves by more than this.
NEWTON_TOL = 1e-10


@dataclass
class CumulativeLogitFit:
    """A cumulative-logit fit on a count table: parameters (thresholds, then slopes),
    the Hessian of the log-likelihood, per-cell scores, log-likelihood, convergence."""

    params: np.ndarray
    hessian: np.ndarray
    cell_scores: np.ndarray
    loglike: float
    converged: bool
    n_iter: int


def _logistic(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _cell_terms(params: np.ndarray, x: np.ndarray, y: np.ndarray, n_levels: int):
    """Log-probability, gradient and Hessian of log p for each cell (response y, design row x)."""
    k_thr = n_levels - 1
    theta, beta = params[:k_thr], params[k_thr:]
    eta = x @ beta
    n_cells, k = len(y), len(params)
    upper_ok = y < k_thr            # y is 0-based; the top level has no upper threshold
    lower_ok = y > 0
    a = np.where(upper_ok, theta[np.minimum(y, k_thr - 1)] - eta, np.inf)
    c = np.where(lower_ok, theta[np.maximum(y - 1, 0)] - eta, -np.inf)
    fa, fc = _logistic(a), _logistic(c)
    p = fa - fc
    # derivatives of a and c with respect to the parameters
    da = np.zeros((n_cells, k))
    dc = np.zeros((n_cells, k))
    rows = np.arange(n_cells)
    da[rows[upper_ok], y[upper_ok]] = 1.0
    dc[rows[lower_ok], y[lower_ok] - 1] = 1.0
    da[:, k_thr:] = np.where(upper_ok[:, None], -x, 0.0)
    dc[:, k_thr:] = np.where(lower_ok[:, None], -x, 0.0)
    da_f = np.where(upper_ok, fa * (1 - fa), 0.0)          # f(a) = F(a)(1-F(a))
    dc_f = np.where(lower_ok, fc * (1 - fc), 0.0)
    d2a = np.where(upper_ok, da_f * (1 - 2 * fa), 0.0)     # f'(a)
    d2c = np.where(lower_ok, dc_f * (1 - 2 * fc), 0.0)
    dp = da_f[:, None] * da - dc_f[:, None] * dc
    grad = dp / p[:, None]
    d2p = d2a[:, None, None] * da[:, :, None] * da[:, None, :] - d2c[:, None, None] * dc[:, :, None] * dc[:, None, :]
    hess = d2p / p[:, None, None] - grad[:, :, None] * grad[:, None, :]
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    return logp, grad, hess


def fit_cumulative_logit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, n_levels: int) -> CumulativeLogitFit:
    """Maximise sum_c w_c log P(Y = y_c | x_c) of the proportional-odds (logit) model.

    ``x``: cells x covariates, ``y``: 0-based response level of each cell, ``weights``:
    how many observations each cell holds. ``P(Y <= j | x) = F(theta_j - x'beta)``.
    Newton's method with step halving from the marginal thresholds and beta = 0 (the
    log-likelihood is concave in (theta, beta)).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, int)
    w = np.asarray(weights, float)
    counts = np.bincount(y, weights=w, minlength=n_levels)
    cum = np.clip(np.cumsum(counts)[:-1] / counts.sum(), 1e-6, 1 - 1e-6)
    params = np.concatenate([np.log(cum / (1 - cum)), np.zeros(x.shape[1])])
    logp, grad, hess = _cell_terms(params, x, y, n_levels)
    ll = float(w @ logp)
    converged = False
    step_count = 0
    for step_count in range(1, MAX_NEWTON_STEPS + 1):
        g = w @ grad
        h = np.einsum("c,cij->ij", w, hess)
        try:
            step = np.linalg.solve(-h, g)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while True:
            trial = params + t * step
            thr = trial[: n_levels - 1]
            if np.all(np.diff(thr) > 0):
                t_logp, t_grad, t_hess = _cell_terms(trial, x, y, n_levels)
                t_ll = float(w @ t_logp)
                if np.isfinite(t_ll) and t_ll >= ll - 1e-12 * abs(ll):
                    break
            t /= 2
            if t < 1e-12:
                trial = None
                break
        if trial is None:
            break
        moved = float(np.max(np.abs(trial - params)))
        params, logp, grad, hess, ll = trial, t_logp, t_grad, t_hess, t_ll
        if moved < NEWTON_TOL:
            converged = True
            break
    h = np.einsum("c,cij->ij", w, hess)
    return CumulativeLogitFit(params, h, grad, ll, converged, step_count)


def cluster_robust_cov(fit: CumulativeLogitFit, cell_of_obs: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """CRV1 covariance (as statsmodels' ``cov_type='cluster'``) from a count-table fit.

    ``cell_of_obs``: the cell of each observation; ``groups``: its cluster (integer
    codes). Each cluster's score is its per-cell counts times the cells' scores.
    Raises ValueError with fewer than two clusters.
    """
    cell_of_obs = np.asarray(cell_of_obs, int)
    groups = np.asarray(groups, int)
    n_obs = len(cell_of_obs)
    n_groups = int(groups.max()) + 1 if n_obs else 0
    if n_groups < 2:
        raise ValueError("cluster-robust covariance needs at least two clusters")
    k = len(fit.params)
    counts = sparse.coo_matrix((np.ones(n_obs), (groups, cell_of_obs)),
                               shape=(n_groups, fit.cell_scores.shape[0])).tocsr()
    group_scores = counts @ fit.cell_scores
    meat = group_scores.T @ group_scores
    bread = np.linalg.inv(fit.hessian)
    cov = bread @ meat @ bread
    return cov * (n_groups / (n_groups - 1.0) * ((n_obs - 1.0) / float(n_obs - k)))


def fit_ordinal(data: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Fit the proportional-odds model of ``score`` on wave for one domain; one row per wave term."""
    order = order_waves(data["wave"], waves)
    frame = data[data["wave"].isin(order)].dropna(subset=["score"])
    levels = np.sort(frame["score"].unique())
    seen = set(frame["wave"].unique())
    present = [w for w in order if w in seen]
    base = {"n_obs": len(frame), "n_respondents": frame["respondent"].nunique()}
    if len(present) < 2 or len(levels) < 2:
        return pd.DataFrame([{**base, "term": "", "converged": False, "cov_type": "",
                              "note": "not fitted: fewer than two waves or response levels"}])
    wave_code = pd.Categorical(frame["wave"], categories=present).codes.astype(int)
    level_code = np.searchsorted(levels, frame["score"].to_numpy(float))
    n_levels, n_waves = len(levels), len(present)
    cell = wave_code * n_levels + level_code
    weights = np.bincount(cell, minlength=n_waves * n_levels).astype(float)
    keep = weights > 0
    cell_wave = np.repeat(np.arange(n_waves), n_levels)[keep]
    cell_level = np.tile(np.arange(n_levels), n_waves)[keep]
    x = (cell_wave[:, None] == np.arange(1, n_waves)[None, :]).astype(float)
    renumber = np.cumsum(keep) - 1
    names = [f"wave[T.{w}]" for w in present[1:]]
    notes: list[str] = []
    fit = fit_cumulative_logit(x, cell_level, weights[keep], n_levels)
    converged = fit.converged
    if not converged:
        notes.append("optimiser did not converge")
    groups = pd.factorize(frame["respondent"], sort=True)[0]
    cov_type = "cluster"
    try:
        with np.errstate(all="raise"):
            cov = cluster_robust_cov(fit, renumber[cell], groups)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError, ZeroDivisionError) as exc:
        notes.append(f"cluster-robust SEs failed ({type(exc).__name__}); model-based SEs")
        cov_type = "nonrobust"
        try:
            cov = np.linalg.inv(-fit.hessian)
        except np.linalg.LinAlgError:
            cov = np.full_like(fit.hessian, np.nan)
            notes.append("Hessian not invertible: no standard errors")
    k_thr = n_levels - 1
    est = fit.params[k_thr:]
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(cov)[k_thr:])
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(est / se))
    out = pd.DataFrame({"term": names, "estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
                        "p": p, "odds_ratio": np.exp(est)})
    out["n_obs"], out["n_respondents"] = base["n_obs"], base["n_respondents"]
    out["cov_type"], out["converged"], out["note"] = cov_type, converged, "; ".join(dict.fromkeys(notes))
    return out


def ordinal_table(long: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                  progress: bool | None = None) -> pd.DataFrame:
    """Proportional-odds fits per cohort x domain of the item-level rows of ``long``."""
    data = long[long["level"] == "item"] if "level" in long.columns else long
    if "domain" not in data.columns:
        data = data.assign(domain="all")
    data = data[data["domain"].astype(str) != ""]
    wave_order = order_waves(data["wave"], waves)
    groups = list(data.groupby(["cohort", "domain"], sort=True))
    disable = None if progress is None else not progress  # None: a bar only on a terminal
    frames = []
    for (cohort, domain), sub in progress_bar(groups, desc="ordinal models", disable=disable):
        fit = fit_ordinal(sub, wave_order, alpha)
        fit.insert(0, "cohort", cohort)
        fit.insert(1, "domain", domain)
        frames.append(fit)
    if not frames:
        return pd.DataFrame(columns=ORDINAL_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=ORDINAL_COLUMNS)
