"""Paired change scores against R's t.test / wilcox.test answers, and the scores command.

The R checks go through ``change_table``, the function the scores stage and the
``pcnstudy scores`` command run; ``paired_t`` is checked to give the same numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from pcnstudy.scores.change import (CHANGE_COLUMNS, adjust_pvalues, holm_adjust, change_table, paired_t, paired_t_from_summary,
                                    pct_change_bootstrap, pct_change_delta, psignrank, rank_biserial,
                                    wilcoxon_signed_rank)
from pcnstudy.scores.command import scores_command
from pcnstudy.scores.ratings_table import InputError, add_domain_scores, validate_long
from reference import RESULTS, assert_matches


@pytest.fixture(scope="module")
def sleep():
    d = pd.read_csv(RESULTS / "sleep.csv")
    return d[d.group == 1]["extra"].to_numpy(), d[d.group == 2]["extra"].to_numpy()


def _pair_table(x_from, x_to, wave_from="from", wave_to="to"):
    """One change_table row comparing x_to with x_from (paired by position)."""
    n = len(x_from)
    long = pd.DataFrame({"respondent": [f"r{i}" for i in range(n)] * 2, "wave": [wave_from] * n + [wave_to] * n,
                         "item": "x", "score": np.concatenate([x_from, x_to])})
    table = change_table(validate_long(long), [wave_from, wave_to])
    assert len(table) == 1
    return table.iloc[0]


def test_change_table_t_test_matches_r_on_student_sleep(sleep):
    g1, g2 = sleep
    row = _pair_table(g2, g1)  # t.test(g1, g2, paired=TRUE) tests g1 - g2: from g2 to g1
    assert_matches("sleep_paired_t", {"t": row["t"], "df": row["df"], "p": row["p_t"],
                                      "ci_low": row["diff_ci_low"], "ci_high": row["diff_ci_high"]})


def test_paired_t_gives_the_change_tables_numbers(sleep):
    g1, g2 = sleep
    row = _pair_table(g2, g1)
    res = paired_t(g2, g1)
    assert_matches("sleep_paired_t", {"t": res["t"], "df": res["df"], "p": res["p_t"],
                                      "ci_low": res["diff_ci_low"], "ci_high": res["diff_ci_high"]})
    for key in ("mean_diff", "sd_diff", "t", "df", "p_t", "diff_ci_low", "diff_ci_high", "dz"):
        # the means differ only in summation order (pandas' groupby against numpy)
        assert res[key] == pytest.approx(row[key], rel=1e-12), key
    # the table's t statistics are paired_t_from_summary of its own mean, SD and n, exactly
    again = paired_t_from_summary(row["mean_diff"], row["sd_diff"], row["n_pairs"])
    for key in ("t", "df", "p_t", "diff_ci_low", "diff_ci_high", "dz"):
        assert float(again[key]) == row[key], key


def test_change_table_wilcoxon_matches_r_with_ties_and_zero(sleep):
    g1, g2 = sleep
    v, p, method, n = wilcoxon_signed_rank(g1 - g2)
    assert method == "normal" and n == 9
    assert_matches("sleep_wilcoxon", {"V": v, "p": p})
    row = _pair_table(g2, g1)
    assert row["wilcoxon_method"] == "normal" and row["n_nonzero"] == 9
    assert_matches("sleep_wilcoxon", {"V": row["wilcoxon_v"], "p": row["p_wilcoxon"]})


def test_wilcoxon_exact_matches_r_hollander_wolfe():
    d = pd.read_csv(RESULTS / "depression_hw.csv")
    v, p, method, n = wilcoxon_signed_rank(d.x_first - d.y_second)
    assert method == "exact"
    assert_matches("depression_wilcoxon", {"V": v, "p_two_sided": p})
    row = _pair_table(d.y_second.to_numpy(), d.x_first.to_numpy())
    assert row["wilcoxon_method"] == "exact"
    assert_matches("depression_wilcoxon", {"V": row["wilcoxon_v"], "p_two_sided": row["p_wilcoxon"]})


def test_wilcoxon_normal_path_agrees_with_scipy():
    rng = np.random.default_rng(3)
    d = rng.integers(-3, 5, size=60).astype(float)  # ties and zeros, n > 50
    v, p, method, _ = wilcoxon_signed_rank(d)
    ref = stats.wilcoxon(d, zero_method="wilcox", correction=True, method="approx")
    assert method == "normal"
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    nonzero = d[d != 0]
    assert v == pytest.approx(stats.rankdata(np.abs(nonzero))[nonzero > 0].sum())


def test_psignrank_is_a_distribution():
    assert psignrank(55, 10) == pytest.approx(1.0)
    assert psignrank(0, 10) == pytest.approx(1 / 1024)


def test_rank_biserial_and_dz():
    assert rank_biserial([1, 2, 3, -0.5]) == pytest.approx((2 + 3 + 4 - 1) / 10)
    assert rank_biserial([0, 0, 1]) == 1.0
    res = paired_t(np.array([1.0, 2, 3, 4]), np.array([2.0, 2, 5, 5]))
    d = np.array([1.0, 0, 2, 1])
    assert res["dz"] == pytest.approx(d.mean() / d.std(ddof=1))


def test_holm_and_bh_match_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.001])
    ok = ~np.isnan(p)
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        adj = adjust_pvalues(p, ours)
        assert np.isnan(adj[4])
        np.testing.assert_allclose(adj[ok], multipletests(p[ok], method=theirs)[1], rtol=1e-12)


def test_holm_is_statsmodels_holm_to_the_bit_and_matches_r():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 40):
        p = rng.uniform(0, 0.3, n) ** 2
        p[: n // 3] = p[0]  # ties
        np.testing.assert_array_equal(holm_adjust(p), multipletests(p, method="holm")[1])
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2, 0.001), "holm")
    np.testing.assert_allclose(holm_adjust(np.array([0.01, 0.04, 0.03, 0.2, 0.001])),
                               [0.04, 0.09, 0.09, 0.2, 0.005], rtol=1e-12)
    assert holm_adjust(np.array([0.5, 0.6]))[0] == 1.0  # capped at 1


def test_pct_change_delta_and_bootstrap_agree_roughly():
    rng = np.random.default_rng(0)
    x0 = rng.normal(3, 0.6, 200)
    x1 = x0 * 1.2 + rng.normal(0, 0.4, 200)
    pct, low, high = pct_change_delta(x0.mean(), x1.mean(), x0.var(ddof=1), x1.var(ddof=1),
                                      np.cov(x0, x1)[0, 1], 200)
    assert low < pct < high and pct == pytest.approx(x1.mean() / x0.mean() - 1)
    b_low, b_high = pct_change_bootstrap(x0, x1, 2000, 1, 0.05)
    assert b_low == pytest.approx(low, abs=0.01) and b_high == pytest.approx(high, abs=0.01)


def _long(seed=1, n=30, cohorts=("a", "b")):
    rng = np.random.default_rng(seed)
    rows = []
    for c in cohorts:
        for r in range(n):
            base = rng.normal(3, 0.6)
            for w, eff in (("baseline", 0.0), ("mid", 0.3), ("end", 0.6)):
                if w != "baseline" and rng.random() < 0.15:
                    continue
                for item, dom in (("i1", "d1"), ("i2", "d1"), ("i3", "d2")):
                    score = float(np.clip(np.round(base + eff + rng.normal(0, 0.7)), 1, 5))
                    rows.append(dict(cohort=c, respondent=f"r{r}", wave=w, item=item, domain=dom,
                                     pcn=f"p{r % 4}", score=score))
    return pd.DataFrame(rows)


def test_change_table_columns_domains_and_families():
    long = add_domain_scores(validate_long(_long()))
    table = change_table(long, ["baseline", "mid", "end"])
    assert list(table.columns[: len(CHANGE_COLUMNS)]) == CHANGE_COLUMNS
    assert set(table["cohort"]) == {"a", "b", "pooled"}
    dom = table[(table.level == "domain") & (table.cohort == "a") & (table.wave_to == "end")]
    assert set(dom["item"]) == {"d1", "d2"}
    # the domain score is the mean of its items: recompute d1 by hand
    raw = _long()
    a = raw[(raw.cohort == "a") & (raw.domain == "d1")].groupby(["respondent", "wave"])["score"].mean().unstack()
    pair = a[["baseline", "end"]].dropna()
    row = dom[dom.item == "d1"].iloc[0]
    assert row.n_pairs == len(pair)
    assert row.mean_diff == pytest.approx((pair["end"] - pair["baseline"]).mean())
    # Holm within cohort x wave x level
    items = table[(table.level == "item") & (table.cohort == "a") & (table.wave_to == "end")]
    np.testing.assert_allclose(items["p_holm"], adjust_pvalues(items["p_t"].to_numpy(), "holm"))


def test_validate_long_errors_name_row_and_column():
    frame = pd.DataFrame({"respondent": ["r1", "r2"], "wave": ["baseline", "end"], "item": ["x", "x"],
                          "score": ["3", "four"]})
    with pytest.raises(InputError, match=r"f.csv:3:score: not a number"):
        validate_long(frame, source="f.csv")
    with pytest.raises(InputError, match=r":1:score: missing column"):
        validate_long(frame.drop(columns="score"), source="f.csv")
    frame["score"] = ["3", "4"]
    with pytest.raises(InputError, match=r"f.csv:3:wave: wave 'end' is not in --waves"):
        validate_long(frame, ["baseline", "mid"], source="f.csv")


def test_scores_command(tmp_path, capsys):
    src = tmp_path / "long.csv"
    _long(cohorts=("a",)).drop(columns=["cohort"]).to_csv(src, index=False)
    assert scores_command(src, tmp_path / "out", "baseline,mid,end", 0.05) == 0
    change = pd.read_csv(tmp_path / "out" / "change_scores.csv")
    mixed = pd.read_csv(tmp_path / "out" / "mixed_models.csv")
    assert list(change.columns[:22]) == CHANGE_COLUMNS and set(change["cohort"]) == {"all"}
    assert list(mixed.columns[:13]) == ["cohort", "item", "term", "estimate", "se", "ci_low", "ci_high", "p",
                                        "sd_respondent", "sd_residual", "n_obs", "n_respondents", "converged"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"respondent": ["r"], "wave": ["x"], "item": ["i"], "score": ["1"]}).to_csv(bad, index=False)
    assert scores_command(bad, tmp_path / "o2", "baseline,end", 0.05) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv:2:wave" in err[0]
    assert scores_command(bad, tmp_path / "o2", None, 1.5) == 2
    assert scores_command(tmp_path / "missing.csv", tmp_path / "o2", None, 0.05) == 1


def test_scores_command_reads_the_table_as_a_spreadsheet_tool_wrote_it(tmp_path):
    """Upper-case or padded headers, ';' delimiter and cp1252 give the same results as a plain CSV."""
    table = _long(cohorts=("a",)).drop(columns=["cohort"])
    table.to_csv(tmp_path / "plain.csv", index=False)
    odd = table.rename(columns={"respondent": "Respondent", "wave": " WAVE ", "item": "Item", "score": "Score"})
    odd.to_csv(tmp_path / "excel.csv", index=False, sep=";", encoding="cp1252")
    for name in ("plain", "excel"):
        assert scores_command(tmp_path / f"{name}.csv", tmp_path / name, "baseline,mid,end", 0.05) == 0
    for out in ("change_scores.csv", "mixed_models.csv"):
        assert (tmp_path / "plain" / out).read_bytes() == (tmp_path / "excel" / out).read_bytes()


def test_bootstrap_keeps_its_random_stream():
    # the percentile CI from rng.integers(0, n, size=(reps, n)) (int64) as first written:
    # the faster int32, blockwise version must give exactly the same numbers
    rng = np.random.default_rng(5)
    x0 = rng.normal(3, 0.6, 137)
    x1 = x0 + rng.normal(0.4, 0.5, 137)
    idx = np.random.default_rng(99).integers(0, 137, size=(3001, 137))
    ratios = x1[idx].mean(axis=1) / x0[idx].mean(axis=1) - 1
    expected = np.quantile(ratios, [0.025, 0.975])
    assert pct_change_bootstrap(x0, x1, 3001, 99, 0.05) == (float(expected[0]), float(expected[1]))
