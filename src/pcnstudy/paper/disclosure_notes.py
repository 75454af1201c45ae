"""What the disclosure markers in a paper table mean, said in the table's caption.

``band_percent("0.80-0.95")`` gives a published share band as running text, '80–95%'
(``band_bounds`` as numbers).
``with_disclosure_note(table, marker)`` adds a note to a markdown table's caption (the
same text reaches the HTML and the PDF) when its cells hold the primary marker
(``<5``: a count below the threshold, or a statistic resting on one), the
complementary marker (``[c]``: hidden so that another hidden count cannot be
recovered from the totals) or a band (the share's range given the published totals).
Each note names only the markers its table holds.
"""
from __future__ import annotations

import re

from pcnstudy.core.disclosure import SECONDARY_MARKER

CAPTION = re.compile(r"^: (.*) (\{#tbl-[^}]*\})\s*$")
BAND = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


def band_bounds(band) -> tuple[float, float] | None:
    """'0.80-0.95' -> (0.8, 0.95); None when it is not a band."""
    m = BAND.match(str(band)) if band is not None else None
    return (float(m.group(1)), float(m.group(2))) if m else None


def band_percent(band: str, sign: bool = True) -> str:
    """'0.80-0.95' -> '80–95%' (a band of fractions as percentages; '80–95' without ``sign``)."""
    bounds = band_bounds(band)
    if bounds is None:
        return str(band)
    low, high = (round(x * 100) for x in bounds)
    return f"{low}–{high}{'%' if sign else ''}"


def _escaped(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|$@~^])", r"\\\1", text)


def _body(table: str) -> str:
    """The table's rows (not its caption line)."""
    return "\n".join(line for line in table.splitlines() if line.startswith("|"))


def with_disclosure_note(table: str, marker: str) -> str:
    """``table`` with a note under it explaining each disclosure marker its cells hold."""
    body = _body(table)
    threshold = marker.lstrip("<")
    parts = []
    if f"| {_escaped(marker)} |" in body or f"({_escaped(marker)}" in body:
        parts.append(f"{marker}: a count from 1 to {int(threshold) - 1} (or a statistic resting on one), "
                     "hidden by disclosure control" if threshold.isdigit() else f"{marker}: hidden by disclosure control")
    if _escaped(SECONDARY_MARKER) in body:
        parts.append(f"{SECONDARY_MARKER}: hidden so that a small count elsewhere cannot be worked out from "
                     "the totals (complementary suppression; the value may be of any size)")
    if re.search(r"\| \d+–\d+ \|", body):
        parts.append("a range such as 80–95: a hidden percentage, shown as the range the published totals "
                     "allow")
    if not parts:
        return table
    note = "; ".join(parts)
    note = _escaped(note[:1].upper() + note[1:] + ".")
    lines = table.rstrip("\n").split("\n")
    for pos in range(len(lines) - 1, -1, -1):
        m = CAPTION.match(lines[pos])
        if m:
            caption = m.group(1).rstrip()
            sep = "" if caption.endswith(".") else "."
            lines[pos] = f": {caption}{sep} *Note:* {note} {m.group(2)}"
            return "\n".join(lines) + "\n"
    return table.rstrip("\n") + "\n\n*Note:* " + note + "\n"
