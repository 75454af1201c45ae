"""The scores stage end to end on a small simulated study (in memory, no ingest):
read_inputs, compute (pure), write; the results object; settings from params.yaml only."""
from __future__ import annotations

import dataclasses
import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT
from pcnstudy.core.params import resolve_settings
from pcnstudy.core.paths import INSTRUMENT
from pcnstudy.scores.change import CHANGE_COLUMNS, paired_t
from pcnstudy.scores.mixed import MIXED_COLUMNS
from pcnstudy.scores.publish import suppress_small_n
from pcnstudy.scores.ratings_table import add_domain_scores
from pcnstudy.scores.stage import (SETTING_KEYS, TABLE_KEYS, ScoresSettings, compute, read_inputs, run_scores_stage,
                                   write)
from pcnstudy.scores.then_test import then_test_table
from pcnstudy.simulate.ratings import simulate_ratings

SETTINGS = ScoresSettings(alpha=0.05, bootstrap_reps=200, seed=1, min_pcn_groups=10, min_cell=5,
                          disclosure_rule="threshold", cohorts=())


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
    inputs = read_inputs(processed, INSTRUMENT)
    result = compute(inputs, SETTINGS)
    out = tmp_path_factory.mktemp("out")
    written = write(result, out / "results", out / "figures")
    return result, out, ratings, processed, written


def test_tables_and_figures_written(stage):
    result, out, *_ = stage
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
    result, out, *_ = stage
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
    result, out, ratings, *_ = stage
    data = json.loads((out / "results" / "scores.json").read_text())
    first = data["feedback"]["alpha"]["took_action"]  # two "no" answers: the yes count would reveal them
    # the yes count is hidden to protect the two: it is not itself below 5, so it carries the
    # complementary marker, and its share is published as the band that "<5" "no" answers allow
    assert first["k"] == "[c]" and first["pct"] == "[c]"
    n = data["feedback"]["alpha"]["took_action"]["n"]
    low, high = (float(x) for x in first["pct_band"].split("-"))
    assert low <= (n - 4) / n and high >= (n - 1) / n and high < 1
    second = data["feedback"]["beta"]["took_action"]
    assert second["pct"] == 1.0
    table = pd.read_csv(out / "results" / "scores" / "feedback_proportions.csv", dtype=str)
    assert "flag" in table.columns


def test_recovers_simulated_percent_change(stage):
    result, _, ratings, *_ = stage
    change = result.summary["change"]["alpha"]
    # the population targets of the first cohort
    for domain, target in {"leadership": 0.24, "systems": 0.43, "partners": 0.18}.items():
        assert change[domain]["pct_ci_low"] - 0.1 < target < change[domain]["pct_ci_high"] + 0.1


def test_then_test_sits_beside_pre_post():
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
    frame = pd.DataFrame({"item": ["a", "b"], "n_pairs": [3, 30], "mean_diff": [0.5, 0.2]})
    out = suppress_small_n(frame, "n_pairs", ["n_pairs", "mean_diff"], "<20", 20)
    assert out.loc[0, "n_pairs"] == "<20" and out.loc[0, "mean_diff"] == "<20"
    assert out.loc[1, "n_pairs"] == 30 and out.loc[1, "mean_diff"] == 0.2
    out = suppress_small_n(frame, "n_pairs", ["n_pairs", "mean_diff"], "<5", 5)
    assert out.loc[0, "n_pairs"] == "<5" and out.loc[1, "mean_diff"] == 0.2


def test_write_returns_what_it_wrote_and_the_json_is_the_results_summary(stage):
    result, out, _, _, written = stage
    assert set(written["tables"]) == set(result.tables) == set(TABLE_KEYS)
    assert all(path.is_file() for path in written["tables"].values())
    assert json.loads(written["summary"].read_text()) == json.loads(json.dumps(result.summary))
    assert set(written["figures"]) == {"fig-slopes", "fig-forest", "fig-likert", "fig-feedback"}


