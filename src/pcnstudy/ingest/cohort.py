"""Scaffold a new cohort from its survey exports, inferring the column mapping.

``infer_mapping(headers, instrument)`` takes an export's headers and the instrument
(config/instrument.yml as a dict) and gives one ``Match`` per header: the role it
plays (respondent_id, pcn, profession, role, group, date, name, email; an
instrument item, feedback item or free-text question; or ignore for survey-tool
metadata), a similarity score in [0, 1] and a status:

- ``mapped`` (score >= MAPPED), ``low`` (LOW <= score < MAPPED: written to
  cohort.yml with a CHECK comment), ``unmapped`` (nothing close enough), or
  ``ignored`` (a known metadata column: start time, IP address, progress ...).

Headers are compared after normalising: lower case, accents dropped, numbering
prefixes ("Q3.", "3)", "4.a.") and punctuation removed; a matrix header
("Question - Statement", "Question [Statement]") is also compared by its parts.
Similarity is the larger of difflib's ratio and the Dice overlap of word sets.

``new_cohort_command(name, exports, waves)`` copies the exports byte for byte into
``data/raw/NAME/``, writes ``cohort.yml`` (format of docs/architecture.md, plus a
``layout:`` per file) and prints a table of mapped, low-confidence and unmapped
columns. Exit codes: 0 scaffolded, 1 a required field (respondent_id, and at least
one item or text column) is unmapped or an export is unreadable (the line of
cohort.yml to edit is named), 2 a usage error (bad name, folder exists, --wave count
not matching --export, export missing).
"""
from __future__ import annotations

import difflib
import json
import re
import shutil
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from pcnstudy.core import paths
from pcnstudy.ingest.exports import RawTable, read_export

MAPPED = 0.85
LOW = 0.6
COHORT_NAME = re.compile(r"^[a-z0-9_]+$")
SINGLE_ROLES = ("respondent_id", "pcn", "profession", "role", "group", "date", "name", "email")
GROUPS = {"item": "items", "feedback": "feedback", "text": "text"}
DEFAULT_WAVES = {1: ["end"], 2: ["baseline", "end"], 3: ["baseline", "mid", "end"]}

#: Known header variants of each role, normalised, with how strongly each suggests it.
#: Per-response ids written by survey tools (ResponseId, Respondent ID, ID) do not link
#: a participant's waves, so they weigh less than a participant id or an email address.
ROLE_VARIANTS: dict[str, list[tuple[str, float]]] = {
    "respondent_id": [
        ("participant id", 1.0), ("participant code", 1.0), ("participant number", 1.0),
        ("participant identifier", 1.0), ("participant ref", 1.0), ("participant reference", 1.0),
        ("please enter your participant id", 1.0), ("what is your participant id", 1.0),
        ("your participant id", 1.0), ("delegate id", 0.95), ("study id", 0.95), ("unique id", 0.95),
        ("unique identifier", 0.95), ("respondent code", 0.95), ("staff id", 0.9), ("participant", 0.9),
        ("respondent", 0.85), ("external reference", 0.7), ("external data reference", 0.7),
        ("respondent id", 0.7), ("response id", 0.7), ("responseid", 0.7), ("id", 0.7),
    ],
    "email": [("email", 1.0), ("email address", 1.0), ("e mail", 1.0), ("e mail address", 1.0),
              ("your email address", 1.0), ("emailaddress", 1.0), ("recipient email", 0.9)],
    "name": [("name", 1.0), ("full name", 1.0), ("your name", 1.0), ("participant name", 1.0),
             ("respondent name", 1.0)],
    "pcn": [("pcn", 1.0), ("pcn name", 1.0), ("primary care network", 1.0), ("your pcn", 1.0),
            ("which primary care network do you work in", 1.0), ("which pcn do you work in", 1.0),
            ("which pcn are you part of", 1.0), ("network", 0.9), ("primary care network pcn", 1.0)],
    "profession": [("profession", 1.0), ("what is your profession", 1.0), ("professional group", 1.0),
                   ("staff group", 0.95), ("professional background", 1.0), ("discipline", 0.9),
                   ("occupation", 0.95), ("job title", 0.85)],
    "role": [("role", 1.0), ("current role", 1.0), ("your role", 1.0), ("role in the pcn", 1.0),
             ("what is your role", 1.0), ("job role", 1.0), ("position", 0.9)],
    "group": [("group", 1.0), ("cohort group", 1.0), ("learning set", 1.0), ("action learning set", 1.0),
              ("als group", 1.0), ("als", 0.9), ("set", 0.9), ("cohort", 0.95), ("sub group", 1.0)],
    "date": [("date completed", 1.0), ("completion time", 1.0), ("date of completion", 1.0),
             ("submitted", 0.95), ("submitted at", 0.95), ("submission date", 0.95), ("timestamp", 0.95),
             ("recorded date", 0.95), ("recordeddate", 0.95), ("end date", 0.9), ("enddate", 0.9),
             ("date", 0.9), ("survey date", 0.95)],
}
#: Survey tools' metadata columns the analysis does not use.
IGNORED = {
    "start date", "startdate", "start time", "status", "response type", "ip address", "ipaddress",
    "progress", "duration in seconds", "finished", "last modified time", "location latitude",
    "locationlatitude", "location longitude", "locationlongitude", "distribution channel",
    "distributionchannel", "user language", "userlanguage", "collector id", "custom data",
    "custom data 1", "recipient first name", "recipientfirstname", "recipient last name",
    "recipientlastname", "first name", "last name", "response set", "responseset",
}
STOP = {"the", "a", "an", "of", "to", "and", "in", "on", "my", "i", "is", "your", "you", "do", "what", "for"}


