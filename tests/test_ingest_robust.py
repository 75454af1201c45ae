"""Exports corrupted in ways survey tools and hand edits produce: tolerable quirks are accepted,
damage is reported at its file, row and column, and nothing is lost.

The broken exports that must fail validation live in tests/data/bad/ (test_ingest_bad.py);
here are the quirks that must pass, and unit checks of the readers behind both.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import io
from pathlib import Path

import pytest

from pcnstudy.ingest.coerce import coerce_likert, coerce_yes_no, parse_uk_date
from pcnstudy.core.decoding import utf16_without_bom
from pcnstudy.ingest.export_records import sniff_format
from pcnstudy.ingest.exports import read_export
from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml
from pcnstudy.ingest.cohort_ingester import ingest_cohort
from pcnstudy.ingest.commands import _one_line, ingest_study, validate_command
from pcnstudy.ingest.header_matching import infer_mapping, match_headers
from pcnstudy.ingest.pseudonym import DEMO_KEY
from pcnstudy.ingest.validate import CohortConfigError, load_cohort, mapping_problems

SCALE = {"min": 1, "max": 5, "labels": {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree",
                                        4: "Agree", 5: "Strongly agree"}}
_spec = importlib.util.spec_from_file_location("make_bad", Path(__file__).parent / "data" / "bad" / "make_bad.py")
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)


def cohort(tmp_path: Path, name: str, data: bytes, yml: str | None = None, fname: str = "baseline.csv") -> Path:
    """A one-file cohort folder from the bad-input corpus' base export."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "cohort.yml").write_text(yml if yml is not None else mb.cohort_yml(name, path=fname), encoding="utf-8")
    (folder / fname).write_bytes(data)
    return folder


def base_csv(headers=None, rows=None) -> str:
    return mb.csv_text(headers or mb.HEADERS, mb.ROWS if rows is None else rows)


