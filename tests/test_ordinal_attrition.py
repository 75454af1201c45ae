"""Ordinal sensitivity models and attrition tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pcnstudy.scores.attrition import attrition_by_profession, attrition_table, permutation_chi2
from pcnstudy.scores.ordinal import ORDINAL_COLUMNS, ordinal_table


def _ratings(seed=5, n=40):
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n):
        base = rng.normal(3, 0.7)
        prof = ["gp", "nurse", "pharmacist"][r % 3]
        for w, eff in (("baseline", 0.0), ("end", 0.8)):
            if w == "end" and (base < 2.8 and rng.random() < 0.7):
                continue
            for item in ("i1", "i2", "i3"):
                rows.append(dict(cohort="c", respondent=f"r{r}", wave=w, item=item, domain="d", profession=prof,
                                 score=float(np.clip(np.round(base + eff + rng.normal(0, 0.6)), 1, 5))))
    return pd.DataFrame(rows)


def test_ordinal_detects_improvement_with_cluster_robust_se():
    table = ordinal_table(_ratings(), ["baseline", "end"])
    assert list(table.columns) == ORDINAL_COLUMNS
    row = table.iloc[0]
    assert row.term == "wave[T.end]" and row.estimate > 0 and row.p < 0.01
    assert row.cov_type == "cluster" and row.odds_ratio == pytest.approx(np.exp(row.estimate))


def test_attrition_compares_lost_with_completers():
    data = _ratings()
    table = attrition_table(data, ["baseline", "end"], seed=1, reps=500)
    row = table.iloc[0]
    assert row.n_baseline == 40 and row.n_completers + row.n_lost == 40
    assert row.mean_baseline_lost < row.mean_baseline_completers  # the design drops low scorers
    status = data[data.wave == "baseline"].groupby("respondent")["score"].mean()
    done = set(data.loc[data.wave == "end", "respondent"])
    lost = status[~status.index.isin(done)]
    comp = status[status.index.isin(done)]
    assert row.p_welch == pytest.approx(stats.ttest_ind(lost, comp, equal_var=False).pvalue)
    assert row.profession_test.startswith("permutation_chi2")
    counts = attrition_by_profession(data, ["baseline", "end"])
    assert counts["n_baseline"].sum() == 40


def test_permutation_chi2_close_to_asymptotic_on_large_table():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], 600)
    labels = np.where(groups == "a", rng.random(600) < 0.5, rng.random(600) < 0.35)
    table = pd.crosstab(groups, labels)
    p_asym = stats.chi2_contingency(table, correction=False).pvalue
    assert permutation_chi2(labels, groups, 2000, 3) == pytest.approx(p_asym, abs=0.02)
