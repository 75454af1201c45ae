"""Linear mixed models of score on wave, fitted on every observation.

``fit_wave_model(data, waves, ...)`` fits ``score ~ C(wave)`` (first wave = reference)
with REML: a random intercept per respondent, and, when the
data hold at least ``min_pcn_groups`` PCNs, a random intercept per PCN with
respondents nested in it (PCN as the grouping factor, respondent as a variance
component). Respondents who missed a wave still contribute. Problems during the fit
(no convergence, a variance estimated at zero) are recorded in ``note`` and a fit that
did not converge has ``converged = False``: never a silent failure; a PCN model that
does not converge is refitted without PCN, and the note says so. CIs are Wald
intervals on the REML estimates with a t quantile on n_respondents - 1 df by
default (on the simulated twin the normal quantile statsmodels reports covered only
92-93%); ``ci_df="normal"`` gives the plain Wald interval.

``mixed_table(long, waves, alpha, min_pcn_groups)`` fits one model per cohort x item
(and domain) and returns MIXED_COLUMNS then ``level, sd_pcn, n_pcn, note``; terms
are ``Intercept`` and ``wave[T.<wave>]``.

``fit_wave_model`` fits by REML with ``fit_nested_reml``: the profiled REML criterion
of lme4 (relative SDs of the random effects; beta and sigma^2 profiled out), whose
quadratic forms for random intercepts (respondents nested in PCNs) reduce to sums per
respondent and per PCN, so one evaluation is a pass over respondent sums and the
national study's 25,000 respondents need neither a dummy column per respondent nor
statsmodels' per-group loop (1.15 s -> 0.02-0.04 s per national model, the same optimum; SEs of
the fixed effects are sigma^2 (X'V^-1 X)^-1 as lme4 reports them: statsmodels'
Hessian-based SEs differ by up to 1% on the demonstration study's small cohorts, 0.02%
at national scale). Its reference tests: lme4's sleepstudy answers, and on balanced
nested data the ANOVA estimators (which REML equals there).
``fit_lmm(formula, frame, group_col, vc_formula)`` (statsmodels ``MixedLM``, formula or
``lmm_from_arrays`` model) remains for other models.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.scores.change import NO_COHORT, POOLED, add_domain_scores, order_waves

MIXED_COLUMNS = ["cohort", "item", "term", "estimate", "se", "ci_low", "ci_high", "p", "sd_respondent",
                 "sd_residual", "n_obs", "n_respondents", "converged"]
MIXED_EXTRA_COLUMNS = ["level", "sd_pcn", "n_pcn", "note"]


@dataclass
class WaveModel:
    """A fitted wave model: fixed effects with SEs and CIs, variance components, fit notes."""

    terms: pd.DataFrame
    sd_respondent: float
    sd_residual: float
    sd_pcn: float
    n_obs: int
    n_respondents: int
    n_pcn: int
    converged: bool
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per fixed-effect term, with the model-level columns repeated."""
        frame = self.terms.copy()
        frame["sd_respondent"] = self.sd_respondent
        frame["sd_residual"] = self.sd_residual
        frame["n_obs"] = self.n_obs
        frame["n_respondents"] = self.n_respondents
        frame["converged"] = self.converged
        frame["sd_pcn"] = self.sd_pcn
        frame["n_pcn"] = self.n_pcn
        frame["note"] = "; ".join(dict.fromkeys(self.notes))
        return frame


def _term_name(name: str) -> str:
    return name.replace("C(wave)", "wave")


