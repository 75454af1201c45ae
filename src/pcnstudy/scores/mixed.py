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
nested data the ANOVA estimators (which REML equals there). The fit lives in
``pcnstudy.scores.reml``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.core.progress import progress as progress_bar
from pcnstudy.scores.ratings_table import POOLED, add_domain_scores, order_waves
from pcnstudy.scores.reml import fit_nested_reml

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
    data = long if "level" in long.columns else add_domain_scores(long)
    data = data[data["level"].isin(levels)]
    wave_order = order_waves(data["wave"], waves)
    if pooled and data["cohort"].nunique() > 1:
        extra = data.copy()
        extra["respondent"] = extra["cohort"] + "/" + extra["respondent"]
        extra["cohort"] = POOLED
        data = pd.concat([data, extra], ignore_index=True)
    groups = list(data.groupby(["cohort", "level", "item"], sort=True))
    disable = None if progress is None else not progress  # None: a bar only on a terminal
    frames = []
    for (cohort, level, item), sub in progress_bar(groups, desc="mixed models", disable=disable):
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


__all__ = ["MIXED_COLUMNS", "MIXED_EXTRA_COLUMNS", "WaveModel", "fit_wave_model", "mixed_table", "wave_design"]
