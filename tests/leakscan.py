"""The leak scanner of the tests: find raw participant ids in files the pipeline wrote.

``find_raw_ids(raw, folders)`` collects every raw respondent id (and name/email column
value, and self-generated identification code) of the exports under ``raw`` by
ingesting them (``collect_raw_ids``), then scans every file under ``folders`` for them and gives one ``RawIdHit`` (file, line, id) per
find. An oracle for the tests only: the pipeline never calls it.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from pypdf import PdfReader

from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml
from pcnstudy.ingest.cohort_ingester import ingest_cohort
from pcnstudy.ingest.stage import cohort_dirs
from pcnstudy.ingest.validate import load_cohort


@dataclass(frozen=True)
class RawIdHit:
    """A raw participant id found in a file: where, and which id."""

    file: str
    line: int
    raw_id: str


def collect_raw_ids(raw: Path) -> set[str]:
    """Every raw respondent id (and name/email column value, and self-generated code) in the exports under ``raw``."""
    ids: set[str] = set()
    instrument = load_yaml(paths.INSTRUMENT)
    for folder in cohort_dirs(Path(raw), None):
        config = load_cohort(folder)
        data = ingest_cohort(folder, b"leak-check", instrument, config)
        ids |= data.raw_ids
        ids |= {v for v in data.literals if v}
        ids |= data.codes  # self-generated identification codes (design: self_code)
    return ids


# Embedded images: data URIs in HTML, and long base64 runs (notebooks' image/png outputs).
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+|[A-Za-z0-9+/]{100,}={0,2}")


# file signatures of binary outputs: PNG, JPEG, GIF, zip (xlsx, qdpx), parquet
_BINARY_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"PAR1")


def _pdf_text(data: bytes) -> str:
    """The text of a PDF's pages, one page per line block (empty when it cannot be read)."""
    try:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    except Exception:  # a damaged PDF: nothing a reader would see either
        return ""


def find_raw_ids(raw: Path, folders: Iterable[Path], min_length: int = 3, short_numeric: int = 6,
                 include_short_numeric: bool = True) -> list[RawIdHit]:
    """Scan every file under ``folders`` for raw participant ids (and name/email values) from ``raw``.

    An id is found when it appears as a whole token (not inside a longer word or
    number), case-insensitively. Ids shorter than ``min_length`` characters are skipped
    (a bare "7" would match everywhere); ids of digits only and shorter than
    ``short_numeric`` (e.g. "106") are found only as a whole delimited cell (between
    commas, tabs, quotes or HTML tags), since as free tokens they match any number
    (CSS, counts). In tables of results a count can equal such an id;
    ``include_short_numeric=False`` leaves them out, for callers that check the id
    columns themselves. Files are read as bytes decoded leniently. Gives one
    ``RawIdHit`` per file, line and id. A PDF is scanned as the text of its pages
    (its compressed streams hold short ids by chance). Binary files (a known image,
    zip or parquet signature, or a NUL byte near the start) and embedded base64
    images (HTML data URIs, notebook outputs) are not scanned, as short ids occur in
    them by chance; the tables behind them are scanned as CSV.
    """
    ids = sorted({i.strip() for i in collect_raw_ids(raw) if len(i.strip()) >= min_length}, key=len, reverse=True)
    if not ids:
        return []
    short = [i for i in ids if i.isdigit() and len(i) < short_numeric]
    long_ids = [i for i in ids if i not in short]
    if not include_short_numeric:
        short = []
    patterns = []
    if long_ids:
        patterns.append(re.compile(r"(?<![\w@.\-])(" + "|".join(re.escape(i) for i in long_ids) + r")(?![\w@\-]|\.\w)",
                                   re.IGNORECASE))
    if short:
        patterns.append(re.compile(r"(?:^|(?<=[,\t\">]))(" + "|".join(re.escape(i) for i in short) + r")(?=$|[,\t\"<])"))
    hits = []
    for folder in folders:
        folder = Path(folder)
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if data.startswith(b"%PDF-"):
                text = _pdf_text(data)  # compressed streams hold any bytes: scan what a reader sees
            elif data.startswith(_BINARY_MAGIC) or b"\x00" in data[:8192]:
                continue  # binary (images, zips, parquet): their tables are scanned as CSV
            else:
                text = _DATA_URI.sub("data:", data.decode("utf-8", errors="replace"))
            for number, line in enumerate(text.splitlines(), start=1):
                for pattern in patterns:
                    for match in pattern.finditer(line):
                        hits.append(RawIdHit(str(path), number, match.group(1)))
    return hits
