"""The paper and the cohort report on cohorts whose change cannot be paired: every table
that reports an unpaired cohort labels it "unpaired", the prose says the waves could
not be linked, single-wave cohorts say nothing paired is attempted, and a study without
such cohorts keeps its tables as they were."""
from __future__ import annotations

import copy
import subprocess

import pandas as pd

from paper_helpers import FIXTURE, PARAMS
from pcnstudy.paper import manuscript, render
from pcnstudy.paper.inputs import load_results
from pcnstudy.paper.prose import UNPAIRED_WORDING, design_conditions, design_prose
from pcnstudy.paper.report import CHANGE_INTROS, cohort_table, unpaired_change_md
from pcnstudy.paper.tables import cohort_labels, paper_tables

INSTRUMENT = {"domains": {"leadership": {"name": "Leadership skills"}, "systems": {"name": "Systems"}}}
UNPAIRED_ROW = {"wave_from": "baseline", "wave_to": "end", "n_from": 40, "n_to": 31, "mean_from": 3.1,
                "mean_to": 3.8, "mean_diff": 0.7, "diff_ci_low": 0.4, "diff_ci_high": 1.0, "pct_change": 0.2258,
                "pct_ci_low": 0.12, "pct_ci_high": 0.34, "p_welch": 0.0004, "p_holm": 0.0008,
                "p_mannwhitney": 0.0121, "rank_biserial": 0.41, "paired": False}


def _results():
    results = copy.deepcopy(load_results(FIXTURE / "results"))
    scores = results.setdefault("scores", {})
    first = next(iter(scores.get("reliability") or {"demo_cohort": {}}))
    scores["unpaired_change"] = {"anon": {"leadership": dict(UNPAIRED_ROW),
                                          "systems": {**UNPAIRED_ROW, "pct_change": "<5", "p_welch": "<5",
                                                      "p_mannwhitney": "<5"}}}
    scores.setdefault("reliability", {})["anon"] = {"leadership": {"baseline": 0.8, "end": 0.82}}
    scores["unpaired_models"] = {"anon": {"leadership": {"wave_to": "end", "estimate": 0.71, "ci_low": 0.4,
                                                         "ci_high": 1.02, "p_mixed": 0.0002, "n_obs": 71,
                                                         "n_respondents": 71, "model": "ols"}}}
    return results, first


COHORTS = [{"cohort": "anon", "programme": "Action learning sets", "design": "unpaired", "waves": ["baseline", "end"]},
           {"cohort": "once", "programme": "Feedback only", "design": "single_wave", "waves": ["end"]},
           {"cohort": "linked", "programme": "Linked", "design": "linked", "waves": ["baseline", "end"]}]


def test_unpaired_cohort_is_labelled_in_every_table():
    results, _ = _results()
    tables = paper_tables(results, instrument=INSTRUMENT, codebook=None, conf_pct="95", quotes=None, cohorts=COHORTS)
    assert "Action learning sets (unpaired)" in tables["reliability"] and "anon" not in tables["reliability"]
    assert "Action learning sets (unpaired)" in tables["cohorts"] and "Feedback only (unpaired)" not in tables["cohorts"]
    unpaired = tables["unpaired_change"]
    assert unpaired.startswith('::: {.content-visible when-meta="study_has_unpaired"}')
    assert "{#tbl-unpaired-change}" in unpaired and "Unpaired comparison of start and end respondents" in unpaired
    assert "Action learning sets (unpaired)" in unpaired and "22.6" in unpaired and "p (Mann-Whitney)" in unpaired
    assert cohort_labels(COHORTS) == {"anon": "Action learning sets (unpaired)", "once": "Feedback only",
                                      "linked": "Linked"}
    mixed = tables["mixed"]
    assert "| Action learning sets (unpaired) | Leadership skills | 71 | 71 | 0.71 | (0.40, 1.02) |" in mixed
    assert "a model without a respondent effect" in mixed


def test_tables_without_unpaired_cohorts_are_unchanged():
    results, first = _results()
    del results["scores"]["unpaired_change"], results["scores"]["unpaired_models"]
    plain = [{"cohort": first, "programme": "P", "waves": ["baseline", "end"]}]
    typed = [{**plain[0], "design": "paired"}]
    before = paper_tables(results, instrument=INSTRUMENT, codebook=None, conf_pct="95", quotes=None, cohorts=plain)
    after = paper_tables(results, instrument=INSTRUMENT, codebook=None, conf_pct="95", quotes=None, cohorts=typed)
    assert before == after
    assert "| none |" in before["unpaired_change"]  # made, so the include resolves, and hidden by its flag
    assert "respondent effect" not in before["mixed"]