def validate(folder: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = validate_command(folder)
    return code, out.getvalue()


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize("text,value", [("4,0", 4.0), ("\u201cAgree\u201d", 4.0), ("'5'", 5.0), ("\uff14", 4.0)])
def test_likert_quirks_accepted(text, value):
    result = coerce_likert(text, SCALE)
    assert result.ok and result.value == value


@pytest.mark.parametrize("text,words", [("1" + "0" * 400, "outside"), ("4,5", "whole point"), ("-1", "outside"),
                                        ("inf", "text where"), ("99", "outside")])
def test_likert_damage_reported_without_crashing(text, words):
    result = coerce_likert(text, SCALE)
    assert not result.ok and words in result.reason


def test_yes_no_in_smart_quotes():
    assert coerce_yes_no("\u201cYes\u201d").value == 1


@pytest.mark.parametrize("text,date", [("44100.5", "2020-09-26"), ("Wednesday, 16 September 2020", "2020-09-16"),
                                       ("Wed 16/09/2020", "2020-09-16")])
def test_date_quirks_accepted(text, date):
    assert parse_uk_date(text).value == dt.date.fromisoformat(date)


@pytest.mark.parametrize("text", ["#VALUE!", "99999999999999999999", "1" + "0" * 400])
def test_bad_dates_reported(text):
    assert not parse_uk_date(text).ok


# --------------------------------------------------------------------------- files


def test_utf16_without_bom_is_text(tmp_path):
    data = base_csv().encode("utf-16-le")
    assert utf16_without_bom(data) == "utf-16-le" and sniff_format(data) == "text"
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    table = read_export(path)
    assert not table.problems and len(table.frame) == 4 and list(table.frame.columns) == mb.HEADERS


def test_many_nul_bytes_are_binary_a_few_are_damage():
    assert sniff_format(b"a,b\n" + b"\x00" * 100) == "binary"
    assert sniff_format(base_csv().replace("Protected", "Prot\x00ected").encode()) == "text"


def test_answer_longer_than_csv_field_limit_is_read(tmp_path):
    long = "word " * 40_000  # 200 kB, above the csv module's default 128 kB field limit
    path = tmp_path / "x.csv"
    path.write_text(base_csv(rows=mb.with_cell(2, mb.TX, long)), encoding="utf-8")
    table = read_export(path)
    assert not table.fatal and table.frame[mb.TX].iloc[0] == long


def test_missing_final_line_break_warns_only(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(base_csv().rstrip("\n"), encoding="utf-8")
    table = read_export(path)
    assert len(table.frame) == 4 and not table.fatal
    assert [(p.row, p.fatal) for p in table.problems] == [(5, False)] and "line break" in table.problems[0].reason


def test_header_quirks_matched():
    headers = ["\u200bParticipant ID", "pcn", "Q1.  I AM CONFIDENT\u00a0leading"]
    renames = match_headers(headers, ["Participant ID", "PCN", "Q1. I am confident leading", "Missing"])
    assert renames == {"\u200bParticipant ID": "Participant ID", "pcn": "PCN",
                       "Q1.  I AM CONFIDENT\u00a0leading": "Q1. I am confident leading"}
    # ambiguous: two export headers fit one mapped header, neither is renamed
    assert match_headers(["pcn", "PCN "], ["Pcn"]) == {}


@pytest.mark.parametrize("quirk", ["case", "spaces", "crlf", "cr", "bom", "trailing_columns", "blank_rows",
                                   "utf16", "cp1252"])
def test_tolerable_quirks_validate_cleanly(tmp_path, quirk):
    headers = list(mb.HEADERS)
    text = base_csv()
    if quirk == "case":
        text = base_csv(headers=[h.upper() if h == mb.Q2 else h for h in headers])
    elif quirk == "spaces":
        text = base_csv(headers=[h.replace(" ", "\u00a0 ", 1) + "  " if h == mb.Q1 else h for h in headers])
    elif quirk == "trailing_columns":
        text = "".join(line + ",,\n" for line in text.splitlines())
    elif quirk == "blank_rows":
        lines = text.splitlines()
        text = "\n".join(lines[:2] + [",,,,,,,,,", ""] + lines[2:]) + "\n"
    data = {"crlf": text.replace("\n", "\r\n").encode(), "cr": text.replace("\n", "\r").encode(),
            "bom": b"\xef\xbb\xbf" + text.encode(), "utf16": text.encode("utf-16"),
            "cp1252": text.replace("Protected", "Protégé").encode("cp1252")}.get(quirk, text.encode())
    code, out = validate(cohort(tmp_path, quirk, data))
    assert code == 0, out
    # blank rows are read and set aside with a warning: read = kept + quarantined
    assert ("rows read 6, kept 4, quarantined 2" if quirk == "blank_rows" else "rows read 4, kept 4, quarantined 0") in out


def test_control_characters_removed_from_text_with_a_warning(tmp_path):
    answer = "Great \U0001f44d \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd \x07bell \x1b[31m"
    folder = cohort(tmp_path, "ctrl", base_csv(rows=mb.with_cell(3, mb.TX, answer)).encode())
    code, out = validate(folder)
    assert code == 0 and "ctrl/baseline.csv:3:What did you value most about the programme?: control characters" in out
    data = ingest_cohort(folder, DEMO_KEY, load_yaml(paths.INSTRUMENT))
    texts = [r["text"] for r in data.records["texts"]]
    assert "Great \U0001f44d evil \u05e9\u05dc\u05d5\u05dd bell [31m" in texts


def test_two_exports_of_one_wave_keep_unique_response_ids(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    yml = mb.cohort_yml("split").replace("columns:", "  - path: part2.csv\n    wave: baseline\ncolumns:")
    folder = cohort(raw, "split", base_csv(rows=mb.ROWS[:2]).encode(), yml=yml)
    (folder / "part2.csv").write_text(base_csv(rows=mb.ROWS[2:]), encoding="utf-8")
    result = ingest_study(raw, None, cohorts=["split"], key=DEMO_KEY, params={})
    assert result.texts["response_id"].is_unique and len(result.texts) == 4
    assert result.report["totals"]["rows_kept"] == 4


def test_utf16_transcript_is_read(tmp_path):
    folder = tmp_path / "interviews_utf16"
    (folder / "interviews").mkdir(parents=True)
    yml = mb.cohort_yml("interviews_utf16").replace("path: baseline.csv\n    wave: baseline\n    format: csv",
                                                    "path: interviews/\n    wave: baseline\n    format: text")
    (folder / "cohort.yml").write_text(yml, encoding="utf-8")
    transcript = "Participant ID: P001\nInterviewer: How was it?\nParticipant: Protected time helped.\n"
    (folder / "interviews" / "p1.txt").write_bytes(transcript.encode("utf-16"))
    (folder / "interviews" / "p2.txt").write_bytes(b"\x00\x01\x02\x03" * 50)
    data = ingest_cohort(folder, DEMO_KEY, load_yaml(paths.INSTRUMENT))
    assert [r["text"] for r in data.records["texts"]] == ["Protected time helped."]
    assert any(p.file.endswith("p2.txt") and "binary" in p.reason and p.fatal for p in data.problems)


# --------------------------------------------------------------------------- cohort.yml


@pytest.mark.parametrize("edit,words", [
    (("demo: true", "demo: 'no'"), "demo must be true or false"),
    (("demo: true", "demo: true\nretrospective_waves: then"), "retrospective_waves must be a list"),
    (("demo: true", "demo: true\nnames: {a: b}"), "names must be a list"),
    (("layout: plain", "layout: excel"), "layout 'excel' must be one of"),
    (("start: 2020-09-01", "start: 2020-13-45"), "cohort.yml:3: a value cannot be read"),
])
def test_wrong_types_in_cohort_yml_are_usage_errors(tmp_path, edit, words):
    folder = cohort(tmp_path, "c", base_csv().encode(), yml=mb.cohort_yml("c").replace(*edit))
    with pytest.raises(CohortConfigError, match=words.replace("(", r"\(")):
        load_cohort(folder)
    assert validate(folder)[0] == 2


def test_typos_in_cohort_yml_are_named_with_the_nearest_key(tmp_path):
    yml = mb.cohort_yml("c").replace("  pcn: PCN", "  pnc: PCN").replace("layout: plain", "layuot: plain")
    folder = cohort(tmp_path, "c", base_csv().encode(), yml=yml)
    config = load_cohort(folder)
    found = {(p.row, p.column): p.reason for p in mapping_problems(config, {"items": [], "feedback": [], "questions": []})
             if "unknown key" in p.reason}
    assert "did you mean 'pcn'" in found[(14, "pnc")] and "did you mean 'layout'" in found[(11, "layuot")]


def test_names_list_skips_empty_entries(tmp_path):
    folder = cohort(tmp_path, "c", base_csv().encode(), yml=mb.cohort_yml("c") + "names: [~, Asha Patel, '']\n")
    assert load_cohort(folder)["names"] == ["Asha Patel"]


def test_cohort_id_other_than_folder_name_warns(tmp_path):
    folder = cohort(tmp_path, "folder_name", base_csv().encode(), yml=mb.cohort_yml("other_id"))
    code, out = validate(folder)
    assert code == 0 and "other_id/cohort.yml:1:cohort: warning: the cohort id differs" in out


def test_scaffolder_survives_headers_that_normalise_to_nothing():
    matches = infer_mapping(["Q3.", "...", "Participant ID"], load_yaml(paths.INSTRUMENT))
    assert [m.status for m in matches[:2]] == ["unmapped", "unmapped"] and matches[2].role == "respondent_id"


def test_ingest_errors_are_one_line():
    assert _one_line(ValueError("{\n  'a': 1\n}")) == "ValueError: 'a': 1"
