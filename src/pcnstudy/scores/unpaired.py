"""Unpaired change: each later wave against the first when the waves cannot be linked.

For a cohort whose design is ``unpaired`` (an anonymous survey asked at several waves:
nobody's start answers can be matched with their end answers) the respondents of two
waves are two independent samples. Takes the long table of ratings (item and domain
rows, as ``pcnstudy.scores.ratings_table.add_domain_scores`` gives them) of such cohorts
and gives one row per cohort x item (or domain) x later wave (``unpaired_change_table``,
columns ``UNPAIRED_COLUMNS``):

- difference of means ``mean_to - mean_from`` with Welch's t-test and CI
  (Welch-Satterthwaite df; R ``t.test(x_to, x_from)``, scipy ``ttest_ind(equal_var=False)``);
- percent change of the means ``mean_to / mean_from - 1`` with a delta-method CI on
  the log ratio of two independent means (Var log R = s_to^2/(n_to m_to^2) +
  s_from^2/(n_from m_from^2), t quantile with the Welch-Satterthwaite df of those two
  terms; not Fieller's interval);
- Mann-Whitney U of the later wave (R ``wilcox.test(x_to, x_from)``'s W: exact when both
  samples are under 50 without ties, else the normal approximation with tie and
  continuity correction), the common-language effect size
  CLES = U / (n_from n_to) = P(later > first) + P(tie)/2 and the rank-biserial
  correlation 2 CLES - 1; Cohen's d on the pooled SD;
- Holm and Benjamini-Hochberg adjustment of the Welch p within cohort x later wave x level.

``unpaired_model_table`` is the unpaired counterpart of the wave mixed model: no
respondent effect (each person answers once), ``score ~ C(wave)`` with a random
intercept per PCN (REML, ``pcnstudy.scores.reml``) when the cohort has at least
``min_pcn_groups`` PCNs, and otherwise ordinary least squares: no random effect at all,
which the ``model`` column and ``note`` say. CIs use a t quantile on n_pcn - 1 df (PCN
model) or the residual df (OLS).

``cohort_designs(cohorts)`` reads each cohort's ``design`` from the processed cohorts
table (``paired``, ``linked``, ``unpaired``, ``single_wave``, ``retrospective``; absent or
empty = paired) and ``split_by_design`` gives the rows the paired statistics take (paired,
linked) and those the unpaired ones take; ``retrospective_rows`` those of cohorts surveyed
once with a retrospective then-test, which only the then-test table takes.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.scores.change import adjust_pvalues
from pcnstudy.scores.mixed import wave_design
from pcnstudy.scores.ratings_table import InputError, order_waves
from pcnstudy.scores.reml import fit_nested_reml

UNPAIRED_COLUMNS = [
    "cohort", "level", "item", "wave_from", "wave_to", "n_from", "n_to", "mean_from", "mean_to", "sd_from", "sd_to",
    "mean_diff", "diff_ci_low", "diff_ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "welch_t", "welch_df",
    "p_welch", "p_holm", "p_bh", "mannwhitney_u", "p_mannwhitney", "mannwhitney_method", "cles", "rank_biserial",
    "cohen_d", "paired",
]
UNPAIRED_MODEL_COLUMNS = ["cohort", "level", "item", "term", "estimate", "se", "ci_low", "ci_high", "p", "df",
                          "model", "sd_pcn", "sd_residual", "n_obs", "n_pcn", "converged", "note"]
#: Below this size in both samples (and without ties) Mann-Whitney's p is exact, as in R.
EXACT_BELOW = 50
#: Digits kept before ranking, so that float noise (0.1 + 0.2) does not break a tie.
RANK_DIGITS = 10


# ----------------------------------------------------------------------------- Welch

def welch_from_summary(mean_from, sd_from, n_from, mean_to, sd_to, n_to, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Welch's t for mean_to - mean_from from each sample's mean, SD (ddof 1) and size; vectorised.

    Gives mean_diff, se, Welch-Satterthwaite df, t, two-sided p and the t CI of the
    difference; NaN where undefined (a sample under 2, both SDs 0).
    """
    mf, sf, nf = (np.asarray(v, float) for v in (mean_from, sd_from, n_from))
    mt, st, nt = (np.asarray(v, float) for v in (mean_to, sd_to, n_to))
    with np.errstate(divide="ignore", invalid="ignore"):
        vf, vt = sf**2 / nf, st**2 / nt
        se = np.sqrt(vf + vt)
        ok = (nf > 1) & (nt > 1) & (se > 0)
        df = np.where(ok, (vf + vt) ** 2 / (vf**2 / (nf - 1) + vt**2 / (nt - 1)), np.nan)
        diff = mt - mf
        t = np.where(ok, diff / se, np.nan)
        p = 2 * stats.t.sf(np.abs(t), df)
        q = stats.t.ppf(1 - alpha / 2, df)
    return {"mean_diff": diff, "se": se, "welch_df": df, "welch_t": t, "p_welch": p,
            "diff_ci_low": diff - q * se, "diff_ci_high": diff + q * se}


