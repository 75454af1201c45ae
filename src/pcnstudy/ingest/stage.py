"""The ingest stage: raw survey exports to validated, pseudonymised, redacted tidy tables.

Takes the raw data folder (one folder per cohort, each with a cohort.yml describing
its exports, see docs/architecture.md) and gives, in the output folder:

- respondents, ratings, feedback, texts as parquet and CSV (docs/data-dictionary.md);
- quarantine.csv: every problem found (file, row, column, value, reason);
- ingest_report.json: per file rows_read, rows_kept, rows_quarantined,
  values_coerced, values_quarantined, values_flagged; totals; respondents without a
  baseline per cohort; redaction counts per kind.

Nothing is lost: every raw row is kept or quarantined (``IngestError`` when a file's
rows_read differs from kept + quarantined). A bad cell becomes missing with a
quarantine record; a row without a usable respondent id (or a second row for the
same respondent in one wave, or a row in a wave the cohort does not declare) is
quarantined whole; a file that is not what cohort.yml declares is set aside whole.
Respondent ids become pseudonyms (pcnstudy.ingest.pseudonym) and free text is redacted
(pcnstudy.ingest.redact) before anything is written; name and email columns are read only
to redact. Free text is kept as written but flagged when it looks like a formula
(neutralised with a leading apostrophe in every CSV), holds HTML/script tags
(escape it wherever it reaches HTML), or is longer than ``MAX_TEXT_CHARS``
(truncated there, with a record).

Entry points: ``ingest_study`` (library, used by notebooks/01_ingest.ipynb),
``ingest_command`` (``pcnstudy ingest``), ``validate_command`` (``pcnstudy validate``)
and ``find_raw_ids`` (scan files for raw participant ids).
"""
from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from pcnstudy.core import paths
from pcnstudy.ingest.coerce import (
    FORMULA_PREFIXES,
    coerce_likert,
    coerce_yes_no,
    has_markup,
    is_formula_like,
    is_missing,
    neutralise_formula,
    parse_uk_date,
    spreadsheet_error,
)
from pcnstudy.ingest.cohorts_table import cohorts_frame
from pcnstudy.core.decoding import utf16_without_bom
from pcnstudy.core.params import load_params, load_yaml
from pcnstudy.core.problems import QUARANTINE_COLUMNS, Problem
from pcnstudy.ingest.pseudonym import PseudonymKey, check_demo_key_use, normalise_id, pseudonymise, resolve_key
from pcnstudy.ingest.redact import KINDS, Redactor, count_kinds
from pcnstudy.ingest.validate import (
    TABLE_COLUMNS,
    TABLE_SORT,
    CohortConfigError,
    header_problems,
    load_cohort,
    mapped_headers,
    mapping_problems,
    validate_tables,
)

log = logging.getLogger(__name__)

#: Longest free-text answer kept; longer answers are truncated here with a record.
MAX_TEXT_CHARS = 10_000
#: A completion date this many days outside the cohort's start..end is a problem.
DATE_MARGIN_DAYS = 366
TABLES = ("respondents", "ratings", "feedback", "texts")
INTERVIEW_QUESTION = "interview"
_SPEAKER = re.compile(r"^\s*(interviewer|participant|respondent|interviewee)\s*:\s?(.*)$", re.IGNORECASE)
_TRANSCRIPT_ID = re.compile(r"^\s*(?:participant|respondent)\s+id\s*:\s*(.+?)\s*$", re.IGNORECASE)


class IngestError(Exception):
    """The stage cannot finish: rows unaccounted for, or no cohort to ingest."""


@dataclass
class FileStats:
    """Counts for one raw file (the proof that nothing was lost)."""

    rows_read: int = 0
    rows_kept: int = 0
    rows_quarantined: int = 0
    values_coerced: int = 0
    values_quarantined: int = 0
    values_flagged: int = 0

    def balanced(self) -> bool:
        return self.rows_read == self.rows_kept + self.rows_quarantined


@dataclass
class CohortData:
    """What one cohort gives: table rows, problems, counts, and the raw texts (for tests)."""

    cohort: str
    demo: bool
    records: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLES})
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, FileStats] = field(default_factory=dict)
    raw_ids: set[str] = field(default_factory=set)
    raw_texts: list[dict] = field(default_factory=list)
    redaction: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    no_baseline: int = 0
    names: list[str] = field(default_factory=list)
    literals: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    """The ingest stage's outputs: the four tables, quarantine, the report, and problems."""

    respondents: pd.DataFrame
    ratings: pd.DataFrame
    feedback: pd.DataFrame
    texts: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any]
    problems: list[Problem]
    cohorts: pd.DataFrame = field(default_factory=lambda: cohorts_frame([]))
    out: Path | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in (*TABLES, "quarantine")}


# --------------------------------------------------------------------------- helpers


def _instrument() -> dict[str, Any]:
    return load_yaml(paths.INSTRUMENT)


