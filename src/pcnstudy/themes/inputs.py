"""Reading the themes command's user files: texts, a researcher's codes, the free-topic option.

- ``read_texts(path)``: a CSV of ``id, text`` (other columns ignored) as a frame of
  id, text;
- ``read_codes(path, codebook)``: a researcher's codes (a CSV of id and a code column,
  or a REFI-QDA .qdpx project) as sorted (id, theme) rows;
- ``parse_free_topics(value)``: "auto" or a non-negative number of free topics.

Files are read through ``pcnstudy.core.textfile`` (any common encoding, delimiter and
header case). Bad input raises ``InputError``, whose message is one line naming file,
row and column.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from pcnstudy.core.textfile import TableError, read_table
from pcnstudy.themes.codebook import Codebook
from pcnstudy.themes.qdpx import read_human_codes

CODE_COLUMNS = ("theme", "themes", "code", "codes", "label", "labels", "category", "categories")


class InputError(ValueError):
    """Bad input to the themes command; the message is one line naming file, row and column."""


def read_texts(path: Path) -> pd.DataFrame:
    """Read a CSV of ``id, text`` (other columns ignored); raise ``InputError`` naming file, row, column.

    The file is read by ``textfile.read_table``: any common encoding (UTF-8/16 with or
    without a byte-order mark, Windows-1252), delimiter (, ; tab |) and header case
    ("ID", " Text "). Without an ``id`` column the texts are numbered 1..n (zero-padded,
    so they sort in file order). A text column is required; ids must be non-empty and
    unique; a file with a header and no rows is an error.
    """
    path = Path(path)
    try:
        table = read_table(path, ["text"], optional=["id"])
    except TableError as exc:
        raise InputError(str(exc)) from None
    if table.empty:
        raise InputError(f"{path}:2:text: no texts (the file has a header and no rows)")
    rows = table.index.to_numpy()
    if "id" not in table.columns:
        width = len(str(len(table)))
        ids = pd.Series([str(k + 1).zfill(width) for k in range(len(table))], index=table.index, dtype=object)
    else:
        ids = table["id"].astype(str).str.strip()
    for row, doc in zip(rows, ids):
        if not doc:
            raise InputError(f"{path}:{row}:id: empty id")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        k = int(np.argmax(dup))
        first = rows[int(np.argmax((ids == ids.iloc[k]).to_numpy()))]
        raise InputError(f"{path}:{rows[k]}:id: duplicate id {ids.iloc[k]!r} (first in row {first})")
    return pd.DataFrame({"id": ids.to_numpy(dtype=object), "text": table["text"].astype(str).to_numpy(dtype=object)})


def parse_free_topics(value: str | int) -> int | str:
    """``"auto"`` or a non-negative integer; raise ValueError otherwise."""
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text.isdigit():
        return int(text)
    raise ValueError(f"--free-topics must be a non-negative integer or 'auto', got {value!r}")


def read_codes(path: Path, book: Codebook) -> pd.DataFrame:
    """Read a researcher's codes as (id, theme) rows, sorted; raise ``InputError`` (one line).

    A .qdpx project is read by ``qdpx.read_human_codes``. A CSV (any encoding/delimiter,
    header case ignored) needs an ``id`` column and a column of codes, named ``theme``
    or else one of themes/code/codes/label/labels/category/categories. A code is a
    theme id or name (case ignored); a cell that is not one is split on ";" (several
    codes in one cell, as in a labels column). A row with an empty code marks its
    document as coded with none of the themes (theme ""). Duplicate rows count once.
    """
    path = Path(path)
    if path.suffix.lower() == ".qdpx" or (path.is_file() and zipfile.is_zipfile(path)):
        try:
            return read_human_codes(path, book)
        except ValueError as exc:
            raise InputError(str(exc).splitlines()[0]) from None
    try:
        table = read_table(path, ["id"], optional=CODE_COLUMNS)
    except TableError as exc:
        raise InputError(str(exc)) from None
    column = next((c for c in CODE_COLUMNS if c in table.columns), None)
    if column is None:
        raise InputError(f"{path}:1:theme: no 'theme' column (header has {', '.join(map(str, table.columns))})")
    if table.empty:
        raise InputError(f"{path}:2:id: no codes (the file has a header and no rows)")
    lookup: dict[str, str] = {}
    for theme in book.themes:
        lookup.setdefault(" ".join(theme.name.split()).casefold(), theme.id)
    for theme in book.themes:
        lookup[theme.id.casefold()] = theme.id
    rows = []
    for row, doc, cell in zip(table.index, table["id"], table[column]):
        doc, cell = str(doc).strip(), " ".join(str(cell).split())
        if not doc:
            raise InputError(f"{path}:{row}:id: empty id")
        parts = [cell] if cell.casefold() in lookup or ";" not in cell else [p.strip() for p in cell.split(";")]
        parts = [p for p in parts if p] or [""]
        for part in parts:
            if part and part.casefold() not in lookup:
                raise InputError(f"{path}:{row}:{column}: {part!r} is neither a theme id nor a theme name "
                                 f"in the codebook")
            rows.append((doc, lookup[part.casefold()] if part else ""))
    return pd.DataFrame(sorted(set(rows)), columns=["id", "theme"])
