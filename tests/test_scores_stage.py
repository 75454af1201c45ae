"""The scores stage end to end on a small simulated study (in memory, no ingest)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pcnstudy.scores.change import CHANGE_COLUMNS
from pcnstudy.scores.mixed import MIXED_COLUMNS
from pcnstudy.scores.stage import run_scores_stage
from pcnstudy.simulate.twin import simulate_ratings


def _spec(name, waves, n, pct):
    return {"cohort": name, "pcns": [f"{name} PCN {i}" for i in range(6)], "n_respondents": n,
            "waves": {w: {"items": True} for w in waves}, "attrition": {w: 0.15 for w in waves[1:]},
            "ratings": {"pct_change": pct}}


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    rng = np.random.default_rng(11)
    parts = [simulate_ratings(_spec("alpha", ["baseline", "end"], 40,
                                    {"leadership": 0.24, "systems": 0.43, "partners": 0.18}), rng),
             simulate_ratings(_spec("beta", ["baseline", "mid", "end"], 30,
                                    {"leadership": 0.15, "systems": 0.2, "partners": 0.1}), rng)]
    ratings = pd.concat(parts, ignore_index=True)
    ratings["respondent"] = ratings["cohort"] + "_" + ratings["respondent"].astype(str)
    ratings["profession"] = np.where(ratings["respondent"].str[-1].isin(list("02468")), "GP", "Nurse")
    ratings["group"] = ""
    processed = tmp_path_factory.mktemp("processed")
    ratings.to_parquet(processed / "ratings.parquet")
    ends = ratings[ratings.wave == "end"].drop_duplicates(["cohort", "respondent"])
    fb = ends[["respondent", "cohort", "pcn", "profession"]].assign(wave="end", item="took_action", value=1)
    fb.loc[fb.index[:2], "value"] = 0  # two "no" answers in the first cohort
    fb["group"] = ""
    fb.to_parquet(processed / "feedback.parquet")
    ratings.drop_duplicates(["cohort", "respondent"])[["respondent", "cohort", "pcn", "profession"]].to_parquet(
        processed / "respondents.parquet")
    out = tmp_path_factory.mktemp("out")
    params = {"scores": {"alpha": 0.05, "bootstrap_reps": 200, "seed": 1, "min_pcn_groups": 10},
              "disclosure": {"min_cell": 5, "rule": "threshold"}, "cohorts": []}
    result = run_scores_stage(processed, out / "results", out / "figures", params)
    return result, out, ratings


def test_tables_and_figures_written(stage):
    result, out, _ = stage
    names = {p.stem for p in (out / "results" / "scores").glob("*.csv")}
    assert {"change_scores", "mixed_models", "ordinal", "reliability", "feedback_proportions", "attrition",
            "meta"} <= names
    change = pd.read_csv(out / "results" / "scores" / "change_scores.csv")
    assert list(change.columns[:len(CHANGE_COLUMNS)]) == CHANGE_COLUMNS
    mixed = pd.read_csv(out / "results" / "scores" / "mixed_models.csv")
    assert list(mixed.columns[:len(MIXED_COLUMNS)]) == MIXED_COLUMNS
    for label in ("fig-slopes", "fig-forest", "fig-likert", "fig-feedback"):
        assert (out / "figures" / f"{label}.png").is_file() and (out / "figures" / f"{label}.svg").is_file()
    assert b"\r\n" not in (out / "results" / "scores" / "change_scores.csv").read_bytes()


def test_scores_json_follows_the_conventions(stage):
    result, out, _ = stage
    data = json.loads((out / "results" / "scores.json").read_text())
    entry = data["change"]["alpha"]["systems"]
    assert set(entry) >= {"wave_from", "wave_to", "n_pairs", "mean_from", "mean_to", "mean_diff", "pct_change",
                          "pct_ci_low", "pct_ci_high", "p_t", "p_holm", "dz"}
    assert entry["pct_ci_low"] < entry["pct_change"] < entry["pct_ci_high"]
    assert data["change"]["beta"]["leadership"]["wave_to"] == "end"
    assert set(data["mixed"]["alpha"]["leadership"]) >= {"estimate", "ci_low", "ci_high", "converged"}
    assert set(data["meta"]["systems"]) >= {"estimate", "ci_low", "ci_high", "tau2", "i2", "k", "method"}
    assert data["meta"]["systems"]["k"] == 2
    assert isinstance(data["reliability"]["alpha"]["leadership"]["baseline"], float)
    assert "alpha" in data["attrition"] and "learning" in data["kirkpatrick"]["kirkpatrick"]["ratings"]["alpha"]


def test_feedback_is_disclosure_controlled(stage):
    result, out, ratings = stage
    data = json.loads((out / "results" / "scores.json").read_text())
    first = data["feedback"]["alpha"]["took_action"]  # two "no" answers: the yes count would reveal them
    assert first["k"] == "<5" and first["pct"] == "<5"
    second = data["feedback"]["beta"]["took_action"]
    assert second["pct"] == 1.0
    table = pd.read_csv(out / "results" / "scores" / "feedback_proportions.csv", dtype=str)
    assert "flag" in table.columns


def test_recovers_simulated_percent_change(stage):
    result, _, ratings = stage
    change = result["json"]["change"]["alpha"]
    # the population targets of the first cohort
    for domain, target in {"leadership": 0.24, "systems": 0.43, "partners": 0.18}.items():
        assert change[domain]["pct_ci_low"] - 0.1 < target < change[domain]["pct_ci_high"] + 0.1


def test_then_test_sits_beside_pre_post():
    from pcnstudy.scores.change import add_domain_scores
    from pcnstudy.scores.stage import then_test_table

    rng = np.random.default_rng(2)
    rows = []
    for r in range(20):
        for wave, shift in (("baseline", 0.0), ("then", -0.4), ("end", 0.6)):
            rows.append(dict(cohort="c", respondent=f"r{r}", wave=wave, item="i1", domain="d",
                             score=3 + shift + rng.normal(0, 0.3)))
    data = add_domain_scores(pd.DataFrame(rows))
    table = then_test_table(data, ["then"], ["baseline", "end", "then"], 0.05)
    pre, then = (table.set_index("comparison").loc[k] for k in ("pre_vs_post", "then_vs_post"))
    assert pre["wave_from"] == "baseline" and then["wave_from"] == "then"
    assert then["mean_diff"] > pre["mean_diff"]  # the retrospective rating is lower: response shift


def test_small_n_suppression_covers_the_count_column_itself():
    import pandas as pd

    from pcnstudy.scores.stage import _suppress_small_n

    frame = pd.DataFrame({"item": ["a", "b"], "n_pairs": [3, 30], "mean_diff": [0.5, 0.2]})
    out = _suppress_small_n(frame, "n_pairs", ["n_pairs", "mean_diff"], "<20", 20)
    assert out.loc[0, "n_pairs"] == "<20" and out.loc[0, "mean_diff"] == "<20"
    assert out.loc[1, "n_pairs"] == 30 and out.loc[1, "mean_diff"] == 0.2
    out = _suppress_small_n(frame, "n_pairs", ["n_pairs", "mean_diff"], "<5", 5)
    assert out.loc[0, "n_pairs"] == "<5" and out.loc[1, "mean_diff"] == 0.2
