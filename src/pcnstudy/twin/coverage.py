"""The coverage study: how often the scores stage's intervals cover the generator's truth.

One simulated twin says little about its intervals: each covers the truth or not. The
study draws ``replicates`` new studies of each simulated cohort from the generator the
twin came from (``pcnstudy.simulate.ratings``: ``simulate_roster`` then
``simulate_wide``, in memory), computes every interval the way the scores stage does,
with the scores stage's own functions, and counts how often each covers the population
value the generator's parameters imply (``pcnstudy.simulate.truth.true_effects``):

- ``paired_t``: the paired t interval of the mean change of a domain score from the
  first to each later wave, complete pairs (``scores.change.paired_t_from_summary``);
- ``pct_delta``: the delta-method interval of the percent change of the mean
  (``scores.change.pct_change_delta``);
- ``welch`` and ``pct_independent``: the same two quantities for a cohort whose waves
  cannot be linked, by Welch's t and the delta method for independent means
  (``scores.unpaired.welch_from_summary``, ``pct_change_independent``);
- ``meta_wald`` and ``meta_hk``: the random-effects (REML) pooled mean change of the
  paired cohorts at each one's last wave, with its Wald and its Hartung-Knapp-Sidik-
  Jonkman interval (``scores.meta.random_effects``), against the mean of the pooled
  cohorts' true changes.

The mixed model's interval of the wave effect is not studied here: one fit per domain
and replicate costs more than the pipeline can spend on it (benchmarks/coverage.py
measures it).

A domain score is the mean of a respondent's answered items of the domain at a wave, as
``scores.ratings_table.add_domain_scores`` gives it (``domain_scores``). Replicate ``i``
of a cohort draws from ``replicate_rng(seed, i, cohort)``: a stream of its own per
replicate and cohort, so a cohort's draws do not depend on which other cohorts there
are. ``coverage_table`` gives per method (and, where a method spans several cohorts, per
cohort) the replicates, intervals, hits, coverage, its Monte Carlo standard error and a
Wilson interval. The intervals of one replicate share respondents (domains, waves), so
the standard error is cluster-robust with the replicate as the cluster and the Wilson
interval (95%, ``MC_ALPHA``) is on the effective number of intervals
(``pcnstudy.core.proportions``).
"""
from __future__ import annotations

import math
import zlib
from typing import Any, Mapping

import numpy as np
import pandas as pd

from pcnstudy.core.proportions import cluster_proportion, cluster_wilson_ci
from pcnstudy.scores.change import paired_t_from_summary, pct_change_delta
from pcnstudy.scores.meta import random_effects
from pcnstudy.scores.unpaired import pct_change_independent, welch_from_summary
from pcnstudy.simulate.config import wave_names
from pcnstudy.simulate.ratings import simulate_roster, simulate_wide
from pcnstudy.simulate.truth import true_effects

#: Each method and how the paper names it, in the order tables and figures show them.
METHODS = {
    "paired_t": "Mean change, paired t",
    "pct_delta": "Percent change, delta method",
    "welch": "Mean change, Welch t (unlinked waves)",
    "pct_independent": "Percent change, delta method (unlinked waves)",
    "meta_wald": "Pooled mean change, Wald",
    "meta_hk": "Pooled mean change, Hartung-Knapp",
}
#: The truth key of true_effects() each method's intervals are judged against.
TRUTH_KEY = {"paired_t": "wave_effect", "pct_delta": "pct_change", "welch": "wave_effect",
             "pct_independent": "pct_change", "meta_wald": "wave_effect", "meta_hk": "wave_effect"}
PAIRED_DESIGNS = ("paired", "linked")
UNPAIRED_DESIGN = "unpaired"
ALL = "all"
POOLED = "pooled"
INTERVAL_COLUMNS = ["replicate", "cohort", "domain", "wave_from", "wave_to", "method", "estimate", "ci_low",
                    "ci_high", "truth", "covered"]
#: The level of the Monte Carlo interval of a coverage, whatever the level of the intervals studied.
MC_ALPHA = 0.05
COVERAGE_COLUMNS = ["method", "label", "cohort", "cohorts", "replicates", "intervals", "hits", "coverage", "mc_se",
                    "deff", "mc_ci_low", "mc_ci_high", "nominal"]


def replicate_rng(seed: int, replicate: int, cohort: str) -> np.random.Generator:
    """The random stream of one replicate of one cohort, from (seed, replicate, crc32(cohort))."""
    return np.random.default_rng([int(seed), int(replicate), zlib.crc32(str(cohort).encode("utf-8"))])


