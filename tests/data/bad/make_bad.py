"""Write the bad-input corpus: one small cohort folder per kind of broken export.

Run from the repository root: ``python tests/data/bad/make_bad.py``. Deterministic:
the same files every time. Each folder ``tests/data/bad/<kind>/`` is a cohort (its id
is the folder name) with a cohort.yml and one export ``baseline.csv`` (or what the
kind needs). ``expected.json`` lists, per kind, the problem ``pcnstudy validate``
must report (file, row, column, a word of the reason) and the number of data rows
the export holds; ``README.md`` is written from the same list.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

from pcnstudy.simulate.xlsx import stable_xlsx

HERE = Path(__file__).resolve().parent

ID, PCN, PROF, ROLE, DATE = "Participant ID", "PCN", "Profession", "Role", "Date completed"
Q1 = "Q1. I am confident leading a team made up of several professions"
Q2 = "Q2. I know how to handle conflict between member practices"
Q3 = "Q3. I understand how the parts of the local health and care system affect one another"
FB = "I would recommend the programme to colleagues"
TX = "What did you value most about the programme?"
WAVE = "Wave"
HEADERS = [ID, PCN, PROF, ROLE, DATE, Q1, Q2, Q3, FB, TX]
ROWS = [
    ["P001", "North PCN", "GP", "Clinical director", "14/09/2020", "Agree", "3", "4", "Yes", "Meeting peers from other practices"],
    ["P002", "South PCN", "Nurse", "Lead nurse", "15/09/2020", "4", "Strongly agree", "2", "y", "Protected time to think"],
    ["P003", "East PCN", "Pharmacist", "", "2020-09-16", "5", "4", "3", "No", "The action learning set"],
    ["P004", "West PCN", "Paramedic", "", "17-Sep-2020", "2", "neither agree nor disagree", "4", "TRUE", "Hearing how other networks work"],
]


def cohort_yml(cohort: str, path: str = "baseline.csv", fmt: str = "csv", wave: str = "baseline",
               items: dict | None = None, extra_columns: str = "") -> str:
    items = items or {Q1: "lead_1", Q2: "lead_2", Q3: "sys_1"}
    lines = [
        f"cohort: {cohort}",
        "programme: Bad-input fixture",
        "start: 2020-09-01",
        "end: 2021-06-30",
        "waves: [baseline, end]",
        "demo: true",
        "files:",
        f"  - path: {path}",
        f"    wave: {wave}",
        f"    format: {fmt}",
        "    layout: plain",
        "columns:",
        f"  respondent_id: {ID}",
        f"  pcn: {PCN}",
        f"  profession: {PROF}",
        f"  role: {ROLE}",
        f"  date: {DATE}",
    ]
    if extra_columns:
        lines.append(extra_columns)
    lines.append("  items:")
    lines += [f'    "{header}": {item}' for header, item in items.items()]
    lines += ["  feedback:", f'    "{FB}": would_recommend', "  text:", f'    "{TX}": valued_most', ""]
    return "\n".join(lines)


def csv_text(headers: list[str], rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        if any(ch in value for ch in ',"\n\r') or value != value.strip():
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(",".join(cell(v) for v in row) + "\n" for row in [headers, *rows])


def with_cell(row: int, header: str, value: str, headers: list[str] = HEADERS) -> list[list[str]]:
    """The base rows with one cell changed (``row`` as a spreadsheet counts: 2 = first data row)."""
    rows = [list(r) for r in ROWS]
    rows[row - 2][headers.index(header)] = value
    return rows


KINDS: list[dict] = []


def kind(name: str, description: str, row: int, column: str, words: str, rows_read: int = 4,
         file: str = "baseline.csv"):
    def register(build):
        KINDS.append({"kind": name, "description": description, "file": f"{name}/{file}", "row": row,
                      "column": column, "words": words, "rows_read": rows_read, "build": build})
        return build

    return register


def write(folder: Path, name: str, data: str | bytes) -> None:
    path = folder / name
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)


# --- file-level -------------------------------------------------------------------
@kind("empty_file", "a 0-byte export", 0, "", "empty", rows_read=0)
def _(f):
    write(f, "baseline.csv", b"")


@kind("header_only", "a header row and no data rows", 0, "", "no data rows", rows_read=0)
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, []))


@kind("declared_xlsx_is_csv", "cohort.yml declares xlsx; the file is CSV text", 0, "", "declared xlsx",
      file="baseline.xlsx")
def _(f):
    write(f, "baseline.xlsx", csv_text(HEADERS, ROWS))


@kind("binary_garbage", "binary bytes where a CSV was declared", 0, "", "binary", rows_read=0)
def _(f):
    write(f, "baseline.csv", bytes(range(256)) * 4)


@kind("zip_not_workbook", "a zip archive that is not a workbook", 0, "", "zip", rows_read=0)
def _(f):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("notes.txt", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(info, "not a survey")
    write(f, "baseline.csv", buffer.getvalue())


@kind("file_missing", "cohort.yml lists an export that is not there", 0, "", "does not exist", rows_read=0)
def _(f):
    pass


# --- structure --------------------------------------------------------------------
@kind("undecodable_bytes", "bytes that are neither UTF-8 nor cp1252 in a text cell", 3, TX, "neither UTF-8")
def _(f):
    text = csv_text(HEADERS, ROWS).encode("utf-8")
    write(f, "baseline.csv", text.replace(b"Protected time", b"Protected \x81\x8d time"))


@kind("duplicate_header", "two columns both headed PCN", 1, "PCN (2)", "duplicate header")
def _(f):
    headers = HEADERS + [PCN]
    write(f, "baseline.csv", csv_text(headers, [r + ["Other PCN"] for r in ROWS]))


@kind("header_repeated_mid_file", "the header row again at row 4 (two exports pasted together)", 4, "",
      "header row is repeated", rows_read=5)
def _(f):
    rows = ROWS[:2] + [HEADERS] + ROWS[2:]
    write(f, "baseline.csv", csv_text(HEADERS, rows))


@kind("truncated_file", "the file ends mid-row (no closing fields, no newline)", 5, "", "fields")
def _(f):
    text = csv_text(HEADERS, ROWS)
    write(f, "baseline.csv", text[: text.rindex("West PCN") + len("West PCN")])


@kind("extra_fields", "a row with more fields than the header", 3, "", "fields")
def _(f):
    rows = [list(r) for r in ROWS]
    rows[1] = rows[1] + ["stray", "values"]
    write(f, "baseline.csv", csv_text(HEADERS, rows))


@kind("all_empty_column", "a mapped item column empty in every row", 1, Q3, "empty in every row")
def _(f):
    rows = [list(r) for r in ROWS]
    for r in rows:
        r[HEADERS.index(Q3)] = ""
    write(f, "baseline.csv", csv_text(HEADERS, rows))


@kind("missing_mapped_column", "an item column in cohort.yml but not in the export", 1, Q2, "missing from the export")
def _(f):
    headers = [h for h in HEADERS if h != Q2]
    rows = [[v for h, v in zip(HEADERS, r) if h != Q2] for r in ROWS]
    write(f, "baseline.csv", csv_text(headers, rows))


@kind("missing_id_column", "the respondent id column is missing", 1, ID, "missing from the export")
def _(f):
    headers = [h for h in HEADERS if h != ID]
    rows = [[v for h, v in zip(HEADERS, r) if h != ID] for r in ROWS]
    write(f, "baseline.csv", csv_text(headers, rows))


# --- ids and waves ----------------------------------------------------------------
@kind("empty_respondent_id", "a row with a blank respondent id", 3, ID, "empty respondent id")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, ID, "  ")))


@kind("duplicate_respondent", "the same respondent twice in one wave", 4, ID, "appears twice")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, ID, "P002")))


@kind("duplicate_respondent_spelling", "one respondent twice, spelt ' p002' and 'P002'", 4, ID, "appears twice")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, ID, " p002")))


@kind("undeclared_wave_value", "a Wave column holding a wave the cohort does not declare", 3, WAVE, "not declared")
def _(f):
    headers = HEADERS + [WAVE]
    rows = [r + ["baseline"] for r in ROWS]
    rows[1][-1] = "follow-up"
    write(f, "baseline.csv", csv_text(headers, rows))


@kind("undeclared_file_wave", "cohort.yml gives the file a wave not in `waves`", 9, "files.wave", "does not declare",
      file="cohort.yml")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, ROWS))


@kind("unknown_item_id", "cohort.yml maps a column to an item id the instrument lacks", 21, "columns.items",
      "does not define", file="cohort.yml")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, ROWS))


# --- ratings ----------------------------------------------------------------------
@kind("likert_out_of_range", "a rating of 7 on a 1-5 scale", 3, Q1, "outside the scale")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, Q1, "7")))


@kind("likert_zero", "a rating of 0 on a 1-5 scale", 5, Q2, "outside the scale")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(5, Q2, "0")))


@kind("likert_not_whole", "a rating of 3.5", 2, Q3, "not a whole point")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(2, Q3, "3.5")))


@kind("likert_unknown_label", "a label not on the scale ('Somewhat agree')", 3, Q2, "not on the instrument's scale")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, Q2, "Somewhat agree")))


@kind("text_in_numeric", "words in a rating column ('four')", 4, Q1, "text where a rating")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, Q1, "four")))


@kind("spreadsheet_error", "a spreadsheet error value (#DIV/0!) in a rating column", 2, Q2, "spreadsheet error")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(2, Q2, "#DIV/0!")))


# --- yes/no and dates -------------------------------------------------------------
@kind("yes_no_unknown", "'maybe' in a yes/no column", 3, FB, "not a yes/no")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, FB, "maybe")))


@kind("impossible_date", "31/02/2021", 3, DATE, "not a valid date")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, DATE, "31/02/2021")))


@kind("us_date", "a month-first date 12/31/2020", 4, DATE, "not a valid date")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, DATE, "12/31/2020")))


@kind("excel_serial_out_of_range", "an Excel serial date (12 = 1900-01-12) far from the cohort's dates", 2, DATE,
      "far outside")
def _(f):
    rows = with_cell(2, DATE, "12")
    rows[1][HEADERS.index(DATE)] = "44089"  # a sound serial (2020-09-15) beside it
    write(f, "baseline.csv", csv_text(HEADERS, rows))


@kind("date_as_words", "'last Tuesday' in a date column", 5, DATE, "not a date")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(5, DATE, "last Tuesday")))


# --- free text --------------------------------------------------------------------
@kind("formula_hyperlink", "=HYPERLINK(...) in free text", 3, TX, "formula")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, TX, '=HYPERLINK("http://example.invalid","click")')))


@kind("formula_plus_cmd", "+cmd|' /C calc'!A0 in free text", 2, TX, "formula")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(2, TX, "+cmd|' /C calc'!A0")))


@kind("formula_minus", "-2+3 in free text", 4, TX, "formula")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, TX, "-2+3")))


@kind("formula_at", "@SUM(A1:A2) in free text", 5, TX, "formula")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(5, TX, "@SUM(A1:A2)")))


@kind("formula_leading_tab", "free text starting with a tab", 3, TX, "formula")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, TX, "\t=1+1 leading tab")))


@kind("formula_in_pcn", "a formula in the PCN column", 2, PCN, "formula")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(2, PCN, "=1+1")))


@kind("html_script", "<script> in free text", 3, TX, "HTML or script")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, TX, "Great<script>alert('x')</script>")))


@kind("html_img_onerror", "an <img onerror=...> tag in free text", 4, TX, "HTML or script")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, TX, 'Useful <img src=x onerror="alert(1)"> sessions')))


@kind("long_answer", "a 100 kB free-text answer", 2, TX, "truncated")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(2, TX, "The sessions were useful. " * 4000)))


# --- hardening round: corruptions found by fuzzing the readers ----------------------
def xlsx_bytes(rows: list[list], merge: str | None = None) -> bytes:
    """A workbook whose bytes depend only on ``rows`` (fixed properties and zip times)."""
    return stable_xlsx(rows, dt.datetime(2021, 1, 1), creator="pcnstudy fixtures", merge=merge)


@kind("nul_byte_in_cell", "a NUL byte inside a free-text answer (a damaged file)", 3, TX, "NUL bytes")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, ROWS).replace("Protected time", "Protected\x00 time"))


@kind("spreadsheet_error_in_id", "#REF! where the respondent id should be", 3, ID, "spreadsheet error")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, ID, "#REF!")))


@kind("control_chars_in_id", "a respondent id holding a control character (P00\\x073)", 4, ID, "control characters")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, ID, "P00\x073")))


@kind("spreadsheet_error_in_text", "#NAME? as a free-text answer", 4, TX, "spreadsheet error")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(4, TX, "#NAME?")))


@kind("likert_huge_number", "a 400-digit number as a rating (overflows a float)", 3, Q1, "outside the scale")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(3, Q1, "1" + "0" * 400)))


@kind("answer_over_csv_field_limit", "a 150 kB answer, over the csv module's default 128 kB field limit", 2, TX,
      "truncated")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, with_cell(2, TX, "We met with partners. " * 7000)))


@kind("xlsx_formula_without_result", "an XLSX formula cell with no saved result (written by a program)", 3, Q1,
      "no saved result", file="baseline.xlsx")
def _(f):
    rows = [list(r) for r in ROWS]
    rows[1][HEADERS.index(Q1)] = "=2+2"
    write(f, "baseline.xlsx", xlsx_bytes([HEADERS, *rows]))


@kind("xlsx_merged_header", "two XLSX header cells merged (F1:G1), so column G has no header", 1, Q1,
      "merged header cells", file="baseline.xlsx")
def _(f):
    write(f, "baseline.xlsx", xlsx_bytes([HEADERS, *ROWS], merge="F1:G1"))


@kind("yml_typo_key", "cohort.yml says retrospective_wave (a typo) instead of retrospective_waves", 6,
      "retrospective_wave", "unknown key", file="cohort.yml")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, ROWS))


@kind("yml_duplicate_key", "cohort.yml gives demo twice (YAML keeps the last silently)", 7, "demo", "twice",
      file="cohort.yml")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, ROWS))


@kind("yml_path_outside_folder", "a file path in cohort.yml leading out of the cohort folder (../)", 8,
      "files.path", "outside the cohort folder", rows_read=0, file="cohort.yml")
def _(f):
    pass


@kind("yml_file_listed_twice", "cohort.yml lists the same export twice", 12, "files.path", "listed twice",
      file="cohort.yml")
def _(f):
    write(f, "baseline.csv", csv_text(HEADERS, ROWS))


@kind("html_page_as_csv", "a web sign-in page saved as baseline.csv", 0, "", "HTML web page", rows_read=0)
def _(f):
    write(f, "baseline.csv", "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
                             "<body><form action='/login'><input name='user'></form></body></html>\n")


def build_all() -> list[dict]:
    for spec in KINDS:
        folder = HERE / spec["kind"]
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        name = spec["kind"]
        if name == "declared_xlsx_is_csv":
            text = cohort_yml(name, path="baseline.xlsx", fmt="xlsx")
        elif name == "undeclared_file_wave":
            text = cohort_yml(name, wave="midpoint")
        elif name == "unknown_item_id":
            text = cohort_yml(name, items={Q1: "lead_1", Q2: "lead_2", Q3: "lead_9"})
        elif name == "undeclared_wave_value":
            text = cohort_yml(name, extra_columns=f"  wave: {WAVE}")
        elif name.startswith("xlsx_"):
            text = cohort_yml(name, path="baseline.xlsx", fmt="xlsx")
        elif name == "yml_typo_key":
            text = cohort_yml(name).replace("demo: true", "retrospective_wave: [then]\ndemo: true")
        elif name == "yml_duplicate_key":
            text = cohort_yml(name).replace("demo: true", "demo: true\ndemo: false")
        elif name == "yml_path_outside_folder":
            text = cohort_yml(name, path="../likert_zero/baseline.csv")
        elif name == "yml_file_listed_twice":
            text = cohort_yml(name).replace("columns:", "  - path: baseline.csv\n    wave: baseline\ncolumns:")
        else:
            text = cohort_yml(name)
        write(folder, "cohort.yml", text)
        spec["build"](folder)
    manifest = [{k: v for k, v in spec.items() if k != "build"} for spec in KINDS]
    (HERE / "expected.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Bad-input corpus",
        "",
        "Written by `python tests/data/bad/make_bad.py` (deterministic; do not edit by hand).",
        "Each folder is a small cohort (its id is the folder name) with one broken export.",
        "`pcnstudy validate tests/data/bad/<kind>` must exit 1 and print the problem at",
        "the `file:row:column` below (row as a spreadsheet counts: the header is row 1;",
        "row 0 means the file as a whole). tests/test_ingest_bad.py checks each, and that",
        "every row read is kept or quarantined.",
        "",
        "| kind | what is broken | expected `file:row:column` |",
        "|---|---|---|",
    ]
    for spec in manifest:
        where = f"{spec['file']}:{spec['row']}:{spec['column']}".replace("|", "\\|")
        lines.append(f"| {spec['kind']} | {spec['description'].replace('|', chr(92) + '|')} | `{where}` |")
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


if __name__ == "__main__":
    print(f"wrote {len(build_all())} bad-input fixtures")
