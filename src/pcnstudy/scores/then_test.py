"""The then-test: a retrospective pre-rating beside the prospective one.

``then_test_table(data, retrospective, wave_order, alpha)`` takes the long table with
domain rows (``add_domain_scores``), the retrospective wave names (e.g. ``then``,
collected with the last wave) and every wave in time order, and gives per cohort x
domain of the cohorts that have a then-test two change rows (``change_table``
columns): ``pre_vs_post`` (first prospective wave to the last) and ``then_vs_post``
(retrospective wave to the last), and ``then_vs_pre``: the response shift itself, the
then-test minus the pre-test on the same respondents (those with the pre-test, the
then-test and the last wave), with its t CI and paired t-test (``mean_diff`` = then -
pre). A cohort surveyed at one prospective wave with a then-test (design ``retrospective``:
no pre-test) gives only ``then_vs_post``, its retrospective pre-post change: the one
wave minus the then-test on the same respondents (complete pairs), with its t CI and
paired t-test. Sorted by cohort, item, comparison.
"""
from __future__ import annotations

import pandas as pd

from pcnstudy.scores.change import change_table


def then_test_table(data: pd.DataFrame, retrospective: list[str], wave_order: list[str], alpha: float) -> pd.DataFrame:
    """Then-vs-post beside pre-vs-post, per cohort x domain, for cohorts with a then-test."""
    rows = []
    domains = data[data["level"] == "domain"]
    for cohort, sub in domains.groupby("cohort", sort=True):
        seen = set(sub["wave"].unique())
        retro = [w for w in retrospective if w in seen]
        prospective = [w for w in wave_order if w in seen and w not in retrospective]
        if not retro or not prospective:
            continue
        then, pre, post = retro[0], prospective[0], prospective[-1]
        if len(prospective) == 1:  # no pre-test: the retrospective pre-post change alone
            rows.append(change_table(sub[sub["wave"].isin([then, post])], [then, post], alpha=alpha,
                                     pooled=False).assign(comparison="then_vs_post"))
            continue
        pre_post = change_table(sub[sub["wave"].isin([pre, post])], [pre, post], alpha=alpha, pooled=False)
        then_post = change_table(sub[sub["wave"].isin([then, post])], [then, post], alpha=alpha, pooled=False)
        trio = sub[sub["wave"].isin([pre, then, post])]
        complete = trio.groupby(["respondent", "item"])["wave"].transform("nunique") == 3
        then_pre = change_table(trio[complete & trio["wave"].isin([pre, then])], [pre, then], alpha=alpha,
                                pooled=False)
        for label, table in (("pre_vs_post", pre_post), ("then_vs_post", then_post), ("then_vs_pre", then_pre)):
            table = table.assign(comparison=label)
            rows.append(table)
    if not rows:
        return pd.DataFrame(columns=["cohort", "item", "comparison"])
    out = pd.concat(rows, ignore_index=True)
    out = out.sort_values(["cohort", "item", "comparison"], kind="mergesort").reset_index(drop=True)
    front = ["cohort", "item", "comparison"]
    return out[front + [c for c in out.columns if c not in front]]