def welch_t(x_from, x_to, alpha: float = 0.05) -> dict[str, float]:
    """Welch's t-test of mean(x_to) - mean(x_from) (as R's ``t.test(x_to, x_from)``)."""
    a, b = np.asarray(x_from, float), np.asarray(x_to, float)
    res = welch_from_summary(a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size, alpha)
    return {k: float(v) for k, v in res.items()}


def pct_change_independent(mean_from, sd_from, n_from, mean_to, sd_to, n_to, alpha: float = 0.05):
    """Percent change mean_to/mean_from - 1 of two independent means, with its delta-method CI.

    On the log ratio: Var(log R) ~ a + b, a = s_to^2/(n_to m_to^2), b = s_from^2/(n_from m_from^2);
    the interval is exp(log R -/+ t_df se) - 1 with df = (a + b)^2 / (a^2/(n_to - 1) + b^2/(n_from - 1))
    (Welch-Satterthwaite on the log scale). Vectorised; NaN when a mean is not positive or
    a sample has fewer than two.
    """
    mf, sf, nf = (np.asarray(v, float) for v in (mean_from, sd_from, n_from))
    mt, st, nt = (np.asarray(v, float) for v in (mean_to, sd_to, n_to))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (mf > 0) & (mt > 0) & (nf > 1) & (nt > 1)
        a, b = st**2 / (nt * mt**2), sf**2 / (nf * mf**2)
        se = np.sqrt(a + b)
        df = (a + b) ** 2 / (a**2 / (nt - 1) + b**2 / (nf - 1))
        q = stats.t.ppf(1 - alpha / 2, np.where(ok & (se > 0), df, np.nan))
        log_r = np.log(np.where(ok, mt / mf, np.nan))
        pct = np.where(mf != 0, mt / mf - 1, np.nan)
        zero = ok & (se == 0)  # both samples constant: the ratio is known exactly
        low = np.where(zero, pct, np.exp(log_r - q * se) - 1)
        high = np.where(zero, pct, np.exp(log_r + q * se) - 1)
    return pct, np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def cohen_d(mean_from, sd_from, n_from, mean_to, sd_to, n_to) -> np.ndarray:
    """Cohen's d: (mean_to - mean_from) over the pooled SD of the two samples; vectorised."""
    mf, sf, nf = (np.asarray(v, float) for v in (mean_from, sd_from, n_from))
    mt, st, nt = (np.asarray(v, float) for v in (mean_to, sd_to, n_to))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.sqrt(((nf - 1) * sf**2 + (nt - 1) * st**2) / (nf + nt - 2))
        return np.where(pooled > 0, (mt - mf) / pooled, np.nan)


# ----------------------------------------------------------------------------- Mann-Whitney

@lru_cache(maxsize=256)
def mannwhitney_counts(m: int, n: int) -> np.ndarray:
    """Number of orderings of m + n untied values giving U = 0..m n for the m-sample (times C(m+n, m)).

    The coefficients of the Gaussian binomial [m+n choose m]_q, built by adding one
    value at a time: f(m, n) = f(m - 1, n) shifted by n + f(m, n - 1).
    """
    if m == 0 or n == 0:
        return np.ones(1)
    prev = [np.ones(1) for _ in range(n + 1)]  # row m' = 0: f(0, j) = [1]
    for i in range(1, m + 1):
        row = [np.ones(1)]  # f(i, 0) = [1]
        for j in range(1, n + 1):
            out = np.zeros(i * j + 1)
            left = prev[j]  # f(i - 1, j): the largest value is the i-sample's, adding j to U
            out[j:j + left.size] += left
            down = row[j - 1]  # f(i, j - 1): the largest value is the other sample's
            out[:down.size] += down
            row.append(out)
        prev = row
    return prev[n]


