"""The twin check: the simulated cohorts' estimates set beside the simulator's truth."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pcnstudy.twin.change_truth import change_versus_truth, coverage_summary
from pcnstudy.twin.command import summary_line
from pcnstudy.twin.stage import TwinInputs, TwinSettings, compute, hide_small_counts
from pcnstudy.twin.theme_truth import kappa, theme_summary, theme_versus_truth

EFFECTS = {"cohorts": {"a": {"domains": {"lead": {"wave_effect": {"end": 0.5}, "pct_change": {"end": 0.2}}}}}}


def change_rows(low, high, pct_low=0.1, pct_high=0.3, cohort="a", level="domain"):
    return {"cohort": cohort, "item": "lead", "level": level, "wave_from": "baseline", "wave_to": "end",
            "n_pairs": 20, "mean_diff": (low + high) / 2, "diff_ci_low": low, "diff_ci_high": high,
            "pct_change": (pct_low + pct_high) / 2, "pct_ci_low": pct_low, "pct_ci_high": pct_high}


def test_an_interval_covers_the_truth_or_says_it_does_not():
    change = pd.DataFrame([change_rows(0.3, 0.6), change_rows(0.6, 0.9, cohort="b"),
                           change_rows(0.1, 0.2, level="item")])
    table = change_versus_truth(change, EFFECTS, ["a"])
    assert list(table["quantity"]) == ["mean_change", "pct_change"]  # cohort b and the item row left out
    assert table["covered"].all()
    missed = change_versus_truth(pd.DataFrame([change_rows(0.6, 0.9), ]), EFFECTS, ["a"])
    assert list(missed["covered"]) == [False, True]
    assert missed["error"].iloc[0] == pytest.approx(0.75 - 0.5)
    assert coverage_summary(missed)["n_covered"] == 1 and coverage_summary(missed)["mean_change"]["n_covered"] == 0


def test_a_cohort_without_truth_is_not_compared():
    assert change_versus_truth(pd.DataFrame([change_rows(0.3, 0.6)]), {"cohorts": {}}, ["a"]).empty


def test_kappa_is_cohens_on_a_worked_table():
    # 20 both yes, 5 truth only, 10 coding only, 15 both no: po 0.7, pe 0.5, kappa 0.4
    truth = np.array([1] * 20 + [1] * 5 + [0] * 10 + [0] * 15)
    coded = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    assert kappa(truth, coded) == pytest.approx(0.4)
    assert np.isnan(kappa(np.zeros(5, int), np.zeros(5, int)))


def test_theme_shares_and_agreement_over_the_same_responses():
    ids = [f"r{i}" for i in range(10)]
    doc = pd.DataFrame([{"id": i, "theme": t, "score": 0.0, "assigned": int(t == "x" and n < 4)}
                        for n, i in enumerate(ids) for t in ("x", "y")])
    truth = pd.DataFrame({"response_id": ids + ["other"],
                          "themes": ["x;planted"] * 5 + [""] * 5 + ["x"]})
    table = theme_versus_truth(doc, truth, [("x", "Theme X"), ("y", "Theme Y")])
    x = table.set_index("theme").loc["x"]
    assert (x["n_responses"], x["n_true"], x["n_assigned"]) == (10, 5, 4)  # "other" is not coded, so left out
    assert x["pct_true"] == 0.5 and x["kappa"] == pytest.approx(0.8)
    y = table.set_index("theme").loc["y"]
    assert y["n_true"] == 0 and np.isnan(y["kappa"])
    summary = theme_summary(table)
    assert summary["top_true"] == "Theme X" and summary["top_agree"]


def test_small_theme_counts_are_not_written():
    table = pd.DataFrame({"n_true": [3, 40, 0], "n_assigned": [12, 41, 0], "pct_true": [0.01, 0.1, 0.0],
                          "pct_assigned": [0.03, 0.1, 0.0]})
    hidden = hide_small_counts(table, 5)
    assert list(hidden["suppressed"]) == [True, False, False]
    assert hidden.loc[0, ["n_true", "n_assigned", "pct_true", "pct_assigned"]].isna().all()
    assert hidden.loc[1, "n_true"] == 40


def test_a_study_of_real_cohorts_has_nothing_to_compare():
    inputs = TwinInputs(cohorts=[], change=pd.DataFrame(), doc_themes=pd.DataFrame(), themes=[("x", "X")])
    result = compute(inputs, TwinSettings(min_cell=5, alpha=0.05, coverage_replicates=2, coverage_seed=1))
    assert result.change.empty and result.summary["n_cohorts"] == 0
    assert summary_line(result.summary, "out").startswith("twin: no simulated cohort")


@pytest.mark.slow
def test_the_pipeline_checks_the_twin_and_the_paper_shows_it(built_project):
    results = built_project / "data" / "processed" / "results"
    summary = json.loads((results / "twin.json").read_text())
    assert summary["n_cohorts"] >= 4 and summary["change"]["n_intervals"] >= 12
    # about 95% of intervals should cover the truth; far fewer means a broken estimator
    assert summary["change"]["n_covered"] >= 0.75 * summary["change"]["n_intervals"]
    change = pd.read_csv(results / "twin" / "change_truth.csv")
    truth = json.loads((built_project / "data" / "simulation_truth" / "effects.json").read_text())
    rec = change.iloc[0]
    assert rec["truth"] == pytest.approx(truth["cohorts"][rec["cohort"]]["domains"][rec["domain"]][
        "wave_effect" if rec["quantity"] == "mean_change" else "pct_change"][rec["wave_to"]])
    html = (built_project / "paper" / "_output" / "index.html").read_text(encoding="utf-8")
    assert "Validation on the simulated twin" in html and 'id="tbl-twin-themes"' in html


def test_an_unpaired_cohort_is_compared_with_its_sizes_at_each_wave():
    row = {k: v for k, v in change_rows(0.3, 0.6).items() if k != "n_pairs"}
    change = pd.DataFrame([{**row, "n_from": 30, "n_to": 23, "comparison": "unpaired"}])
    table = change_versus_truth(change, EFFECTS, ["a"])
    assert set(table["comparison"]) == {"unpaired"}
    assert (table["n_from"].iloc[0], table["n_to"].iloc[0]) == (30, 23) and table["covered"].all()


def test_a_retrospective_cohort_is_compared_with_its_then_vs_now_truth():
    from pcnstudy.twin.change_truth import retrospective_versus_truth

    effects = {"cohorts": {"fed": {"domains": {"lead": {
        "retrospective_change": {"wave_from": "then", "wave_to": "follow_up", "mean_diff": 0.75, "pct_change": 0.26}}}},
        "se2": {"domains": {"lead": {"then": {"mean": 2.9}}}}}}
    row = {"cohort": "fed", "item": "lead", "level": "domain", "comparison": "then_vs_post", "wave_from": "then",
           "wave_to": "follow_up", "n_pairs": 24, "mean_diff": 0.89, "diff_ci_low": 0.69, "diff_ci_high": 1.08,
           "pct_change": 0.31, "pct_ci_low": 0.23, "pct_ci_high": 0.39}
    then_test = pd.DataFrame([row, {**row, "cohort": "se2"}, {**row, "comparison": "then_vs_pre"}])
    table = retrospective_versus_truth(then_test, effects, ["fed", "se2"])
    assert list(table["quantity"]) == ["mean_change", "pct_change"]  # se2 has no retrospective-only truth
    assert set(table["comparison"]) == {"retrospective"} and table["covered"].all()
    assert table["error"].iloc[0] == pytest.approx(0.89 - 0.75)
    missed = retrospective_versus_truth(pd.DataFrame([{**row, "diff_ci_high": 0.74, "diff_ci_low": 0.5}]), effects,
                                        ["fed"])
    assert list(missed["covered"]) == [False, True]
    assert retrospective_versus_truth(then_test, effects, []).empty
    assert retrospective_versus_truth(pd.DataFrame(), effects, ["fed"]).empty
    # the stage adds them to the change comparison
    inputs = TwinInputs(cohorts=["fed"], change=pd.DataFrame([change_rows(0.3, 0.6)]), doc_themes=pd.DataFrame(),
                        themes=[], effects=effects, then_test=then_test)
    result = compute(inputs, TwinSettings(min_cell=5, alpha=0.05, coverage_replicates=2, coverage_seed=1))
    assert list(result.change["comparison"]) == ["retrospective", "retrospective"]
    assert result.summary["change"]["n_intervals"] == 2