@dataclass
class Match:
    """How one export header was matched: role, target id, score and status."""

    header: str
    role: str | None  # respondent_id, pcn, ..., item, feedback, text, ignore; None when unmapped
    target: str | None  # the instrument id for item/feedback/text
    score: float
    status: str  # mapped | low | unmapped | ignored
    note: str = ""
    alternatives: list[tuple[str, str | None, float]] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        """Role and target as one word, e.g. 'item:lead_1' or 'pcn'."""
        if self.role in GROUPS:
            return f"{self.role}:{self.target}"
        return self.role or "-"


# --------------------------------------------------------------------------- similarity


def normalise(text: str) -> str:
    """Lower case, accents dropped, numbering prefix and punctuation removed, spaces collapsed."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("’", "'").replace("'", "")
    text = re.sub(
        r"^\s*(?:(?:q|question|item)\s*\d+[a-z]?(?:[._]\d+)*[a-z]?\s*[.):\-]?|\d+(?:[._]\d+)*\s*[a-z]?\s*[.):\-]"
        r"(?:\s*[a-z][.)])?)\s*",
        "",
        text,
    )
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


def header_parts(header: str) -> list[str]:
    """Return the normalised texts a header is compared by: whole, and matrix parts."""
    parts = [header]
    bracket = re.fullmatch(r"(.*?)\s*\[(.+)\]\s*", header)
    if bracket:
        parts += [bracket.group(2), bracket.group(1)]
    pieces = re.split(r"\s+-\s+", header)
    if len(pieces) > 1:
        parts += pieces
        parts.append(" - ".join(pieces[1:]))
    out: list[str] = []
    for part in parts:
        norm = normalise(part)
        if norm and norm not in out:
            out.append(norm)
    return out


def similarity(a: str, b: str) -> float:
    """Similarity of two normalised texts: max of difflib's ratio and Dice overlap of word sets."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    wa = {w for w in a.split() if w not in STOP}
    wb = {w for w in b.split() if w not in STOP}
    best = 2 * len(wa & wb) / (len(wa) + len(wb)) if wa and wb else 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # ratio() <= quick_ratio() <= real_quick_ratio(): skip the costly ratio() when it cannot
    # beat the word overlap or reach LOW (below LOW the score only feeds a "nearest" note)
    floor = max(best, LOW)
    if matcher.real_quick_ratio() > floor and matcher.quick_ratio() > floor:
        best = max(best, matcher.ratio())
    return best


def _role_score(parts: Sequence[str], variant: str) -> float:
    best = 0.0
    for part in parts:
        if part == variant:
            return 1.0
        words = part.split()
        vwords = variant.split()
        if re.search(rf"(?:^| ){re.escape(variant)}(?: |$)", part) and len(words) <= len(vwords) + 5:
            best = max(best, 0.9)
        elif len(variant) > 3:
            matcher = difflib.SequenceMatcher(None, part, variant, autojunk=False)
            if matcher.real_quick_ratio() >= 0.85 and matcher.quick_ratio() >= 0.85:
                ratio = matcher.ratio()
                if ratio >= 0.85:  # a typo or plural of the variant, not merely shared letters
                    best = max(best, ratio * 0.95)
    return best