def _ready(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x == 0, 0.0, np.floor(np.log10(np.abs(x))))
    scale = 10.0 ** (RANK_DIGITS - 1 - mag)
    return np.round(x * scale) / scale


def mann_whitney(x_from, x_to, correct: bool = True) -> dict[str, float | str]:
    """Mann-Whitney U test of x_to against x_from, as R's ``wilcox.test(x_to, x_from)``.

    U counts the pairs (from, to) with to above from, a tie counting one half (R's W with
    x_to first); two-sided p exact when both samples are under ``EXACT_BELOW`` and
    nothing is tied, else by the normal approximation with tie and continuity correction.
    Also gives CLES = U / (n_from n_to) and the rank-biserial correlation 2 CLES - 1.
    """
    a, b = _ready(x_from), _ready(x_to)
    nf, nt = a.size, b.size
    nan = {"mannwhitney_u": math.nan, "p_mannwhitney": math.nan, "mannwhitney_method": "none",
           "cles": math.nan, "rank_biserial": math.nan}
    if nf == 0 or nt == 0:
        return nan
    ranks = stats.rankdata(np.concatenate([b, a]))
    u = float(ranks[:nt].sum() - nt * (nt + 1) / 2)
    _, ties = np.unique(ranks, return_counts=True)
    tied = bool((ties > 1).any())
    cles = u / (nf * nt)
    out = {"mannwhitney_u": u, "cles": cles, "rank_biserial": 2 * cles - 1}
    if nf < EXACT_BELOW and nt < EXACT_BELOW and not tied:
        counts = mannwhitney_counts(nt, nf)
        total = counts.sum()
        k = int(round(u))
        p = 2 * min(counts[: k + 1].sum(), counts[k:].sum()) / total
        return {**out, "p_mannwhitney": float(min(p, 1.0)), "mannwhitney_method": "exact"}
    n = nf + nt
    z = u - nf * nt / 2
    sigma = math.sqrt(nf * nt / 12 * ((n + 1) - float((ties**3 - ties).sum()) / (n * (n - 1))))
    if sigma == 0:
        return {**out, "p_mannwhitney": math.nan, "mannwhitney_method": "normal"}
    correction = math.copysign(0.5, z) if (correct and z != 0) else 0.0
    p = 2 * stats.norm.sf(abs((z - correction) / sigma))
    return {**out, "p_mannwhitney": float(min(p, 1.0)), "mannwhitney_method": "normal"}


# ----------------------------------------------------------------------------- tables

def _pair_rows(sub: pd.DataFrame, first: str, later: str, alpha: float) -> pd.DataFrame:
    """One row per level x item: the first wave's respondents against the later wave's."""
    rows = []
    for (level, item), grp in sub.groupby(["level", "item"], sort=True):
        x0 = grp.loc[grp["wave"] == first, "score"].to_numpy(float)
        x1 = grp.loc[grp["wave"] == later, "score"].to_numpy(float)
        if x0.size == 0 or x1.size == 0:
            continue
        rows.append({"level": level, "item": item, "n_from": x0.size, "n_to": x1.size,
                     "mean_from": x0.mean(), "mean_to": x1.mean(),
                     "sd_from": x0.std(ddof=1) if x0.size > 1 else math.nan,
                     "sd_to": x1.std(ddof=1) if x1.size > 1 else math.nan,
                     **mann_whitney(x0, x1)})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    args = [frame[c] for c in ("mean_from", "sd_from", "n_from", "mean_to", "sd_to", "n_to")]
    for key, value in welch_from_summary(*args, alpha=alpha).items():
        if key != "se":
            frame[key] = value
    frame["pct_change"], frame["pct_ci_low"], frame["pct_ci_high"] = pct_change_independent(*args, alpha=alpha)
    frame["cohen_d"] = cohen_d(*args)
    frame["wave_from"], frame["wave_to"] = first, later
    return frame