def lmm_from_arrays(endog, exog: pd.DataFrame, groups, nested=None, nested_name: str = "respondent"):
    """A statsmodels ``MixedLM`` with a random intercept per group, from arrays.

    ``exog``: the fixed-effects design (its column names name the terms); ``groups``:
    the top-level group of each row. With ``nested`` (a label per row, e.g. the
    respondent within a PCN), a variance component ``nested_name`` adds a random
    intercept per nested label within each group: the model ``MixedLM.from_formula``
    builds with ``re_formula="1", vc_formula={nested_name: "0 + C(nested)"}``, each
    group's indicator block built with numpy (columns in sorted label order).
    """
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    endog = np.asarray(endog, dtype=float)
    groups = np.asarray(groups)
    if nested is None:
        model = MixedLM(endog, exog, groups)
        names = ["Group"]
    else:
        nested = np.asarray(nested)
        order = np.argsort(groups, kind="stable")
        bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
        mats, colnames = [], []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            labels, codes = np.unique(nested[order[start:stop]], return_inverse=True)
            mat = np.zeros((stop - start, len(labels)))
            mat[np.arange(stop - start), codes] = 1.0
            mats.append(mat)
            colnames.append([f"C({nested_name})[{label}]" for label in labels])
        exog_vc = VCSpec([nested_name], [colnames], [mats])
        model = MixedLM(endog, exog, groups, exog_re=np.ones((len(endog), 1)), exog_vc=exog_vc)
        names = ["Group"]
    param_names, re_names, re_names_full = model._make_param_names(names)
    model.data.param_names = param_names
    model.data.exog_re_names = re_names
    model.data.exog_re_names_full = re_names_full
    if nested is not None:
        model.data.vcomp_names = model.exog_vc.names
    return model


def fit_lmm(formula: str, frame: pd.DataFrame, group_col: str, vc_formula: dict | None = None, model=None):
    """Fit a random-intercept LMM by REML; return (result, notes, converged).

    The model is ``formula`` with a random intercept per ``group_col`` (plus the
    variance components of ``vc_formula``), or ``model`` when given (e.g. from
    ``lmm_from_arrays``; then ``formula`` and ``frame`` are not used).
    Every warning raised during the fit becomes a note. ``converged`` is False when
    the last optimiser attempt failed (statsmodels retries with another optimiser
    after a failure, and says so) or ``result.converged`` is False.
    """
    converged = True
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model is None:
            import statsmodels.formula.api as smf

            kwargs = {"re_formula": "1", "vc_formula": vc_formula} if vc_formula else {}
            model = smf.mixedlm(formula, frame, groups=frame[group_col], **kwargs)
        result = model.fit(reml=True)
    failed = False  # an optimiser failure not followed by a retry
    for w in caught:
        text = str(w.message).splitlines()[0] if str(w.message) else ""
        notes.append(f"{w.category.__name__}: {text}")
        if "failed to converge" in text.lower() or "did not converge" in text.lower():
            failed = True
        elif text.lower().startswith("retrying"):
            failed = False
    converged = not failed
    if not getattr(result, "converged", True):
        converged = False
        notes.append("optimiser did not converge")
    return result, notes, converged


def wave_design(wave: pd.Series) -> pd.DataFrame:
    """Fixed-effects design of ``score ~ C(wave)``: Intercept and one dummy per later wave.

    ``wave`` is categorical (its categories in time order, the first the reference);
    the columns are named as patsy names them (``C(wave)[T.<wave>]``).
    """
    codes = np.asarray(wave.cat.codes)
    cols = {"Intercept": np.ones(len(codes))}
    for k, name in enumerate(wave.cat.categories[1:], start=1):
        cols[f"C(wave)[T.{name}]"] = (codes == k).astype(float)
    return pd.DataFrame(cols, index=wave.index)


