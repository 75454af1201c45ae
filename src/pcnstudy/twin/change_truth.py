"""Domain change estimated by the scores stage against the generator's population change.

``change_versus_truth(change, effects, cohorts)`` takes the change table
(change_scores.csv, complete pairs; with unpaired_change.csv's rows for cohorts whose
waves could not be linked, told apart by ``comparison``), the generator's ``effects.json`` (``{"cohorts": {cohort: {"domains":
{domain: {"wave_effect": {wave: ...}, "pct_change": {wave: ...}}}}}}``) and the simulated
cohorts to check, and gives one row per cohort, domain and later wave with the estimate,
its interval, the true value and whether the interval covers it, for the mean change
(scale points) and the percent change of the mean. The truth is the population value the
generator's parameters imply, not the sample's realised value, so coverage is what a
reader of the intervals should expect: about 95% of them cover it.

``retrospective_versus_truth(then_test, effects, cohorts)`` does the same for the cohorts
surveyed once with a retrospective then-test (then_test.csv's ``then_vs_post`` domain rows
of cohorts whose truth has a ``retrospective_change``: now minus then on the same
respondents), with ``comparison`` "retrospective".
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

#: (quantity, estimate column, interval columns, truth key in effects.json)
QUANTITIES = (
    ("mean_change", "mean_diff", ("diff_ci_low", "diff_ci_high"), "wave_effect"),
    ("pct_change", "pct_change", ("pct_ci_low", "pct_ci_high"), "pct_change"),
)
COLUMNS = ["cohort", "domain", "wave_from", "wave_to", "comparison", "quantity", "n_from", "n_to", "estimate",
           "ci_low", "ci_high", "truth", "error", "covered"]


def sizes(rec: dict[str, Any]) -> tuple[int, int]:
    """(n at the first wave, n at the later one): the pairs twice for a paired row."""
    if not pd.isna(rec.get("n_pairs", np.nan)):
        return int(rec["n_pairs"]), int(rec["n_pairs"])
    return int(rec["n_from"]), int(rec["n_to"])


def true_value(effects: dict[str, Any], cohort: str, domain: str, wave: str, key: str) -> float | None:
    """The generator's population value of ``key`` for a cohort, domain and wave (None when absent)."""
    domains = ((effects.get("cohorts") or {}).get(cohort) or {}).get("domains") or {}
    value = ((domains.get(domain) or {}).get(key) or {}).get(wave)
    return None if value is None else float(value)


def change_versus_truth(change: pd.DataFrame, effects: dict[str, Any], cohorts: Iterable[str]) -> pd.DataFrame:
    """One row per simulated cohort x domain x later wave x quantity: estimate, CI, truth, covered."""
    wanted = set(cohorts)
    domains = change[(change["level"] == "domain") & change["cohort"].isin(wanted)]
    rows = []
    for rec in domains.to_dict("records"):
        for quantity, column, (low, high), key in QUANTITIES:
            truth = true_value(effects, rec["cohort"], rec["item"], rec["wave_to"], key)
            if truth is None or pd.isna(rec[column]):
                continue
            ci_low, ci_high = float(rec[low]), float(rec[high])
            n_from, n_to = sizes(rec)
            rows.append({"cohort": rec["cohort"], "domain": rec["item"], "wave_from": rec["wave_from"],
                         "wave_to": rec["wave_to"], "comparison": rec.get("comparison", "paired"),
                         "quantity": quantity, "n_from": n_from, "n_to": n_to,
                         "estimate": float(rec[column]), "ci_low": ci_low, "ci_high": ci_high, "truth": truth,
                         "error": float(rec[column]) - truth,
                         "covered": bool(np.isfinite(ci_low) and ci_low <= truth <= ci_high)})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["cohort", "domain", "wave_to", "quantity"], kind="mergesort").reset_index(drop=True)


def retrospective_versus_truth(then_test: pd.DataFrame, effects: dict[str, Any],
                               cohorts: Iterable[str]) -> pd.DataFrame:
    """One row per retrospective cohort x domain x quantity: the then-vs-now estimate, CI, truth, covered."""
    needed = {"cohort", "level", "comparison", "item"}
    if then_test.empty or not needed <= set(then_test.columns):
        return pd.DataFrame(columns=COLUMNS)
    wanted = set(cohorts)
    rows = []
    part = then_test[(then_test["level"] == "domain") & (then_test["comparison"] == "then_vs_post")
                     & then_test["cohort"].isin(wanted)]
    for rec in part.to_dict("records"):
        domains = ((effects.get("cohorts") or {}).get(rec["cohort"]) or {}).get("domains") or {}
        truth_rec = (domains.get(rec["item"]) or {}).get("retrospective_change")
        if not truth_rec:
            continue
        for quantity, column, (low, high), key in QUANTITIES:
            truth = truth_rec.get("mean_diff" if quantity == "mean_change" else "pct_change")
            if truth is None or pd.isna(rec[column]):
                continue
            ci_low, ci_high = float(rec[low]), float(rec[high])
            rows.append({"cohort": rec["cohort"], "domain": rec["item"], "wave_from": rec["wave_from"],
                         "wave_to": rec["wave_to"], "comparison": "retrospective", "quantity": quantity,
                         "n_from": int(rec["n_pairs"]), "n_to": int(rec["n_pairs"]),
                         "estimate": float(rec[column]), "ci_low": ci_low, "ci_high": ci_high,
                         "truth": float(truth), "error": float(rec[column]) - float(truth),
                         "covered": bool(np.isfinite(ci_low) and ci_low <= float(truth) <= ci_high)})
    return pd.DataFrame(rows, columns=COLUMNS)


def coverage_summary(table: pd.DataFrame) -> dict[str, Any]:
    """How many intervals there are, how many cover the truth, per quantity and in all."""
    out: dict[str, Any] = {"n_intervals": int(len(table)), "n_covered": int(table["covered"].sum())}
    for quantity, part in table.groupby("quantity", sort=True):
        out[quantity] = {"n_intervals": int(len(part)), "n_covered": int(part["covered"].sum()),
                         "mean_abs_error": float(part["error"].abs().mean())}
    return out
