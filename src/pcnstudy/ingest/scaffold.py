"""The new-cohort scaffold: cohort.yml's text from survey exports and the inferred mapping.

``build_cohort_yml(name, files, waves, tables, instrument) -> Scaffold`` takes the
copied exports (path, wave, format, layout), their tables (pcnstudy.ingest.exports.
RawTable) and the instrument, matches every header (pcnstudy.ingest.header_matching)
and gives cohort.yml's text (format of docs/architecture.md, plus a ``layout:`` per
file), the lines the analyst must edit, and the matches; ``format_matches`` gives the
table of mapped, low-confidence and unmapped columns that ``pcnstudy new-cohort``
prints (the command itself is pcnstudy.ingest.commands.new_cohort_command).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pcnstudy.ingest.coerce import parse_uk_date
from pcnstudy.ingest.exports import RawTable
from pcnstudy.ingest.header_matching import GROUPS, SINGLE_ROLES, Match, infer_mapping

COHORT_NAME = re.compile(r"^[a-z0-9_]+$")
DEFAULT_WAVES = {1: ["end"], 2: ["baseline", "end"], 3: ["baseline", "mid", "end"]}


def _q(text: Any) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _comment(match: Match) -> str:
    if match.status == "low":
        return f"  # CHECK: low confidence ({match.score:.2f}){'; ' + match.note if match.note else ''}"
    if match.note:
        return f"  # {match.score:.2f}; {match.note}"
    return f"  # {match.score:.2f}"


@dataclass
class Scaffold:
    """The cohort.yml text and what the analyst must still do."""

    text: str
    edits: list[tuple[int, str]]  # (line number, what to edit)
    matches: list[Match]


def _count_pcns(tables: Sequence[RawTable], header: str | None) -> int | None:
    if not header:
        return None
    values = set()
    for table in tables:
        if header in table.frame.columns:
            values |= {str(v).strip().lower() for v in table.frame[header] if v is not None and str(v).strip()}
    return len(values) or None


def _first_non_uk_date(tables: Sequence[RawTable], header: str) -> str | None:
    """Return the first value of a date column that ingest's date reader rejects, else None."""
    for table in tables:
        if header not in table.frame.columns:
            continue
        for value in table.frame[header]:
            if value is not None and parse_uk_date(value).value is None:
                return value
    return None


def build_cohort_yml(
    name: str,
    files: Sequence[dict[str, str]],
    waves: Sequence[str],
    tables: Sequence[RawTable],
    instrument: dict[str, Any],
) -> Scaffold:
    """Write cohort.yml's text from the exports' tables and the inferred mapping.

    ``files`` holds path, wave, format and layout of each copied export. Returns the
    text, the lines the analyst must edit, and the merged matches (each header once).
    """
    seen: dict[str, Match] = {}
    for table in tables:
        for match in infer_mapping(list(table.frame.columns), instrument):
            old = seen.get(match.header)
            if old is None or (old.status != "mapped" and match.score > old.score):
                seen[match.header] = match
    matches = list(seen.values())
    # A single role may be won by different headers in different files: keep the best.
    roles: dict[str, Match] = {}
    for m in matches:
        if m.role in SINGLE_ROLES and m.status in ("mapped", "low"):
            if m.role not in roles or m.score > roles[m.role].score:
                roles[m.role] = m
    for m in matches:
        if m.role in SINGLE_ROLES and m.status in ("mapped", "low") and roles[m.role] is not m:
            m.note = f"another file's {roles[m.role].header!r} was chosen for {m.role}"
            m.role, m.status = None, "unmapped"
    if "respondent_id" in roles and "email" in roles and roles["email"].header == roles["respondent_id"].header:
        del roles["email"]
    n_pcns = _count_pcns(tables, roles["pcn"].header if "pcn" in roles else None)
    date_note = ""
    if "date" in roles:
        bad = _first_non_uk_date(tables, roles["date"].header)
        if bad is not None:
            m = roles.pop("date")
            m.role, m.status = None, "unmapped"
            m.note = f"looks like the date, but {bad!r} is not a UK date (ingest reads dd/mm/yyyy or ISO)"
            date_note = f"  # date: {_q(m.header)}  # not mapped: values such as {bad!r} are not UK dates"

    lines: list[str] = []
    edits: list[tuple[int, str]] = []

    def add(line: str, edit: str | None = None) -> None:
        lines.append(line)
        if edit:
            edits.append((len(lines), edit))

    add(f"# Written by `pcnstudy new-cohort {name}`. Check the lines marked EDIT or CHECK,")
    add(f"# then run `pcnstudy validate data/raw/{name}`. Column keys are the exports' headers.")
    add(f"cohort: {name}")
    add("programme: null  # EDIT: the programme's name")
    add("region: null  # EDIT: where the programme ran")
    add(f"n_pcns: {n_pcns if n_pcns else 'null'}  # CHECK: {'distinct PCN values in the exports' if n_pcns else 'number of PCNs taking part'}")
    add("start: null  # EDIT: first day of the programme, YYYY-MM-DD")
    add("end: null  # EDIT: last day of the programme, YYYY-MM-DD")
    add(f"waves: [{', '.join(_unique(waves))}]")
    add("retrospective_waves: []")
    add(f"instrument: {instrument.get('version', 1)}")
    add("files:")
    for entry in files:
        add(f"  - path: {_q(entry['path'])}")
        add(f"    wave: {entry['wave']}")
        add(f"    format: {entry['format']}")
        add(f"    layout: {entry['layout']}  # detected; change it if the headers were misread")
    add("columns:")
    for role in SINGLE_ROLES:
        if role in roles:
            m = roles[role]
            add(f"  {role}: {_q(m.header)}{_comment(m)}")
        elif role == "respondent_id":
            hint = ", ".join(_q(m.header) for m in matches if m.status == "unmapped")[:200]
            add("  respondent_id: null  # EDIT: the export column that identifies a participant across waves"
                + (f" (columns left: {hint})" if hint else ""),
                "respondent_id is unmapped: name the column that identifies each participant")
    if date_note:
        add(date_note)
    n_rating = 0
    for role, group in GROUPS.items():
        chosen = [m for m in matches if m.role == role and m.status in ("mapped", "low")]
        if not chosen:
            continue
        add(f"  {group}:")
        for m in chosen:
            add(f"    {_q(m.header)}: {m.target}{_comment(m)}")
        n_rating += len(chosen)
    if not n_rating:
        add("  items: {}  # EDIT: map each rating column to an instrument item id, e.g. \"Header\": lead_1",
            "no column matched an instrument item, feedback item or question")
    left = [m for m in matches if m.status == "unmapped"]
    if left:
        add("# Columns not mapped (ignored by ingest; add any that hold instrument items above):")
        for m in left:
            add(f"#   {_q(m.header)}{'  (' + m.note + ')' if m.note else ''}")
    add("names: []  # optional: participant and staff names, for redaction of free text")
    return Scaffold("\n".join(lines) + "\n", edits, matches)


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def format_matches(matches: Sequence[Match], width: int = 60) -> str:
    """Return the table of matches printed by new-cohort: status, score, role, header, note."""
    order = {"mapped": 0, "low": 1, "unmapped": 2, "ignored": 3}
    rows = [("status", "score", "maps to", "export header")]
    for m in sorted(matches, key=lambda m: order[m.status]):
        header = m.header if len(m.header) <= width else m.header[: width - 3] + "..."
        label = m.label if m.status != "unmapped" else "-"
        rows.append((m.status, f"{m.score:.2f}", label, header))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows
    )
