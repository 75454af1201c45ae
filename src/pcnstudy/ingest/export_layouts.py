"""Survey tools' export layouts: which tool wrote an export, and its header rows as one header per column.

Takes the first rows of an export as cells (strings or None) and gives:

- ``detect_layout(head) -> (layout, header rows)``: ``plain``, ``qualtrics``,
  ``surveymonkey``, ``msforms`` or ``googleforms`` (see pcnstudy.ingest.exports for
  what each layout's header rows hold);
- ``build_headers(layout, head, width) -> (headers, extra)``: one flattened header
  per column, and the layout's side information (Qualtrics' column ids, ImportIds;
  SurveyMonkey's question of each column);
- ``flatten_header(text)``: a header cell as one line (invisible characters dropped,
  whitespace runs collapsed), and ``norm_cell`` (the same, lower case) used to compare
  cells with the header rows;
- ``split_choices(value, layout, options)``: a multi-select answer cell split as the
  layout joins it.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterable, Sequence

LAYOUTS = ("auto", "plain", "qualtrics", "surveymonkey", "msforms", "googleforms")

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

#: Invisible characters that copy-and-paste leaves in headers (BOM, zero-width, soft hyphen).
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")


def flatten_header(text: Any) -> str:
    """Return a header cell as one line: BOM and zero-width characters dropped, whitespace runs collapsed, ends stripped."""
    if text is None:
        return ""
    return re.sub(r"\s+", " ", _INVISIBLE.sub("", str(text))).strip()


@lru_cache(maxsize=1 << 16)
def norm_cell(cell: str | None) -> str:
    """A cell as compared with the header rows (flattened, lower case); cached: answers repeat."""
    return flatten_header(cell).lower()


def detect_layout(head: Sequence[Sequence[str | None]]) -> tuple[str, int]:
    """Return (layout, number of header rows) from the first rows of an export."""
    if not head:
        return "plain", 1
    row1 = [norm_cell(c) for c in head[0]]
    row2 = [norm_cell(c) for c in head[1]] if len(head) > 1 else []
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


def layout_header_rows(layout: str, head: Sequence[Sequence[str | None]]) -> int:
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