def _clean(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return None if is_missing(text) else text


#: Control characters no answer needs (C0 and C1, bar tab and line ends), and the bidi
#: overrides/isolates that make text display in an order other than it is stored.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def header_key(header: Any) -> str:
    """A header as compared with cohort.yml's mapping when it does not match exactly.

    Case, whitespace runs (non-breaking spaces included), zero-width characters and
    typographic quotes are ignored: "Q1.  I am CONFIDENT\u00a0leading" matches "Q1. I am confident leading".
    """
    from pcnstudy.ingest.export_layouts import flatten_header

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


def _cohort_dirs(raw: Path, cohorts: list[str] | None) -> list[Path]:
    raw = Path(raw)
    if cohorts:
        dirs = [raw / name for name in cohorts]
        missing = [str(d) for d in dirs if not (d / "cohort.yml").is_file()]
        if missing:
            raise CohortConfigError(f"no cohort.yml in: {', '.join(missing)}")
        return dirs
    return sorted(d for d in raw.iterdir() if d.is_dir() and (d / "cohort.yml").is_file()) if raw.is_dir() else []


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _yml_line(config: dict, needle: str, last: bool = False) -> int:
    """1-based line of cohort.yml holding ``needle`` (the last such line with ``last``), else 0."""
    lines = [n for n, line in enumerate(config.get("_source", "").splitlines(), start=1) if needle in line]
    return (lines[-1] if last else lines[0]) if lines else 0


def _date_bounds(config: dict) -> tuple[Any, Any] | None:
    import datetime as dt

    try:
        start = parse_uk_date(str(config.get("start"))).value
        end = parse_uk_date(str(config.get("end"))).value
    except Exception:
        return None
    if start is None or end is None:
        return None
    margin = dt.timedelta(days=DATE_MARGIN_DAYS)
    return start - margin, end + margin


# --------------------------------------------------------------------------- one cohort


class _CohortIngester:
    """Reads one cohort folder into rows and problems (see ``ingest_cohort``)."""

    def __init__(self, cohort_dir: Path, config: dict, instrument: dict, key: bytes):
        self.dir = Path(cohort_dir)
        self.config = config
        self.instrument = instrument
        self.key = key
        self.cohort = config["cohort"]
        self.scale = instrument["scale"]
        self.domains = {item["id"]: item["domain"] for item in instrument.get("items", [])}
        self.data = CohortData(self.cohort, config["demo"], names=list(config["names"]))
        self.columns = config["columns"]
        self.wave_order = list(config["waves"]) + [w for w in config["retrospective_waves"] if w not in config["waves"]]
        self.seen: dict[tuple[str, str], tuple[str, int]] = {}
        # respondent -> attributes and the waves they answered
        self.people: dict[str, dict[str, Any]] = {}
        self.pending_texts: list[dict] = []
        self.response_ids: set[str] = set()
        self.file_headers: dict[str, tuple[list[str], int]] = {}
        self.bounds = _date_bounds(config)
        self._likert_seen: dict[Any, Any] = {}
        self._yes_no_seen: dict[Any, Any] = {}

    # -- surveys ---------------------------------------------------------------
    def run(self) -> CohortData:
        from pcnstudy.ingest.exports import read_export

        mapping = mapping_problems(self.config, self.instrument)
        undeclared = {p.value for p in mapping if p.column == "files.wave"}
        self.data.problems += [replace(p, file=f"{self.cohort}/cohort.yml") for p in mapping]
        listed: set[str] = set()
        for entry in self.config["files"]:
            rel = f"{self.cohort}/{str(entry['path']).rstrip('/')}"
            path = self.dir / entry["path"]
            if not _inside(path, self.dir):
                self.data.problems.append(Problem(
                    f"{self.cohort}/cohort.yml", _yml_line(self.config, str(entry["path"])), "files.path",
                    str(entry["path"]), "the file path leads outside the cohort folder (copy the export into it); "
                    "file not read", scope="file"))
                continue
            if rel in listed:
                self.data.problems.append(Problem(
                    f"{self.cohort}/cohort.yml", _yml_line(self.config, str(entry["path"]), last=True), "files.path",
                    str(entry["path"]), "the file is listed twice in cohort.yml; the second entry is ignored",
                    scope="file"))
                continue
            listed.add(rel)
            if entry.get("format") == "text" or path.is_dir():
                self._read_transcripts(entry, rel, undeclared)
                continue
            stats = self.data.files.setdefault(rel, FileStats())
            if not path.exists():
                self.data.problems.append(Problem(rel, 0, "", None, "file listed in cohort.yml does not exist", scope="file"))
                continue
            fmt = entry.get("format", "auto")
            table = read_export(path, format="csv" if fmt == "tsv" else fmt, layout=entry.get("layout", "auto"), name=rel)
            self._survey(table, entry, rel, stats, entry["wave"] in undeclared)
        anywhere = {h for headers, _row in self.file_headers.values() for h in headers}
        for rel, (headers, header_row) in self.file_headers.items():
            self.data.problems += header_problems(rel, headers, self.config, header_row, anywhere)
        self._finish()
        return self.data

    def _survey(self, table, entry: dict, rel: str, stats: FileStats, wave_undeclared: bool) -> None:
        # A set-aside row's value is the raw line, which may hold ids and names: withheld.
        problems = [replace(p, file=rel, value=None) if p.scope == "row" and not p.column else replace(p, file=rel)
                    for p in table.problems]
        self.data.problems += problems
        stats.rows_read = table.rows_read
        frame_rows = set(table.rows)
        set_aside = {p.row for p in problems if p.scope == "row" and p.row not in frame_rows}
        stats.rows_quarantined += len(set_aside)
        bad_rows = {p.row for p in problems if p.scope == "row" and p.fatal and p.row in frame_rows}
        file_fatal = [p for p in problems if p.scope == "file" and p.fatal]
        renames = match_headers([str(c) for c in table.frame.columns], mapped_headers(self.config))
        if renames:
            table.frame = table.frame.rename(columns=renames)
        headers = [str(c) for c in table.frame.columns]
        if headers:
            self.file_headers[rel] = (headers, max(table.header_rows, 1))
        id_header = str(self.columns["respondent_id"])
        reason = None
        if file_fatal:
            reason = f"row set aside with its file: {file_fatal[0].reason}"
        elif wave_undeclared:
            reason = f"row set aside: wave {entry['wave']!r} is not declared in cohort.yml"
        elif id_header not in headers and len(table.frame):
            reason = f"row set aside: the respondent id column {id_header!r} is missing"
        if reason:
            for row in table.rows:
                self.data.problems.append(Problem(rel, row, "", None, reason, scope="row"))
            stats.rows_quarantined += len(table.rows)
            return
        present = set(headers)
        cols = self.columns
        frame = table.frame
        # all-empty mapped columns
        if len(frame):
            for group in ("items", "feedback", "text"):
                for header in cols.get(group, {}):
                    if header in present and all(is_missing(v) for v in frame[header].unique()):
                        self.data.problems.append(Problem(
                            rel, max(table.header_rows, 1), header, None,
                            "mapped column is empty in every row (wrong column mapped, or the question was not asked?)",
                            scope="column",
                        ))
        values = frame.to_numpy(dtype=object) if len(frame) else []
        for index, row_number in enumerate(table.rows):
            record = dict(zip(headers, values[index].tolist()))
            if row_number in bad_rows:
                self.data.problems.append(Problem(rel, row_number, "", None, "row set aside (see the problem above)", scope="row"))
                stats.rows_quarantined += 1
                continue
            if self._survey_row(record, row_number, entry, rel, stats):
                stats.rows_kept += 1
            else:
                stats.rows_quarantined += 1

    def _likert(self, value: Any):
        """``coerce_likert`` of a cell, computed once per distinct value."""
        if value is None or (isinstance(value, float) and value != value):
            return coerce_likert(value, self.scale)  # missing (NaN is not a usable dict key: NaN != NaN)
        try:
            return self._likert_seen[value]
        except KeyError:
            result = self._likert_seen[value] = coerce_likert(value, self.scale)
            return result
        except TypeError:  # unhashable: not cached
            return coerce_likert(value, self.scale)

    def _yes_no(self, value: Any):
        """``coerce_yes_no`` of a cell, computed once per distinct value."""
        if value is None or (isinstance(value, float) and value != value):
            return coerce_yes_no(value)  # missing (NaN is not a usable dict key: NaN != NaN)
        try:
            return self._yes_no_seen[value]
        except KeyError:
            result = self._yes_no_seen[value] = coerce_yes_no(value)
            return result
        except TypeError:
            return coerce_yes_no(value)

    def _cell_problem(self, rel: str, row: int, column: str, value: Any, reason: str, stats: FileStats) -> None:
        self.data.problems.append(Problem(rel, row, column, value, reason, scope="cell"))
        stats.values_quarantined += 1

    def _survey_row(self, record: dict, row: int, entry: dict, rel: str, stats: FileStats) -> bool:
        cols = self.columns
        id_header = str(cols["respondent_id"])
        raw_id = _clean(record.get(id_header))
        if raw_id is None:
            self.data.problems.append(Problem(rel, row, id_header, record.get(id_header),
                                              "empty respondent id: row set aside", scope="row"))
            return False
        if spreadsheet_error(raw_id) or _CONTROL.search(raw_id):
            why = "a spreadsheet error value" if spreadsheet_error(raw_id) else "control characters"
            self.data.problems.append(Problem(rel, row, id_header, raw_id.encode("unicode_escape").decode("ascii"),
                                              f"respondent id holds {why}: row set aside", scope="row"))
            return False
        self.data.raw_ids.add(raw_id)
        respondent = pseudonymise(raw_id, self.key)
        wave = entry["wave"]
        wave_header = cols.get("wave")
        if wave_header and wave_header in record:
            given = _clean(record.get(wave_header))
            if given is not None:
                if given not in self.wave_order:
                    self.data.problems.append(Problem(
                        rel, row, wave_header, given,
                        f"wave {given!r} is not declared by the cohort ({', '.join(self.wave_order)}): row set aside",
                        scope="row"))
                    return False
                wave = given
        key = (wave, normalise_id(raw_id))
        if key in self.seen:
            first_rel, first_row = self.seen[key]
            self.data.problems.append(Problem(
                rel, row, id_header, respondent,
                f"respondent {respondent} appears twice in wave {wave!r} (first at {first_rel} row {first_row}): "
                "later row set aside", scope="row"))
            return False
        self.seen[key] = (rel, row)
        # Redaction-only columns: names and emails.
        for role in ("name", "email"):
            header = cols.get(role)
            value = _clean(record.get(header)) if header else None
            if value:
                (self.data.names if role == "name" else self.data.literals).append(value)
                if role == "name":
                    self.data.literals.append(value)
        if "@" in raw_id:
            self.data.literals.append(raw_id)
        person = self.people.setdefault(respondent, {"waves": set(), "group": None, "pcn": None,
                                                     "profession": None, "role": None})
        person["waves"].add(wave)
        for role in ("group", "pcn", "profession", "role"):
            header = cols.get(role)
            value = _clean(record.get(header)) if header else None
            if value is not None and spreadsheet_error(value):
                self._cell_problem(rel, row, header, value, "spreadsheet error value where text was expected", stats)
                value = None
            if value is not None and _CONTROL.search(value):
                value = self._strip_controls(value, rel, row, header, stats)
            if value is not None and is_formula_like(value):
                self.data.problems.append(Problem(rel, row, header, value,
                                                  "looks like a spreadsheet formula (kept as text, neutralised in CSV)",
                                                  scope="flag"))
                stats.values_flagged += 1
            if value is not None and person[role] is None:
                person[role] = value
        date_header = cols.get("date")
        if date_header and date_header in record:
            result = parse_uk_date(record.get(date_header))
            if not result.ok:
                self._cell_problem(rel, row, date_header, record.get(date_header), result.reason, stats)
            elif result.value is not None:
                stats.values_coerced += int(result.changed)
                if self.bounds and not self.bounds[0] <= result.value <= self.bounds[1]:
                    self._cell_problem(rel, row, date_header, record.get(date_header),
                                       f"date {result.value.isoformat()} is far outside the cohort's dates "
                                       f"({self.config.get('start')} to {self.config.get('end')})", stats)
        base = {"respondent": respondent, "cohort": self.cohort, "wave": wave}
        for header, item in cols.get("items", {}).items():
            if header not in record or item not in self.domains:
                continue
            result = self._likert(record[header])
            if not result.ok:
                self._cell_problem(rel, row, header, record[header], result.reason, stats)
            elif result.value is not None:
                stats.values_coerced += int(result.changed)
                self.data.records["ratings"].append({**base, "item": item, "domain": self.domains.get(item),
                                                     "score": float(result.value)})
        for header, item in cols.get("feedback", {}).items():
            if header not in record:
                continue
            result = self._yes_no(record[header])
            if not result.ok:
                self._cell_problem(rel, row, header, record[header], result.reason, stats)
            elif result.value is not None:
                stats.values_coerced += int(result.changed)
                self.data.records["feedback"].append({**base, "item": item, "value": int(result.value)})
        for header, question in cols.get("text", {}).items():
            value = record.get(header)
            if value is None or not str(value).strip() or is_missing(value):
                continue
            if spreadsheet_error(str(value)):
                self._cell_problem(rel, row, header, value, "spreadsheet error value where an answer was expected", stats)
                continue
            text = self._check_text(str(value), rel, row, header, stats)
            if not text.strip():
                continue
            response_id = f"{self.cohort}-{wave}-{row}-{question}"
            if response_id in self.response_ids:  # a second export of the same wave: name the file too
                response_id = f"{self.cohort}-{wave}-{Path(rel).stem}-{row}-{question}"
            self.response_ids.add(response_id)
            self.pending_texts.append({**base, "response_id": response_id, "question": question, "text": text})
        return True

    def _strip_controls(self, text: str, rel: str, row: int, column: str, stats: FileStats) -> str | None:
        """Remove control characters (and bidi overrides) from a text cell, with a non-fatal record."""
        cleaned = _CONTROL.sub("", text)
        self.data.problems.append(Problem(rel, row, column, text.encode("unicode_escape").decode("ascii")[:200],
                                          "control characters removed from the text", scope="flag", fatal=False))
        stats.values_coerced += 1
        return cleaned if cleaned.strip() else None

    def _check_text(self, text: str, rel: str, row: int, column: str, stats: FileStats) -> str:
        if _CONTROL.search(text):
            text = self._strip_controls(text, rel, row, column, stats) or ""
        if is_formula_like(text):
            self.data.problems.append(Problem(rel, row, column, text,
                                              "looks like a spreadsheet formula (kept as text, neutralised in CSV)",
                                              scope="flag"))
            stats.values_flagged += 1
        if has_markup(text):
            self.data.problems.append(Problem(rel, row, column, text,
                                              "holds HTML or script tags (kept as text; escaped wherever shown as HTML)",
                                              scope="flag"))
            stats.values_flagged += 1
        if len(text) > MAX_TEXT_CHARS:
            self.data.problems.append(Problem(rel, row, column, text[:60],
                                              f"answer of {len(text)} characters truncated to {MAX_TEXT_CHARS}",
                                              scope="flag"))
            stats.values_flagged += 1
            text = text[:MAX_TEXT_CHARS]
        return text

    # -- interviews ------------------------------------------------------------
    def _read_transcripts(self, entry: dict, rel_folder: str, undeclared: set) -> None:
        folder = self.dir / entry["path"]
        wave = entry["wave"]
        if not folder.is_dir():
            self.data.files.setdefault(rel_folder, FileStats())
            self.data.problems.append(Problem(rel_folder, 0, "", None, "transcript folder listed in cohort.yml does not exist",
                                              scope="file"))
            return
        for path in sorted(folder.glob("*.txt")):
            rel = f"{rel_folder}/{path.name}"
            stats = self.data.files.setdefault(rel, FileStats())
            data = path.read_bytes()
            try:
                if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    content = data.decode("utf-16")
                elif b"\x00" in data[:4096] and (codec := utf16_without_bom(data)):
                    content = data[: len(data) // 2 * 2].decode(codec)
                elif b"\x00" in data:
                    self.data.problems.append(Problem(rel, 0, "", None, "binary data, not a text transcript",
                                                      scope="file"))
                    continue
                else:
                    content = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                content = data.decode("cp1252", errors="replace")
                self.data.problems.append(Problem(rel, 0, "", None, "not UTF-8; read as cp1252", scope="file", fatal=False))
            turns: list[list[Any]] = []  # [line number, speaker, text]
            raw_id = None
            for number, line in enumerate(content.splitlines(), start=1):
                if not turns and (match := _TRANSCRIPT_ID.match(line)):
                    raw_id = match.group(1)
                    continue
                match = _SPEAKER.match(line)
                if match:
                    turns.append([number, match.group(1).lower(), match.group(2).strip()])
                elif turns and line.strip():
                    turns[-1][2] = (turns[-1][2] + " " + line.strip()).strip()
            participant = [t for t in turns if t[1] != "interviewer"]
            stats.rows_read = len(participant)
            if not participant:
                self.data.problems.append(Problem(rel, 0, "", None, "no 'Participant:' turns in the transcript", scope="file"))
                continue
            if wave in undeclared:
                for line_no, _speaker, _text in participant:
                    self.data.problems.append(Problem(rel, line_no, "", None,
                                                      f"turn set aside: wave {wave!r} is not declared", scope="row"))
                stats.rows_quarantined += len(participant)
                continue
            if raw_id:
                self.data.raw_ids.add(raw_id)
            respondent = pseudonymise(raw_id or f"{self.cohort}/{path.stem}", self.key)
            person = self.people.setdefault(respondent, {"waves": set(), "group": None, "pcn": None,
                                                         "profession": None, "role": None})
            person["waves"].add(wave)
            for turn, (line_no, _speaker, text) in enumerate(participant, start=1):
                stats.rows_kept += 1
                if not text:
                    continue
                text = self._check_text(text, rel, line_no, INTERVIEW_QUESTION, stats)
                self.pending_texts.append({
                    "respondent": respondent, "cohort": self.cohort, "wave": wave,
                    "response_id": f"{self.cohort}-{wave}-{path.stem}-{turn}",
                    "question": INTERVIEW_QUESTION, "text": text,
                })

    # -- finishing -------------------------------------------------------------
    def _finish(self) -> None:
        data = self.data
        redactor = Redactor(names=data.names, literals=data.literals)
        for item in self.pending_texts:
            data.raw_texts.append({"response_id": item["response_id"], "cohort": self.cohort, "text": item["text"]})
            redacted, spans = redactor.redact(item["text"])
            for kind, n in count_kinds(spans).items():
                data.redaction[kind] += n
            data.records["texts"].append({**item, "text": redacted})
        # respondent attributes on every table row
        for table in ("ratings", "feedback", "texts"):
            for record in data.records[table]:
                person = self.people[record["respondent"]]
                record.update({role: person[role] for role in ("group", "pcn", "profession")})
        baseline = self.config["waves"][0]
        order = {w: i for i, w in enumerate(self.wave_order)}
        for respondent, person in self.people.items():
            waves = sorted(person["waves"], key=lambda w: (order.get(w, len(order)), w))
            survey_waves = [w for w in waves if w not in self.config["retrospective_waves"]]
            if survey_waves and baseline not in survey_waves:
                data.no_baseline += 1
            data.records["respondents"].append({
                "respondent": respondent, "cohort": self.cohort,
                **{role: person[role] for role in ("group", "pcn", "profession", "role")},
                "waves": ";".join(waves),
            })
        data.problems = [self._sanitise(p, redactor) for p in data.problems]

    def _sanitise(self, problem: Problem, redactor: Redactor) -> Problem:
        """Keep raw ids, names and emails out of problem values (they reach quarantine.csv)."""
        value = problem.value
        if value is None:
            return problem
        cols = self.columns
        if problem.column in {cols.get("name"), cols.get("email")} - {None}:
            return replace(problem, value="[withheld]")
        text = str(value)
        if problem.column == cols.get("respondent_id") and not text.startswith("r_"):
            return replace(problem, value=pseudonymise(text, self.key) if text.strip() else text)
        for raw_id in sorted(self.data.raw_ids, key=len, reverse=True):
            if raw_id and raw_id in text:
                text = re.sub(rf"(?<![\w]){re.escape(raw_id)}(?![\w])", pseudonymise(raw_id, self.key), text)
        text = redactor.redact(text)[0]
        return replace(problem, value=text)


def ingest_cohort(cohort_dir: Path, key: bytes, instrument: dict | None = None,
                  config: dict | None = None) -> CohortData:
    """Read one cohort folder into table rows, problems and counts (nothing written).

    Raises ``CohortConfigError`` when cohort.yml is missing or unusable.
    """
    config = config or load_cohort(cohort_dir)
    ingester = _CohortIngester(Path(cohort_dir), config, instrument or _instrument(), key)
    return ingester.run()


# --------------------------------------------------------------------------- tables


_INT_COLUMNS = {("feedback", "value"), ("quarantine", "row")}


def _as_text(column: pd.Series) -> pd.Series:
    """A column as pandas' ``str`` dtype: strings kept, other values as ``str(v)``, None/NaN missing."""
    if pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:
        return column.astype("str")
    missing = column.isna().to_numpy()
    values = column.to_numpy(dtype=object, copy=True)
    is_text = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    other = ~is_text & ~missing
    if other.any():
        values[other] = [str(v) for v in values[other]]
    values[missing] = None
    return pd.Series(values, dtype="str", index=column.index)


def _frame(records: list[dict], table: str) -> pd.DataFrame:
    """A table from records: its columns in order, typed (text as str with None), sorted."""
    columns = TABLE_COLUMNS[table]
    frame = pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
    for column in columns:
        if column == "score":
            frame[column] = frame[column].astype("float64")
        elif (table, column) in _INT_COLUMNS:
            frame[column] = frame[column].astype("int64")
        else:
            frame[column] = _as_text(frame[column])
    frame = frame.sort_values(TABLE_SORT[table], kind="mergesort", na_position="first").reset_index(drop=True)
    return frame


def build_tables(cohorts: list[CohortData]) -> dict[str, pd.DataFrame]:
    """Assemble the four tables and quarantine from the cohorts' rows (sorted, typed)."""
    tables = {}
    for table in TABLES:
        records = [record for data in cohorts for record in data.records[table]]
        tables[table] = _frame(records, table)  # from_records keeps the table's columns only
    problems = [p for data in cohorts for p in data.problems]
    quarantine = [
        {**p.record(), "value": None if p.value is None else str(p.value), "column": p.column or ""}
        for p in problems
    ]
    tables["quarantine"] = _frame(quarantine, "quarantine")
    return tables


def build_report(cohorts: list[CohortData], key: PseudonymKey) -> dict[str, Any]:
    """The ingest_report.json content: per-file counts, totals, no-baseline, redaction."""
    files = {rel: vars(stats).copy() for data in cohorts for rel, stats in sorted(data.files.items())}
    totals = Counter()
    for stats in files.values():
        totals.update(stats)
    redaction = Counter()
    for data in cohorts:
        redaction.update(data.redaction)
    problems = [p for data in cohorts for p in data.problems]
    unbalanced = sorted(rel for rel, s in files.items() if s["rows_read"] != s["rows_kept"] + s["rows_quarantined"])
    return {
        "files": dict(sorted(files.items())),
        "totals": {k: int(totals.get(k, 0)) for k in vars(FileStats())},
        "rows_unaccounted": int(sum(abs(files[r]["rows_read"] - files[r]["rows_kept"] - files[r]["rows_quarantined"])
                                    for r in unbalanced)),
        "unbalanced_files": unbalanced,
        "cohorts": {
            data.cohort: {
                "respondents": len(data.records["respondents"]),
                "respondents_without_baseline": data.no_baseline,
                "texts": len(data.records["texts"]),
                "problems": sum(p.fatal for p in data.problems),
                "warnings": sum(not p.fatal for p in data.problems),
            }
            for data in sorted(cohorts, key=lambda d: d.cohort)
        },
        "problems": {"fatal": sum(p.fatal for p in problems), "warnings": sum(not p.fatal for p in problems)},
        "redaction": {kind: int(redaction.get(kind, 0)) for kind in KINDS},
        "pseudonym_key": key.source,
        "max_text_chars": MAX_TEXT_CHARS,
    }


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise formula-looking text in every text column (a leading apostrophe)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(neutralise_formula, na_action="ignore")
        elif pd.api.types.is_string_dtype(out[column]):
            text = out[column]
            hit = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
            if hit.any():
                out[column] = text.mask(hit, "'" + text)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV with "\\n" line ends and formula-looking text neutralised."""
    csv_safe(frame).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write parquet deterministically: pyarrow, no index, no pandas metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="snappy", write_statistics=True)


def write_outputs(result: IngestResult, out: Path) -> None:
    """Write the tables (parquet + CSV), quarantine.csv and ingest_report.json into ``out``."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for table in tqdm(TABLES, desc="write tables", disable=not sys.stderr.isatty(), leave=False):
        frame = getattr(result, table)
        write_parquet(frame, out / f"{table}.parquet")
        write_csv(frame, out / f"{table}.csv")
    write_csv(result.quarantine[QUARANTINE_COLUMNS], out / "quarantine.csv")
    write_parquet(result.cohorts, out / "cohorts.parquet")
    write_csv(result.cohorts, out / "cohorts.csv")
    (out / "ingest_report.json").write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def ingest_study(raw: Path | None = None, out: Path | None = None, cohorts: list[str] | None = None,
                 key: bytes | None = None, params: dict | None = None) -> IngestResult:
    """Ingest every cohort under ``raw`` (or those listed) and write the tables into ``out``.

    ``cohorts`` defaults to params.yaml ``cohorts`` ([] = every folder with a
    cohort.yml, sorted). ``key`` defaults to the key found by
    ``pcnstudy.ingest.pseudonym.resolve_key`` from params.yaml ``ingest.key_env`` /
    ``ingest.key_file`` (else the public demo key, with a loud warning unless every
    cohort says ``demo: true``). ``out=None`` writes nothing. Raises ``IngestError``
    when a file's rows do not add up, ``CohortConfigError`` for an unusable cohort.yml.
    """
    params = load_params() if params is None else params
    raw = Path(raw or paths.RAW)
    if cohorts is None:
        cohorts = list(params.get("cohorts") or [])
    dirs = _cohort_dirs(raw, cohorts)
    if not dirs:
        raise IngestError(f"{raw}: no cohort folders (with a cohort.yml) to ingest")
    configs = [load_cohort(d) for d in dirs]
    if key is None:
        found = resolve_key(params.get("ingest") or {})
        check_demo_key_use(found, {c["cohort"]: c["demo"] for c in configs})
    else:
        found = PseudonymKey(key, "argument")
    instrument = _instrument()
    results = []
    from tqdm import tqdm

    for folder, config in tqdm(list(zip(dirs, configs)), desc="ingest", disable=not sys.stderr.isatty()):
        results.append(ingest_cohort(folder, found.key, instrument, config))
    tables = build_tables(results)
    validate_tables({k: v for k, v in tables.items()}, instrument.get("scale"))
    report = build_report(results, found)
    result = IngestResult(**tables, report=report, problems=[p for r in results for p in r.problems],
                          cohorts=cohorts_frame(configs), out=Path(out) if out else None)
    if report["unbalanced_files"]:
        raise IngestError(
            "rows unaccounted for (rows_read != kept + quarantined) in: " + ", ".join(report["unbalanced_files"])
        )
    if out:
        write_outputs(result, Path(out))
    return result


def _one_line(exc: Exception) -> str:
    """An exception as one line of plain words (a table schema failure names its first failed check)."""
    failures = getattr(exc, "failure_cases", None)
    if failures is not None and len(failures):
        first = failures.iloc[0]
        return (f"a processed table failed its schema check {first.get('check')!r} in column "
                f"{first.get('column')!r} (value {first.get('failure_case')!r}); please report this with the cohort.yml")
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() not in ("", "{", "}", "[", "]")]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def ingest_command(raw: Path, out: Path) -> int:
    """``pcnstudy ingest``: run the stage; 0 ok, 1 bad input (one line per reason), 2 usage."""
    try:
        result = ingest_study(raw=raw, out=out)
    except CohortConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # bad data must not show a traceback
        print(f"error: ingest failed: {_one_line(exc)}", file=sys.stderr)
        return 1
    totals = result.report["totals"]
    print(
        f"ingested {totals['rows_read']} rows from {len(result.report['files'])} files: "
        f"{totals['rows_kept']} kept, {totals['rows_quarantined']} quarantined, "
        f"{result.report['problems']['fatal']} problems, {result.report['problems']['warnings']} warnings -> {out}"
    )
    return 0


def validate_command(cohort_dir: Path) -> int:
    """``pcnstudy validate data/raw/<cohort>``: print every problem, then a summary.

    Exit 0 when the cohort can be ingested cleanly (warnings allowed), 1 when it has
    problems, 2 on a usage error (no such folder, cohort.yml missing or unusable).
    """
    cohort_dir = Path(cohort_dir)
    try:
        config = load_cohort(cohort_dir)
    except CohortConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        params = load_params()
        key = resolve_key(params.get("ingest") or {}).key
        data = ingest_cohort(cohort_dir, key, _instrument(), config)
    except Exception as exc:
        print(f"{cohort_dir}:0:: cannot check the cohort: {type(exc).__name__}: {exc}".splitlines()[0])
        print("1 problem")
        return 1
    ordered = sorted(data.problems, key=lambda p: (p.file, p.row, p.column, p.reason))
    for problem in ordered:
        print(problem.format())
    fatal = sum(p.fatal for p in ordered)
    warnings = len(ordered) - fatal
    rows = Counter()
    for stats in data.files.values():
        rows.update(vars(stats))
    unbalanced = [rel for rel, s in data.files.items() if not s.balanced()]
    for rel in unbalanced:
        print(f"{rel}:0:: rows unaccounted for (read != kept + quarantined)")
    print(
        f"{config['cohort']}: {fatal} problem{'s' if fatal != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
        f"in {len(data.files)} file{'s' if len(data.files) != 1 else ''}; rows read {rows['rows_read']}, "
        f"kept {rows['rows_kept']}, quarantined {rows['rows_quarantined']}; "
        f"{data.no_baseline} respondent(s) without a baseline"
    )
    return 1 if fatal or unbalanced else 0


# --------------------------------------------------------------------------- leak check


@dataclass(frozen=True)
class RawIdHit:
    """A raw participant id found in a file: where, and which id."""

    file: str
    line: int
    raw_id: str


def collect_raw_ids(raw: Path) -> set[str]:
    """Every raw respondent id (and name/email column value) in the exports under ``raw``."""
    ids: set[str] = set()
    for folder in _cohort_dirs(Path(raw), None):
        config = load_cohort(folder)
        data = ingest_cohort(folder, b"leak-check", _instrument(), config)
        ids |= data.raw_ids
        ids |= {v for v in data.literals if v}
    return ids


# Embedded images: data URIs in HTML, and long base64 runs (notebooks' image/png outputs).
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+|[A-Za-z0-9+/]{100,}={0,2}")


# file signatures of binary outputs: PNG, JPEG, GIF, zip (xlsx, qdpx), parquet
_BINARY_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"PAR1")


