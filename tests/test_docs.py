"""The docs name what the code has: the cohorts table's columns, the architecture map's
folders and modules, and the commands the README lists."""
from __future__ import annotations

import re

import docmap
from conftest import ROOT
from test_cli_contract import contract
from pcnstudy.ingest.cohorts_table import COHORT_COLUMNS


def documented_columns(doc: str, section: str) -> list[str]:
    text = (ROOT / doc).read_text(encoding="utf-8").split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([a-z_]+) \| (?!type \|)", text, re.M)


def test_data_dictionary_lists_the_cohorts_table_columns():
    assert documented_columns("docs/data-dictionary.md", "cohorts") == COHORT_COLUMNS


def test_architecture_lists_every_module_of_the_package():
    assert docmap.current() == docmap.section(), "run: python tests/docmap.py --write"


def test_architecture_map_has_a_row_for_every_subpackage():
    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8").split("## The map\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)/` \|", text, re.M)
    assert sorted(rows) == sorted(p.name for p in docmap.folders())


def test_architecture_map_names_only_commands_that_exist():
    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8").split("## The map\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`pcnstudy ([a-z][a-z-]*)`", text))
    assert named and named <= set(contract())
