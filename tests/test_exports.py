"""Reading survey tools' exports: layouts, encodings, row numbers and structural problems."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from pcnstudy.core.decoding import sniff_delimiter
from pcnstudy.ingest.export_layouts import detect_layout, split_choices
from pcnstudy.ingest.export_records import excel_text
from pcnstudy.ingest.exports import column_letter, read_export

EXPORTS = Path(__file__).parent / "data" / "exports"
INSTRUMENT = yaml.safe_load((Path(__file__).parents[1] / "config" / "instrument.yml").read_text(encoding="utf-8"))
ITEM_TEXTS = [i["text"] for i in INSTRUMENT["items"]]
N_PEOPLE = 8


def reasons(table, scope=None):
    return [p.reason for p in table.problems if scope is None or p.scope == scope]


def only(table, fragment):
    found = [p for p in table.problems if fragment in p.reason]
    assert len(found) == 1, [p.format() for p in table.problems]
    return found[0]


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(
    "name, layout, header_rows, first_row",
    [
        ("plain_baseline.csv", "plain", 1, 2),
        ("plain_end.csv", "plain", 1, 2),
        ("plain_end_cp1252.csv", "plain", 1, 2),
        ("plain_end_bom.tsv", "plain", 1, 2),
        ("plain_end.xlsx", "plain", 1, 2),
        ("qualtrics.csv", "qualtrics", 3, 4),
        ("qualtrics_legacy.csv", "qualtrics", 2, 3),
        ("surveymonkey.csv", "surveymonkey", 2, 3),
        ("msforms.xlsx", "msforms", 1, 2),
        ("googleforms.csv", "googleforms", 1, 2),
    ],
)
def test_each_fixture_is_detected_and_read_cleanly(name, layout, header_rows, first_row):
    table = read_export(EXPORTS / name)
    assert table.layout == layout
    assert table.header_rows == header_rows
    assert table.problems == []
    assert table.rows_read == N_PEOPLE == len(table.frame)
    # one row per respondent; a quoted line break inside an answer does not shift the numbering
    assert table.rows == list(range(first_row, first_row + N_PEOPLE))
    assert all(dtype == object for dtype in table.frame.dtypes)
    values = {type(v) for col in table.frame.columns for v in table.frame[col]}
    assert values <= {str, type(None)}


def test_plain_csv_encodings_and_separators_give_the_same_table():
    utf8 = read_export(EXPORTS / "plain_end.csv")
    cp1252 = read_export(EXPORTS / "plain_end_cp1252.csv")
    bom = read_export(EXPORTS / "plain_end_bom.tsv")
    assert (utf8.encoding, cp1252.encoding, bom.encoding) == ("utf-8", "cp1252", "utf-8-sig")
    assert (utf8.extra["delimiter"], cp1252.extra["delimiter"], bom.extra["delimiter"]) == (",", ";", "\t")
    assert utf8.frame.equals(cp1252.frame)
    assert utf8.frame.equals(bom.frame)
    assert list(utf8.frame.columns)[0] == "Participant ID"  # no BOM left on the first header
    text = utf8.frame["What did you value most about the programme?"].tolist()
    assert "The coaching sessions.\nThey gave me confidence to speak up in meetings." in text
    assert any("Café-style" in t and "£" in t for t in text if t)
    assert text[5] is None  # an empty answer is None, not ""


def test_xlsx_cells_are_read_as_the_text_a_user_sees():
    csv_table = read_export(EXPORTS / "plain_end.csv")
    xlsx = read_export(EXPORTS / "plain_end.xlsx")
    assert xlsx.format == "xlsx" and xlsx.encoding is None
    assert list(xlsx.frame.columns) == list(csv_table.frame.columns)
    others = [c for c in xlsx.frame.columns if c != "Date completed"]
    assert xlsx.frame[others].equals(csv_table.frame[others])  # numbers 4 -> "4", not "4.0"
    assert xlsx.frame["Date completed"].iloc[0] == "2021-06-28"


def test_qualtrics_uses_question_text_and_keeps_ids():
    table = read_export(EXPORTS / "qualtrics.csv")
    header = f"Please rate how far you agree with each statement. - {ITEM_TEXTS[0]}"
    assert header in table.frame.columns
    assert table.extra["column_ids"][header] == "Q4_1"
    assert table.extra["column_ids"]["Response ID"] == "ResponseId"
    assert table.extra["import_ids"][header] == "QID4_1"
    assert table.frame[header].iloc[0] in INSTRUMENT["scale"]["labels"].values()
    assert table.frame["Please enter your participant ID"].tolist()[:2] == ["P001", "P002"]
    legacy = read_export(EXPORTS / "qualtrics_legacy.csv")
    assert legacy.extra["column_ids"]["ResponseID"] == "V1"
    assert legacy.frame["Please enter your participant ID"].tolist() == table.frame[
        "Please enter your participant ID"
    ].tolist()


def test_surveymonkey_headers_are_flattened_and_options_keep_their_columns():
    table = read_export(EXPORTS / "surveymonkey.csv")
    cols = list(table.frame.columns)
    assert cols[:3] == ["Respondent ID", "Collector ID", "Start Date"]
    assert "What is your participant ID?" in cols  # "Open-Ended Response" is dropped
    assert "What is your profession?" in cols and "What is your profession? - Other (please specify)" in cols
    assert f"Please rate how far you agree with each statement. - {ITEM_TEXTS[-1]}" in cols
    attend = [c for c in cols if c.startswith("Which parts of the programme did you attend?")]
    assert len(attend) == 3
    ticked = table.frame[attend[0]].tolist()
    assert set(ticked) == {"Action learning sets", None}
    assert table.extra["question_of"][attend[2]] == "Which parts of the programme did you attend? (select all that apply)"


def test_msforms_keeps_times_and_joined_choices():
    table = read_export(EXPORTS / "msforms.xlsx")
    first = table.frame.iloc[0]
    assert first["ID"] == "1"
    assert first["Start time"] == "2021-06-28 09:00:00"
    assert table.extra["sheet"] == "Form1"
    attended = table.frame["Which parts of the programme did you attend?"].tolist()
    assert attended[0] == "Masterclasses;Coaching, one to one;"
    assert split_choices(attended[0], "msforms") == ["Masterclasses", "Coaching, one to one"]


def test_googleforms_grid_and_checkbox_answers():
    table = read_export(EXPORTS / "googleforms.csv")
    assert table.frame.columns[0] == "Timestamp"
    assert f"Please rate how far you agree with each statement. [{ITEM_TEXTS[3]}]" in table.frame.columns
    answer = table.frame["Which parts of the programme did you attend?"].iloc[2]
    assert answer == "Action learning sets, Coaching, one to one"
    options = ["Action learning sets", "Masterclasses", "Coaching, one to one"]
    assert split_choices(answer, "googleforms", options) == ["Action learning sets", "Coaching, one to one"]
    assert split_choices(None, "googleforms") == []


def test_a_wrong_guess_can_be_overridden():
    table = read_export(EXPORTS / "qualtrics.csv", layout="plain")
    assert table.layout == "plain" and table.header_rows == 1
    assert "ResponseId" in table.frame.columns
    assert table.rows_read == N_PEOPLE + 2  # question text and ImportId rows become data


def test_detect_layout_from_header_rows():
    assert detect_layout([["ID", "Start time", "Completion time", "Email", "Name", "Q"]]) == ("msforms", 1)
    assert detect_layout([["Timestamp", "Q"]]) == ("googleforms", 1)
    assert detect_layout([["Participant ID", "PCN"], ["P1", "X"]]) == ("plain", 1)
    assert detect_layout([]) == ("plain", 1)


def test_small_helpers():
    assert sniff_delimiter('"a,b";c;d') == ";"
    assert sniff_delimiter("a\tb,c\td") == "\t"
    assert sniff_delimiter("single") == ","
    assert [column_letter(i) for i in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
    assert excel_text(4.0) == "4" and excel_text(0.5) == "0.5" and excel_text(True) == "TRUE"
    assert excel_text("  ") is None


# --------------------------------------------------------------------------- bad input


def write(tmp_path, name, data: bytes | str, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def test_values_are_never_coerced(tmp_path):
    path = write(tmp_path, "t.csv", "id,score,date\n007,4.0,01/02/2021\n  ,  3 ,\n")
    table = read_export(path)
    assert table.frame.iloc[0].tolist() == ["007", "4.0", "01/02/2021"]
    assert table.frame.iloc[1].tolist() == [None, "  3 ", None]


def test_empty_file_is_fatal(tmp_path):
    table = read_export(write(tmp_path, "empty.csv", b""))
    problem = only(table, "empty")
    assert (problem.file, problem.row, problem.scope, problem.fatal) == ("empty.csv", 0, "file", True)
    assert table.frame.empty and table.rows_read == 0


def test_header_only_and_blank_only_files_are_fatal(tmp_path):
    table = read_export(write(tmp_path, "head.csv", "id,score\n"))
    assert only(table, "no data rows").fatal
    blank = read_export(write(tmp_path, "blank.csv", "\n\n\n"))
    assert only(blank, "empty").scope == "file"


def test_xlsx_that_is_really_csv(tmp_path):
    table = read_export(write(tmp_path, "export.xlsx", "id,score\n1,4\n"))
    problem = only(table, "declared xlsx but the file is CSV text")
    assert problem.fatal and problem.scope == "file"
    assert table.format == "csv" and table.frame["score"].tolist() == ["4"]


def test_csv_that_is_really_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["id", "score"])
    wb.active.append([1, 4])
    path = tmp_path / "export.csv"
    wb.save(path)
    table = read_export(path)
    assert only(table, "declared csv but the file is an XLSX workbook").fatal
    explicit = read_export(tmp_path / "export.csv", format="csv")
    assert only(explicit, "declared csv").fatal


def test_zip_binary_and_legacy_xls_are_not_tables(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("export.csv", "id\n1\n")
    zipped = read_export(write(tmp_path, "z.csv", buffer.getvalue()))
    assert "zip archive" in only(zipped, "zip").reason
    garbage = read_export(write(tmp_path, "g.csv", bytes(range(256)) * 4))
    assert only(garbage, "binary").scope == "file"
    ole = read_export(write(tmp_path, "old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500))
    assert "legacy .xls" in ole.problems[0].reason


def test_corrupt_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("xl/workbook.xml", "<not really/>")
    table = read_export(write(tmp_path, "broken.xlsx", buffer.getvalue()))
    assert "cannot open the XLSX workbook" in only(table, "XLSX").reason


def test_mixed_encodings_are_read_line_by_line(tmp_path):
    data = "id,text\n1,naïve\n".encode() + "2,café\n".encode("cp1252") + "3,plain\n".encode()
    table = read_export(write(tmp_path, "mixed.csv", data))
    assert table.encoding == "mixed (utf-8, cp1252)"
    assert table.frame["text"].tolist() == ["naïve", "café", "plain"]
    problem = only(table, "not UTF-8")
    assert (problem.row, problem.column, problem.fatal) == (3, "text", False)


def test_undecodable_bytes(tmp_path):
    table = read_export(write(tmp_path, "bad.csv", b"id,text\n1,ok\n2,bad\x81byte\n"))
    problem = only(table, "neither UTF-8 nor cp1252")
    assert (problem.row, problem.column, problem.fatal) == (3, "text", True)


def test_utf16_export(tmp_path):
    table = read_export(write(tmp_path, "q.tsv", "id\ttext\n1\tZoë\n".encode("utf-16")))
    assert table.encoding == "utf-16" and table.frame["text"].tolist() == ["Zoë"]


def test_duplicate_headers_are_kept_apart_and_fatal(tmp_path):
    table = read_export(write(tmp_path, "dup.csv", "id,PCN,score,PCN\n1,A,4,B\n"))
    assert list(table.frame.columns) == ["id", "PCN", "score", "PCN (2)"]
    problem = only(table, "duplicate header")
    assert (problem.row, problem.column, problem.scope, problem.fatal) == (1, "PCN (2)", "column", True)
    assert table.frame["PCN (2)"].tolist() == ["B"]


def test_header_row_repeated_mid_file(tmp_path):
    table = read_export(write(tmp_path, "rep.csv", "id,score\n1,4\nid,score\n2,5\n"))
    problem = only(table, "header row is repeated")
    assert (problem.row, problem.column, problem.scope) == (3, "", "row")
    assert table.rows == [2, 4] and table.rows_read == 3 and table.rows_set_aside == 1


def test_rows_with_too_many_or_too_few_fields(tmp_path):
    table = read_export(write(tmp_path, "fields.csv", "id,score,text\n1,4,a\n2,5,b,extra\n3,4\n4,3,d\n"))
    assert table.rows == [2, 5]
    long, short = [p for p in table.problems if p.scope == "row"]
    assert (long.row, short.row) == (3, 4)
    assert "4 fields but the header has 3" in long.reason and long.value == "2,5,b,extra"
    assert "2 fields" in short.reason and "truncated" not in short.reason


def test_truncated_file(tmp_path):
    table = read_export(write(tmp_path, "cut.csv", 'id,score,text\n1,4,"a long\nanswer"\n2,5,"cut off'))
    problem = only(table, "truncated")
    assert problem.row == 3 and problem.scope == "row" and problem.fatal
    assert "line 4" in problem.reason
    assert table.rows == [2]
    stray = read_export(write(tmp_path, "stray.csv", 'id,text\n1,"oops\n2,b\n3,c\n'))
    problem = only(stray, "never closed")
    assert (problem.row, stray.rows) == (2, [])


def test_trailing_separators_are_not_problems(tmp_path):
    table = read_export(write(tmp_path, "trail.csv", "id,score,\n1,4,\n2,5\n"))
    assert table.problems == [] and list(table.frame.columns) == ["id", "score"]


def test_blank_rows_are_dropped_and_recorded(tmp_path):
    table = read_export(write(tmp_path, "blank.csv", "id,score\n1,4\n\n,\n2,5\n"))
    blanks = [p for p in table.problems if "blank row" in p.reason]
    assert [p.row for p in blanks] == [3, 4]
    assert all(p.scope == "row" and not p.fatal for p in blanks)
    assert table.rows == [2, 5] and table.rows_read == 4


def test_blank_header_over_values(tmp_path):
    table = read_export(write(tmp_path, "nohead.csv", "id,,score\n1,x,4\n"))
    problem = only(table, "no header")
    assert problem.column == "(blank header, column B)" and not problem.fatal
    assert table.frame["(blank header, column B)"].tolist() == ["x"]


def test_xlsx_structure(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["id", "score", "id"], [1, 4.0, "a"], [], ["id", "score", "id"], [2, 0.25, "b"]):
        ws.append(row)
    wb.create_sheet("Notes").append(["a note"])
    path = tmp_path / "wb.xlsx"
    wb.save(path)
    table = read_export(path)
    assert table.rows == [2, 5]
    assert table.frame["score"].tolist() == ["4", "0.25"]
    assert [p.row for p in table.problems if p.scope == "row"] == [3, 4]
    assert only(table, "duplicate header").column == "id (2)"
    assert "Notes" in only(table, "more sheets").reason


def test_problem_file_is_named_relative_to_the_cohort_folder(tmp_path):
    cohort = tmp_path / "demo"
    (cohort / "exports").mkdir(parents=True)
    (cohort / "cohort.yml").write_text("cohort: demo\n")
    path = write(cohort / "exports", "w1.csv", "id\n")
    assert read_export(path).problems[0].file == "exports/w1.csv"
    assert read_export(path, name="given.csv").problems[0].file == "given.csv"


def test_usage_errors_raise():
    with pytest.raises(ValueError):
        read_export(EXPORTS / "plain_end.csv", format="pdf")
    with pytest.raises(ValueError):
        read_export(EXPORTS / "plain_end.csv", layout="typeform")


def test_missing_file_is_a_problem_not_a_traceback(tmp_path):
    table = read_export(tmp_path / "nope.csv")
    assert "cannot read the file" in only(table, "cannot read").reason
