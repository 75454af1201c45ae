"""The coverage study of the twin check: replicates drawn from the generator, intervals computed
with the scores stage's own functions, counted against the generator's truth."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from statsmodels.stats.proportion import proportion_confint

from pcnstudy.core.labels import cohort_labels
from pcnstudy.core.plots import MIN_PRINTED_PT, smallest_printed_pt
from pcnstudy.scores.change import change_table
from pcnstudy.scores.meta import random_effects
from pcnstudy.scores.ratings_table import add_domain_scores
from pcnstudy.scores.unpaired import unpaired_change_table
from pcnstudy.simulate.config import load_instrument
from pcnstudy.simulate.ratings import ratings_long, simulate_roster, simulate_wide
from pcnstudy.simulate.truth import true_effects
from pcnstudy.twin import coverage as cov
from pcnstudy.twin.figures import coverage_figure
from pcnstudy.twin.stage import TwinInputs, TwinSettings, compute, write

INSTRUMENT = load_instrument()
PCT = {"leadership": 0.2, "systems": 0.3, "partners": 0.15}


def spec(cohort="x", n=30, waves=("baseline", "end"), **extra):
    return {"cohort": cohort, "pcns": [f"PCN {i}" for i in range(8)], "n_respondents": n,
            "waves": {w: {"items": True} for w in waves}, "attrition": {waves[-1]: 0.15},
            "ratings": {"pct_change": PCT}, **extra}


def replicate_long(s, seed):
    """One replicate drawn twice from the same stream: as the coverage study reads it and as the long table."""
    scores = cov.simulate_scores(s, cov.replicate_rng(seed, 0, s["cohort"]), INSTRUMENT)
    rng = cov.replicate_rng(seed, 0, s["cohort"])
    roster = simulate_roster(s, rng)
    long = ratings_long(s, roster, simulate_wide(s, rng, INSTRUMENT, roster), INSTRUMENT)
    long["respondent"] = long["respondent"].astype(str)
    return scores, long


def test_a_replicate_has_its_own_stream_per_seed_replicate_and_cohort():
    draw = lambda *key: cov.replicate_rng(*key).random()  # noqa: E731
    assert draw(1, 0, "a") == draw(1, 0, "a")
    assert len({draw(1, 0, "a"), draw(1, 1, "a"), draw(1, 0, "b"), draw(2, 0, "a")}) == 4


def test_domain_scores_are_the_scores_stage_domain_scores():
    scores, long = replicate_long(spec(), 3)
    domains = add_domain_scores(long)
    domains = domains[domains["level"] == "domain"]
    for wave, frame in scores.items():
        expected = domains[domains["wave"] == wave].pivot(index="respondent", columns="item", values="score")
        mine = frame.set_axis(frame.index.astype(str)).loc[expected.index, expected.columns]
        np.testing.assert_allclose(mine.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_paired_intervals_are_the_change_tables():
    s = spec(waves=("baseline", "mid", "end"))
    scores, long = replicate_long(s, 5)
    rows = [{"replicate": 0, "cohort": "x", **r} for later in ("mid", "end")
            for r in cov.paired_summaries(scores, "baseline", later)]
    mine = cov.paired_intervals(pd.DataFrame(rows), 0.05).set_index(["method", "domain", "wave_to"])
    table = change_table(long, ["baseline", "mid", "end"], pooled=False)
    table = table[table["level"] == "domain"].set_index(["item", "wave_to"])
    for (domain, wave), rec in table.iterrows():
        t, pct = mine.loc[("paired_t", domain, wave)], mine.loc[("pct_delta", domain, wave)]
        assert (t["estimate"], t["ci_low"], t["ci_high"]) == pytest.approx(
            (rec["mean_diff"], rec["diff_ci_low"], rec["diff_ci_high"]), rel=1e-10)
        assert (pct["estimate"], pct["ci_low"], pct["ci_high"]) == pytest.approx(
            (rec["pct_change"], rec["pct_ci_low"], rec["pct_ci_high"]), rel=1e-10)


def test_unpaired_intervals_are_the_unpaired_change_tables():
    scores, long = replicate_long(spec(), 9)
    rows = [{"replicate": 0, "cohort": "x", **r} for r in cov.unpaired_summaries(scores, "baseline", "end")]
    mine = cov.unpaired_intervals(pd.DataFrame(rows), 0.05).set_index(["method", "domain"])
    table = unpaired_change_table(add_domain_scores(long), ["baseline", "end"])
    table = table[table["level"] == "domain"].set_index("item")
    for domain, rec in table.iterrows():
        welch, pct = mine.loc[("welch", domain)], mine.loc[("pct_independent", domain)]
        assert (welch["ci_low"], welch["ci_high"]) == pytest.approx((rec["diff_ci_low"], rec["diff_ci_high"]), rel=1e-10)
        assert (pct["ci_low"], pct["ci_high"]) == pytest.approx((rec["pct_ci_low"], rec["pct_ci_high"]), rel=1e-10)


def test_the_t_interval_of_a_normal_mean_covers_near_its_level():
    """400 seeded samples of 20 normal differences: the paired t interval covers the true mean
    change about 95% of the time (within three Monte Carlo standard errors), and a 50% interval
    about half the time."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(400):
        x0 = rng.normal(3.0, 1.0, 20)
        x1 = x0 + rng.normal(0.5, 1.0, 20)
        d = x1 - x0
        rows.append({"replicate": i, "cohort": "x", "domain": "d", "wave_from": "a", "wave_to": "b", "n": 20,
                     "mean_from": x0.mean(), "mean_to": x1.mean(), "var_from": x0.var(ddof=1),
                     "var_to": x1.var(ddof=1), "mean_diff": d.mean(), "sd_diff": d.std(ddof=1)})
    for alpha in (0.05, 0.5):
        intervals = cov.paired_intervals(pd.DataFrame(rows), alpha)
        intervals = intervals[intervals["method"] == "paired_t"].assign(truth=0.5)
        intervals["covered"] = (intervals["ci_low"] <= 0.5) & (0.5 <= intervals["ci_high"])
        row = cov.coverage_row(intervals, alpha)
        assert row["intervals"] == 400 and row["replicates"] == 400
        se = math.sqrt((1 - alpha) * alpha / 400)
        assert abs(row["coverage"] - (1 - alpha)) < 3 * se
        assert row["mc_ci_low"] < 1 - alpha < row["mc_ci_high"] and row["nominal"] == 1 - alpha
        low, high = proportion_confint(row["hits"] / row["deff"], 400 / row["deff"], alpha=cov.MC_ALPHA, method="wilson")
        assert (row["mc_ci_low"], row["mc_ci_high"]) == pytest.approx((low, high))


