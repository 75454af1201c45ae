"""Cronbach's alpha and Wilson intervals against published values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from pcnstudy.core.proportions import feedback_table, wilson_ci
from pcnstudy.scores.reliability import cronbach_alpha, reliability_table
from reference import RESULTS, assert_matches


def test_cronbach_alpha_matches_published_example():
    d = pd.read_csv(RESULTS / "cronbach_alpha_realstat.csv").pivot(index="Subj", columns="Items", values="Scores")
    alpha, low, high, n = cronbach_alpha(d)
    assert n == 15
    assert_matches("cronbach_realstat", {"alpha": alpha, "ci_low": low, "ci_high": high})


def test_reliability_table_per_domain_and_wave():
    rng = np.random.default_rng(1)
    rows = []
    for r in range(30):
        t = rng.normal()
        for w in ("baseline", "end"):
            for item, dom in (("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B")):
                rows.append(dict(cohort="c", respondent=r, wave=w, item=item, domain=dom, score=t + rng.normal()))
    table = reliability_table(pd.DataFrame(rows))
    assert set(table["domain"]) == {"A"} and len(table) == 2  # B has one item
    assert (table["ci_low"] < table["alpha"]).all() and (table["alpha"] < table["ci_high"]).all()


@pytest.mark.parametrize("k,n", [(81, 263), (15, 148), (0, 20), (1, 29)])
def test_wilson_matches_newcombe_and_statsmodels(k, n):
    low, high = wilson_ci(k, n)
    assert_matches(f"wilson_newcombe_{k}_{n}", {"ci_low": float(low), "ci_high": float(high)})
    ref = proportion_confint(k, n, method="wilson")
    assert float(low) == pytest.approx(ref[0], abs=1e-12) and float(high) == pytest.approx(ref[1], abs=1e-12)


def test_wilson_is_nan_without_answers_and_exact_at_none_and_all():
    low, high = wilson_ci(np.array([0, 3, 5, 0, 0]), np.array([0, 3, 5, 7, 40]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert (high[1:3] == 1.0).all() and (low[1:3] < 1).all()
    assert (low[3:] == 0.0).all() and (high[3:] > 0).all()


def test_feedback_table():
    fb = pd.DataFrame({"cohort": ["x"] * 18, "wave": ["end"] * 18, "item": ["took_action"] * 18,
                       "respondent": range(18), "value": [1] * 16 + [0] * 2})
    table = feedback_table(fb)
    row = table.iloc[0]
    assert (row.n, row.k) == (18, 16) and row.pct == pytest.approx(16 / 18)
    assert row.pct_ci_low < 16 / 18 < row.pct_ci_high
    with pytest.raises(ValueError):
        feedback_table(fb.assign(value=2))
