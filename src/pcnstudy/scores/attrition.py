"""Attrition: who was lost between the first and the last wave, and are they different?

``attrition_table(ratings, waves, seed, reps)`` takes the long ratings table
(respondent, cohort, wave, item, score; ``profession`` if present) and gives per
cohort: n_baseline, n_completers, n_lost, pct_lost, the baseline mean score (mean of
all the respondent's baseline items) of completers and of those lost, their
difference, Welch's t-test (t, df, p_welch), the Mann-Whitney U test (u,
p_mannwhitney; scipy's two-sided test with its automatic exact/asymptotic choice),
and the test of profession by completion: Fisher's exact test for a 2 x 2 table,
otherwise a Monte Carlo permutation test of the chi-square statistic (seeded,
``reps`` permutations, p = (1 + #{X² >= observed}) / (1 + reps)), named in
``profession_test``. ``attrition_by_profession`` gives the counts behind it
(cohort, profession, n_baseline, n_completers, n_lost) for disclosure control.
A completer answered at least one item at the cohort's last wave.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from pcnstudy.scores.ratings_table import order_waves

ATTRITION_COLUMNS = ["cohort", "wave_from", "wave_to", "n_baseline", "n_completers", "n_lost", "pct_lost",
                     "mean_baseline_completers", "mean_baseline_lost", "diff_lost_minus_completers",
                     "welch_t", "welch_df", "p_welch", "mannwhitney_u", "p_mannwhitney",
                     "p_profession", "profession_test"]


def _status(ratings: pd.DataFrame, waves: list[str] | None) -> pd.DataFrame:
    rows = []
    for cohort, sub in ratings.groupby("cohort", sort=True):
        order = order_waves(sub["wave"], waves)
        if len(order) < 2:
            continue
        first, last = order[0], order[-1]
        base = sub[sub["wave"] == first]
        score = base.groupby("respondent")["score"].mean()
        later = set(sub.loc[sub["wave"] == last, "respondent"])
        frame = pd.DataFrame({"respondent": score.index, "baseline_score": score.to_numpy()})
        frame["completed"] = frame["respondent"].isin(later)
        if "profession" in sub.columns:
            prof = base.groupby("respondent")["profession"].first()
            frame["profession"] = frame["respondent"].map(prof).fillna("").astype(str)
        else:
            frame["profession"] = ""
        frame["cohort"], frame["wave_from"], frame["wave_to"] = cohort, first, last
        rows.append(frame)
    if not rows:
        return pd.DataFrame(columns=["cohort", "respondent", "baseline_score", "completed", "profession"])
    return pd.concat(rows, ignore_index=True)


def permutation_chi2(labels: np.ndarray, groups: np.ndarray, reps: int, seed: int) -> float:
    """Monte Carlo p-value of the chi-square statistic of labels x groups under permutation."""
    lab = pd.factorize(labels)[0]
    grp = pd.factorize(groups)[0]
    n_l, n_g = lab.max() + 1, grp.max() + 1

    def chi2(lab_perm: np.ndarray) -> np.ndarray:
        # lab_perm: (r, n) -> statistics (r,)
        cells = n_l * n_g
        idx = lab_perm * n_g + grp[None, :] + cells * np.arange(lab_perm.shape[0])[:, None]
        counts = np.bincount(idx.ravel(), minlength=cells * lab_perm.shape[0]).reshape(-1, n_l, n_g)
        expected = counts.sum(2, keepdims=True) * counts.sum(1, keepdims=True) / counts.sum((1, 2), keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nansum(np.where(expected > 0, (counts - expected) ** 2 / expected, 0), axis=(1, 2))

    observed = chi2(lab[None, :])[0]
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((int(reps), lab.size)), axis=1)
    null = chi2(lab[perms])
    return float((1 + (null >= observed - 1e-12).sum()) / (1 + reps))


def attrition_table(ratings: pd.DataFrame, waves: list[str] | None = None, seed: int = 0,
                    reps: int = 2000) -> pd.DataFrame:
    """Per-cohort attrition summary with tests; columns ATTRITION_COLUMNS."""
    status = _status(ratings[ratings["level"] == "item"] if "level" in ratings.columns else ratings, waves)
    rows = []
    for cohort, sub in status.groupby("cohort", sort=True):
        comp = sub.loc[sub["completed"], "baseline_score"].to_numpy(float)
        lost = sub.loc[~sub["completed"], "baseline_score"].to_numpy(float)
        row = {"cohort": cohort, "wave_from": sub["wave_from"].iloc[0], "wave_to": sub["wave_to"].iloc[0],
               "n_baseline": len(sub), "n_completers": comp.size, "n_lost": lost.size,
               "pct_lost": lost.size / len(sub) if len(sub) else math.nan,
               "mean_baseline_completers": comp.mean() if comp.size else math.nan,
               "mean_baseline_lost": lost.mean() if lost.size else math.nan}
        row["diff_lost_minus_completers"] = row["mean_baseline_lost"] - row["mean_baseline_completers"]
        row.update(welch_t=math.nan, welch_df=math.nan, p_welch=math.nan, mannwhitney_u=math.nan,
                   p_mannwhitney=math.nan, p_profession=math.nan, profession_test="")
        if comp.size >= 2 and lost.size >= 2:
            tt = stats.ttest_ind(lost, comp, equal_var=False)
            row.update(welch_t=float(tt.statistic), welch_df=float(tt.df), p_welch=float(tt.pvalue))
        if comp.size >= 1 and lost.size >= 1:
            mw = stats.mannwhitneyu(lost, comp, alternative="two-sided")
            row.update(mannwhitney_u=float(mw.statistic), p_mannwhitney=float(mw.pvalue))
        profs = sub["profession"]
        if lost.size and comp.size and profs.nunique() >= 2 and (profs != "").all():
            table = pd.crosstab(profs, sub["completed"])
            if table.shape == (2, 2):
                row.update(p_profession=float(stats.fisher_exact(table.to_numpy()).pvalue),
                           profession_test="fisher_exact")
            else:
                row.update(p_profession=permutation_chi2(sub["completed"].to_numpy(), profs.to_numpy(), reps, seed),
                           profession_test=f"permutation_chi2_{reps}")
        rows.append(row)
    return pd.DataFrame(rows, columns=ATTRITION_COLUMNS)


def attrition_by_profession(ratings: pd.DataFrame, waves: list[str] | None = None) -> pd.DataFrame:
    """Counts of baseline respondents, completers and lost per cohort x profession."""
    status = _status(ratings[ratings["level"] == "item"] if "level" in ratings.columns else ratings, waves)
    if status.empty:
        return pd.DataFrame(columns=["cohort", "profession", "n_baseline", "n_completers", "n_lost"])
    out = (status.groupby(["cohort", "profession"], sort=True)["completed"]
           .agg(n_baseline="size", n_completers="sum").reset_index())
    out["n_completers"] = out["n_completers"].astype(int)
    out["n_lost"] = out["n_baseline"] - out["n_completers"]
    return out