def instrument_texts(instrument: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return (role, id, normalised text) for each item, feedback item and question."""
    out = []
    for role, key in (("item", "items"), ("feedback", "feedback"), ("text", "questions")):
        for entry in instrument.get(key, []) or []:
            out.append((role, str(entry["id"]), normalise(entry["text"])))
    return out


def _candidates(header: str, texts: list[tuple[str, str, str]]) -> list[tuple[str, str | None, float]]:
    parts = header_parts(header)
    whole = parts[:1]  # roles are judged on the whole header, not on an option's label
    found: list[tuple[str, str | None, float]] = []
    for role, variants in ROLE_VARIANTS.items():
        score = max((_role_score(whole, v) * w for v, w in variants), default=0.0)
        found.append((role, None, score))
    for role, ident, text in texts:
        found.append((role, ident, max((similarity(p, text) for p in parts), default=0.0)))
    found.sort(key=lambda c: -c[2])
    return found


def _status(score: float) -> str:
    return "mapped" if score >= MAPPED else "low" if score >= LOW else "unmapped"


def infer_mapping(headers: Iterable[str], instrument: dict[str, Any]) -> list[Match]:
    """Match each header to a role or instrument id; one Match per header, in order.

    Each single role (respondent_id, pcn, ...) and each instrument id goes to the
    header that matches it best; a header that loses keeps its next best candidate
    when that is still a likely match, else it is unmapped with a note. When no
    header looks like a participant id, an email column serves as respondent_id.
    """
    headers = list(headers)
    texts = instrument_texts(instrument)
    cands = {h: _candidates(h, texts) for h in headers}
    matches: dict[str, Match] = {}
    for h in headers:
        if normalise(h) in IGNORED or any(p in IGNORED for p in header_parts(h)[:1]):
            matches[h] = Match(h, "ignore", None, 1.0, "ignored", "survey-tool metadata")
    taken: dict[tuple[str, str | None], str] = {}
    pending = [h for h in headers if h not in matches]
    # Greedy assignment: the strongest (header, candidate) pairs first.
    pairs = sorted(
        ((c[2], -headers.index(h), h, c) for h in pending for c in cands[h] if c[2] >= LOW),
        key=lambda t: (-t[0], -t[1]),
    )
    for score, _, h, (role, target, _) in pairs:
        if h in matches:
            continue
        key = (role, target)
        if key in taken:
            continue
        taken[key] = h
        matches[h] = Match(h, role, target, round(score, 3), _status(score), alternatives=cands[h][:3])
    # Email stands in for a participant id when there is none.
    ids = [m for m in matches.values() if m.role == "respondent_id"]
    emails = [m for m in matches.values() if m.role == "email"]
    if emails and (not ids or ids[0].score < 0.85):
        email = emails[0]
        if ids:
            old = ids[0]
            matches[old.header] = Match(old.header, "ignore", None, old.score, "ignored",
                                        "a per-response id; the email column identifies participants instead")
        matches[email.header] = Match(email.header, "respondent_id", None, MAPPED, "mapped",
                                      "email address used as respondent id (no participant id column)")
    ids = [m for m in matches.values() if m.role == "respondent_id"]
    if ids and ids[0].score < MAPPED:
        ids[0].note = "a per-response id from the survey tool: it does not link a participant's waves"
    out = []
    for h in headers:
        if h in matches:
            out.append(matches[h])
            continue
        best = cands[h][0] if cands[h] else ("", None, 0.0)
        note = ""
        if best[2] >= LOW:
            holder = taken.get((best[0], best[1]))
            if holder is None and best[0] == "respondent_id":
                holder = next((m.header for m in matches.values() if m.role == "respondent_id"), None)
            what = f"{best[0]}:{best[1]}" if best[1] else best[0]
            note = f"also looks like {what} ({best[2]:.2f}); {holder!r} was matched to it"
            if best[0] in ("respondent_id", "date", "email", "name"):
                out.append(Match(h, "ignore", None, round(best[2], 3), "ignored", note, alternatives=cands[h][:3]))
                continue
        elif best[2] > 0:
            what = f"{best[0]}:{best[1]}" if best[1] else best[0]
            note = f"nearest: {what} ({best[2]:.2f})"
        out.append(Match(h, None, None, round(best[2], 3), "unmapped", note, alternatives=cands[h][:3]))
    return out


# --------------------------------------------------------------------------- cohort.yml


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
    try:
        from pcnstudy.ingest.coerce import parse_uk_date
    except ImportError:  # pragma: no cover - ingest's reader not installed
        return None
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


# --------------------------------------------------------------------------- command


def _shown(path: Path) -> Path:
    """The path relative to the working directory when it lies below it (for messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def new_cohort_command(
    name: str,
    exports: Sequence[Path],
    waves: Sequence[str] | None = None,
    raw: Path | None = None,
    instrument_path: Path | None = None,
) -> int:
    """Scaffold ``raw/NAME`` from survey exports; return 0, 1 (edit needed) or 2 (usage).

    An export that breaks the scaffolder in a way not foreseen gives one line of plain
    words and exit 1, never a traceback.
    """
    try:
        return _new_cohort(name, exports, waves, raw, instrument_path)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        print(f"new-cohort: cannot scaffold {name!r}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        return 1


def _new_cohort(
    name: str,
    exports: Sequence[Path],
    waves: Sequence[str] | None,
    raw: Path | None,
    instrument_path: Path | None,
) -> int:
    import yaml

    raw = Path(raw) if raw else paths.RAW
    exports = [Path(e) for e in exports or []]
    waves = [w.strip() for w in waves or []]
    if not COHORT_NAME.fullmatch(name or ""):
        _err(f"new-cohort: cohort name {name!r} must be lower-case letters, digits and _ only")
        return 2
    if not exports:
        _err("new-cohort: give at least one --export FILE")
        return 2
    target = raw / name
    if target.exists():
        _err(f"new-cohort: {target} already exists; choose another name or edit its cohort.yml")
        return 2
    missing = [str(e) for e in exports if not e.is_file()]
    if missing:
        _err(f"new-cohort: export not found: {', '.join(missing)}")
        return 2
    if waves and len(waves) != len(exports):
        _err(f"new-cohort: {len(exports)} --export but {len(waves)} --wave; give one wave per export, in order")
        return 2
    if not waves:
        if len(exports) not in DEFAULT_WAVES:
            _err(f"new-cohort: {len(exports)} exports: give --wave for each, in order")
            return 2
        waves = DEFAULT_WAVES[len(exports)]
    bad = [w for w in waves if not COHORT_NAME.fullmatch(w)]
    if bad:
        _err(f"new-cohort: wave label {bad[0]!r} must be lower-case letters, digits and _ only")
        return 2
    instrument = yaml.safe_load(Path(instrument_path or paths.INSTRUMENT).read_text(encoding="utf-8"))

    tables: list[RawTable] = []
    unreadable = []
    for export in exports:
        table = read_export(export, name=export.name)
        tables.append(table)
        if table.frame.shape[1] == 0:
            unreadable += [p.format() for p in table.problems if p.scope == "file"]
    if unreadable:
        for line in unreadable:
            _err(line)
        _err("new-cohort: an export could not be read as a table; nothing was written")
        return 1

    files: list[dict[str, str]] = []
    names_used: set[str] = set()
    for export, wave, table in zip(exports, waves, tables):
        dest = export.name
        if dest in names_used:
            dest = f"{wave}-{export.name}"
        names_used.add(dest)
        files.append({"path": dest, "wave": wave, "format": table.format, "layout": table.layout})
    scaffold = build_cohort_yml(name, files, waves, tables, instrument)

    target.mkdir(parents=True)
    for export, entry in zip(exports, files):
        shutil.copyfile(export, target / entry["path"])
    config_path = target / "cohort.yml"
    config_path.write_text(scaffold.text, encoding="utf-8", newline="\n")
    config = _shown(config_path)
    target = _shown(target)

    print(f"Scaffolded {target} from {len(exports)} export(s):")
    for entry, table in zip(files, tables):
        print(f"  {entry['path']}: wave {entry['wave']}, {entry['format']}, layout {entry['layout']}, "
              f"{table.rows_read} data rows")
        for problem in table.problems:
            print(f"    {problem.format()}")
    print()
    print(format_matches(scaffold.matches))
    counts = {s: sum(1 for m in scaffold.matches if m.status == s) for s in ("mapped", "low", "unmapped", "ignored")}
    print()
    print(f"{counts['mapped']} mapped, {counts['low']} low-confidence (marked CHECK), "
          f"{counts['unmapped']} unmapped, {counts['ignored']} ignored metadata columns.")
    for line, what in scaffold.edits:
        print(f"{config}:{line}: EDIT: {what}")
    if scaffold.edits:
        return 1
    print(f"Next: fill in the EDIT lines of {config}, then run `pcnstudy validate {target}`.")
    return 0
