"""Schemas of the processed tables, cohort.yml checks, and the data dictionary kept in step."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from pcnstudy.ingest.validate import TABLE_COLUMNS, CohortConfigError, build_schemas, load_cohort, validate_tables

DICTIONARY = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"


def dictionary_columns() -> dict[str, list[str]]:
    tables, current = {}, None
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            tables[current] = []
        elif current and (m := re.match(r"^\| ([a-z_]+) \| (?!type \|)", line)):
            tables[current].append(m.group(1))
    return tables


def test_data_dictionary_lists_every_column_written():
    documented = dictionary_columns()
    for table, columns in TABLE_COLUMNS.items():
        assert documented.get(table) == columns, table


def test_schemas_match_table_columns():
    for name, schema in build_schemas().items():
        assert list(schema.columns) == TABLE_COLUMNS[name]


def _ratings(**change):
    row = {"respondent": "r_0123456789ab", "cohort": "c1", "group": None, "pcn": "p", "profession": "GP",
           "wave": "baseline", "item": "lead_1", "domain": "leadership", "score": 4.0}
    row.update(change)
    return pd.DataFrame([row], columns=TABLE_COLUMNS["ratings"])


def test_schema_accepts_a_sound_row_and_rejects_bad_ones():
    validate_tables({"ratings": _ratings()})
    for change in ({"score": 6.0}, {"score": 2.5}, {"respondent": "SE1-017"}, {"cohort": "Bad Name"}):
        with pytest.raises(pandera.errors.SchemaErrors):
            validate_tables({"ratings": _ratings(**change)})


def test_cohort_yml_defaults_and_errors(tmp_path):
    (tmp_path / "cohort.yml").write_text(
        "cohort: c1\nwaves: [baseline]\nfiles:\n  - path: a.csv\n    wave: baseline\ncolumns:\n  respondent_id: ID\n")
    config = load_cohort(tmp_path)
    assert config["demo"] is False and config["files"][0]["layout"] == "auto" and config["columns"]["items"] == {}
    (tmp_path / "cohort.yml").write_text("cohort: Bad Id\nwaves: [b]\nfiles: [{path: a, wave: b}]\ncolumns: {respondent_id: X}\n")
    with pytest.raises(CohortConfigError, match="must match"):
        load_cohort(tmp_path)