def test_compute_is_pure_and_repeatable(stage, tmp_path):
    result, out, _, processed, _ = stage
    again = compute(read_inputs(processed, INSTRUMENT), SETTINGS)
    assert list(tmp_path.iterdir()) == []
    for name, table in result.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name])
    assert again.summary == result.summary


def test_summary_frame_is_labelled_by_the_tables_keys(stage):
    result, *_ = stage
    change = result.summary_frame("change_scores")
    assert list(change.index.names) == TABLE_KEYS["change_scores"]
    assert change.index.is_unique
    row = change.loc[("alpha", "domain", "systems", "baseline", "end")]
    assert row["mean_diff"] == result.summary["change"]["alpha"]["systems"]["mean_diff"]
    assert list(result.summary_frame("meta").index.names) == ["domain", "method"]
    with pytest.raises(KeyError, match="no table 'nope'"):
        result.summary_frame("nope")


def test_conf_int_recomputes_the_change_ci_at_any_alpha(stage):
    result, *_ = stage
    published = result.summary_frame("change_scores")
    at_stage = result.conf_int(alpha=SETTINGS.alpha)
    shown = published["n_pairs"] != result.marker
    np.testing.assert_array_equal(at_stage.loc[shown.to_numpy(), "diff_ci_low"].to_numpy(float),
                                  published.loc[shown, "diff_ci_low"].to_numpy(float))
    np.testing.assert_array_equal(at_stage.loc[shown.to_numpy(), "diff_ci_high"].to_numpy(float),
                                  published.loc[shown, "diff_ci_high"].to_numpy(float))
    wide = result.conf_int(alpha=0.01)
    assert ((wide["diff_ci_low"] <= at_stage["diff_ci_low"]) | wide["diff_ci_low"].isna()).all()
    # one row at 90% against the paired t-test on the raw pairs
    data = result.data
    dom = data[(data.cohort == "alpha") & (data.item == "systems")]
    pair = dom.pivot_table(index="respondent", columns="wave", values="score")[["baseline", "end"]].dropna()
    ref = paired_t(pair["baseline"], pair["end"], alpha=0.1)
    got = result.conf_int(alpha=0.1).loc[("alpha", "domain", "systems", "baseline", "end")]
    assert got["diff_ci_low"] == pytest.approx(ref["diff_ci_low"], rel=1e-12)
    assert got["diff_ci_high"] == pytest.approx(ref["diff_ci_high"], rel=1e-12)


def test_settings_have_no_defaults_and_come_from_params_yaml():
    fields = dataclasses.fields(ScoresSettings)
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields)
    assert {f.name for f in fields} == set(SETTING_KEYS)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    settings = ScoresSettings.from_params(params)
    assert settings.alpha == params["scores"]["alpha"] and settings.min_cell == params["disclosure"]["min_cell"]
    assert settings.cohorts == tuple(params["cohorts"])
    with pytest.raises(KeyError, match="scores.seed"):
        ScoresSettings.from_params({**params, "scores": {k: v for k, v in params["scores"].items() if k != "seed"}})
    with pytest.raises(ValueError, match="alpha"):
        dataclasses.replace(SETTINGS, alpha=1.5)


def test_notebook_parameters_are_none_and_dvc_passes_them():
    nb = nbformat.read(ROOT / "notebooks" / "02_scores.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = dict(line.split(" = ", 1) for line in cell.source.splitlines()
                    if line.strip() and not line.lstrip().startswith("#"))
    assert set(assigned.values()) == {"None"}
    assert set(assigned) == set(SETTING_KEYS) | {"processed_dir", "results_dir", "figures_dir", "instrument"}
    cmd = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["scores"]["cmd"]
    passed = set(re.findall(r"-p (\w+)=", cmd))
    # cohorts is a list, which DVC cannot interpolate into a command: the notebook
    # resolves it from params.yaml, where dvc.yaml declares it
    assert passed == set(assigned) - {"cohorts"}
    assert "cohorts" in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["scores"]["params"]
    assert resolve_settings({"cohorts": None}, {"cohorts": "cohorts"})["cohorts"] == \
        yaml.safe_load((ROOT / "params.yaml").read_text())["cohorts"]


