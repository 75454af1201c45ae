"""Scale reliability: Cronbach's alpha with Feldt's F-based 95% CI.

``cronbach_alpha(items)`` takes a respondents x items table (complete rows only are
used) and gives (alpha, ci_low, ci_high, n): alpha = k/(k-1) (1 - sum var_i / var_total)
with sample variances; the CI (Feldt, Woodruff & Salih 1987) is
``1 - (1 - alpha) F_{1-a/2}(n-1, (n-1)(k-1))`` to ``1 - (1 - alpha) F_{a/2}(...)``.
``reliability_table(long)`` applies it per cohort x multi-item domain x wave to a long
ratings table and returns: cohort, domain, wave, n, n_items, alpha, ci_low, ci_high.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

RELIABILITY_COLUMNS = ["cohort", "domain", "wave", "n", "n_items", "alpha", "ci_low", "ci_high"]
#: The interval, as the paper's Methods name it (scores.json ``methods.reliability``).
RELIABILITY_METHODS = {"ci": "Feldt's F-based interval"}


def cronbach_alpha(items: pd.DataFrame | np.ndarray, ci: float = 0.95) -> tuple[float, float, float, int]:
    """Cronbach's alpha of the columns of ``items`` (listwise complete rows), with Feldt's CI."""
    x = np.asarray(items, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if k < 2 or n < 2:
        return math.nan, math.nan, math.nan, int(n)
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return math.nan, math.nan, math.nan, int(n)
    alpha = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var)
    a = 1 - ci
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - a / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(a / 2, df1, df2)
    return float(alpha), float(low), float(high), int(n)


def reliability_table(long: pd.DataFrame, ci: float = 0.95) -> pd.DataFrame:
    """Alpha per cohort x domain (with two or more items) x wave from a long ratings table."""
    data = long[long.get("level", pd.Series("item", index=long.index)).eq("item")] if "level" in long else long
    if "domain" not in data.columns:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    data = data[data["domain"].astype(str) != ""]
    wide = data.pivot_table(index=["cohort", "domain", "wave", "respondent"], columns="item", values="score",
                            aggfunc="first", observed=True, sort=True)
    rows = []
    for (cohort, domain, wave), sub in wide.groupby(level=["cohort", "domain", "wave"], sort=True):
        sub = sub.dropna(axis=1, how="all")
        if sub.shape[1] < 2:
            continue
        alpha, low, high, n = cronbach_alpha(sub, ci)
        rows.append({"cohort": cohort, "domain": domain, "wave": wave, "n": n, "n_items": sub.shape[1],
                     "alpha": alpha, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)
