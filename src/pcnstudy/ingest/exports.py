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
  columns), row 2 "Response", "Open-Ended Response" or an option / matrix-row label.
  Headers become "Question" or "Question - Label"; each option keeps its column.
- ``msforms``: one header row starting ID, Start time, Completion time;
  multi-select answers sit in one cell joined by ';' with a trailing ';'.
- ``googleforms``: one header row starting Timestamp; checkbox answers joined
  with ', '; grid questions as "Question [Row]" columns.

``split_choices(value, layout, options)`` splits a multi-select cell of a layout.
"""
from __future__ import annotations

from functools import lru_cache

import csv
import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from pcnstudy.core.problems import Problem

FORMATS = ("auto", "csv", "xlsx")
LAYOUTS = ("auto", "plain", "qualtrics", "surveymonkey", "msforms", "googleforms")
DELIMITERS = (",", ";", "\t", "|")

QUALTRICS_METADATA = {
    "startdate", "enddate", "status", "ipaddress", "progress", "duration (in seconds)",
    "finished", "recordeddate", "responseid", "recipientlastname", "recipientfirstname",
    "recipientemail", "externalreference", "externaldatareference", "locationlatitude",
    "locationlongitude", "distributionchannel", "userlanguage", "responseset", "name",
    "emailaddress",
}
SURVEYMONKEY_METADATA = {
    "respondent id", "collector id", "start date", "end date", "ip address",
    "email address", "first name", "last name", "custom data 1", "custom data",
}
SURVEYMONKEY_SINGLE = {"response", "open-ended response", "open ended response"}
MSFORMS_FIRST = ("id", "start time", "completion time")
GOOGLE_FIRST = ("timestamp",)


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


class _FileError(Exception):
    """A problem that ends reading of the file (carried up to read_export)."""

    def __init__(self, reason: str, value: Any = None):
        super().__init__(reason)
        self.reason = reason
        self.value = value


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


#: Invisible characters that copy-and-paste leaves in headers (BOM, zero-width, soft hyphen).
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")


def flatten_header(text: Any) -> str:
    """Return a header cell as one line: BOM and zero-width characters dropped, whitespace runs collapsed, ends stripped."""
    if text is None:
        return ""
    return re.sub(r"\s+", " ", _INVISIBLE.sub("", str(text))).strip()


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _empty(value: str | None) -> bool:
    return value is None or value.strip() == ""


def _cell(value: str | None) -> str | None:
    """Normalise a CSV field: empty or whitespace-only becomes None, text is kept as is."""
    if value is None or value.strip() == "":
        return None
    return value


def excel_text(value: Any) -> str | None:
    """Return an XLSX cell's value as the text a user sees (dates ISO, 4.0 -> '4')."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return _cell(str(value))


# --------------------------------------------------------------------------- format


def sniff_format(data: bytes) -> str:
    """Return what the bytes are: 'xlsx', 'zip', 'ole' (legacy .xls or encrypted), 'binary', 'text' or 'empty'."""
    if not data:
        return "empty"
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return "zip"
        return "xlsx" if "xl/workbook.xml" in names else "zip"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "text"
    head = data[:65536]
    if b"\x00" in head:
        if utf16_without_bom(head):
            return "text"
        if head.count(0) > 0.01 * len(head):
            return "binary"  # a few NUL bytes in text are damage reported per cell; many mean binary
    controls = sum(1 for b in head if b < 32 and b not in (0, 9, 10, 12, 13))
    if controls > 0.05 * len(head):
        return "binary"
    return "text"


def utf16_without_bom(data: bytes) -> str | None:
    """Return 'utf-16-le' or 'utf-16-be' when BOM-less bytes look like UTF-16 text, else None.

    Text that is mostly Latin script in UTF-16 has a NUL in every other byte: the odd
    bytes (little-endian) or the even bytes (big-endian).
    """
    head = data[:65536]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|\?xml[^>]*>\s*<(!doctype\s+)?html)[\s>]",
                         re.IGNORECASE | re.DOTALL)


def looks_like_html(data: bytes) -> bool:
    """True when text bytes are an HTML page (start with a doctype, <html>, <head> or <body>)."""
    head = data[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"\x00" in head and utf16_without_bom(head)):
        text = head[: len(head) // 2 * 2].decode("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff")
                                                 else utf16_without_bom(head), errors="replace")
    else:
        text = head.decode("utf-8", errors="replace")
    return bool(_HTML_START.match(text.lstrip("\ufeff")))


def _declared_format(path: Path, fmt: str) -> str | None:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".tsv", ".txt", ".tab"):
        return "csv"
    return None


# --------------------------------------------------------------------------- CSV text


