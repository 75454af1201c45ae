"""Export shapes met in real survey exports: layout found by structure, respondent id chosen by the data.

Each fixture under tests/data/exports (written by make_fixtures.py) goes through
`pcnstudy new-cohort`, the EDIT lines filled in (tests/analyst.py), and `pcnstudy
validate`; the expected rows read / kept / quarantined and the id column chosen are
written down here (docs/adapting.md's table of export shapes says the same).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from analyst import fill_in
from pcnstudy.ingest.commands import new_cohort_command, validate_command
from pcnstudy.ingest.export_layouts import detect_layout, qualtrics_metadata, second_header_row
from pcnstudy.ingest.exports import read_export
from pcnstudy.ingest.respondent_id import choose_respondent_id
from pcnstudy.ingest.validate import TOP_KEYS

HERE = Path(__file__).parent
EXPORTS = HERE / "data" / "exports"
INSTRUMENT_PATH = HERE.parent / "config" / "instrument.yml"
INSTRUMENT = yaml.safe_load(INSTRUMENT_PATH.read_text(encoding="utf-8"))
N_ITEMS = len(INSTRUMENT["items"])
#: cohort.yml's `design` key is read by ingest (the anonymous designs); until then an anonymous scaffold cannot validate.
DESIGN_READ = "design" in TOP_KEYS

# name: (exports, waves, layout, header rows, id column (None: anonymous), rows read, kept, quarantined)
SHAPES = {
    "msforms_anonymous": (["msforms_anonymous.xlsx"], ["end"], "msforms", 1, "Id", 14, 14, 0),
    "qualtrics_noemail": (["qualtrics_noemail.csv"], ["end"], "qualtrics", 3, "Response ID", 14, 14, 0),
    "qualtrics_german": (["qualtrics_german.csv"], ["end"], "qualtrics", 3, "Antwort-ID", 14, 14, 0),
    "surveymonkey_response": (["surveymonkey_response.csv"], ["end"], "surveymonkey", 2,
                              "What is your participant ID?", 14, 14, 0),
    "surveymonkey_openended": (["surveymonkey_openended.csv"], ["end"], "surveymonkey", 2, "Respondent ID", 14, 14, 0),
    "surveymonkey_options": (["surveymonkey_options.csv"], ["end"], "surveymonkey", 2, "Respondent ID", 14, 14, 0),
    "surveymonkey_blanks": (["surveymonkey_blanks_baseline.csv", "surveymonkey_blanks_end.csv"], ["baseline", "end"],
                            "surveymonkey", 2, "What is your participant ID?", 26, 26, 0),
    "googleforms_anonymous": (["googleforms_anonymous.csv"], ["end"], "googleforms", 1, None, 14, 14, 0),
}


def scaffold(tmp_path, name):
    exports, waves = SHAPES[name][:2]
    code = new_cohort_command(name, [EXPORTS / e for e in exports], waves, raw=tmp_path / "raw",
                              instrument_path=INSTRUMENT_PATH)
    return code, tmp_path / "raw" / name


def validate_marks(name):
    if SHAPES[name][4] is None:
        return [pytest.mark.xfail(not DESIGN_READ, strict=True, reason="cohort.yml `design` not read yet")]
    return []


@pytest.mark.parametrize("name", [pytest.param(n, marks=validate_marks(n)) for n in SHAPES])
def test_each_shape_scaffolds_and_validates(tmp_path, capsys, name):
    exports, waves, layout, header_rows, id_column, read, kept, quarantined = SHAPES[name]
    for export in exports:
        table = read_export(EXPORTS / export)
        assert (table.layout, table.header_rows) == (layout, header_rows), export
    code, folder = scaffold(tmp_path, name)
    assert code == 0, capsys.readouterr()
    config = yaml.safe_load(fill_in(folder / "cohort.yml"))
    assert config["columns"].get("respondent_id") == id_column
    assert config.get("design", "paired") == ("anonymous" if id_column is None else "paired")
    assert len(config["columns"]["items"]) == N_ITEMS
    capsys.readouterr()
    assert validate_command(folder) == 0, capsys.readouterr().out
    summary = capsys.readouterr().out.splitlines()[-1]
    assert "0 problems" in summary and f"rows read {read}, kept {kept}, quarantined {quarantined};" in summary


def test_microsoft_forms_anonymous_email_and_name_are_set_aside(tmp_path, capsys):
    code, folder = scaffold(tmp_path, "msforms_anonymous")
    out = capsys.readouterr().out
    rows = {line.split(None, 3)[3]: line.split()[0] for line in out.splitlines()
            if re.match(r"^(mapped|low|unmapped|ignored) ", line)}
    assert rows["Email"] == "ignored" and rows["Name"] == "ignored" and rows["Id"] == "mapped"
    text = (folder / "cohort.yml").read_text(encoding="utf-8")
    assert "#   refused: 'Email' (an email address): the same value on every row" in text
    assert "email:" not in text and "  name:" not in text
    assert "taken: 'Id' (the survey tool's per-response id)" in out


def test_qualtrics_metadata_is_set_aside_by_its_ids_in_any_language(tmp_path, capsys):
    english = read_export(EXPORTS / "qualtrics_noemail.csv")
    german = read_export(EXPORTS / "qualtrics_german.csv")
    meta_en, meta_de = qualtrics_metadata(english.extra), qualtrics_metadata(german.extra)
    assert sorted(meta_en.values()) == sorted(meta_de.values()) and len(meta_de) == 17
    assert meta_de["Anfangsdatum"] == "StartDate" and meta_de["Dauer (in Sekunden)"] == "Duration (in seconds)"
    code, folder = scaffold(tmp_path, "qualtrics_german")
    out = capsys.readouterr().out
    status = {line.split(None, 3)[3]: (line.split()[0], line.split()[2]) for line in out.splitlines()
              if re.match(r"^(mapped|low|unmapped|ignored) ", line)}
    for header, ident in meta_de.items():
        if ident == "RecordedDate":
            assert status[header] == ("mapped", "date")
        elif ident == "ResponseId":
            assert status[header] == ("mapped", "respondent_id")
        else:
            assert status[header][0] == "ignored", header
    assert not any(s == "unmapped" for s, _ in status.values())


def test_qualtrics_empty_recipient_email_is_never_the_id(tmp_path, capsys):
    code, folder = scaffold(tmp_path, "qualtrics_noemail")
    text = (folder / "cohort.yml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["columns"]["respondent_id"] == "Response ID"
    assert "#   refused: 'Recipient Email' (an email address): empty on every row of qualtrics_noemail.csv" in text


def test_google_forms_without_an_id_is_scaffolded_anonymous(tmp_path, capsys):
    code, folder = scaffold(tmp_path, "googleforms_anonymous")
    assert code == 0
    text = (folder / "cohort.yml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert config["design"] == "anonymous" and "respondent_id" not in config["columns"]
    assert "Timestamp" != config["columns"].get("respondent_id")
    assert "Respondent id: none (design: anonymous)" in capsys.readouterr().out


def test_two_waves_are_linked_by_the_participant_id_not_the_response_id():
    tables = [read_export(EXPORTS / "surveymonkey_blanks_baseline.csv"), read_export(EXPORTS / "surveymonkey_blanks_end.csv")]
    choice = choose_respondent_id(tables, ["baseline", "end"])
    assert choice.header == "What is your participant ID?" and choice.design == "paired"
    verdicts = {c.header: c for c in choice.candidates}
    assert "links 12 respondent(s) across waves" in verdicts["What is your participant ID?"].reason
    assert not verdicts["Respondent ID"].qualifies and "never links" in verdicts["Respondent ID"].reason


# --------------------------------------------------------------------------- the id, unit by unit


def table_of(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_export(path)


def test_empty_constant_and_repeated_columns_are_refused(tmp_path):
    table = table_of(tmp_path, "a.csv", "Participant ID,Email,Name,Response ID,PCN\n"
                     "P1,anonymous,,R1,X\nP1,anonymous,,R2,Y\nP3,anonymous,,R3,Y\n")
    choice = choose_respondent_id([table], ["end"])
    reasons = {c.header: c.reason for c in choice.candidates}
    assert choice.header == "Response ID"
    assert reasons["Participant ID"] == "1 of 3 rows of a.csv repeat another row's value"
    assert reasons["Email"].startswith("the same value on every row of a.csv")
    partly = table_of(tmp_path, "b.csv", "Participant ID,PCN\nP1,X\n,Y\nP3,Y\n")
    choice = choose_respondent_id([partly], ["end"])
    assert choice.header is None and choice.design == "anonymous"
    assert choice.candidates[0].reason == "empty on 1 of 3 rows of b.csv"


def test_one_wave_prefers_the_tools_id_and_says_the_participant_id_would_link(tmp_path):
    table = table_of(tmp_path, "a.csv", "Participant ID,Response ID,PCN\nP1,R1,X\nP2,R2,Y\n")
    choice = choose_respondent_id([table], ["end"])
    assert choice.header == "Response ID"
    assert "'Participant ID' qualifies too" in choice.note


def test_several_waves_with_only_per_response_ids_are_anonymous(tmp_path):
    one = table_of(tmp_path, "a.csv", "Response ID,PCN\nR1,X\nR2,Y\n")
    two = table_of(tmp_path, "b.csv", "Response ID,PCN\nR7,X\nR8,Y\n")
    choice = choose_respondent_id([one, two], ["baseline", "end"])
    assert choice.header is None and choice.design == "anonymous"
    assert "only per-response ids identify the rows, and they do not link waves" in choice.note
    assert "self_code" in choice.note


def test_a_participant_id_that_links_no_one_is_refused(tmp_path):
    one = table_of(tmp_path, "a.csv", "Participant ID,PCN\nP1,X\nP2,Y\n")
    two = table_of(tmp_path, "b.csv", "Participant ID,PCN\nQ1,X\nQ2,Y\n")
    choice = choose_respondent_id([one, two], ["baseline", "end"])
    assert choice.header is None
    assert "links no one" in choice.candidates[0].reason


# --------------------------------------------------------------------------- layout by structure

PLAIN_DATA = [["P2", "Agree", "Agree", "x"], ["P3", "Disagree", "Agree", "y"]]


@pytest.mark.parametrize(
    "head, expected",
    [
        # the second row "Response" over every column, metadata removed: any language
        ([["Q1", "Q2", "Q3"], ["Response", "Response", "Response"], ["a", "4", "b"], ["c", "5", "d"]], True),
        ([["Q1", "Q2", "Q3"], ["Antwort", "Antwort", "Antwort"], ["a", "4", "b"], ["c", "5", "d"]], True),
        # blanks under the tool's metadata, labels over a matrix's continuation columns
        ([["Respondent ID", "Matrix", "", "Text"], ["", "Row A", "Row B", ""],
          ["1144", "Agree", "Disagree", "hi"], ["1145", "Agree", "Agree", "ho"]], True),
        # a respondent's row, however repetitive
        ([["Participant ID", "Q1", "Q2", "Text"], ["P1", "Agree", "Agree", "fine"]] + PLAIN_DATA, False),
        ([["Participant ID", "Q1", "Q2", "Text"], ["P1", "Strongly agree", "Strongly agree", ""]] + PLAIN_DATA, False),
        ([["Participant ID", "PCN"], ["P1", "X"]], False),
    ],
)
def test_second_header_row_is_told_by_structure(head, expected):
    assert second_header_row(head) is expected
    assert detect_layout(head)[0] == ("surveymonkey" if expected else "plain")


def test_plain_fixtures_stay_plain():
    for name in ("plain_baseline.csv", "plain_end.csv", "plain_end_cp1252.csv", "plain_end_bom.tsv"):
        assert read_export(EXPORTS / name).layout == "plain", name


def test_surveymonkey_headers_in_any_language_are_the_questions():
    table = read_export(EXPORTS / "surveymonkey_options.csv")
    cols = list(table.frame.columns)
    assert "Which Primary Care Network do you work in?" in cols  # "Réponse" dropped
    assert "What did you value most about the programme?" in cols  # "Réponse ouverte" dropped
    assert sum(c.startswith("Please rate how far you agree with each statement. - ") for c in cols) == N_ITEMS
    response = read_export(EXPORTS / "surveymonkey_response.csv")
    assert response.rows_read == 14 and "What is your participant ID?" in response.frame.columns


def test_a_wrong_guess_stays_overridable(tmp_path, capsys):
    code, folder = scaffold(tmp_path, "surveymonkey_response")
    path = folder / "cohort.yml"
    path.write_text(fill_in(path).replace("layout: surveymonkey", "layout: plain"), encoding="utf-8")
    capsys.readouterr()
    assert validate_command(folder) == 1  # the second header row is read as a respondent
    out = capsys.readouterr().out
    assert "rows read 15" in out.splitlines()[-1]


def test_docs_table_of_export_shapes_matches_the_fixtures():
    doc = (HERE.parent / "docs" / "adapting.md").read_text(encoding="utf-8")
    for name, (exports, _w, layout, _h, id_column, read, kept, quarantined) in SHAPES.items():
        row = next(line for line in doc.splitlines() if line.startswith("|") and f"`{exports[0]}`" in line)
        assert f"| {read} / {kept} / {quarantined} |" in row and f"| {layout}" in row, name
        assert (id_column or "design: anonymous") in row, name


def test_a_header_that_only_reads_like_an_id_is_not_kept_as_one(tmp_path, capsys):
    export = tmp_path / "x.csv"
    export.write_text("External Reference,PCN,I make time to reflect on my own leadership style\n"
                      ",Oakwood PCN,4\n,Oakwood PCN,5\n", encoding="utf-8")
    assert new_cohort_command("x", [export], ["end"], raw=tmp_path / "raw", instrument_path=INSTRUMENT_PATH) == 0
    out = capsys.readouterr().out
    assert not re.search(r"^(mapped|low) .* respondent_id ", out, re.M)
    assert "design: anonymous" in (tmp_path / "raw" / "x" / "cohort.yml").read_text(encoding="utf-8")
