"""Choosing the respondent id from the exports' data, not their headers alone (the new-cohort scaffold).

``choose_respondent_id(tables, waves) -> IdChoice`` takes the exports of one cohort
(pcnstudy.ingest.exports.RawTable, one per wave, in the cohort's wave order) and gives
the column that can identify each respondent, every candidate with why it was taken
or refused, and the design that follows (``paired``, or ``anonymous`` when no column
qualifies: each row then gets a pseudonymous id and waves are not linked).

A candidate is a column whose header reads like a participant id or code, an email
address, or the survey tool's own per-response id (Qualtrics' ResponseId, found by
its column id whatever the language; SurveyMonkey's Respondent ID; Microsoft Forms'
ID; "Response ID" elsewhere). A candidate qualifies only when, in every export, it is
filled on every row and no value repeats: an empty column (a Qualtrics recipient
email on an anonymous link) or a constant one (Microsoft Forms' Email reading
"anonymous" on every row) is never taken.

Among those that qualify: for a single wave the tool's per-response id (it is unique
by construction and carries nothing personal), else a participant id, else an email
address; for several waves a participant id (then an email address) that links
respondents across waves. Per-response ids never link waves, so when only they
qualify for several waves the design is anonymous and the choice says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from pcnstudy.ingest.export_layouts import flatten_header, qualtrics_metadata
from pcnstudy.ingest.exports import RawTable
from pcnstudy.ingest.header_matching import LOW, MAPPED, normalise, role_score
from pcnstudy.ingest.pseudonym import normalise_id

#: Normalised headers of survey tools' per-response ids, by layout ("*": any layout).
TOOL_ID_HEADERS = {
    "surveymonkey": {"respondent id"},
    "msforms": {"id"},
    "*": {"response id", "responseid", "respondent id", "id"},
}
#: Ranking of the kinds of candidate, for one wave and for several.
PREFERENCE = {
    "single": ("response", "participant", "email"),
    "several": ("participant", "email"),
}
KIND_WORDS = {"response": "the survey tool's per-response id", "participant": "a participant id",
              "email": "an email address"}


@dataclass
class Candidate:
    """One column that could be the respondent id, and the verdict on it."""

    header: str
    kind: str  # response | participant | email
    score: float  # how strongly the header's wording suggests the kind
    qualifies: bool = False
    taken: bool = False
    reason: str = ""


@dataclass
class IdChoice:
    """The respondent id chosen from the data (None: no column qualifies) and the design it gives."""

    header: str | None
    design: str  # paired | anonymous
    candidates: list[Candidate] = field(default_factory=list)
    note: str = ""

    def lines(self) -> list[str]:
        """One line per candidate: taken or refused, and why (for cohort.yml's comments and the printed report)."""
        out = []
        for c in sorted(self.candidates, key=lambda c: (not c.taken, not c.qualifies)):
            verdict = "taken" if c.taken else "qualifies, not taken" if c.qualifies else "refused"
            out.append(f"{verdict}: {c.header!r} ({KIND_WORDS[c.kind]}): {c.reason}")
        return out


def tool_id_columns(table: RawTable) -> set[str]:
    """Headers of the survey tool's per-response id in one export, by its layout (Qualtrics by column id)."""
    found = {h for h in table.frame.columns if normalise(h) in TOOL_ID_HEADERS["*"] | TOOL_ID_HEADERS.get(table.layout, set())}
    if table.layout == "qualtrics":
        found |= {h for h, ident in qualtrics_metadata(table.extra).items() if ident.lower() in ("responseid", "_recordid")}
    return found


def candidates_of(tables: Sequence[RawTable]) -> list[Candidate]:
    """Every column of the exports that could be the respondent id, by kind, strongest wording first."""
    found: dict[str, Candidate] = {}
    for table in tables:
        tool = tool_id_columns(table)
        for header in table.frame.columns:
            header = str(header)
            if header in found:
                continue
            if header in tool:
                found[header] = Candidate(header, "response", 1.0)
                continue
            participant, email = role_score(header, "respondent_id"), role_score(header, "email")
            if participant >= MAPPED and participant >= email:
                found[header] = Candidate(header, "participant", participant)
            elif email >= MAPPED:
                found[header] = Candidate(header, "email", email)
            elif participant >= LOW and normalise(header) in TOOL_ID_HEADERS["*"]:
                found[header] = Candidate(header, "response", participant)
    order = {"participant": 0, "email": 1, "response": 2}
    return sorted(found.values(), key=lambda c: (order[c.kind], -c.score))


def _values(table: RawTable, header: str) -> list[str | None]:
    out = []
    for value in table.frame[header].tolist():
        text = flatten_header(value) if value is not None else ""
        out.append(normalise_id(text) if text else None)  # as ingest compares ids
    return out


def verdict(header: str, tables: Sequence[RawTable]) -> tuple[bool, str, list[set[str]]]:
    """(qualifies, why, the values of each export) of one column: filled on every row and unique in every export."""
    per_file: list[set[str]] = []
    for table in tables:
        name = table.path.name
        if header not in table.frame.columns:
            return False, f"not in {name}", per_file
        values = _values(table, header)
        n = len(values)
        filled = [v for v in values if v is not None]
        distinct = set(filled)
        if n == 0:
            return False, f"{name} has no data rows", per_file
        if not filled:
            return False, f"empty on every row of {name}", per_file
        if len(distinct) == 1 and n > 1:
            return False, f"the same value on every row of {name} (e.g. an anonymous form's placeholder)", per_file
        if len(filled) < n:
            return False, f"empty on {n - len(filled)} of {n} rows of {name}", per_file
        if len(distinct) < n:
            return False, f"{n - len(distinct)} of {n} rows of {name} repeat another row's value", per_file
        per_file.append(distinct)
    rows = sum(len(v) for v in per_file)
    return True, f"filled and unique on every row ({rows} rows in {len(tables)} export{'s' if len(tables) != 1 else ''})", per_file


def _linked(per_file: list[set[str]], waves: Sequence[str]) -> int:
    """Number of values found in more than one wave."""
    by_wave: dict[str, set[str]] = {}
    for wave, values in zip(waves, per_file):
        by_wave.setdefault(wave, set()).update(values)
    seen: dict[str, int] = {}
    for values in by_wave.values():
        for v in values:
            seen[v] = seen.get(v, 0) + 1
    return sum(1 for k in seen.values() if k > 1)


def choose_respondent_id(tables: Sequence[RawTable], waves: Sequence[str]) -> IdChoice:
    """Choose the respondent id column from the exports' data (see the module docstring)."""
    several = len(set(waves)) > 1
    candidates = candidates_of(tables)
    links: dict[str, int] = {}
    for c in candidates:
        c.qualifies, c.reason, per_file = verdict(c.header, tables)
        if c.qualifies and several:
            links[c.header] = _linked(per_file, waves)
            if c.kind == "response":
                c.qualifies = False
                c.reason += "; but a per-response id never links a person's waves"
            elif links[c.header] == 0:
                c.qualifies = False
                c.reason += "; but no value appears in more than one wave, so it links no one"
            else:
                c.reason += f"; links {links[c.header]} respondent(s) across waves"
    ranking = PREFERENCE["several" if several else "single"]
    ranked = sorted((c for c in candidates if c.qualifies),
                    key=lambda c: (ranking.index(c.kind), -links.get(c.header, 0), -c.score))
    if ranked:
        chosen = ranked[0]
        chosen.taken = True
        for c in ranked[1:]:
            c.reason += f"; {chosen.header!r} is preferred"
        note = ""
        if not several and chosen.kind == "response" and any(c.kind != "response" for c in ranked):
            other = next(c for c in ranked if c.kind != "response")
            note = (f"{other.header!r} qualifies too: use it as respondent_id if a later wave will be linked to this one")
        return IdChoice(chosen.header, "paired", candidates, note)
    only_response = several and any(c.kind == "response" and "never links" in c.reason for c in candidates)
    if only_response:
        note = ("only per-response ids identify the rows, and they do not link waves: the waves cannot be paired "
                "(if respondents typed a self-generated code at each wave, use design: self_code)")
    elif candidates:
        note = "no column is filled and unique on every row: each row is taken as one anonymous response"
    else:
        note = "the exports have no id column of any kind: each row is taken as one anonymous response"
    return IdChoice(None, "anonymous", candidates, note)
