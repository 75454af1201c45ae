"""Turn export cells (text) into typed values, saying why when a cell cannot be used.

Takes single cell strings as a survey tool wrote them and gives back a ``Coerced``
(the typed value, whether the text had to be translated, and a plain-words reason
when the cell is unusable). Covers:

- Likert answers as numbers ("4", "4.0", "4,0") or as the scale's labels, case and
  whitespace insensitive ("  strongly AGREE "), also wrapped in quotes ("\u201cAgree\u201d");
- yes/no answers in their common spellings (yes/no, y/n, true/false, 1/0, ticked ...);
- dates in the common UK forms (dd/mm/yyyy, d/m/yy, dd-Mon-yyyy, dd Month yyyy, ISO),
  with an optional leading weekday ("Wednesday, 16 September 2020"), and Excel serial
  day numbers (a fraction, the time of day, is dropped);
- formula-looking text (``=HYPERLINK(...)``, ``+cmd``, ``-2+3``, ``@SUM``) and its
  neutralising for CSV (a leading apostrophe), and markup detection / HTML escaping.

No pandas here: each function takes and gives plain Python values.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import Any

#: Cell spellings that mean "no answer": set to missing without a problem record.
MISSING_SPELLINGS = frozenset(
    {"", "na", "n/a", "n.a.", "nan", "null", "none", "-", "--", ".", "no answer", "not answered",
     "prefer not to say", "skipped", "[skipped]"}
)

YES_SPELLINGS = frozenset(
    {"yes", "y", "true", "t", "1", "1.0", "ticked", "tick", "checked", "x", "✓", "✔", "agree", "yes please"}
)
NO_SPELLINGS = frozenset({"no", "n", "false", "f", "0", "0.0", "unticked", "unchecked", "disagree", "no thanks"})

#: Excel's day zero for serial dates (1900 system, with Excel's 1900 leap-year quirk
#: absorbed: serial 60 does not exist as a real date, serials above it count from here).
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Serial numbers this size or smaller/larger are not read as dates (1 = 1900-01-01,
#: 2958465 = 9999-12-31).
EXCEL_SERIAL_RANGE = (1, 2958465)

#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
#: A number written with a decimal comma (European locales: "4,0").
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
#: Quotes a cell may be wrapped in by copy-and-paste (straight, typographic, guillemets).
_WRAPPING_QUOTES = "\"'\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"
_WEEKDAY = re.compile(r"^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_D_MON_Y = re.compile(r"^(\d{1,2})[\s\-/]+([A-Za-z]{3,9})\.?[\s\-/,]+(\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_DMY_TIME = re.compile(r"^(\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{2}|\d{4}))[ T]\d{1,2}:\d{2}(?::\d{2})?$")
_SPREADSHEET_ERRORS = frozenset(
    {"#n/a", "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!", "#spill!", "#calc!", "#getting_data"}
)
_MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|style|img|svg|a|body|html|form|input|link|meta|on\w+|[a-z][a-z0-9]*)"
    r"(\s[^<>]*)?/?\s*>|javascript:",
    re.IGNORECASE,
)
_FORMULA_LIKE = re.compile(r"^(=|@|[+\-](?=[^\s\d])|[+\-]\d[\d.\s]*[+\-*/^(]|\t|\r)")


@dataclass(frozen=True)
class Coerced:
    """A cell after coercion: ``value`` (None when missing or unusable), ``changed``
    (the text had to be translated, e.g. a label to its number) and ``reason``
    (plain words when the cell was unusable, else None)."""

    value: Any
    changed: bool = False
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def normalise_label(text: str) -> str:
    """Lower-case a label and collapse its whitespace (labels match on this form)."""
    return " ".join(str(text).split()).casefold()


def unquote(text: str) -> str:
    """Strip whitespace and any quotes wrapping a cell (``\u201cAgree\u201d`` -> ``Agree``)."""
    return str(text).strip().strip(_WRAPPING_QUOTES).strip()


def _number(raw: str) -> float | None:
    """The number a cell holds ("4", "4.0", "4,0"), else None; never infinite."""
    if _DECIMAL_COMMA.match(raw):
        raw = raw.replace(",", ".")
    if not _NUMERIC.match(raw):
        return None
    number = float(raw)
    return number if number == number and abs(number) != float("inf") else None


def is_missing(text: Any) -> bool:
    """True when a cell means 'no answer' (None, blank, NA, n/a, '-', ...)."""
    if text is None:
        return True
    return normalise_label(text) in MISSING_SPELLINGS


def spreadsheet_error(text: str) -> bool:
    """True for a spreadsheet error value such as ``#N/A`` or ``#DIV/0!``."""
    return normalise_label(text) in _SPREADSHEET_ERRORS


def likert_labels(scale: dict) -> dict[str, int]:
    """Map each normalised scale label to its number, from instrument.yml's ``scale``."""
    return {normalise_label(label): int(number) for number, label in scale.get("labels", {}).items()}


