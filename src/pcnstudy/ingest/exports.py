"""Read survey tools' exports (CSV or XLSX) into a table of strings, with problems.

``read_export(path, format="auto", layout="auto")`` takes one export file as a survey
tool wrote it and gives a ``RawTable``:

- ``frame``: a pandas DataFrame of dtype object, one column per export header
  flattened to one string (whitespace runs collapsed), values ``str`` or ``None``
  for an empty cell. Nothing is coerced: "04" stays "04", "4.0" in a CSV stays "4.0".
  XLSX cells are written as text: dates as ISO ``YYYY-MM-DD`` (with `` HH:MM:SS``
  when they carry a time), whole numbers without ``.0``, booleans as TRUE/FALSE.
- ``rows``: the spreadsheet row number of each frame row (the first header row is
  row 1 when the file starts with it).
- ``layout``: ``plain``, ``qualtrics``, ``surveymonkey``, ``msforms`` or
  ``googleforms``, detected from the header rows unless given.
- ``problems``: file-level and structural ``pcnstudy.core.problems.Problem`` records:
  empty file, not the declared format, binary content, undecodable bytes, mixed
  encodings, duplicate or blank headers, a header row repeated mid-file, rows with
  more or fewer fields than the header (a truncated file), fully blank rows.
- ``rows_read``: data rows seen, including those set aside (a row problem of scope
  'row' is recorded for each row set aside, so rows_read = len(frame) + those).

The layouts and what the reader does with their header rows:

- ``plain``: one header row.
- ``qualtrics``: three header rows (internal ids, question text, ``{"ImportId":..}``
  JSON) or the legacy two (ids, question text); the question text is the header
  (the id where the text is blank) and ``extra["column_ids"]`` maps header -> id.
- ``surveymonkey``: two header rows; row 1 the question (blank over continuation
  columns), row 2 "Response", "Open-Ended Response" (in the account's language) or an
  option / matrix-row label, told from a respondent's row by its structure
  (``export_layouts.second_header_row``). Headers become "Question" or
  "Question - Label"; each option keeps its column.
- ``msforms``: one header row starting ID, Start time, Completion time;
  multi-select answers sit in one cell joined by ';' with a trailing ';'.
- ``googleforms``: one header row starting Timestamp; checkbox answers joined
  with ', '; grid questions as "Question [Row]" columns.

How an export's bytes become records (format sniffing, decoding, CSV and XLSX
parsing) is pcnstudy.ingest.export_records; layout detection, header rows and
``split_choices`` (a multi-select cell as its layout joins it) are
pcnstudy.ingest.export_layouts. This module assembles the table and its problems.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pcnstudy.core.problems import Problem
from pcnstudy.ingest.export_layouts import LAYOUTS, build_headers, detect_layout, layout_header_rows, norm_cell
from pcnstudy.ingest.export_records import (
    FileError,
    Record,
    csv_records,
    declared_format,
    looks_like_html,
    sniff_format,
    xlsx_records,
)

FORMATS = ("auto", "csv", "xlsx")


@dataclass
class RawTable:
    """An export read as text: the table, where each row came from, and what was wrong."""

    path: Path
    frame: pd.DataFrame
    rows: list[int]
    layout: str
    format: str
    encoding: str | None
    header_rows: int
    rows_read: int
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fatal(self) -> bool:
        """True when any problem stops the file from being ingested cleanly."""
        return any(p.fatal for p in self.problems)

    @property
    def rows_set_aside(self) -> int:
        """Number of data rows dropped by the reader (each has a 'row' problem)."""
        return self.rows_read - len(self.frame)


# --------------------------------------------------------------------------- helpers


def display_name(path: Path) -> str:
    """Return the path relative to its cohort folder (the nearest one holding cohort.yml), else its name."""
    path = Path(path)
    for folder in path.resolve().parents:
        if (folder / "cohort.yml").is_file():
            try:
                return path.resolve().relative_to(folder).as_posix()
            except ValueError:  # pragma: no cover - resolve() keeps them related
                break
    return path.name


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --------------------------------------------------------------------------- the table


def _assemble(
    records: list[Record],
    info: dict[str, Any],
    name: str,
    fmt: str,
    layout: str,
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[int], str, int, int, dict[str, Any]]:
    while records and all(c is None for c in records[0].cells):
        records = records[1:]
    if not records:
        raise FileError("the file is empty: no header row and no data")
    head = [r.cells for r in records[:50]]  # the header rows, and data rows to compare them with
    if layout == "auto":
        layout, n_head = detect_layout(head)
    else:
        n_head = layout_header_rows(layout, head)
    header_recs = records[:n_head]
    data = records[n_head:]
    if fmt == "xlsx":
        width = max(len(r.cells) for r in records)
    else:
        width = len(header_recs[0].raw)
        for rec in header_recs[1:]:
            width = max(width, len(rec.raw))
    headers, extra = build_headers(layout, [r.cells for r in header_recs], width)
    header_row = header_recs[-1].row

    # Columns: blank headers, duplicates.
    keep: list[int] = []
    names: list[str] = []
    counts: dict[str, int] = {}
    for j, h in enumerate(headers):
        has_data = any(j < len(r.cells) and r.cells[j] is not None for r in data)
        if not h:
            if not has_data:
                continue  # a trailing separator or empty spreadsheet column: nothing to keep
            h = f"(blank header, column {column_letter(j)})"
            problems.append(Problem(name, header_recs[0].row, h, None,
                                    f"column {column_letter(j)} has values but no header; it cannot be mapped",
                                    scope="column", fatal=False))
        counts[h] = counts.get(h, 0) + 1
        if counts[h] > 1:
            new = f"{h} ({counts[h]})"
            problems.append(Problem(name, header_row, new, h,
                                    f"duplicate header {h!r} (column {column_letter(j)}); kept as {new!r} "
                                    "but the mapping cannot tell the columns apart",
                                    scope="column", fatal=True))
            h = new
        keep.append(j)
        names.append(h)
    if not names:
        raise FileError("the file has no named columns")
    named_width = max((j for j, h in enumerate(headers) if h), default=-1) + 1
    header_sets = [[norm_cell(c) for c in r.cells] for r in header_recs]

    def strip_trailing(values: list[str]) -> list[str]:
        values = list(values)
        while values and values[-1] == "":
            values.pop()
        return values

    header_sets = [strip_trailing(h) for h in header_sets]

    for row, j, coord in sorted(info.get("merged", [])):
        column = headers[j] if j < len(headers) and headers[j] else f"(column {column_letter(j)})"
        where = "header" if row <= header_row else "data"
        problems.append(Problem(name, row, column, coord,
                                f"merged {where} cells {coord}: only the first cell holds the value, the others read "
                                "as empty (unmerge them and give each column its own header or value)",
                                scope="column" if where == "header" else "cell", fatal=True))
    for row, j, formula in info.get("uncached_formulas", []):
        column = headers[j] if j < len(headers) and headers[j] else f"(column {column_letter(j)})"
        if row <= header_row:
            column = f"(header, column {column_letter(j)})"
        problems.append(Problem(name, row, column, formula,
                                "a formula with no saved result (open and save the workbook in Excel, or "
                                "paste values); the cell is read as empty", scope="cell", fatal=True))
    frame_rows: list[list[str | None]] = []
    row_numbers: list[int] = []
    rows_read = 0
    fallback_rows = info.get("fallback_rows", {})
    broken_rows = info.get("broken_rows", {})
    undecodable = (f"bytes that are not valid {info.get('encoding')} text (shown as \ufffd)" if info.get("wide")
                   else "bytes that are neither UTF-8 nor cp1252 (shown as \ufffd)")
    last = data[-1].row if data else None
    for rec in data:
        rows_read += 1
        cells = rec.cells
        if all(c is None for c in cells):
            problems.append(Problem(name, rec.row, "", None, "blank row (dropped)", scope="row", fatal=False))
            continue
        normed = strip_trailing([norm_cell(c) for c in cells])
        if any(normed == h for h in header_sets):
            problems.append(Problem(name, rec.row, "", info.get("delimiter", ",").join(rec.raw),
                                    "the header row is repeated here (row dropped; were two exports joined?)",
                                    scope="row", fatal=True))
            continue
        if info.get("open_quote") and info["open_quote"][0] == rec.row:
            first_line, last_line = info["open_quote"][1]
            problems.append(Problem(name, rec.row, "", info.get("delimiter", ",").join(rec.raw),
                                    f"a quoted value opened on line {first_line} is never closed (lines "
                                    f"{first_line}-{last_line} read as one row): truncated export or a stray quote "
                                    "(row set aside)", scope="row", fatal=True))
            continue
        if fmt != "xlsx":
            n = len(rec.raw)
            extra_values = [c for c in cells[width:] if c is not None]
            if extra_values or n < named_width:
                truncated = rec.row == last and not info.get("ends_with_newline", True)
                why = (f"row has {n} fields but the header has {named_width}"
                       + ("; the file ends mid-row (truncated export?)" if truncated else "")
                       + " (row set aside: its values cannot be placed in columns)")
                problems.append(Problem(name, rec.row, "", info.get("delimiter", ",").join(rec.raw), why,
                                        scope="row", fatal=True))
                continue
        padded = cells + [None] * (width - len(cells))
        values = [padded[j] for j in keep]
        if fallback_rows.get(rec.row) and info.get("encoding", "").startswith("mixed"):
            for col, v in zip(names, values):
                if v is not None and not v.isascii():
                    problems.append(Problem(name, rec.row, col, v,
                                            "this row is not UTF-8 like the rest of the file; read as cp1252",
                                            scope="cell", fatal=False))
        for j, (col, v) in enumerate(zip(names, values)):
            if v is not None and "\x00" in v:
                problems.append(Problem(name, rec.row, col, v.replace("\x00", "\ufffd"),
                                        "the cell holds NUL bytes (a damaged file?); value set aside",
                                        scope="cell", fatal=True))
                values[j] = None
        if broken_rows.get(rec.row):
            for col, v in zip(names, values):
                if v is not None and "\ufffd" in v:
                    problems.append(Problem(name, rec.row, col, v, undecodable, scope="cell", fatal=True))
        frame_rows.append(values)
        row_numbers.append(rec.row)
    if data and fmt != "xlsx" and not info.get("ends_with_newline", True) and data[-1].row in row_numbers:
        problems.append(Problem(name, data[-1].row, "", None,
                                "warning: the file does not end with a line break; if the export was cut short, "
                                "this last row is incomplete (check it against the survey tool)",
                                scope="row", fatal=False))
    if not data:
        problems.append(Problem(name, 0, "", None, "the file has a header but no data rows", scope="file", fatal=True))
    elif not frame_rows:
        problems.append(Problem(name, 0, "", None, "no data rows left after setting aside bad rows",
                                scope="file", fatal=True))
    frame = pd.DataFrame(frame_rows, columns=pd.Index(names, dtype=object), dtype=object)
    if len(frame_rows) == 0:
        frame = pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    extra["header_cells"] = [list(r.cells) for r in header_recs]
    return frame, row_numbers, layout, n_head, rows_read, extra


def _empty_table(path: Path, fmt: str, layout: str, problems: list[Problem], encoding: str | None = None) -> RawTable:
    return RawTable(path=path, frame=pd.DataFrame({}, dtype=object), rows=[], layout=layout if layout != "auto" else "plain",
                    format=fmt, encoding=encoding, header_rows=0, rows_read=0, problems=problems)


def read_export(path: str | Path, format: str = "auto", layout: str = "auto", name: str | None = None) -> RawTable:
    """Read one survey export as text; never raises for bad data (see ``RawTable.problems``).

    ``format`` is 'auto' (from the content, checked against the file's extension),
    'csv' or 'xlsx' (checked against the content); ``layout`` is 'auto' or one of
    LAYOUTS. ``name`` is how problems name the file (default: the path relative to
    its cohort folder, else the file name). A file that is not what it is declared
    to be gets a fatal problem and, when its real content is a table, is read anyway
    so that its other problems show too.
    """
    if format == "tsv":
        format = "csv"
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    path = Path(path)
    name = name or display_name(path)
    problems: list[Problem] = []
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, 0, "", None, f"cannot read the file: {exc.strerror or exc}", scope="file"))
        return _empty_table(path, format, layout, problems)
    declared = declared_format(path, format)
    actual = sniff_format(data)
    if actual == "empty":
        problems.append(Problem(name, 0, "", None, "the file is empty (0 bytes)", scope="file"))
        return _empty_table(path, declared or "csv", layout, problems)
    unreadable = {
        "zip": "a zip archive, not an XLSX workbook or CSV",
        "ole": "a legacy .xls or password-protected workbook; save it as .xlsx or CSV",
        "binary": "binary data, not CSV text or an XLSX workbook",
    }
    if actual in unreadable:
        problems.append(Problem(name, 0, "", None, f"the file is {unreadable[actual]}", scope="file"))
        return _empty_table(path, declared or actual, layout, problems)
    if actual == "text" and looks_like_html(data):
        problems.append(Problem(name, 0, "", None, "the file is an HTML web page, not a survey export (a sign-in "
                                "or error page saved in its place? download the export again)", scope="file"))
        return _empty_table(path, declared or "csv", layout, problems)
    real = "xlsx" if actual == "xlsx" else "csv"
    if declared and declared != real:
        shown = {"csv": "CSV text", "xlsx": "an XLSX workbook"}
        problems.append(Problem(name, 0, "", declared,
                                f"declared {declared} but the file is {shown[real]}", scope="file"))
    try:
        if real == "xlsx":
            records, info = xlsx_records(data)
        else:
            records, info = csv_records(data)
        frame, rows, found, n_head, rows_read, extra = _assemble(records, info, name, real, layout, problems)
    except FileError as exc:
        problems.append(Problem(name, 0, "", exc.value, exc.reason, scope="file"))
        return _empty_table(path, real, layout, problems)
    extra.update({k: v for k, v in info.items() if k in ("delimiter", "sheet", "other_sheets")})
    if info.get("other_sheets"):
        problems.append(Problem(name, 0, "", None,
                                f"the workbook has more sheets ({', '.join(info['other_sheets'])}); "
                                f"only the first, {info['sheet']!r}, was read", scope="file", fatal=False))
    return RawTable(path=path, frame=frame, rows=rows, layout=found, format=real, encoding=info.get("encoding"),
                    header_rows=n_head, rows_read=rows_read, problems=problems, extra=extra)