def rated_waves(spec: Mapping[str, Any]) -> list[str]:
    """The cohort's waves with ratings, in time order (a retrospective then-test is not a wave here)."""
    return [w for w in wave_names(dict(spec)) if (spec["waves"][w] or {}).get("items")]


def domain_scores(wide: Mapping[str, pd.DataFrame], instrument: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """{wave: respondent x domain}: the mean of each respondent's answered items of the domain (NaN: none)."""
    domain_of = {it["id"]: it["domain"] for it in instrument["items"]}
    out = {}
    for wave, frame in wide.items():
        values = frame.to_numpy(float)
        domains = sorted({domain_of[c] for c in frame.columns})
        columns = {d: [j for j, c in enumerate(frame.columns) if domain_of[c] == d] for d in domains}
        answered = {d: np.isfinite(values[:, cols]).sum(axis=1) for d, cols in columns.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            means = {d: np.where(answered[d] > 0, np.nansum(values[:, cols], axis=1) / answered[d], np.nan)
                     for d, cols in columns.items()}
        out[wave] = pd.DataFrame(means, index=frame.index, columns=domains)
    return out


def simulate_scores(spec: Mapping[str, Any], rng: np.random.Generator,
                    instrument: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One replicate of a cohort's domain scores per rated wave, drawn as the simulator draws the twin."""
    roster = simulate_roster(dict(spec), rng)
    wide = simulate_wide(dict(spec), rng, dict(instrument), roster)
    return domain_scores({w: wide[w] for w in rated_waves(spec) if w in wide}, instrument)


def _stats(x: np.ndarray) -> tuple[int, float, float]:
    """(n, mean, variance with ddof 1) of the finite values of ``x``; NaN where undefined."""
    x = x[np.isfinite(x)]
    n = int(x.size)
    return n, float(x.mean()) if n else math.nan, float(x.var(ddof=1)) if n > 1 else math.nan


def paired_summaries(scores: Mapping[str, pd.DataFrame], first: str, later: str) -> list[dict[str, Any]]:
    """Per domain, the complete pairs' summaries the paired intervals need (first wave -> ``later``)."""
    a, b = scores[first], scores[later]
    _, ia, ib = np.intersect1d(a.index.to_numpy(), b.index.to_numpy(), return_indices=True)
    va, vb = a.to_numpy(float)[ia], b.reindex(columns=a.columns).to_numpy(float)[ib]
    rows = []
    for j, domain in enumerate(a.columns):
        both = np.isfinite(va[:, j]) & np.isfinite(vb[:, j])
        x0, x1 = va[both, j], vb[both, j]
        n, mean_from, var_from = _stats(x0)
        _, mean_to, var_to = _stats(x1)
        _, mean_diff, var_diff = _stats(x1 - x0)
        rows.append({"domain": domain, "wave_from": first, "wave_to": later, "n": n, "mean_from": mean_from,
                     "mean_to": mean_to, "var_from": var_from, "var_to": var_to, "mean_diff": mean_diff,
                     "sd_diff": math.sqrt(var_diff) if n > 1 else math.nan})
    return rows


def unpaired_summaries(scores: Mapping[str, pd.DataFrame], first: str, later: str) -> list[dict[str, Any]]:
    """Per domain, each wave's mean, SD and size (the waves' respondents not linked)."""
    rows = []
    for domain in scores[first].columns:
        n_from, mean_from, var_from = _stats(scores[first][domain].to_numpy(float))
        n_to, mean_to, var_to = _stats(scores[later][domain].to_numpy(float))
        rows.append({"domain": domain, "wave_from": first, "wave_to": later, "mean_from": mean_from,
                     "sd_from": math.sqrt(var_from) if n_from > 1 else math.nan, "n_from": n_from,
                     "mean_to": mean_to, "sd_to": math.sqrt(var_to) if n_to > 1 else math.nan, "n_to": n_to})
    return rows


def paired_intervals(summaries: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The scores stage's paired t and delta-method intervals of each row of ``paired_summaries``."""
    s = summaries
    cov = (s["var_from"] + s["var_to"] - s["sd_diff"] ** 2) / 2  # as change_table: cov = (v0 + v1 - var_d) / 2
    tt = paired_t_from_summary(s["mean_diff"], s["sd_diff"], s["n"], alpha)
    pct, low, high = pct_change_delta(s["mean_from"], s["mean_to"], s["var_from"], s["var_to"], cov, s["n"], alpha)
    keys = s[["replicate", "cohort", "domain", "wave_from", "wave_to"]]
    return pd.concat([keys.assign(method="paired_t", estimate=s["mean_diff"].to_numpy(float),
                                  ci_low=tt["diff_ci_low"], ci_high=tt["diff_ci_high"]),
                      keys.assign(method="pct_delta", estimate=pct, ci_low=low, ci_high=high)], ignore_index=True)


def unpaired_intervals(summaries: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The scores stage's Welch and independent-means delta-method intervals of ``unpaired_summaries`` rows."""
    s = summaries
    args = (s["mean_from"], s["sd_from"], s["n_from"], s["mean_to"], s["sd_to"], s["n_to"])
    welch = welch_from_summary(*args, alpha=alpha)
    pct, low, high = pct_change_independent(*args, alpha=alpha)
    keys = s[["replicate", "cohort", "domain", "wave_from", "wave_to"]]
    return pd.concat([keys.assign(method="welch", estimate=welch["mean_diff"], ci_low=welch["diff_ci_low"],
                                  ci_high=welch["diff_ci_high"]),
                      keys.assign(method="pct_independent", estimate=pct, ci_low=low, ci_high=high)],
                     ignore_index=True)


def pooled_intervals(summaries: pd.DataFrame, truths: Mapping[str, Mapping[str, Any]], alpha: float) -> pd.DataFrame:
    """The REML pooled mean change of each replicate and domain, across the paired cohorts at each
    one's last wave, as ``scores.meta.pool_change`` pools them (variance sd_diff² / n), with its
    Wald and Hartung-Knapp intervals; truth: the mean of the pooled cohorts' true changes."""
    if summaries.empty or summaries["cohort"].nunique() < 2:
        return pd.DataFrame(columns=INTERVAL_COLUMNS[:-2])
    last = summaries.groupby("cohort", sort=True)["wave_to"].agg("last").to_dict()
    rows = summaries[summaries["wave_to"] == summaries["cohort"].map(last)]
    out = []
    for (replicate, domain), part in rows.groupby(["replicate", "domain"], sort=True):
        res = random_effects(part["mean_diff"].to_numpy(float), (part["sd_diff"] ** 2 / part["n"]).to_numpy(float),
                             method="reml", alpha=alpha)
        truth = float(np.mean([truths[c][domain]["wave_effect"][w] for c, w in zip(part["cohort"], part["wave_to"])]))
        base = {"replicate": replicate, "cohort": POOLED, "domain": domain,
                "wave_from": ";".join(sorted(set(part["wave_from"]))), "wave_to": ";".join(sorted(set(part["wave_to"]))),
                "estimate": res["estimate"], "truth": truth}
        out.append({**base, "method": "meta_wald", "ci_low": res["ci_low"], "ci_high": res["ci_high"]})
        out.append({**base, "method": "meta_hk", "ci_low": res["hk_ci_low"], "ci_high": res["hk_ci_high"]})
    return pd.DataFrame(out)


def judge(intervals: pd.DataFrame, truths: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Add each cohort-level interval's truth (true_effects) and whether the interval covers it."""
    frame = intervals.copy()
    if "truth" not in frame.columns:
        frame["truth"] = np.nan
    missing = frame["truth"].isna() & (frame["cohort"] != POOLED)
    frame.loc[missing, "truth"] = [truths[c][d][TRUTH_KEY[m]][w] for c, d, m, w in
                                   frame.loc[missing, ["cohort", "domain", "method", "wave_to"]].itertuples(index=False)]
    low, high, truth = (frame[c].astype(float) for c in ("ci_low", "ci_high", "truth"))
    frame["covered"] = np.where(np.isfinite(low) & np.isfinite(high), (low <= truth) & (truth <= high), np.nan)
    return frame[INTERVAL_COLUMNS].reset_index(drop=True)


def simulate_intervals(specs: Mapping[str, Mapping[str, Any]], designs: Mapping[str, str],
                       instrument: Mapping[str, Any], replicates: int, seed: int, alpha: float) -> pd.DataFrame:
    """Every interval of ``replicates`` simulated studies of the cohorts in ``specs`` (cohort -> spec),
    each judged against the truth; ``designs`` (cohort -> paired, linked, unpaired, single_wave)
    chooses the statistics as the scores stage does. Columns INTERVAL_COLUMNS."""
    paired, unpaired, truths = [], [], {}
    for cohort in sorted(specs):
        spec, design = specs[cohort], designs.get(cohort, "paired")
        waves = rated_waves(spec)
        if len(waves) < 2 or design not in PAIRED_DESIGNS + (UNPAIRED_DESIGN,):
            continue
        truths[cohort] = true_effects(dict(spec), dict(instrument))
        summarise = unpaired_summaries if design == UNPAIRED_DESIGN else paired_summaries
        into = unpaired if design == UNPAIRED_DESIGN else paired
        for i in range(int(replicates)):
            scores = simulate_scores(spec, replicate_rng(seed, i, cohort), instrument)
            for later in waves[1:]:
                into += [{"replicate": i, "cohort": cohort, **row} for row in summarise(scores, waves[0], later)]
    parts = []
    if paired:
        paired_frame = pd.DataFrame(paired)
        parts += [paired_intervals(paired_frame, alpha), pooled_intervals(paired_frame, truths, alpha)]
    if unpaired:
        parts.append(unpaired_intervals(pd.DataFrame(unpaired), alpha))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=INTERVAL_COLUMNS)
    return judge(pd.concat(parts, ignore_index=True), truths)


def coverage_row(part: pd.DataFrame, alpha: float) -> dict[str, Any]:
    """Replicates, intervals, hits, coverage, its cluster-robust Monte Carlo SE (replicate = cluster),
    the design effect and the Wilson interval (level 1 - ``MC_ALPHA``) on the effective number of
    intervals; ``nominal`` is the studied intervals' level, 1 - ``alpha``."""
    part = part[part["covered"].notna()]
    hits, n = int(part["covered"].astype(bool).sum()), int(len(part))
    p, var, deff, _ = cluster_proportion(part["covered"].astype(float), part["replicate"])
    low, high = cluster_wilson_ci(hits, n, deff, MC_ALPHA)
    return {"replicates": int(part["replicate"].nunique()), "intervals": n, "hits": hits,
            "coverage": p if n else math.nan, "mc_se": math.sqrt(var) if np.isfinite(var) else math.nan,
            "deff": deff, "mc_ci_low": float(low), "mc_ci_high": float(high), "nominal": 1 - alpha}


def coverage_table(intervals: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per method over all its cohorts (``cohort`` = all), and one per cohort where a method
    spans several; in METHODS order. Columns COVERAGE_COLUMNS."""
    rows = []
    for method, label in METHODS.items():
        part = intervals[intervals["method"] == method]
        if part.empty:
            continue
        cohorts = sorted(set(part["cohort"]))
        rows.append({"method": method, "label": label, "cohort": ALL, "cohorts": ";".join(cohorts),
                     **coverage_row(part, alpha)})
        if len(cohorts) > 1:
            rows += [{"method": method, "label": label, "cohort": c, "cohorts": c,
                      **coverage_row(part[part["cohort"] == c], alpha)} for c in cohorts]
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def coverage_summary(table: pd.DataFrame, replicates: int) -> dict[str, Any]:
    """What twin.json (and so the paper's prose) says of the study: per method over all cohorts,
    the intervals, hits and coverage with its Monte Carlo interval, and the lowest and highest."""
    overall = table[table["cohort"] == ALL]
    out: dict[str, Any] = {"n_replicates": int(replicates), "n_methods": int(len(overall))}
    if overall.empty:
        return out
    out["pct_nominal"] = float(overall["nominal"].iloc[0])
    for rec in overall.to_dict("records"):
        out[rec["method"]] = {"label": rec["label"], "n_intervals": rec["intervals"], "n_covered": rec["hits"],
                              "pct_covered": rec["coverage"], "pct_mc_low": rec["mc_ci_low"],
                              "pct_mc_high": rec["mc_ci_high"]}
    low, high = overall.loc[overall["coverage"].idxmin()], overall.loc[overall["coverage"].idxmax()]
    out.update(pct_lowest=float(low["coverage"]), lowest=str(low["label"]), pct_highest=float(high["coverage"]),
               highest=str(high["label"]))
    return out


def coverage_study(specs: Mapping[str, Mapping[str, Any]], designs: Mapping[str, str], instrument: Mapping[str, Any],
                   replicates: int, seed: int, alpha: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(coverage table, summary) of ``replicates`` simulated studies of the cohorts in ``specs``."""
    intervals = simulate_intervals(specs, designs, instrument, replicates, seed, alpha)
    table = coverage_table(intervals, alpha)
    return table, coverage_summary(table, replicates)


__all__ = ["METHODS", "COVERAGE_COLUMNS", "INTERVAL_COLUMNS", "coverage_row", "coverage_study", "coverage_summary",
           "coverage_table", "domain_scores", "judge", "paired_intervals", "paired_summaries", "pooled_intervals",
           "rated_waves", "replicate_rng", "simulate_intervals", "simulate_scores", "unpaired_intervals",
           "unpaired_summaries"]
