"""Random-effects meta-analysis against metafor's dat.bcg answers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from pcnstudy.scores.meta import pool_change, random_effects
from reference import RESULTS, assert_matches


@pytest.fixture(scope="module")
def bcg():
    d = pd.read_csv(RESULTS / "bcg.csv")
    n1, n2 = d.tpos + d.tneg, d.cpos + d.cneg
    yi = np.log(d.tpos / n1) - np.log(d.cpos / n2)
    vi = 1 / d.tpos - 1 / n1 + 1 / d.cpos - 1 / n2
    return yi.to_numpy(), vi.to_numpy()


@pytest.mark.parametrize("method", ["dl", "reml"])
def test_bcg_matches_metafor(bcg, method):
    res = random_effects(*bcg, method=method)
    assert res["k"] == 13
    assert_matches(f"bcg_{method}", res)
    if method == "dl":
        ref = combine_effects(*bcg, method_re="dl")
        assert res["estimate"] == pytest.approx(ref.mean_effect_re, rel=1e-10)
        assert res["tau2"] == pytest.approx(ref.tau2, rel=1e-10)


def test_single_study_and_homogeneous():
    res = random_effects([0.5], [0.04], "reml")
    assert res["estimate"] == 0.5 and res["tau2"] == 0.0 and res["se"] == pytest.approx(0.2)
    res = random_effects([0.5, 0.5, 0.5], [0.04, 0.04, 0.04], "dl")
    assert res["tau2"] == 0.0 and res["i2"] == 0.0


def test_pool_change_uses_last_wave_of_each_cohort():
    change = pd.DataFrame({
        "cohort": ["a", "a", "b", "pooled"], "item": ["d"] * 4, "level": ["domain"] * 4,
        "wave_from": ["baseline"] * 4, "wave_to": ["mid", "end", "end", "end"],
        "mean_diff": [0.1, 0.4, 0.6, 0.5], "sd_diff": [1.0, 1.0, 1.0, 1.0], "n_pairs": [25, 25, 25, 50]})
    table = pool_change(change)
    assert set(table["method"]) == {"dl", "reml"} and (table["k"] == 2).all()
    assert table["estimate"].iloc[0] == pytest.approx(0.5)