def test_run_scores_stage_reads_computes_and_writes(stage, tmp_path):
    result, out, _, processed, _ = stage
    params = {"scores": {"alpha": 0.05, "bootstrap_reps": 200, "seed": 1, "min_pcn_groups": 10},
              "disclosure": {"min_cell": 5, "rule": "threshold"}, "cohorts": []}
    again = run_scores_stage(processed, tmp_path / "results", tmp_path / "figures", params)
    assert again.summary == result.summary
    for name in result.tables:
        assert (tmp_path / "results" / "scores" / f"{name}.csv").read_bytes() == \
            (out / "results" / "scores" / f"{name}.csv").read_bytes()


def test_a_retrospective_cohort_gets_its_then_vs_now_change_alone(tmp_path):
    """One wave and a then-test on the same respondents (cohorts table design retrospective): its
    change is now minus then, checked against scipy's paired t-test; it enters no prospective table."""
    from scipy import stats

    rng = np.random.default_rng(14)
    spec = {"cohort": "fed", "pcns": [f"F{i}" for i in range(5)], "n_respondents": 24,
            "waves": {"follow_up": {"items": True}}, "then": {"wave": "then", "with": "follow_up",
                                                             "shift": {"leadership": 0.7, "systems": 0.8,
                                                                       "partners": 0.6}},
            "ratings": {"base": {"leadership": 3.6, "systems": 3.3, "partners": 3.4}}}
    fed = simulate_ratings(spec, rng)
    alpha = simulate_ratings(_spec("alpha", ["baseline", "end"], 30, {"leadership": 0.2, "systems": 0.3,
                                                                      "partners": 0.1}), rng)
    ratings = pd.concat([fed, alpha], ignore_index=True)
    ratings["respondent"] = ratings["cohort"] + "_" + ratings["respondent"].astype(str)
    ratings["profession"], ratings["group"] = "GP", ""
    processed = tmp_path / "processed"
    processed.mkdir()
    ratings.to_parquet(processed / "ratings.parquet")
    people = ratings.drop_duplicates(["cohort", "respondent"])[["respondent", "cohort", "pcn", "profession"]]
    people.to_parquet(processed / "respondents.parquet")
    people.head(0).assign(wave="", item="", value=0, group="").to_parquet(processed / "feedback.parquet")
    pd.DataFrame({"cohort": ["alpha", "fed"], "programme": ["A", "Federation leaders"],
                  "design": ["paired", "retrospective"]}).to_parquet(processed / "cohorts.parquet")
    result = compute(read_inputs(processed, INSTRUMENT), SETTINGS)
    then_test = result.tables["then_test"]
    mine = then_test[then_test["cohort"] == "fed"]
    assert set(mine["comparison"]) == {"then_vs_post"} and set(mine["item"]) == {"leadership", "systems", "partners"}
    domain = add_domain_scores(fed)
    domain = domain[domain["level"] == "domain"]
    for rec in mine.to_dict("records"):
        wide = domain[domain["item"] == rec["item"]].pivot(index="respondent", columns="wave", values="score").dropna()
        t = stats.ttest_rel(wide["follow_up"], wide["then"])
        ci = t.confidence_interval(0.95)
        assert rec["n_pairs"] == len(wide) == 24
        assert rec["mean_diff"] == pytest.approx((wide["follow_up"] - wide["then"]).mean(), abs=1e-12)
        assert rec["p_t"] == pytest.approx(t.pvalue, rel=1e-9)
        assert (rec["diff_ci_low"], rec["diff_ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert rec["mean_diff"] > 0
    # not a prospective pre-post cohort: not in the change scores, the models or the meta-analysis
    for name in ("change_scores", "mixed_models", "effect_sizes", "attrition"):
        assert "fed" not in set(result.tables[name]["cohort"]), name
    assert result.tables["meta"]["k"].max() == 1  # alpha alone
    assert "fed" in result.summary["then_test"] and "fed" not in result.summary["change"]