def decode_lines(data: bytes) -> tuple[list[str], str, list[int], list[int]]:
    """Decode bytes line by line: UTF-8, else cp1252 for that line.

    Returns (lines with their endings, encoding name, 1-based physical line numbers
    that needed cp1252, line numbers with bytes undecodable even as cp1252).
    UTF-16 files (with a BOM) are decoded whole.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", errors="replace")
        return text.splitlines(keepends=True), "utf-16", [], []
    if b"\x00" in data[:65536] and (codec := utf16_without_bom(data)):
        text = data[: len(data) // 2 * 2].decode(codec, errors="replace")
        return text.splitlines(keepends=True), codec, [], []
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    lines: list[str] = []
    fallback: list[int] = []
    broken: list[int] = []
    utf8_non_ascii = False
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            line = raw.decode("utf-8")
            if not raw.isascii():
                utf8_non_ascii = True
        except UnicodeDecodeError:
            try:
                line = raw.decode("cp1252")
            except UnicodeDecodeError:
                line = raw.decode("cp1252", errors="replace")
                broken.append(number)
            fallback.append(number)
        lines.append(line)
    if not fallback:
        encoding = "utf-8-sig" if bom else "utf-8"
    elif utf8_non_ascii or bom:
        encoding = "mixed (utf-8, cp1252)"
    else:
        encoding = "cp1252"
    return lines, encoding, fallback, broken


def sniff_delimiter(line: str) -> str:
    """Return the separator of a CSV header line: the most frequent of , ; tab | outside quotes."""
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


@dataclass
class _Record:
    row: int  # spreadsheet row number
    cells: list[str | None]
    raw: list[str]  # fields as parsed (for field counts and problem values)
    lines: tuple[int, int]  # physical lines spanned (1-based, inclusive)


def _csv_records(data: bytes, name: str, problems: list[Problem]) -> tuple[list[_Record], dict[str, Any]]:
    lines, encoding, fallback, broken = decode_lines(data)
    info: dict[str, Any] = {"encoding": encoding}
    first = 0
    sep_line = None
    while first < len(lines) and lines[first].strip() == "":
        first += 1
    delimiter = ","
    if first < len(lines):
        match = re.fullmatch(r"\ufeff?sep=(.)\s*", lines[first])
        if match:
            delimiter = match.group(1)
            sep_line = first
        else:
            delimiter = sniff_delimiter(lines[first])
    info["delimiter"] = delimiter
    body = lines[sep_line + 1:] if sep_line is not None else lines
    offset = sep_line + 1 if sep_line is not None else 0
    reader = csv.reader(body, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    records: list[_Record] = []
    start = 1
    row = 0
    # A very long answer (csv's default limit is 128 kB per field) is read whole;
    # ingest truncates free text to its documented maximum with a record.
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(data) + 1))
    try:
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. NUL in a line
                raise _FileError(f"cannot parse as CSV near line {reader.line_num + offset}: {exc}") from None
            end = reader.line_num
            row += 1
            fields = [f.replace("\ufeff", "") if i == 0 else f for i, f in enumerate(fields)]
            records.append(_Record(row, [_cell(f) for f in fields], fields, (start + offset, end + offset)))
            start = end + 1
    finally:
        csv.field_size_limit(limit)
    info["ends_with_newline"] = not lines or lines[-1].endswith(("\n", "\r"))  # decoded: UTF-16 too
    if records:
        last = records[-1]
        text = "".join(body[last.lines[0] - offset - 1:last.lines[1] - offset])
        if text.count('"') % 2:
            info["open_quote"] = (last.row, last.lines)
    fb = set(fallback)
    bad = set(broken)
    info["fallback_rows"] = {
        rec.row: any(n in fb for n in range(rec.lines[0], rec.lines[1] + 1)) for rec in records
    }
    info["broken_rows"] = {
        rec.row: any(n in bad for n in range(rec.lines[0], rec.lines[1] + 1)) for rec in records
    }
    return records, info


# --------------------------------------------------------------------------- XLSX


def _xlsx_records(path: Path, data: bytes) -> tuple[list[_Record], dict[str, Any]]:
    import warnings

    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except Exception as exc:  # a corrupt workbook: openpyxl raises many kinds
        raise _FileError(f"cannot open the XLSX workbook: {type(exc).__name__}: {exc}") from None
    sheets = [ws for ws in wb.worksheets if ws.max_row > 1 or ws.max_column > 1 or ws.cell(1, 1).value is not None]
    ws = sheets[0] if sheets else wb.worksheets[0]
    info: dict[str, Any] = {
        "sheet": ws.title,
        "other_sheets": [s.title for s in sheets if s is not ws],
        "encoding": None,
        "merged": [(r.min_row, r.min_col - 1, r.coord) for r in ws.merged_cells.ranges],
    }
    records: list[_Record] = []
    for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
        cells = [excel_text(v) for v in values]
        while cells and cells[-1] is None:
            cells.pop()
        records.append(_Record(number, cells, ["" if c is None else c for c in cells], (number, number)))
    info["uncached_formulas"] = _uncached_formulas(data, wb.worksheets.index(ws), records)
    wb.close()
    return records, info


def _uncached_formulas(data: bytes, sheet_index: int, records: list[_Record]) -> list[tuple[int, int, str]]:
    """Formula cells with no saved result (a workbook written by a program, never opened in Excel).

    openpyxl reads such a cell's value as empty; gives (row, 0-based column, formula)
    for each, so the reader can report them instead of losing them silently.
    """
    import warnings

    import openpyxl

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if not any(b"<f" in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")):
            return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=False)
    ws = wb.worksheets[sheet_index]
    found = []
    for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
        cells = records[number - 1].cells if number <= len(records) else []
        for j, value in enumerate(values):
            if isinstance(value, str) and value.startswith("=") and (j >= len(cells) or cells[j] is None):
                found.append((number, j, value))
            elif value is not None and not isinstance(value, (str, int, float, bool, dt.date, dt.time, dt.timedelta)):
                if j >= len(cells) or cells[j] is None:  # array formulas and data-table formulas
                    found.append((number, j, str(getattr(value, "text", value))))
    wb.close()
    return found


# --------------------------------------------------------------------------- layouts


@lru_cache(maxsize=1 << 16)
def _norm(cell: str | None) -> str:
    """A cell as compared with the header rows (flattened, lower case); cached: answers repeat."""
    return flatten_header(cell).lower()


def detect_layout(head: Sequence[Sequence[str | None]]) -> tuple[str, int]:
    """Return (layout, number of header rows) from the first rows of an export."""
    if not head:
        return "plain", 1
    row1 = [_norm(c) for c in head[0]]
    row2 = [_norm(c) for c in head[1]] if len(head) > 1 else []
    row3 = [flatten_header(c) for c in head[2]] if len(head) > 2 else []
    # Qualtrics: internal ids on row 1 (metadata names and Q-ids), ImportId JSON on row 3.
    meta = sum(1 for c in row1 if c in QUALTRICS_METADATA)
    qids = sum(1 for c in row1 if re.fullmatch(r"q\d+(_\d+)*(_text)?|qid\d+.*|v\d+", c))
    import_ids = sum(1 for c in row3 if c.startswith("{") and "importid" in c.lower())
    if import_ids >= max(1, len([c for c in row3 if c]) // 2):
        return "qualtrics", 3
    legacy_ids = sum(1 for c in row1 if re.fullmatch(r"v\d+", c))
    if len(head) > 1 and (
        (("responseid" in row1 or meta >= 3) and qids >= 1)
        or (legacy_ids >= 5 and "responseid" in row2)
    ):
        return "qualtrics", 2
    # SurveyMonkey: metadata first, row 2 "Response"/"Open-Ended Response"/option labels.
    sm_meta = sum(1 for c in row1 if c in SURVEYMONKEY_METADATA)
    sm_single = sum(1 for c in row2 if c in SURVEYMONKEY_SINGLE)
    if row2 and (sm_single >= 1 and (sm_meta >= 2 or "respondent id" in row1)):
        return "surveymonkey", 2
    if row2 and sm_single >= 2 and any(c == "" for c in row1):
        return "surveymonkey", 2
    first = [c for c in row1[:3]]
    if tuple(first) == MSFORMS_FIRST:
        return "msforms", 1
    if row1 and row1[0] in GOOGLE_FIRST:
        return "googleforms", 1
    return "plain", 1


def _layout_header_rows(layout: str, head: Sequence[Sequence[str | None]]) -> int:
    if layout == "qualtrics":
        row3 = [flatten_header(c) for c in head[2]] if len(head) > 2 else []
        return 3 if any(c.startswith("{") and "importid" in c.lower() for c in row3) else 2
    if layout == "surveymonkey":
        return 2
    return 1


def _cells(head: Sequence[Sequence[str | None]], r: int, width: int) -> list[str]:
    row = list(head[r]) if r < len(head) else []
    row = row + [None] * (width - len(row))
    return [flatten_header(c) for c in row[:width]]


def build_headers(layout: str, head: Sequence[Sequence[str | None]], width: int) -> tuple[list[str], dict[str, Any]]:
    """Flatten a layout's header rows to one string per column (blank where none).

    Returns (headers, extra): extra holds the layout's side information, e.g.
    Qualtrics' internal id and ImportId of each column.
    """
    extra: dict[str, Any] = {}
    if layout == "qualtrics":
        ids = _cells(head, 0, width)
        texts = _cells(head, 1, width)
        imports = _cells(head, 2, width) if len(head) > 2 else [""] * width
        headers = [t or i for t, i in zip(texts, ids)]
        seen: dict[str, int] = {}
        for h in headers:
            seen[h] = seen.get(h, 0) + 1
        # Question text repeats (e.g. two "Please specify" boxes): the unique id settles it.
        headers = [f"{h} ({i})" if h and seen[h] > 1 and i and i != h else h for h, i in zip(headers, ids)]
        import_map = {}
        for h, imp in zip(headers, imports):
            if imp:
                try:
                    import_map[h] = json.loads(imp).get("ImportId", imp)
                except (ValueError, AttributeError):
                    import_map[h] = imp
        extra["column_ids"] = {h: i for h, i in zip(headers, ids) if h}
        extra["import_ids"] = import_map
        return headers, extra
    if layout == "surveymonkey":
        top = _cells(head, 0, width)
        sub = _cells(head, 1, width)
        headers = []
        current = ""
        for t, s in zip(top, sub):
            if t:
                current = t
            question = t or current
            if not question:
                headers.append(s)
            elif not s or s.lower() in SURVEYMONKEY_SINGLE:
                headers.append(question)
            else:
                headers.append(f"{question} - {s}")
        extra["question_of"] = {}
        current = ""
        for h, t in zip(headers, top):
            current = t or current
            if h:
                extra["question_of"][h] = current or h
        return headers, extra
    return _cells(head, 0, width), extra


# --------------------------------------------------------------------------- the table


def _assemble(
    records: list[_Record],
    info: dict[str, Any],
    name: str,
    fmt: str,
    layout: str,
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[int], str, int, int, dict[str, Any]]:
    while records and all(c is None for c in records[0].cells):
        records = records[1:]
    if not records:
        raise _FileError("the file is empty: no header row and no data")
    head = [r.cells for r in records[:3]]
    if layout == "auto":
        layout, n_head = detect_layout(head)
    else:
        n_head = _layout_header_rows(layout, head)
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
        raise _FileError("the file has no named columns")
    named_width = max((j for j, h in enumerate(headers) if h), default=-1) + 1
    header_sets = [[_norm(c) for c in r.cells] for r in header_recs]

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
    last = data[-1].row if data else None
    for rec in data:
        rows_read += 1
        cells = rec.cells
        if all(c is None for c in cells):
            problems.append(Problem(name, rec.row, "", None, "blank row (dropped)", scope="row", fatal=False))
            continue
        normed = strip_trailing([_norm(c) for c in cells])
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
                    problems.append(Problem(name, rec.row, col, v,
                                            "bytes that are neither UTF-8 nor cp1252 (shown as \ufffd)",
                                            scope="cell", fatal=True))
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
    declared = _declared_format(path, format)
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
            records, info = _xlsx_records(path, data)
        else:
            records, info = _csv_records(data, name, problems)
        frame, rows, found, n_head, rows_read, extra = _assemble(records, info, name, real, layout, problems)
    except _FileError as exc:
        problems.append(Problem(name, 0, "", exc.value, exc.reason, scope="file"))
        return _empty_table(path, real, layout, problems)
    extra.update({k: v for k, v in info.items() if k in ("delimiter", "sheet", "other_sheets")})
    if info.get("other_sheets"):
        problems.append(Problem(name, 0, "", None,
                                f"the workbook has more sheets ({', '.join(info['other_sheets'])}); "
                                f"only the first, {info['sheet']!r}, was read", scope="file", fatal=False))
    return RawTable(path=path, frame=frame, rows=rows, layout=found, format=real, encoding=info.get("encoding"),
                    header_rows=n_head, rows_read=rows_read, problems=problems, extra=extra)


# --------------------------------------------------------------------------- answers


def split_choices(value: str | None, layout: str, options: Iterable[str] | None = None) -> list[str]:
    """Split a multi-select answer cell as the layout joins it.

    Microsoft Forms joins with ';' and ends with ';'; Google Forms joins with ', '
    (ambiguous when an option holds a comma: given ``options``, those are matched
    whole first). Other layouts spread options over columns, so the cell is one choice.
    """
    if value is None or not value.strip():
        return []
    if layout == "msforms":
        return [v.strip() for v in value.split(";") if v.strip()]
    if layout == "googleforms":
        found: list[str] = []
        rest = value
        for option in sorted(options or [], key=len, reverse=True):
            if "," in option and option in rest:
                found.append(option)
                rest = rest.replace(option, "")
        found += [v.strip() for v in rest.split(", ") if v.strip().strip(",")]
        order = {v: value.find(v) for v in found}
        return sorted(found, key=lambda v: order[v])
    return [value.strip()]