def unpaired_change_table(data: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Unpaired change per cohort x item/domain x later wave against the cohort's first wave.

    ``data`` has columns cohort, respondent, wave, level, item, score (item and domain
    rows). Columns ``UNPAIRED_COLUMNS``; ``paired`` is False on every row.
    """
    wave_order = order_waves(data["wave"], waves)
    parts = []
    for cohort, sub in data.groupby("cohort", sort=True):
        seen = set(sub["wave"].unique())
        here = [w for w in wave_order if w in seen]
        for later in here[1:]:
            frame = _pair_rows(sub, here[0], later, alpha)
            if not frame.empty:
                frame.insert(0, "cohort", cohort)
                parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=UNPAIRED_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["p_holm"] = np.nan
    table["p_bh"] = np.nan
    for _, idx in table.groupby(["cohort", "wave_to", "level"], sort=True).groups.items():
        p = table.loc[idx, "p_welch"].to_numpy(float)
        table.loc[idx, "p_holm"] = adjust_pvalues(p, "holm")
        table.loc[idx, "p_bh"] = adjust_pvalues(p, "bh")
    table["paired"] = False
    rank = {w: i for i, w in enumerate(wave_order)}
    table["_w"] = table["wave_to"].map(rank)
    table["_l"] = (table["level"] == "domain").astype(int)
    table = table.sort_values(["cohort", "_w", "_l", "item"], kind="mergesort")
    for col in ("n_from", "n_to"):
        table[col] = table[col].astype(int)
    return table[UNPAIRED_COLUMNS].reset_index(drop=True)


def fit_unpaired_model(data: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                       min_pcn_groups: int = 10) -> pd.DataFrame:
    """``score ~ C(wave)`` without a respondent effect: PCN random intercept (REML) from
    ``min_pcn_groups`` PCNs, else OLS. One row per term (columns ``UNPAIRED_MODEL_COLUMNS``
    without cohort, level, item)."""
    frame = data.dropna(subset=["score"]).copy()
    order = order_waves(frame["wave"], waves)
    seen = set(frame["wave"])
    frame["wave"] = pd.Categorical(frame["wave"], categories=[w for w in order if w in seen])
    frame = frame.sort_values(["wave", "respondent"], kind="mergesort").reset_index(drop=True)
    pcn = frame["pcn"].astype(str) if "pcn" in frame.columns else pd.Series("", index=frame.index)
    n_pcn = int(pcn[pcn != ""].nunique())
    base = {"n_obs": len(frame), "n_pcn": n_pcn}
    if frame["wave"].cat.categories.size < 2 or frame["score"].std() == 0 or len(frame) < 3:
        return pd.DataFrame([{**base, "term": "", "model": "none", "converged": False,
                              "note": "not fitted: fewer than two waves, too few answers or every score the same"}])
    exog = wave_design(frame["wave"])
    y, X = frame["score"].to_numpy(float), exog.to_numpy(float)
    names = [c.replace("C(wave)", "wave") for c in exog.columns]
    if n_pcn >= min_pcn_groups and (pcn != "").all():
        fit = fit_nested_reml(y, X, pcn.to_numpy())
        beta, cov, converged = fit.beta, fit.cov_beta, bool(fit.converged)
        sd_res, sd_pcn = math.sqrt(fit.sigma2), math.sqrt(max(fit.var_respondent, 0.0))
        df, model = max(n_pcn - 1, 1), "pcn_random_intercept"
        note = "no respondent effect (waves not linked); random intercept per PCN"
        if not converged:
            note += f"; optimiser did not converge ({fit.message})"
    else:
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        df = len(y) - X.shape[1]
        sigma2 = float(resid @ resid) / df
        cov = sigma2 * np.linalg.inv(X.T @ X)
        sd_res, sd_pcn, converged, model = math.sqrt(sigma2), math.nan, True, "ols"
        note = ("no respondent effect (waves not linked) and no random effect: ordinary least squares"
                + (f" ({n_pcn} PCNs < {min_pcn_groups})" if n_pcn else ""))
    se = np.sqrt(np.diag(cov))
    q = stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(beta / se), df)
    return pd.DataFrame({"term": names, "estimate": beta, "se": se, "ci_low": beta - q * se, "ci_high": beta + q * se,
                         "p": p, "df": float(df), "model": model, "sd_pcn": sd_pcn, "sd_residual": sd_res,
                         **base, "converged": converged, "note": note})


def unpaired_model_table(data: pd.DataFrame, waves: list[str] | None = None, alpha: float = 0.05,
                         min_pcn_groups: int = 10, levels: tuple[str, ...] = ("domain",)) -> pd.DataFrame:
    """``fit_unpaired_model`` per cohort x level x item (``levels``); columns ``UNPAIRED_MODEL_COLUMNS``."""
    wave_order = order_waves(data["wave"], waves)
    frames = []
    for (cohort, level, item), sub in data[data["level"].isin(levels)].groupby(["cohort", "level", "item"], sort=True):
        fit = fit_unpaired_model(sub, wave_order, alpha, min_pcn_groups)
        fit.insert(0, "cohort", cohort)
        fit.insert(1, "level", level)
        fit.insert(2, "item", item)
        frames.append(fit)
    if not frames:
        return pd.DataFrame(columns=UNPAIRED_MODEL_COLUMNS)
    table = pd.concat(frames, ignore_index=True).reindex(columns=UNPAIRED_MODEL_COLUMNS)
    table["_l"] = (table["level"] == "domain").astype(int)
    table = table.sort_values(["cohort", "_l", "item"], kind="mergesort")
    for col in ("n_obs", "n_pcn"):
        table[col] = table[col].astype(int)
    return table[UNPAIRED_MODEL_COLUMNS].reset_index(drop=True)




# ----------------------------------------------------------------------------- designs

#: A cohort's design (the cohorts table's ``design``) and how the scores stage treats it.
PAIRED_DESIGNS = ("paired", "linked")
UNPAIRED_DESIGN = "unpaired"
SINGLE_WAVE_DESIGN = "single_wave"
#: One wave with a retrospective then-rating on the same respondents: change is then-vs-now only.
RETROSPECTIVE_DESIGN = "retrospective"
DESIGNS = PAIRED_DESIGNS + (UNPAIRED_DESIGN, SINGLE_WAVE_DESIGN, RETROSPECTIVE_DESIGN)


class DesignError(InputError):
    """A cohorts table's design is not one the stage knows; the message names file, row and column."""


def cohort_designs(cohorts: pd.DataFrame | None, source: str = "cohorts.parquet") -> dict[str, str]:
    """{cohort: design} from the cohorts table; {} without a table or a ``design`` column.

    A cohort the table does not list, or whose design is empty, is ``paired`` (see
    ``design_of``); an unknown design is a DesignError naming the row (header = row 1).
    """
    if cohorts is None or "design" not in cohorts.columns or "cohort" not in cohorts.columns:
        return {}
    out = {}
    for i, (cohort, design) in enumerate(zip(cohorts["cohort"], cohorts["design"])):
        design = "" if design is None or (isinstance(design, float) and math.isnan(design)) else str(design).strip()
        if design and design not in DESIGNS:
            raise DesignError(f"{source}:{i + 2}:design: unknown design {design!r} (expected one of {', '.join(DESIGNS)})")
        out[str(cohort)] = design or "paired"
    return out


def design_of(designs: dict[str, str], cohort: str) -> str:
    """A cohort's design; ``paired`` when the cohorts table does not say (today's behaviour)."""
    return designs.get(str(cohort), "paired")


def split_by_design(data: pd.DataFrame, designs: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows of paired or linked cohorts, rows of unpaired cohorts); single-wave cohorts' rows are in neither."""
    design = data["cohort"].map(lambda c: design_of(designs, c))
    paired = data if bool(design.isin(PAIRED_DESIGNS).all()) else data[design.isin(PAIRED_DESIGNS)].reset_index(drop=True)
    return paired, data[design == UNPAIRED_DESIGN].reset_index(drop=True)


def retrospective_rows(data: pd.DataFrame, designs: dict[str, str]) -> pd.DataFrame:
    """Rows of the cohorts whose design is ``retrospective`` (one wave and its then-test)."""
    design = data["cohort"].map(lambda c: design_of(designs, c))
    return data[design == RETROSPECTIVE_DESIGN].reset_index(drop=True)


__all__ = ["RETROSPECTIVE_DESIGN", "retrospective_rows", "UNPAIRED_COLUMNS", "UNPAIRED_MODEL_COLUMNS", "cohen_d", "fit_unpaired_model", "mann_whitney",
           "mannwhitney_counts", "pct_change_independent", "DESIGNS", "DesignError", "cohort_designs", "design_of",
           "split_by_design", "unpaired_change_table", "unpaired_model_table",
           "welch_from_summary", "welch_t"]
