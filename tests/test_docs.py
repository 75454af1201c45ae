"""The docs name what the code has: the cohorts table's columns, the architecture map's
folders and modules, and the commands the README lists."""
from __future__ import annotations

import re

from conftest import ROOT
from pcnstudy.ingest.cohorts_table import COHORT_COLUMNS


def documented_columns(doc: str, section: str) -> list[str]:
    text = (ROOT / doc).read_text(encoding="utf-8").split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([a-z_]+) \| (?!type \|)", text, re.M)


def test_data_dictionary_lists_the_cohorts_table_columns():
    assert documented_columns("docs/data-dictionary.md", "cohorts") == COHORT_COLUMNS