def test_counts_standard_error_and_wilson_interval_against_statsmodels():
    # one interval per replicate: the cluster-robust variance is G/(G-1) p(1-p)/N
    one = pd.DataFrame({"replicate": range(50), "covered": [True] * 46 + [False] * 4})
    row = cov.coverage_row(one, 0.05)
    assert (row["hits"], row["intervals"], row["coverage"]) == (46, 50, 0.92)
    assert row["mc_se"] == pytest.approx(math.sqrt(50 / 49 * 0.92 * 0.08 / 50))
    deff = 50 / 49
    low, high = proportion_confint(46 / deff, 50 / deff, alpha=0.05, method="wilson")
    assert (row["mc_ci_low"], row["mc_ci_high"]) == pytest.approx((low, high))
    # three intervals per replicate that always hit or miss together: the effective count is a third
    together = pd.DataFrame({"replicate": np.repeat(range(40), 3), "covered": np.repeat([True] * 36 + [False] * 4, 3)})
    row = cov.coverage_row(together, 0.05)
    assert row["intervals"] == 120 and row["replicates"] == 40 and row["deff"] == pytest.approx(3 * 40 / 39)
    low, high = proportion_confint(36 * 39 / 40, 120 / row["deff"], alpha=0.05, method="wilson")
    assert (row["mc_ci_low"], row["mc_ci_high"]) == pytest.approx((low, high))
    # a missing interval (NaN covered) is not counted
    assert cov.coverage_row(pd.concat([one, pd.DataFrame({"replicate": [99], "covered": [np.nan]})]),
                            0.05)["intervals"] == 50


def test_pooled_intervals_are_the_meta_analysis_against_the_mean_true_change():
    rows = pd.DataFrame([{"replicate": 0, "cohort": c, "domain": "leadership", "wave_from": "baseline",
                          "wave_to": "end", "n": n, "mean_diff": m, "sd_diff": sd}
                         for c, n, m, sd in (("a", 20, 0.5, 0.6), ("b", 25, 0.7, 0.5), ("c", 30, 0.4, 0.7))])
    truths = {c: {"leadership": {"wave_effect": {"end": t}}} for c, t in (("a", 0.5), ("b", 0.6), ("c", 0.4))}
    pooled = cov.pooled_intervals(rows, truths, 0.05).set_index("method")
    ref = random_effects(rows["mean_diff"], rows["sd_diff"] ** 2 / rows["n"], method="reml")
    assert pooled.loc["meta_wald", ["ci_low", "ci_high"]].tolist() == pytest.approx([ref["ci_low"], ref["ci_high"]])
    assert pooled.loc["meta_hk", ["ci_low", "ci_high"]].tolist() == pytest.approx([ref["hk_ci_low"], ref["hk_ci_high"]])
    assert pooled["truth"].tolist() == pytest.approx([0.5, 0.5])
    assert cov.pooled_intervals(rows[rows["cohort"] == "a"], truths, 0.05).empty  # one cohort: nothing to pool


