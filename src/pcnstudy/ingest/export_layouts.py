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
  layout joins it;
- ``second_header_row(head)``: whether row 2 is SurveyMonkey's second header row, by
  its structure (whatever its words), and ``qualtrics_metadata(extra)``: Qualtrics'
  metadata columns by their stable ids (whatever the survey's language).

``detect_layout`` is given the first rows of the export (the header rows and some data
rows to compare them with).
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
#: Qualtrics' metadata by the stable ImportId of its third header row (any survey language).
QUALTRICS_IMPORT_METADATA = {
    "startdate", "enddate", "status", "ipaddress", "progress", "duration", "finished", "recordeddate",
    "_recordid", "recipientlastname", "recipientfirstname", "recipientemail", "externaldatareference",
    "locationlatitude", "locationlongitude", "distributionchannel", "userlanguage",
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
    # SurveyMonkey: a second header row under the questions, told by its structure.
    if row2 and second_header_row(head):
        return "surveymonkey", 2
    first = [c for c in row1[:3]]
    if tuple(first) == MSFORMS_FIRST:
        return "msforms", 1
    if row1 and row1[0] in GOOGLE_FIRST:
        return "googleforms", 1
    return "plain", 1


def _shape(cell: str) -> str:
    """A data cell's kind: blank, number, date or text (for comparing row 2 with the data rows)."""
    if not cell:
        return "blank"
    if re.fullmatch(r"[-+]?\d+(?:[.,]\d+)?", cell):
        return "number"
    if re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ t].*)?", cell):
        return "date"
    return "text"


def second_header_row(head: Sequence[Sequence[str | None]]) -> bool:
    """True when row 2 is a second header row (SurveyMonkey's) rather than a respondent.

    Judged by structure, whatever the words: a row-2 value repeated over several
    questions that no respondent ever gave ("Response", "Open-Ended Response", or the
    same word in another language); row 1 blank over continuation columns that row 2
    labels (a matrix or multi-select question's options); row 2 blank or text where every
    data row holds a value of one kind (the tool's respondent id, dates, IP addresses).
    Two of these, or the first with row 2 naming nothing but that word, or
    SurveyMonkey's own words with its metadata headers, make row 2 a header row.
    """
    if len(head) < 2:
        return False
    width = max(len(r) for r in head[:2])
    row1 = [norm_cell(c) for c in list(head[0]) + [None] * (width - len(head[0]))]
    row2 = [norm_cell(c) for c in list(head[1]) + [None] * (width - len(head[1]))]
    data = [[norm_cell(c) for c in r] for r in head[2:]]
    filled2 = [c for c in row2 if c]
    if not filled2:
        return False
    column_values = [{r[j] for r in data if j < len(r) and r[j]} for j in range(width)]
    seen_anywhere = set().union(*column_values) if column_values else set()
    counts: dict[str, int] = {}
    for c in filled2:
        counts[c] = counts.get(c, 0) + 1
    repeated = [c for c, k in counts.items() if k >= 2 and c not in seen_anywhere and _shape(c) == "text"]
    word_only = bool(repeated) and len(counts) == 1 and counts[repeated[0]] >= 3
    started = next((j for j, c in enumerate(row1) if c), width)
    continuation = sum(1 for j in range(started + 1, width) if not row1[j] and row2[j])
    unlike_data = 0
    if len(data) >= 2:
        for j in range(width):
            shapes = {_shape(r[j]) if j < len(r) else "blank" for r in data}
            if len(shapes) == 1 and shapes != {"blank"} and shapes != {"text"} and _shape(row2[j]) not in shapes:
                unlike_data += 1
    signs = [bool(repeated), continuation >= 1, unlike_data >= 1]
    sm_words = sum(1 for c in row2 if c in SURVEYMONKEY_SINGLE)
    sm_meta = sum(1 for c in row1 if c in SURVEYMONKEY_METADATA)
    return word_only or sum(signs) >= 2 or (sm_words >= 1 and (sm_meta >= 2 or "respondent id" in row1))


def single_answer_words(head: Sequence[Sequence[str | None]], width: int) -> set[str]:
    """Row-2 words that stand over a question's only column (SurveyMonkey's "Response" in any language).

    A value that sits under two or more one-column questions labels no option: the
    header is then the question alone. The known English words always count.
    """
    top = _cells(head, 0, width)
    sub = [c.lower() for c in _cells(head, 1, width)]
    counts: dict[str, int] = {}
    for j, (t, s) in enumerate(zip(top, sub)):
        alone = t and (j + 1 == width or top[j + 1])
        if alone and s:
            counts[s] = counts.get(s, 0) + 1
    return set(SURVEYMONKEY_SINGLE) | {s for s, k in counts.items() if k >= 2}


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
        single = single_answer_words(head, width)
        headers = []
        current = ""
        for t, s in zip(top, sub):
            if t:
                current = t
            question = t or current
            if not question:
                headers.append(s)
            elif not s or s.lower() in single:
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


def qualtrics_metadata(extra: dict[str, Any]) -> dict[str, str]:
    """Header -> stable id of each Qualtrics metadata column, found by its column id or ImportId.

    ``extra`` is a Qualtrics table's side information (``build_headers``): the first
    header row's ids (StartDate, IPAddress, ResponseId ...) and the third row's ImportIds
    (startDate, ipAddress, _recordId ...) stay in English whatever language the
    question-text row is in, so "Anfangsdatum" is known as StartDate.
    """
    found: dict[str, str] = {}
    ids = extra.get("column_ids", {}) or {}
    imports = extra.get("import_ids", {}) or {}
    for header in set(ids) | set(imports):
        column_id = flatten_header(ids.get(header, ""))
        import_id = flatten_header(imports.get(header, "") if isinstance(imports.get(header), str) else "")
        if column_id.lower() in QUALTRICS_METADATA:
            found[header] = column_id
        elif import_id.lower() in QUALTRICS_IMPORT_METADATA:
            found[header] = import_id
        elif re.fullmatch(r"V\d+", column_id) and flatten_header(header).lower() in QUALTRICS_METADATA:
            # the legacy layout: V1, V2 ... then the metadata's names as the text row
            found[header] = flatten_header(header)
    return found


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
