"""pcnstudy.simulate.xlsx: workbooks whose bytes depend only on their content."""
from __future__ import annotations

import datetime as dt
import io
import time
import zipfile

import openpyxl

from pcnstudy.simulate.xlsx import stable_xlsx

STAMP = dt.datetime(2021, 6, 30, 12, 0, 0)
ROWS = [["Id", "Score", "Comment"], [1, 4, "Useful, mostly"], [2, 5, "é and “quotes”"]]


def test_same_rows_give_the_same_bytes_whenever_written():
    first = stable_xlsx(ROWS, STAMP)
    time.sleep(1.1)  # openpyxl stamps the save time to the second
    assert stable_xlsx(ROWS, STAMP) == first
    assert stable_xlsx(ROWS, STAMP + dt.timedelta(days=1)) != first


def test_workbook_holds_the_rows_sheet_stamp_and_merge():
    data = stable_xlsx(ROWS, STAMP, sheet="Form1", creator="tester", merge="B1:C1")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Form1"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == ROWS[1:]
    assert "B1:C1" in {str(r) for r in ws.merged_cells.ranges}
    assert wb.properties.creator == "tester" and wb.properties.created == STAMP
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {info.date_time for info in zf.infolist()} == {STAMP.timetuple()[:6]}
        assert "2021-06-30T12:00:00Z" in zf.read("docProps/core.xml").decode()
