"""Workbooks whose bytes depend only on their content.

openpyxl stamps the save time into ``docProps/core.xml`` and the zip entries' times;
``stable_xlsx`` writes ``rows`` to one sheet and rewrites both from ``stamp``, so the
simulator and the test fixtures give byte-identical files on every run.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from openpyxl import Workbook

CORE_TIME = re.compile(r"(<dcterms:(?:modified|created)[^>]*>)[^<]*")


def stable_xlsx(rows: list[list], stamp: dt.datetime, *, sheet: str = "Sheet1", creator: str = "pcnstudy",
                merge: str | None = None) -> bytes:
    """The bytes of a one-sheet XLSX holding ``rows`` (the first is the header).

    ``merge`` (e.g. ``"F1:G1"``) merges a range of cells, as some exports do to headers.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    raw = io.BytesIO()
    wb.save(raw)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    stable = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = CORE_TIME.sub(lambda m: m.group(1) + iso, data.decode("utf-8")).encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, data)
    return stable.getvalue()