def _pdf_text(data: bytes) -> str:
    """The text of a PDF's pages, one page per line block (empty when it cannot be read)."""
    import io

    from pypdf import PdfReader

    try:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    except Exception:  # a damaged PDF: nothing a reader would see either
        return ""


def find_raw_ids(raw: Path, folders: Iterable[Path], min_length: int = 3, short_numeric: int = 6,
                 include_short_numeric: bool = True) -> list[RawIdHit]:
    """Scan every file under ``folders`` for raw participant ids (and name/email values) from ``raw``.

    An id is found when it appears as a whole token (not inside a longer word or
    number), case-insensitively. Ids shorter than ``min_length`` characters are skipped
    (a bare "7" would match everywhere); ids of digits only and shorter than
    ``short_numeric`` (e.g. "106") are found only as a whole delimited cell (between
    commas, tabs, quotes or HTML tags), since as free tokens they match any number
    (CSS, counts). In tables of results a count can equal such an id;
    ``include_short_numeric=False`` leaves them out, for callers that check the id
    columns themselves. Files are read as bytes decoded leniently. Gives one
    ``RawIdHit`` per file, line and id. A PDF is scanned as the text of its pages
    (its compressed streams hold short ids by chance). Binary files (a known image,
    zip or parquet signature, or a NUL byte near the start) and embedded base64
    images (HTML data URIs, notebook outputs) are not scanned, as short ids occur in
    them by chance; the tables behind them are scanned as CSV.
    """
    ids = sorted({i.strip() for i in collect_raw_ids(raw) if len(i.strip()) >= min_length}, key=len, reverse=True)
    if not ids:
        return []
    short = [i for i in ids if i.isdigit() and len(i) < short_numeric]
    long_ids = [i for i in ids if i not in short]
    if not include_short_numeric:
        short = []
    patterns = []
    if long_ids:
        patterns.append(re.compile(r"(?<![\w@.\-])(" + "|".join(re.escape(i) for i in long_ids) + r")(?![\w@\-]|\.\w)",
                                   re.IGNORECASE))
    if short:
        patterns.append(re.compile(r"(?:^|(?<=[,\t\">]))(" + "|".join(re.escape(i) for i in short) + r")(?=$|[,\t\"<])"))
    hits = []
    for folder in folders:
        folder = Path(folder)
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if data.startswith(b"%PDF-"):
                text = _pdf_text(data)  # compressed streams hold any bytes: scan what a reader sees
            elif data.startswith(_BINARY_MAGIC) or b"\x00" in data[:8192]:
                continue  # binary (images, zips, parquet): their tables are scanned as CSV
            else:
                text = _DATA_URI.sub("data:", data.decode("utf-8", errors="replace"))
            for number, line in enumerate(text.splitlines(), start=1):
                for pattern in patterns:
                    for match in pattern.finditer(line):
                        hits.append(RawIdHit(str(path), number, match.group(1)))
    return hits


# --------------------------------------------------------------------------- display


def file_counts(report: dict[str, Any]) -> pd.DataFrame:
    """The report's per-file counts as a table (one row per raw file, sorted)."""
    frame = pd.DataFrame.from_dict(report["files"], orient="index")
    frame.index.name = "file"
    return frame.sort_index()


def plot_file_counts(report: dict[str, Any]):
    """A horizontal bar chart of rows kept and quarantined per raw file; gives the Figure."""
    import matplotlib.pyplot as plt

    counts = file_counts(report)[["rows_kept", "rows_quarantined"]]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(counts) + 1.2))
    counts.iloc[::-1].plot.barh(stacked=True, ax=ax, color=["#4c72b0", "#dd8452"], width=0.7)
    ax.set_xlabel("rows")
    ax.set_ylabel("")
    ax.set_title("Rows kept and quarantined per raw file")
    ax.legend(["kept", "quarantined"], loc="lower right", frameon=False)
    fig.tight_layout()
    return fig
