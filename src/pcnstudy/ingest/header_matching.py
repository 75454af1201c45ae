"""Header matching: export headers to cohort.yml's mapping and to the instrument.

Two uses, one notion of "the same header":

- ``infer_mapping(headers, instrument)`` (the new-cohort scaffold) takes an export's
  headers and the instrument (config/instrument.yml as a dict) and gives one ``Match``
  per header: the role it plays (respondent_id, pcn, profession, role, group, date,
  name, email; an instrument item, feedback item or free-text question; or ignore for
  survey-tool metadata), a similarity score in [0, 1] and a status: ``mapped``
  (score >= MAPPED), ``low`` (LOW <= score < MAPPED: written to cohort.yml with a
  CHECK comment), ``unmapped`` (nothing close enough), or ``ignored`` (a known
  metadata column: start time, IP address, progress ...).
  Headers are compared after normalising: lower case, accents dropped, numbering
  prefixes ("Q3.", "3)", "4.a.") and punctuation removed; a matrix header
  ("Question - Statement", "Question [Statement]") is also compared by its parts.
  Similarity is the larger of difflib's ratio and the Dice overlap of word sets.
- ``match_headers(headers, mapped)`` (ingest) gives the renames of export headers
  that match a cohort.yml header only up to case, spacing and typographic quotes.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from pcnstudy.ingest.export_layouts import flatten_header

MAPPED = 0.85
LOW = 0.6
SINGLE_ROLES = ("respondent_id", "pcn", "profession", "role", "group", "date", "name", "email")
GROUPS = {"item": "items", "feedback": "feedback", "text": "text"}

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


def role_score(header: str, role: str) -> float:
    """How strongly a header's wording suggests a single role (respondent_id, email, ...), in [0, 1]."""
    parts = header_parts(header)[:1]
    return max((_role_score(parts, v) * w for v, w in ROLE_VARIANTS.get(role, [])), default=0.0)


def infer_mapping(headers: Iterable[str], instrument: dict[str, Any],
                  preset: dict[str, Match] | None = None) -> list[Match]:
    """Match each header to a role or instrument id; one Match per header, in order.

    ``preset`` holds matches decided before the wording is read (a layout's metadata
    recognised by its stable column ids, e.g. a German Qualtrics export's "Anfangsdatum"
    by its id StartDate): those headers keep them and take no other role.

    Each single role (respondent_id, pcn, ...) and each instrument id goes to the
    header that matches it best; a header that loses keeps its next best candidate
    when that is still a likely match, else it is unmapped with a note. When no
    header looks like a participant id, an email column serves as respondent_id.
    """
    headers = list(headers)
    texts = instrument_texts(instrument)
    cands = {h: _candidates(h, texts) for h in headers}
    matches: dict[str, Match] = {h: m for h, m in (preset or {}).items() if h in set(headers)}
    for h in headers:
        if h in matches:
            continue
        if normalise(h) in IGNORED or any(p in IGNORED for p in header_parts(h)[:1]):
            matches[h] = Match(h, "ignore", None, 1.0, "ignored", "survey-tool metadata")
    taken: dict[tuple[str, str | None], str] = {}
    pending = [h for h in headers if h not in matches]
    # Greedy assignment: the strongest (header, candidate) pairs first.
    pairs = sorted(
        ((c[2], -headers.index(h), h, c) for h in pending for c in cands[h] if c[2] >= LOW),
        key=lambda t: (-t[0], -t[1]),
    )
    for m in matches.values():
        if m.role and m.role != "ignore" and m.status in ("mapped", "low"):
            taken[(m.role, m.target)] = m.header
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


# --------------------------------------------------------------------------- ingest


def header_key(header: Any) -> str:
    """A header as compared with cohort.yml's mapping when it does not match exactly.

    Case, whitespace runs (non-breaking spaces included), zero-width characters and
    typographic quotes are ignored: "Q1.  I am CONFIDENT\u00a0leading" matches "Q1. I am confident leading".
    """
    text = flatten_header(header).casefold()
    return text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))


def match_headers(headers: list[str], mapped: Iterable[str]) -> dict[str, str]:
    """Export header -> cohort.yml header for mapped headers found only up to case/spacing (see ``header_key``).

    A mapped header that is in the export exactly, or that two export headers match,
    is left alone (the mapping problems then say so).
    """
    present = set(headers)
    by_key: dict[str, list[str]] = {}
    for header in headers:
        by_key.setdefault(header_key(header), []).append(header)
    renames = {}
    for want in mapped:
        if want in present:
            continue
        found = [h for h in by_key.get(header_key(want), []) if h not in renames]
        if len(found) == 1 and found[0] not in set(mapped):
            renames[found[0]] = want
    return renames