def test_the_study_counts_each_method_against_the_generators_truth():
    specs = {"a": spec("a"), "b": spec("b", waves=("baseline", "mid", "end")), "u": spec("u"), "s": spec("s", waves=("end",))}
    designs = {"a": "paired", "b": "linked", "u": "unpaired", "s": "single_wave"}
    intervals = cov.simulate_intervals(specs, designs, INSTRUMENT, 4, 7, 0.05)
    assert set(intervals["method"]) == set(cov.METHODS)
    assert set(intervals.loc[intervals["method"] == "welch", "cohort"]) == {"u"}
    assert "s" not in set(intervals["cohort"])
    truth = true_effects(specs["b"], INSTRUMENT)
    rec = intervals[(intervals["cohort"] == "b") & (intervals["method"] == "pct_delta")].iloc[0]
    assert rec["truth"] == pytest.approx(truth[rec["domain"]]["pct_change"][rec["wave_to"]])
    # 4 replicates x 3 domains x (1 + 2 later waves) paired intervals
    assert (intervals["method"] == "paired_t").sum() == 4 * 3 * 3
    table = cov.coverage_table(intervals, 0.05)
    assert list(table.columns) == cov.COVERAGE_COLUMNS
    assert table.loc[table["method"] == "paired_t", "cohort"].tolist() == ["all", "a", "b"]
    assert table.loc[table["method"] == "welch", "cohort"].tolist() == ["all"]
    assert (table["hits"] <= table["intervals"]).all() and (table["replicates"] == 4).all()
    # a cohort's draws do not depend on the other cohorts of the study
    alone = cov.simulate_intervals({"a": specs["a"]}, designs, INSTRUMENT, 4, 7, 0.05)
    both = intervals[(intervals["cohort"] == "a") & (intervals["method"] == "paired_t")].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone[alone["method"] == "paired_t"].reset_index(drop=True), both)


def settings(replicates=3):
    return TwinSettings(min_cell=5, alpha=0.05, coverage_replicates=replicates, coverage_seed=1)


def test_the_stage_writes_the_coverage_table_and_figure(tmp_path):
    inputs = TwinInputs(cohorts=["a", "b"], change=pd.DataFrame(), doc_themes=pd.DataFrame(), themes=[],
                        specs={"a": spec("a"), "b": spec("b")}, designs={"a": "paired", "b": "paired"},
                        instrument=INSTRUMENT, labels={"a": "Programme A", "b": "Programme B"})
    result = compute(inputs, settings())
    assert result.summary["coverage"]["n_replicates"] == 3
    assert result.summary["coverage"]["paired_t"]["n_intervals"] == 3 * 3 * 2
    written = write(result, tmp_path / "results", tmp_path / "figures")
    table = pd.read_csv(tmp_path / "results" / "twin" / "coverage.csv")
    assert list(table.columns) == cov.COVERAGE_COLUMNS and len(table)
    assert {p.name for p in written} >= {"coverage.csv", "fig-coverage.png", "fig-coverage.svg"}
    assert (tmp_path / "figures" / "fig-coverage.png").stat().st_size > 0


def test_a_study_of_real_cohorts_writes_an_empty_coverage_table(tmp_path):
    result = compute(TwinInputs(cohorts=[], change=pd.DataFrame(), doc_themes=pd.DataFrame(), themes=[]), settings())
    write(result, tmp_path / "results", tmp_path / "figures")
    table = pd.read_csv(tmp_path / "results" / "twin" / "coverage.csv")
    assert table.empty and list(table.columns) == cov.COVERAGE_COLUMNS
    assert result.summary["coverage"]["n_methods"] == 0
    assert (tmp_path / "figures" / "fig-coverage.svg").is_file()


def test_the_figure_is_legible_at_print_size_and_names_cohorts_in_words():
    cohorts = pd.DataFrame([{"cohort": "se_cohort1", "programme": "Multiprofessional leadership programme for PCNs",
                             "start": "2021-01-11"},
                            {"cohort": "se_cohort2", "programme": "Multiprofessional leadership programme for PCNs",
                             "start": "2021-10-04"},
                            {"cohort": "llr_cd", "programme": "Leadership programme for PCN clinical directors",
                             "start": "2020-09-01"}])
    specs = {c: spec(c) for c in cohorts["cohort"]} | {"nw_cd": spec("nw_cd")}
    designs = {c: "paired" for c in cohorts["cohort"]} | {"nw_cd": "unpaired"}
    table = cov.coverage_table(cov.simulate_intervals(specs, designs, INSTRUMENT, 2, 3, 0.05), 0.05)
    fig = coverage_figure(table, cohort_labels(cohorts))
    assert smallest_printed_pt(fig) >= MIN_PRINTED_PT
    shown = " ".join(t.get_text() for t in fig.findobj(Text))
    assert "cohort 2" in shown and "Hartung-Knapp" in shown and "nominal 95%" in shown
    assert not any(c in shown for c in ("se_cohort1", "llr_cd", "paired_t", "meta_hk"))
