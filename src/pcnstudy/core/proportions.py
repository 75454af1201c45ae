"""Proportions of yes/no feedback items with Wilson score 95% CIs.

``wilson_ci(k, n, alpha)`` is vectorised: statsmodels' ``proportion_confint(method="wilson")``
(Wilson 1927; Newcombe 1998, method 3), exactly 0 at k = 0 and 1 at k = n, NaN where n == 0.
``feedback_table(feedback, alpha)`` takes the processed feedback table (respondent,
cohort, wave, item, value 0/1) and gives one row per cohort x wave x item: cohort,
wave, item, n, k, pct, pct_ci_low, pct_ci_high (not yet disclosure-controlled; see
``pcnstudy.core.disclosure.suppress``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

FEEDBACK_COLUMNS = ["cohort", "wave", "item", "n", "k", "pct", "pct_ci_low", "pct_ci_high"]


def wilson_ci(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (arrays allowed); NaN where n == 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    some = np.where(n > 0, n, 1.0)  # n == 0 gives NaN below, without a division by zero
    low, high = proportion_confint(k, some, alpha=alpha, method="wilson")
    # the Wilson interval of 0/n starts at 0 and that of n/n ends at 1 exactly; the
    # library's arithmetic leaves them a rounding error away (inside, off the estimate)
    low = np.where(n > 0, np.where(k == 0, 0.0, np.clip(low, 0, 1)), np.nan)
    high = np.where(n > 0, np.where(k == n, 1.0, np.clip(high, 0, 1)), np.nan)
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
