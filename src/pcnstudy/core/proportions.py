"""Proportions of yes/no feedback items with Wilson score 95% CIs.

``wilson_ci(k, n, alpha)`` is vectorised: centre (k + z²/2)/(n + z²), half-width
z sqrt(k(n-k)/n + z²/4)/(n + z²) (Wilson 1927; Newcombe 1998, method 3).
``feedback_table(feedback, alpha)`` takes the processed feedback table (respondent,
cohort, wave, item, value 0/1) and gives one row per cohort x wave x item: cohort,
wave, item, n, k, pct, pct_ci_low, pct_ci_high (not yet disclosure-controlled; see
``pcnstudy.core.disclosure.suppress``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

FEEDBACK_COLUMNS = ["cohort", "wave", "item", "n", "k", "pct", "pct_ci_low", "pct_ci_high"]


def wilson_ci(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (arrays allowed); NaN where n == 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (k + z**2 / 2) / (n + z**2)
        half = z * np.sqrt(k * (n - k) / n + z**2 / 4) / (n + z**2)
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def feedback_table(feedback: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Yes-proportions per cohort x wave x item with Wilson CIs; sorted by those keys."""
    missing = [c for c in ("cohort", "wave", "item", "value") if c not in feedback.columns]
    if missing:
        raise KeyError(f"feedback table lacks column {missing[0]!r}")
    data = feedback.dropna(subset=["value"])
    value = pd.to_numeric(data["value"], errors="coerce")
    if value.isna().any() or not value.isin([0, 1]).all():
        raise ValueError("feedback values must be 0 or 1")
    data = data.assign(value=value.astype(int))
    table = (data.groupby(["cohort", "wave", "item"], sort=True, observed=True)["value"]
             .agg(n="size", k="sum").reset_index())
    table["pct"] = table["k"] / table["n"]
    table["pct_ci_low"], table["pct_ci_high"] = wilson_ci(table["k"], table["n"], alpha)
    return table[FEEDBACK_COLUMNS]
