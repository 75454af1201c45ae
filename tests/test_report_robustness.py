"""Tests that ``pcnstudy report NAME`` answers damaged or odd inputs with one line and exit
code 1 (2 for a name that is not a cohort id), never a traceback."""
from __future__ import annotations

import json

import pytest

from pcnstudy.paper.report import report_command


def make_root(tmp_path, scores, themes="{}", cohort_yml=None):
    results = tmp_path / "data" / "processed" / "results"
    results.mkdir(parents=True)
    (results / "scores.json").write_text(scores if isinstance(scores, str) else json.dumps(scores))
    (results / "themes.json").write_text(themes)
    if cohort_yml is not None:
        (tmp_path / "data" / "raw" / "se_cohort1").mkdir(parents=True)
        (tmp_path / "data" / "raw" / "se_cohort1" / "cohort.yml").write_text(cohort_yml)
    return tmp_path


@pytest.mark.parametrize("case, message", [
    ("scores_not_object", "scores.json: not a JSON object"),
    ("themes_null", "themes.json: not a JSON object"),
    ("cohort_yml_broken", "cohort.yml:2: not valid YAML"),
    ("cohort_yml_list", "cohort.yml: not a mapping"),
    ("section_wrong_type", "cannot build the report for 'se_cohort1'"),
])
def test_damaged_results_give_one_line_and_exit_1(tmp_path, capsys, case, message):
    present = {"change": {"se_cohort1": {"overall": {}}}}
    root = {
        "scores_not_object": lambda: make_root(tmp_path, "[]"),
        "themes_null": lambda: make_root(tmp_path, present, themes="null"),
        "cohort_yml_broken": lambda: make_root(tmp_path, present, cohort_yml="name: [\n"),
        "cohort_yml_list": lambda: make_root(tmp_path, present, cohort_yml="- 1\n"),
        "section_wrong_type": lambda: make_root(tmp_path, {"change": {"se_cohort1": "x"}}, cohort_yml="{}\n"),
    }[case]()
    assert report_command("se_cohort1", root=root, formats=("html",)) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and message in err, err


@pytest.mark.parametrize("name", ["se_cohort1\n", "", "../se_cohort1", "SE_COHORT1", "a b"])
def test_a_name_that_is_not_a_cohort_id_is_a_usage_error(tmp_path, capsys, name):
    assert report_command(name, root=tmp_path, formats=("html",)) == 2
    assert "is not a cohort id" in capsys.readouterr().err
