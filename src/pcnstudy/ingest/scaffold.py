"""The new-cohort scaffold: cohort.yml's text from survey exports and the inferred mapping.

``build_cohort_yml(name, files, waves, tables, instrument) -> Scaffold`` takes the
copied exports (path, wave, format, layout), their tables (pcnstudy.ingest.exports.
RawTable) and the instrument, matches every header (pcnstudy.ingest.header_matching)
and gives cohort.yml's text (format of docs/architecture.md, plus a ``layout:`` per
file), the lines the analyst must edit, the matches, and the respondent id chosen
from the data (pcnstudy.ingest.respondent_id: its candidates are listed in comments;
``design: anonymous`` is written when none qualifies). Metadata known by a stable id
(Qualtrics' column ids and ImportIds, any language) and email or name columns that are
empty or constant (an anonymous form's "anonymous") are set aside before the wording
is matched (``preset_matches``). ``format_matches`` gives the
table of mapped, low-confidence and unmapped columns that ``pcnstudy new-cohort``
prints (the command itself is pcnstudy.ingest.commands.new_cohort_command).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pcnstudy.ingest.coerce import parse_uk_date
from pcnstudy.ingest.export_layouts import qualtrics_metadata
from pcnstudy.ingest.exports import RawTable
from pcnstudy.ingest.header_matching import GROUPS, MAPPED, SINGLE_ROLES, Match, infer_mapping, role_score
from pcnstudy.ingest.respondent_id import IdChoice, choose_respondent_id

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
    """The cohort.yml text, what the analyst must still do, and how the respondent id was chosen."""

    text: str
    edits: list[tuple[int, str]]  # (line number, what to edit)
    matches: list[Match]
    id_choice: IdChoice | None = None


def _filled(tables: Sequence[RawTable], header: str) -> set[str]:
    """The distinct non-empty values of a column over the exports that have it."""
    values: set[str] = set()
    for table in tables:
        if header in table.frame.columns:
            values |= {str(v).strip().casefold() for v in table.frame[header] if v is not None and str(v).strip()}
    return values


def preset_matches(table: RawTable, tables: Sequence[RawTable]) -> dict[str, Match]:
    """Matches decided before the wording is read: metadata known by its stable id, placeholder columns.

    Qualtrics' metadata is found by its column id or ImportId (any survey language) and
    set aside; its RecordedDate is the completion date, and a RecipientEmail that holds
    addresses is kept for redaction. An email or name column that is empty or reads the
    same on every row (an anonymous Microsoft Forms export's "anonymous") is set aside.
    """
    preset: dict[str, Match] = {}
    if table.layout == "qualtrics":
        for header, ident in qualtrics_metadata(table.extra).items():
            low = ident.lower()
            if low == "recordeddate":
                preset[header] = Match(header, "date", None, 0.95, "mapped", f"Qualtrics {ident}: when the response was recorded")
            elif low == "recipientemail" and len(_filled(tables, header)) > 1:
                preset[header] = Match(header, "email", None, 0.9, "mapped", f"Qualtrics {ident}, for redaction")
            elif low not in ("responseid", "_recordid"):  # the per-response id is judged with the other candidates
                preset[header] = Match(header, "ignore", None, 1.0, "ignored", f"Qualtrics metadata ({ident})")
    for header in table.frame.columns:
        header = str(header)
        if header in preset:
            continue
        role = "email" if role_score(header, "email") >= MAPPED else "name" if role_score(header, "name") >= MAPPED else None
        if role is None:
            continue
        values = _filled(tables, header)
        if len(values) <= 1:
            what = "empty on every row" if not values else "the same value on every row (an anonymous form)"
            preset[header] = Match(header, "ignore", None, 1.0, "ignored", f"set aside: {what}")
    return preset


def apply_id_choice(matches: list[Match], roles: dict[str, Match], choice: IdChoice) -> None:
    """Give the respondent_id role to the column chosen from the data; note every candidate's verdict."""
    by_header = {m.header: m for m in matches}
    for cand in choice.candidates:
        m = by_header.get(cand.header)
        if m is None:
            continue
        if cand.taken:
            m.role, m.target, m.status, m.score = "respondent_id", None, "mapped", 1.0
            m.note = "chosen from the data: filled and unique on every row (see the candidates above)"
            for role, holder in list(roles.items()):
                if holder is m and role != "respondent_id":
                    del roles[role]
            roles["respondent_id"] = m
        elif m.role in ("respondent_id", None, "ignore"):
            if roles.get("respondent_id") is m:
                del roles["respondent_id"]
            if m.status != "ignored" or m.role is None:
                m.role, m.target, m.status = "ignore", None, "ignored"
            if not m.note.startswith("set aside"):
                m.note = f"not the respondent id: {cand.reason}"
    if choice.header is None:
        roles.pop("respondent_id", None)
    for m in matches:  # a header that only reads like an id (e.g. "External Reference") is not one
        if m.role == "respondent_id" and roles.get("respondent_id") is not m:
            m.role, m.target, m.status = "ignore", None, "ignored"
            m.note = "reads like an id, but the data chose another column" if choice.header else \
                "reads like an id, but is not filled and unique on every row"


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
        for match in infer_mapping(list(table.frame.columns), instrument, preset_matches(table, tables)):
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
    choice = choose_respondent_id(tables, [entry["wave"] for entry in files])
    apply_id_choice(matches, roles, choice)
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
    if choice.design == "anonymous":
        add(f"design: anonymous  # CHECK: {choice.note}; rows get pseudonymous ids and waves are not linked")
    else:
        add(f"# design: paired (the default): {_q(choice.header)} identifies each respondent"
            + (" and links the waves" if len(set(waves)) > 1 else ""))
    if choice.candidates:
        add("# Respondent id candidates (a column qualifies only when it is filled and unique in every export):")
        for line in choice.lines():
            add(f"#   {line}")
        if choice.header and choice.note:
            add(f"#   {choice.note}")
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
        elif role == "respondent_id" and choice.design != "anonymous":
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
    return Scaffold("\n".join(lines) + "\n", edits, matches, choice)


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