def fit_wave_model(data: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                   min_pcn_groups: int = 10, ci_df: str = "respondents") -> WaveModel:
    """Fit score ~ wave with a respondent random intercept (and PCN when enough groups).

    CIs and p-values use a t quantile with n_respondents - 1 df (``ci_df="respondents"``:
    what Satterthwaite's method gives for the within-respondent contrast of a complete,
    balanced design) or the normal quantile (``ci_df="normal"``, statsmodels' Wald).
    When the model with PCN does not converge it is refitted without PCN, and a note says so.

    ``data`` has columns respondent, wave, score (and optionally pcn).
    """
    frame = data[["respondent", "wave", "score"] + (["pcn"] if "pcn" in data.columns else [])].dropna(subset=["score"])
    order = order_waves(frame["wave"], waves)
    frame = frame[frame["wave"].isin(order)].copy()
    seen = set(frame["wave"].unique())
    frame["wave"] = pd.Categorical(frame["wave"], categories=[w for w in order if w in seen])
    frame = frame.sort_values(["respondent", "wave"], kind="mergesort").reset_index(drop=True)
    n_obs, n_resp = len(frame), frame["respondent"].nunique()
    n_pcn = 0
    if "pcn" in frame.columns:
        frame["pcn"] = frame["pcn"].astype(str)
        n_pcn = frame.loc[frame["pcn"] != "", "pcn"].nunique()
    notes: list[str] = []
    empty_terms = pd.DataFrame(columns=["term", "estimate", "se", "ci_low", "ci_high", "p"])
    if frame["wave"].cat.categories.size < 2 or n_resp < 2:
        return WaveModel(empty_terms, math.nan, math.nan, math.nan, n_obs, n_resp, n_pcn, False,
                         ["not fitted: fewer than two waves or respondents"])
    use_pcn = n_pcn >= int(min_pcn_groups) and (frame["pcn"] != "").all()
    if "pcn" in frame.columns and not use_pcn and n_pcn:
        notes.append(f"PCN not modelled ({n_pcn} PCNs < {min_pcn_groups})")
    if frame["score"].std() == 0:
        return WaveModel(empty_terms, math.nan, math.nan, math.nan, n_obs, n_resp, n_pcn, False,
                         ["not fitted: every score is the same"])
    exog = wave_design(frame["wave"])
    names = [_term_name(t) for t in exog.columns]
    y, X = frame["score"].to_numpy(float), exog.to_numpy(float)
    respondents = frame["respondent"].to_numpy()
    try:
        if use_pcn:
            fit = fit_nested_reml(y, X, respondents, frame["pcn"].to_numpy())
            if not fit.converged:
                # the nested model failed: say so and fall back to respondents only
                notes.append(f"PCN model: optimiser did not converge ({fit.message})")
                notes.append("PCN variance component dropped: the nested model did not converge")
                use_pcn = False
        if not use_pcn:
            fit = fit_nested_reml(y, X, respondents)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return WaveModel(empty_terms, math.nan, math.nan, math.nan, n_obs, n_resp, n_pcn, False,
                         notes + [f"fit failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"])
    converged = fit.converged
    if not converged:
        notes.append(f"optimiser did not converge ({fit.message})")
    fe = pd.Series(fit.beta, index=names)
    bse = pd.Series(np.sqrt(np.diag(fit.cov_beta)), index=names)
    if ci_df == "respondents":
        df = max(n_resp - 1, 1)
        q = stats.t.ppf(1 - alpha / 2, df)
        with np.errstate(divide="ignore", invalid="ignore"):
            pvals = 2 * stats.t.sf(np.abs(fe / bse), df)
    elif ci_df == "normal":
        q = stats.norm.ppf(1 - alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            pvals = 2 * stats.norm.sf(np.abs(fe / bse))
    else:
        raise ValueError(f"ci_df must be 'respondents' or 'normal', got {ci_df!r}")
    z = q
    terms = pd.DataFrame({
        "term": names,
        "estimate": fe.to_numpy(float),
        "se": bse.to_numpy(float),
        "ci_low": (fe - z * bse).to_numpy(float),
        "ci_high": (fe + z * bse).to_numpy(float),
        "p": np.asarray(pvals, float),
    })
    sd_res = math.sqrt(fit.sigma2)
    sd_resp = float(math.sqrt(max(fit.var_respondent, 0.0)))
    sd_pcn = float(math.sqrt(max(fit.var_pcn, 0.0))) if use_pcn else math.nan
    if use_pcn and sd_pcn == 0:
        notes.append("PCN variance estimated at zero (boundary)")
    if sd_res < 1e-6 * float(frame["score"].std()):
        # the random intercepts absorb every deviation: the criterion has no interior optimum
        converged = False
        notes.append("residual variance estimated at zero (boundary): the model fits the data exactly")
    if sd_resp == 0:
        notes.append("respondent variance estimated at zero (boundary)")
    return WaveModel(terms, sd_resp, sd_res, sd_pcn, n_obs, n_resp, n_pcn, converged, notes)


def mixed_table(long: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                min_pcn_groups: int = 10, levels: tuple[str, ...] = ("item", "domain"),
                pooled: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """Fit ``fit_wave_model`` per cohort x item/domain; MIXED_COLUMNS then extras, sorted."""
    from tqdm import tqdm
    import sys

    data = long if "level" in long.columns else add_domain_scores(long)
    data = data[data["level"].isin(levels)]
    wave_order = order_waves(data["wave"], waves)
    if pooled and data["cohort"].nunique() > 1:
        extra = data.copy()
        extra["respondent"] = extra["cohort"] + "/" + extra["respondent"]
        extra["cohort"] = POOLED
        data = pd.concat([data, extra], ignore_index=True)
    groups = list(data.groupby(["cohort", "level", "item"], sort=True))
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    frames = []
    for (cohort, level, item), sub in tqdm(groups, desc="mixed models", disable=disable):
        fit = fit_wave_model(sub, wave_order, alpha=alpha, min_pcn_groups=min_pcn_groups)
        frame = fit.to_frame()
        if frame.empty:
            frame = pd.DataFrame([{"term": "", "estimate": math.nan, "se": math.nan, "ci_low": math.nan,
                                   "ci_high": math.nan, "p": math.nan, "sd_respondent": math.nan,
                                   "sd_residual": math.nan, "n_obs": fit.n_obs, "n_respondents": fit.n_respondents,
                                   "converged": False, "sd_pcn": math.nan, "n_pcn": fit.n_pcn,
                                   "note": "; ".join(fit.notes)}])
        frame.insert(0, "cohort", cohort)
        frame.insert(1, "item", item)
        frame["level"] = level
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=MIXED_COLUMNS + MIXED_EXTRA_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table["_p"] = (table["cohort"] == POOLED).astype(int)
    table["_l"] = (table["level"] == "domain").astype(int)
    table = table.sort_values(["_p", "cohort", "_l", "item"], kind="mergesort")
    table["n_obs"] = table["n_obs"].astype(int)
    table["n_respondents"] = table["n_respondents"].astype(int)
    table["n_pcn"] = table["n_pcn"].astype(int)
    return table[MIXED_COLUMNS + MIXED_EXTRA_COLUMNS].reset_index(drop=True)



# --------------------------------------------------------------------------- REML on group sums


#: Nelder-Mead's tolerances on the relative SDs and on the REML criterion (absolute: the
#: criterion is -2 log-likelihood, thousands at national scale, so 1e-8 is near float precision).
REML_XTOL = 1e-9
REML_FTOL = 1e-8


@dataclass
class RemlFit:
    """A REML fit of y = X beta + PCN intercept + respondent intercept + error.

    ``beta`` and ``cov_beta`` (sigma^2 (X' H^-1 X)^-1, as lme4 reports), ``sigma2``
    (residual variance), ``var_respondent`` and ``var_pcn`` (0 when not modelled),
    ``deviance`` (the profiled REML criterion), ``converged`` and ``message``.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    var_respondent: float
    var_pcn: float
    deviance: float
    converged: bool
    message: str = ""


class _NestedSums:
    """Respondent-level sums that the REML criterion of the nested model needs.

    With H = I + t_r^2 Z_r Z_r' + t_p^2 Z_p Z_p' (respondents nested in PCNs), every
    quadratic form a' H^-1 b over the columns of [X, y] is a sum over respondents and
    PCNs (a respondent's block inverts in closed form, a PCN adds a rank-one term), so
    one evaluation costs O(respondents x columns^2), not a pass over a dense design.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, unit: np.ndarray, top: np.ndarray | None):
        W = np.column_stack([X, y])
        self.n, self.p = X.shape
        self.cross = W.T @ W
        unit_index = pd.factorize(pd.Series(unit), sort=True)[0]
        n_units = int(unit_index.max()) + 1 if len(unit_index) else 0
        self.m = np.bincount(unit_index, minlength=n_units).astype(float)
        self.S = np.column_stack([np.bincount(unit_index, weights=W[:, j], minlength=n_units)
                                  for j in range(W.shape[1])])
        if top is not None:
            from scipy import sparse

            first = np.zeros(n_units, dtype=int)
            first[unit_index[::-1]] = np.arange(len(unit_index))[::-1]
            self.top = np.unique(np.asarray(top)[first], return_inverse=True)[1]
            self.n_top = int(self.top.max()) + 1
            self.members = sparse.csr_matrix((np.ones(n_units), (self.top, np.arange(n_units))),
                                             shape=(self.n_top, n_units))
        else:
            self.top = None

    def quad(self, t_r: float, t_p: float) -> tuple[np.ndarray, float]:
        """[X, y]' H^-1 [X, y] and log|H| at relative SDs t_r (respondent), t_p (PCN)."""
        a = t_r * t_r
        denom = 1.0 + self.m * a
        c = a / denom
        Q = self.cross - (self.S * c[:, None]).T @ self.S
        logdet = float(np.log(denom).sum())
        if self.top is not None and t_p > 0:
            b = t_p * t_p
            w = self.S / denom[:, None]                          # 1' A_i^-1 [X, y] per respondent
            s = np.bincount(self.top, weights=self.m / denom, minlength=self.n_top)
            G = self.members @ w
            k = b / (1.0 + b * s)
            Q = Q - (G * k[:, None]).T @ G
            logdet += float(np.log1p(b * s).sum())
        return Q, logdet

    def criterion(self, t_r: float, t_p: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        """Profiled REML deviance, and beta, (X'H^-1X)^-1, sigma^2 at (t_r, t_p)."""
        Q, logdet = self.quad(t_r, t_p)
        p = self.p
        XtX, Xty, yty = Q[:p, :p], Q[:p, p], Q[p, p]
        L = np.linalg.cholesky(XtX)
        beta = np.linalg.solve(XtX, Xty)
        rss = float(yty - Xty @ beta)
        dof = self.n - p
        if dof <= 0:
            raise ValueError("no residual degrees of freedom (as many fixed effects as observations)")
        sigma2 = rss / dof
        if not sigma2 > 0:
            raise np.linalg.LinAlgError("residual variance is zero at these parameters")
        dev = logdet + 2.0 * float(np.log(np.diag(L)).sum()) + dof * (1.0 + math.log(2.0 * math.pi * sigma2))
        return dev, beta, np.linalg.inv(XtX), sigma2


def fit_nested_reml(y, X, respondent, pcn=None) -> RemlFit:
    """REML fit of ``y ~ X`` with a random intercept per respondent (and per PCN, respondents nested).

    The variance parameters are the relative SDs (random-effect SD / residual SD), as in
    lme4: the profiled REML criterion is minimised over them with a Nelder-Mead
    simplex, bounded below by 0 (a variance estimated at the boundary is exactly 0).
    A respondent is identified within its PCN (the same label in two PCNs is two units).
    """
    from scipy import optimize

    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    labels = pd.DataFrame({"r": np.asarray(respondent).astype(str)})
    if pcn is not None:
        labels["p"] = np.asarray(pcn).astype(str)
    unit = labels.groupby(["p", "r"] if pcn is not None else ["r"], sort=True).ngroup().to_numpy()
    sums = _NestedSums(y, X, unit, None if pcn is None else labels["p"].to_numpy())
    nested = pcn is not None

    def objective(t):
        try:
            return sums.criterion(t[0], t[1] if nested else 0.0)[0]
        except np.linalg.LinAlgError:
            return np.inf

    bounds = [(0.0, None), (0.0, None)] if nested else [(0.0, None)]
    x0 = np.array([1.0, 0.5][: len(bounds)])
    # Nelder-Mead: the criterion is smooth but its numerical gradient is not reliable
    # enough near the optimum for L-BFGS-B (it stops early); 1-2 parameters make the
    # simplex cheap (each evaluation is a pass over respondent sums).
    best = optimize.minimize(objective, x0, method="Nelder-Mead", bounds=bounds,
                             options={"xatol": REML_XTOL, "fatol": REML_FTOL, "maxiter": 4000, "maxfev": 8000})
    theta = np.maximum(best.x, 0.0)
    t_r, t_p = float(theta[0]), float(theta[1]) if nested else 0.0
    dev, beta, xtx_inv, sigma2 = sums.criterion(t_r, t_p)
    converged = bool(best.success) and np.isfinite(dev)
    return RemlFit(beta, sigma2 * xtx_inv, sigma2, sigma2 * t_r * t_r, sigma2 * t_p * t_p, dev, converged,
                   "" if best.success else str(best.message))


__all__ = ["MIXED_COLUMNS", "NO_COHORT", "RemlFit", "WaveModel", "fit_lmm", "fit_nested_reml", "fit_wave_model",
           "lmm_from_arrays", "mixed_table", "wave_design"]