def test_prose_says_unpaired_and_single_wave():
    results, _ = _results()
    out = design_prose(results["scores"], COHORTS, INSTRUMENT, "95")
    sentence = out["study.design.unpaired_sentence"]
    assert UNPAIRED_WORDING in sentence and "action learning sets (unpaired comparison" in sentence
    assert "anon" not in sentence
    assert "leadership skills by 22.6% (95% CI 12.0% to 34.0%; Welch p <0.001, Mann-Whitney p = 0.012)" in sentence
    assert "systems by suppressed" in sentence
    single = out["study.design.single_wave_sentence"]
    assert "(feedback only)" in single and "nothing paired is attempted" in single
    assert design_conditions(COHORTS) == {"study_has_unpaired": True, "study_has_single_wave": True}
    paired_only = [{"cohort": "x"}]
    assert design_conditions(paired_only) == {"study_has_unpaired": False, "study_has_single_wave": False}
    assert design_prose({}, paired_only, None) == {"study.design.unpaired_sentence": "",
                                                   "study.design.single_wave_sentence": ""}


def test_manuscript_carries_the_design_flags_and_sentences():
    results, _ = _results()
    cohorts = pd.DataFrame([{**c, "waves": ";".join(c["waves"]), "retrospective_waves": "", "region": None,
                             "n_pcns": 8, "start": None, "end": None, "data": "simulated"} for c in COHORTS])
    given = manuscript.PaperInputs(results=results, cohorts=cohorts, instrument=INSTRUMENT, codebook=None,
                                   quotes=None, notebooks=[], epoch=1600000000, commit="deadbeef" * 5,
                                   lock_hashes=[], versions={})
    result = manuscript.compute(given, manuscript.PaperSettings(params=PARAMS))
    assert result.conditions["study_has_unpaired"] and result.conditions["study_has_single_wave"]
    assert "the waves could not be linked" in result.variables["study.design.unpaired_sentence"]
    assert result.variables["scores.unpaired_change.anon.leadership.paired"] == "no"


def _pandoc(tmp_path, flag: bool, table: str) -> subprocess.CompletedProcess:
    (tmp_path / "tables").mkdir(exist_ok=True)
    (tmp_path / "tables" / "unpaired_change.md").write_text(table)
    (tmp_path / "doc.md").write_text("[See @tbl-unpaired-change.]{.content-visible when-meta=\"study_has_unpaired\"}"
                                     "\n\n{{< include tables/unpaired_change.md >}}\n\nEnd.\n")
    (tmp_path / "_variables.yml").write_text("")
    (tmp_path / render.STUDY_METADATA).write_text(f"study_has_unpaired: {'true' if flag else 'false'}\n")
    cmd = [render.pandoc_path(), "doc.md", "-f", "markdown", "-t", "html5", "--metadata-file", render.STUDY_METADATA]
    for f in render.filter_paths():
        cmd += ["--lua-filter", str(f)]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)


def test_unpaired_table_is_shown_only_with_its_flag(tmp_path):
    results, _ = _results()
    table = paper_tables(results, instrument=INSTRUMENT, codebook=None, conf_pct="95", quotes=None,
                         cohorts=COHORTS)["unpaired_change"]
    shown = _pandoc(tmp_path, True, table)
    assert shown.returncode == 0, shown.stderr
    assert "Action learning sets (unpaired)" in shown.stdout and "Unpaired comparison" in shown.stdout
    hidden = _pandoc(tmp_path, False, table)
    assert hidden.returncode == 0, hidden.stderr
    assert "Unpaired comparison" not in hidden.stdout and "End." in hidden.stdout


def test_cohort_report_says_unpaired():
    md = unpaired_change_md({"leadership": dict(UNPAIRED_ROW)}, {"leadership": "Leadership skills"}, "95")
    assert "unpaired comparison of start and end respondents" in md and "{#tbl-change}" in md
    assert "| Leadership skills | 40 | 31 |" in md
    assert "unpaired" in cohort_table({"waves": ["baseline", "end"], "design": "unpaired"}, 40)
    assert "(unpaired" not in cohort_table({"waves": ["baseline", "end"]}, 40)
    assert "nothing paired is attempted" in CHANGE_INTROS["unpaired"]
    assert "nothing paired is attempted" in CHANGE_INTROS["single_wave"]
    assert CHANGE_INTROS["linked"] == CHANGE_INTROS["paired"]
