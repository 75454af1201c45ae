"""Read a user's small delimited text file whatever its encoding and delimiter.

The themes and scores commands are run on CSVs written by many tools (Excel, survey platforms,
pandas, text editors). This module takes a path and gives its rows as strings:

- ``decode_bytes(data, path) -> str``: the text by the one decoding policy of every
  user file (pcnstudy.core.decoding: a byte-order mark for UTF-8/16/32, UTF-16
  recognised by its zero bytes, else each line UTF-8 or else Windows-1252, Excel's
  "CSV" on Windows; bytes that are neither become U+FFFD). A file that is not text (a
  zip/xlsx, PDF, damaged UTF-16/32, or one where over 1% of the characters are control
  bytes) raises ``TableError``; a few stray NUL bytes are dropped.
- ``sniff_delimiter(text) -> str``: the delimiter of the header line, one of
  ``,`` ``;`` tab ``|`` (comma when none is present or on ties; the same sniffing as
  the survey-export reader's, pcnstudy.core.decoding.sniff_delimiter).
- ``read_table(path, columns, optional=()) -> pandas.DataFrame``: the rows of the file
  (all values ``str``, surrounding whitespace kept), with the header names matched to
  ``columns``/``optional`` ignoring case and surrounding whitespace and renamed to them;
  other columns are kept under their stripped names. Blank lines are skipped, short
  rows are padded with "", and a row with more non-empty fields than the header is an
  error. A missing required column raises ``TableError``.

Rows are counted as a spreadsheet shows them: the header is row 1, the first record
row 2 (a quoted newline inside a text does not start a new row). ``TableError`` is a
``ValueError`` whose message is one line, ``file:row:column: message``.
"""
from __future__ import annotations

import csv
import io
import sys
import unicodedata
from pathlib import Path
from typing import Sequence

import pandas as pd

from pcnstudy.core.decoding import decode
from pcnstudy.core.decoding import sniff_delimiter as sniff_header_delimiter

_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?); save it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Office document (an .xls workbook?); save it as CSV"),
    (b"%PDF", "a PDF; export the texts as CSV"),
)


class TableError(ValueError):
    """A file that cannot be read as a table; the message is one line naming file, row and column."""


def _fail(path: Path | str, row: int, column: str, message: str) -> TableError:
    return TableError(f"{path}:{row}:{column}: {message}")


def _control_share(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ch not in "\t\n\r" and unicodedata.category(ch) == "Cc")
    return bad / len(sample)


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> str:
    """Decode a text file's bytes (see the module docstring); raise ``TableError`` for a binary file."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise _fail(path, 0, "", f"cannot read as CSV: the file is {what}")
    decoded = decode(data)
    if decoded.wide and decoded.broken:
        raise _fail(path, 0, "", f"cannot read as CSV: invalid {decoded.encoding} text")
    text = decoded.text
    if _control_share(text) > 0.01:
        raise _fail(path, 0, "", "cannot read as CSV: the file is binary, not text")
    return text.replace("\x00", "")  # a stray NUL byte in a text file


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first non-blank line (``decoding.sniff_delimiter``: the most frequent
    of , ; tab | outside quotes, comma on ties or when none is present)."""
    return sniff_header_delimiter(next((line for line in text.splitlines() if line.strip()), ""))


def _match_columns(path: Path, header: list[str], columns: Sequence[str], optional: Sequence[str]) -> list[str]:
    """Header names stripped, and those naming a wanted column (case ignored) renamed to it."""
    names = [h.strip() for h in header]
    out = list(names)
    for want in list(columns) + list(optional):
        exact = [i for i, n in enumerate(names) if n == want]
        loose = [i for i, n in enumerate(names) if n.casefold() == want.casefold()]
        hits = exact or loose
        if len(hits) > 1:
            raise _fail(path, 1, want, f"column '{want}' appears {len(hits)} times in the header")
        if hits:
            out[hits[0]] = want
    for want in columns:
        if want not in out:
            raise _fail(path, 1, want, f"no '{want}' column (header has {', '.join(names)})")
    return out


class _ParseError(Exception):
    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row, self.message = row, message


def _parse(text: str, delimiter: str, strict: bool) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """Header, non-blank records and their row numbers (header = row 1)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    row = 0
    try:
        for record in reader:
            row += 1
            if not any(field.strip() for field in record):
                continue
            if header is None:
                header = record
                continue
            rows.append(record)
            numbers.append(row)
    except csv.Error as exc:
        raise _ParseError(row + 1, str(exc)) from None
    return header, rows, numbers


def read_table(path: Path | str, columns: Sequence[str], optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read a delimited text file into a DataFrame of strings; see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, 0, "", "file not found" if not path.exists() else "not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, 0, "", f"cannot read ({exc.strerror or exc.__class__.__name__})") from None
    text = decode_bytes(data, path)
    if not text.strip():
        raise _fail(path, 0, "", f"empty file (need a header row with {', '.join(columns)})")
    delimiter = sniff_delimiter(text)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, min(len(text) + 1, sys.maxsize)))
    try:
        try:
            header, rows, numbers = _parse(text, delimiter, strict=True)
        except _ParseError as exc:
            if "end of data" in exc.message:
                raise _fail(path, exc.row, "", "cannot read as CSV (a quote opened in this row is never "
                                                "closed)") from None
            # a stray quote inside a value (e.g. "Great" service): read leniently, as spreadsheets do
            try:
                header, rows, numbers = _parse(text, delimiter, strict=False)
            except _ParseError as again:
                raise _fail(path, again.row, "", f"cannot read as CSV ({again.message})") from None
    finally:
        csv.field_size_limit(old_limit)
    if header is None:
        raise _fail(path, 0, "", f"empty file (need a header row with {', '.join(columns)})")
    names = _match_columns(path, header, columns, optional)
    width = len(names)
    table = []
    for number, record in zip(numbers, rows):
        if len(record) > width:
            if any(field.strip() for field in record[width:]):
                raise _fail(path, number, "", f"row has {len(record)} fields but the header has {width} "
                                              f"(an unquoted '{delimiter}' inside a value?)")
            record = record[:width]
        table.append(record + [""] * (width - len(record)))
    keep = list(dict.fromkeys(names))  # a repeated unwanted column: the first one is kept
    frame = pd.DataFrame(table, columns=range(width), dtype=object)
    frame = frame[[names.index(n) for n in keep]]
    frame.columns = keep
    frame = frame.astype(str) if len(frame) else frame
    frame.index = pd.Index(numbers, name="row")
    return frame
