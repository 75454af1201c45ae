"""Linear mixed models of score on wave, fitted on every observation.

``fit_wave_model(data, waves, ...)`` fits ``score ~ C(wave)`` (first wave = reference)
with statsmodels MixedLM by REML: a random intercept per respondent, and, when the
data hold at least ``min_pcn_groups`` PCNs, a random intercept per PCN with
respondents nested in it (PCN as the grouping factor, respondent as a variance
component). Respondents who missed a wave still contribute. Warnings raised during
the fit (convergence, boundary, Hessian) are recorded in ``note`` and a fit that did
not converge has ``converged = False``: never a silent failure; a PCN model that
does not converge is refitted without PCN, and the note says so. CIs are Wald
intervals on the REML estimates with a t quantile on n_respondents - 1 df by
default (on the simulated twin the normal quantile statsmodels reports covered only
92-93%); ``ci_df="normal"`` gives the plain Wald interval.

``mixed_table(long, waves, alpha, min_pcn_groups)`` fits one model per cohort x item
(and domain) and returns MIXED_COLUMNS then ``level, sd_pcn, n_pcn, note``; terms
are ``Intercept`` and ``wave[T.<wave>]``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.change import NO_COHORT, POOLED, add_domain_scores, order_waves

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


def fit_lmm(formula: str, frame: pd.DataFrame, group_col: str, vc_formula: dict | None = None):
    """Fit a random-intercept LMM by REML; return (result, notes, converged).

    Every warning raised during the fit becomes a note. ``converged`` is False when
    the last optimiser attempt failed (statsmodels retries with another optimiser
    after a failure, and says so) or ``result.converged`` is False.
    """
    import statsmodels.formula.api as smf

    converged = True
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
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
    frame["wave"] = pd.Categorical(frame["wave"], categories=[w for w in order if w in set(frame["wave"])])
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
    try:
        if use_pcn:
            result, fit_notes, converged = fit_lmm("score ~ C(wave)", frame, "pcn",
                                                   vc_formula={"respondent": "0 + C(respondent)"})
            if not converged:
                # the nested model failed: say so and fall back to respondents only
                notes += [f"PCN model: {n}" for n in fit_notes]
                notes.append("PCN variance component dropped: the nested model did not converge")
                use_pcn = False
        if not use_pcn:
            result, fit_notes, converged = fit_lmm("score ~ C(wave)", frame, "respondent")
    except (np.linalg.LinAlgError, ValueError) as exc:
        return WaveModel(empty_terms, math.nan, math.nan, math.nan, n_obs, n_resp, n_pcn, False,
                         notes + [f"fit failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"])
    notes += fit_notes
    fe = result.fe_params
    bse = result.bse_fe
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
        "term": [_term_name(t) for t in fe.index],
        "estimate": fe.to_numpy(float),
        "se": bse.to_numpy(float),
        "ci_low": (fe - z * bse).to_numpy(float),
        "ci_high": (fe + z * bse).to_numpy(float),
        "p": np.asarray(pvals, float),
    })
    sd_res = math.sqrt(result.scale)
    if use_pcn:
        sd_pcn = float(math.sqrt(max(result.cov_re.iloc[0, 0], 0.0)))
        sd_resp = float(math.sqrt(max(result.vcomp[0], 0.0)))
    else:
        sd_pcn = math.nan
        sd_resp = float(math.sqrt(max(result.cov_re.iloc[0, 0], 0.0)))
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


__all__ = ["MIXED_COLUMNS", "WaveModel", "fit_wave_model", "mixed_table", "NO_COHORT"]
