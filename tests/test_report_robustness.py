"""Tests that ``pcnstudy report NAME`` answers damaged or odd inputs with one line and exit
code 1 (2 for a name that is not a cohort id), never a traceback."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from pcnstudy.ingest.cohorts_table import cohorts_frame
from pcnstudy.paper.report import report_command


def make_root(tmp_path, scores, themes="{}", cohorts=None):
    """Results, and the processed cohorts table: a frame written as parquet, or bytes written as is."""
    results = tmp_path / "data" / "processed" / "results"
    results.mkdir(parents=True)
    (results / "scores.json").write_text(scores if isinstance(scores, str) else json.dumps(scores))
    (results / "themes.json").write_text(themes)
    table = tmp_path / "data" / "processed" / "cohorts.parquet"
    if isinstance(cohorts, bytes):
        table.write_bytes(cohorts)
    elif cohorts is not None:
        cohorts.to_parquet(table, index=False)
    return tmp_path


@pytest.mark.parametrize("case, message", [
    ("scores_not_object", "scores.json: not a JSON object"),
    ("themes_null", "themes.json: not a JSON object"),
    ("cohorts_table_broken", "cohorts.parquet: cannot read the cohorts table"),
    ("cohorts_table_without_columns", "cohorts.parquet: no column programme"),
    ("section_wrong_type", "cannot build the report for 'se_cohort1'"),
])
def test_damaged_results_give_one_line_and_exit_1(tmp_path, capsys, case, message):
    present = {"change": {"se_cohort1": {"overall": {}}}}
    root = {
        "scores_not_object": lambda: make_root(tmp_path, "[]"),
        "themes_null": lambda: make_root(tmp_path, present, themes="null"),
        "cohorts_table_broken": lambda: make_root(tmp_path, present, cohorts=b"PAR1 not parquet\n"),
        "cohorts_table_without_columns": lambda: make_root(tmp_path, present,
                                                           cohorts=pd.DataFrame({"cohort": ["se_cohort1"]})),
        "section_wrong_type": lambda: make_root(tmp_path, {"change": {"se_cohort1": "x"}},
                                                cohorts=cohorts_frame([{"cohort": "se_cohort1"}])),
    }[case]()
    assert report_command("se_cohort1", root=root, formats=("html",)) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and message in err, err


@pytest.mark.parametrize("name", ["se_cohort1\n", "", "../se_cohort1", "SE_COHORT1", "a b"])
def test_a_name_that_is_not_a_cohort_id_is_a_usage_error(tmp_path, capsys, name):
    assert report_command(name, root=tmp_path, formats=("html",)) == 2
    assert "is not a cohort id" in capsys.readouterr().err