def coerce_likert(text: Any, scale: dict) -> Coerced:
    """Read a Likert answer given as a number or as one of the scale's labels.

    ``scale`` is instrument.yml's ``scale`` (min, max, labels). Numbers must be whole
    points of the scale; labels are matched case and whitespace insensitively, also
    when written "4 - Agree" or "Agree (4)".
    """
    if is_missing(text):
        return Coerced(None)
    raw = str(text).strip()
    low, high = int(scale["min"]), int(scale["max"])
    if spreadsheet_error(raw):
        return Coerced(None, reason="spreadsheet error value where a rating was expected")
    unquoted = unquote(raw)
    if unquoted != raw:
        if is_missing(unquoted):
            return Coerced(None)
        result = coerce_likert(unquoted, scale)
        return Coerced(result.value, changed=True, reason=result.reason) if result.ok else result
    number = _number(raw)
    if number is None and _NUMERIC.match(raw):  # too large to be a float: certainly off the scale
        return Coerced(None, reason=f"rating {raw[:20]} is outside the scale {low}-{high}")
    if number is not None:
        if not low <= number <= high:
            return Coerced(None, reason=f"rating {raw} is outside the scale {low}-{high}")
        if number != int(number):
            return Coerced(None, reason=f"rating {raw} is not a whole point of the {low}-{high} scale")
        return Coerced(float(number), changed="," in raw)
    labels = likert_labels(scale)
    key = normalise_label(raw)
    if key in labels:
        return Coerced(float(labels[key]), changed=True)
    # "4 - Agree", "Agree (4)", "4. Agree": accept when number and label agree.
    match = re.match(r"^\(?(\d)\)?\s*[-.:=)]?\s*(.+)$", key) or re.match(r"^(.+?)\s*[(\[](\d)[)\]]$", key)
    if match:
        first, second = match.groups()
        number, label = (first, second) if first.isdigit() else (second, first)
        if label.strip() in labels and labels[label.strip()] == int(number):
            return Coerced(float(number), changed=True)
    if any(word in key for word in ("agree", "disagree", "neutral", "neither")):
        return Coerced(None, reason=f"label {raw!r} is not on the instrument's scale")
    return Coerced(None, reason="text where a rating (a number or a scale label) was expected")


def coerce_yes_no(text: Any) -> Coerced:
    """Read a yes/no answer in its common spellings; gives 1 for yes, 0 for no."""
    if is_missing(text):
        return Coerced(None)
    raw = str(text).strip()
    key = normalise_label(unquote(raw)).rstrip(".!")
    if key in YES_SPELLINGS:
        return Coerced(1, changed=raw != "1")
    if key in NO_SPELLINGS:
        return Coerced(0, changed=raw != "0")
    if spreadsheet_error(raw):
        return Coerced(None, reason="spreadsheet error value where yes or no was expected")
    return Coerced(None, reason="not a yes/no answer")


def excel_serial_to_date(serial: float) -> dt.date:
    """Convert an Excel (1900 system) serial day number to a date."""
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def parse_uk_date(text: Any) -> Coerced:
    """Read a date written the UK way, ISO, or as an Excel serial number.

    Accepts dd/mm/yyyy, d/m/yy (also with '.' or '-'), dd-Mon-yyyy, dd Month yyyy,
    yyyy-mm-dd (with an optional time), dd/mm/yyyy hh:mm, and Excel serial numbers
    (e.g. 44197 = 2021-01-01). Gives a ``datetime.date``; month-first (US) dates are
    not guessed: 12/31/2021 is reported as not a valid UK date.
    """
    if is_missing(text):
        return Coerced(None)
    raw = str(text).strip()
    if spreadsheet_error(raw):
        return Coerced(None, reason="spreadsheet error value where a date was expected")
    weekday = _WEEKDAY.match(raw)
    if weekday:
        result = parse_uk_date(raw[weekday.end():])
        return Coerced(result.value, changed=True, reason=result.reason) if result.ok else result
    try:
        if match := _ISO.match(raw):
            year, month, day = (int(part) for part in match.groups())
            value = dt.date(year, month, day)
            return Coerced(value, changed=len(raw) != 10)
        if match := _DMY_TIME.match(raw):
            raw_date = match.group(1)
            result = parse_uk_date(raw_date)
            return Coerced(result.value, changed=True, reason=result.reason)
        if match := _DMY.match(raw):
            day, month, year = match.groups()
            return Coerced(dt.date(_year(year), int(month), int(day)), changed=True)
        if match := _D_MON_Y.match(raw):
            day, month_name, year = match.groups()
            month = _MONTHS.get(month_name.casefold())
            if month is None:
                return Coerced(None, reason=f"unknown month name {month_name!r}")
            return Coerced(dt.date(_year(year), month, int(day)), changed=True)
    except (ValueError, OverflowError):
        return Coerced(None, reason="not a valid date (day/month/year)")
    if _NUMERIC.match(raw):
        serial = _number(raw)
        low, high = EXCEL_SERIAL_RANGE
        # a whole serial is a day; a fraction is the time of day (44100.5 = noon), dropped
        if serial is not None and low <= serial < high + 1:
            return Coerced(excel_serial_to_date(serial), changed=True)
        return Coerced(None, reason="number that is not an Excel serial date")
    return Coerced(None, reason="not a date in a UK format (dd/mm/yyyy, dd-Mon-yyyy or yyyy-mm-dd)")


def is_formula_like(text: Any) -> bool:
    """True when a spreadsheet would run the text as a formula.

    Flags text starting with '=', '@', a tab or carriage return, or '+'/'-' followed by
    a non-space (``+cmd``, ``-2+3``); a plain negative number or a dash bullet
    ("- better teamwork") is not flagged.
    """
    if not isinstance(text, str) or not text:
        return False
    if _NUMERIC.match(text.strip()) and text[0] not in "\t\r":
        return False
    return bool(_FORMULA_LIKE.match(text))


def neutralise_formula(value: Any) -> Any:
    """Prefix an apostrophe to text a spreadsheet would run as a formula (for CSV).

    Every string starting with = + - @ tab or CR gets a leading apostrophe, so that
    spreadsheet programs show it as text. Non-strings are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def has_markup(text: Any) -> bool:
    """True when text holds HTML or script tags (``<script>``, ``<b>``, ``javascript:``)."""
    return isinstance(text, str) and bool(_MARKUP.search(text))


def escape_html(text: Any) -> Any:
    """Escape text for HTML output (< > & and quotes); non-strings unchanged."""
    return html.escape(text, quote=True) if isinstance(text, str) else text
