"""Export bytes to records: what a file is (CSV text, an XLSX workbook, something else)
and its rows as cells, before any header or layout is applied.

Takes the bytes of one export and gives a list of ``Record`` (spreadsheet row
number, cells as ``str`` or None, the fields as parsed, the physical lines spanned)
and an ``info`` dict (encoding, delimiter, sheet names, merged cells, formulas without
a saved result, which rows needed the fallback encoding or hold undecodable bytes).

- ``sniff_format(data)``: 'xlsx', 'zip', 'ole', 'binary', 'text' or 'empty';
  ``looks_like_html(data)``: a web page saved in place of an export;
- ``csv_records(data)``: text decoded by pcnstudy.core.decoding (one policy for every
  user file), the delimiter sniffed from the header line (or a ``sep=`` line);
- ``xlsx_records(data)``: the first non-empty sheet, cells written as the text a user
  sees (``excel_text``: dates ISO, whole numbers without ``.0``, TRUE/FALSE).

A problem that ends reading of the file raises ``FileError`` (its reason is reported
by pcnstudy.ingest.exports.read_export).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from pcnstudy.core.decoding import BOMS, decode, decode_head, sniff_delimiter, utf16_without_bom


class FileError(Exception):
    """A problem that ends reading of the file (carried up to read_export)."""

    def __init__(self, reason: str, value: Any = None):
        super().__init__(reason)
        self.reason = reason
        self.value = value


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
    if any(data.startswith(bom) for bom, _codec in BOMS[1:]):
        return "text"  # UTF-16/32 with a byte-order mark
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


_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|\?xml[^>]*>\s*<(!doctype\s+)?html)[\s>]",
                         re.IGNORECASE | re.DOTALL)


def looks_like_html(data: bytes) -> bool:
    """True when text bytes are an HTML page (start with a doctype, <html>, <head> or <body>)."""
    return bool(_HTML_START.match(decode_head(data)))


def declared_format(path: Path, fmt: str) -> str | None:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".tsv", ".txt", ".tab"):
        return "csv"
    return None


@dataclass
class Record:
    row: int  # spreadsheet row number
    cells: list[str | None]
    raw: list[str]  # fields as parsed (for field counts and problem values)
    lines: tuple[int, int]  # physical lines spanned (1-based, inclusive)


def csv_records(data: bytes) -> tuple[list[Record], dict[str, Any]]:
    """The records of CSV text and what was learnt reading it (encoding, delimiter, damaged rows)."""
    decoded = decode(data)
    lines, fallback, broken = decoded.lines, decoded.fallback, decoded.broken
    info: dict[str, Any] = {"encoding": decoded.encoding, "wide": decoded.wide}
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
    records: list[Record] = []
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
                raise FileError(f"cannot parse as CSV near line {reader.line_num + offset}: {exc}") from None
            end = reader.line_num
            row += 1
            fields = [f.replace("\ufeff", "") if i == 0 else f for i, f in enumerate(fields)]
            records.append(Record(row, [_cell(f) for f in fields], fields, (start + offset, end + offset)))
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


def xlsx_records(data: bytes) -> tuple[list[Record], dict[str, Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except Exception as exc:  # a corrupt workbook: openpyxl raises many kinds
        raise FileError(f"cannot open the XLSX workbook: {type(exc).__name__}: {exc}") from None
    sheets = [ws for ws in wb.worksheets if ws.max_row > 1 or ws.max_column > 1 or ws.cell(1, 1).value is not None]
    ws = sheets[0] if sheets else wb.worksheets[0]
    info: dict[str, Any] = {
        "sheet": ws.title,
        "other_sheets": [s.title for s in sheets if s is not ws],
        "encoding": None,
        "merged": [(r.min_row, r.min_col - 1, r.coord) for r in ws.merged_cells.ranges],
    }
    records: list[Record] = []
    for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
        cells = [excel_text(v) for v in values]
        while cells and cells[-1] is None:
            cells.pop()
        records.append(Record(number, cells, ["" if c is None else c for c in cells], (number, number)))
    info["uncached_formulas"] = _uncached_formulas(data, wb.worksheets.index(ws), records)
    wb.close()
    return records, info


def _uncached_formulas(data: bytes, sheet_index: int, records: list[Record]) -> list[tuple[int, int, str]]:
    """Formula cells with no saved result (a workbook written by a program, never opened in Excel).

    openpyxl reads such a cell's value as empty; gives (row, 0-based column, formula)
    for each, so the reader can report them instead of losing them silently.
    """
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
