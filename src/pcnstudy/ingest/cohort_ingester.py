"""The per-cohort ingester: one cohort folder to table rows, problems and counts.

``ingest_cohort(cohort_dir, key, instrument, config=None) -> CohortData`` reads the
exports a cohort's cohort.yml lists (survey exports through
pcnstudy.ingest.exports.read_export, interview transcripts through
pcnstudy.ingest.transcripts) and gives, without writing anything:

- ``records``: the rows of respondents, ratings, feedback and texts (respondent ids
  already pseudonymised with ``key``, free text redacted);
- ``problems``: every ``Problem`` found (values sanitised: no raw id, name or email);
- ``files``: per raw file, a ``FileStats`` (rows read, kept, quarantined; values
  coerced, quarantined, flagged): rows read = kept + quarantined;
- the raw ids, names, literals and unredacted texts (for the leak and redaction checks).

A bad cell becomes missing with a quarantine record; a row without a usable
respondent id (or a second row for the same respondent in one wave, or a row in a
wave the cohort does not declare) is quarantined whole; a file that is not what
cohort.yml declares is set aside whole. Free text is kept as written but flagged when
it looks like a formula, holds HTML/script tags, or is longer than ``MAX_TEXT_CHARS``
(truncated there, with a record). Raises ``CohortConfigError`` for an unusable cohort.yml.

The cohort.yml ``design`` decides who a row is. ``paired`` (the default): the
respondent id's pseudonym. ``anonymous``: every row is its own respondent, pseudonym of
``row:<cohort>/<file>:<row>`` under the key, so no row is a duplicate and no wave links
to another. ``self_code``: rows start so, then the self-generated codes
(``columns.self_code``) link them across waves (pcnstudy.ingest.linkage); a linked row
takes the respondent of its person's first row, and the counts per wave go to
``CohortData.linkage``. Codes never reach a record or a problem's value.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from pcnstudy.core.problems import Problem
from pcnstudy.ingest.coerce import (
    coerce_likert,
    coerce_yes_no,
    has_markup,
    is_formula_like,
    is_missing,
    parse_uk_date,
    spreadsheet_error,
)
from pcnstudy.ingest.cohort_data import CohortData, FileStats
from pcnstudy.ingest.exports import RawTable, read_export
from pcnstudy.ingest.header_matching import match_headers
from pcnstudy.ingest.linkage import CodeRow, link_waves, normalise_code
from pcnstudy.ingest.pseudonym import normalise_id, pseudonymise
from pcnstudy.ingest.redact import Redactor, count_kinds
from pcnstudy.ingest.transcripts import INTERVIEW_QUESTION, read_transcript
from pcnstudy.ingest.validate import header_problems, load_cohort, mapped_headers, mapping_problems

#: Longest free-text answer kept; longer answers are truncated here with a record.
MAX_TEXT_CHARS = 10_000
#: A completion date this many days outside the cohort's start..end is a problem.
DATE_MARGIN_DAYS = 366
#: A cohort with a follow-up wave (an evaluation long after the programme, e.g. 14 months on)
#: may answer this many days after its end.
FOLLOW_UP_WAVES = ("follow_up", "followup")
FOLLOW_UP_MARGIN_DAYS = 2 * DATE_MARGIN_DAYS


def _clean(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return None if is_missing(text) else text


#: Control characters no answer needs (C0 and C1, bar tab and line ends), and the bidi
#: overrides/isolates that make text display in an order other than it is stored.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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
    try:
        start = parse_uk_date(str(config.get("start"))).value
        end = parse_uk_date(str(config.get("end"))).value
    except Exception:
        return None
    if start is None or end is None:
        return None
    margin = dt.timedelta(days=DATE_MARGIN_DAYS)
    after = FOLLOW_UP_MARGIN_DAYS if any(w in FOLLOW_UP_WAVES for w in config.get("waves") or []) else DATE_MARGIN_DAYS
    return start - margin, end + dt.timedelta(days=after)


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
        self.design = config.get("design", "paired")
        self.data = CohortData(self.cohort, config["demo"], names=list(config["names"]), design=self.design)
        self.code_headers = [str(h) for h in config["columns"].get("self_code") or []]
        self.code_rows: list[CodeRow] = []
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

    def _survey(self, table: RawTable, entry: dict, rel: str, stats: FileStats, wave_undeclared: bool) -> None:
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
        id_headers = {"paired": [str(self.columns.get("respondent_id"))], "self_code": self.code_headers}.get(self.design, [])
        absent = [h for h in id_headers if h not in headers]
        reason = None
        if file_fatal:
            reason = f"row set aside with its file: {file_fatal[0].reason}"
        elif wave_undeclared:
            reason = f"row set aside: wave {entry['wave']!r} is not declared in cohort.yml"
        elif absent and len(table.frame):
            what = "respondent id" if self.design == "paired" else "self-generated code"
            reason = f"row set aside: the {what} column {absent[0]!r} is missing"
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

    def _row_pseudonym(self, rel: str, row: int) -> str:
        """The pseudonymous respondent of a row that no id links (anonymous designs): from (cohort, file, row)."""
        return pseudonymise(f"row:{rel}:{row}", self.key)

    def _self_code(self, record: dict) -> tuple | None:
        """The row's normalised self-generated code (None when it gave none); the raw code noted for the leak check."""
        values = []
        for header in self.code_headers:
            value = _clean(record.get(header))
            if value is not None and (spreadsheet_error(value) or _CONTROL.search(value)):
                value = None
            values.append(value)
        written = [v for v in values if v]
        if written:
            self.data.codes.add("".join(written))
            self.data.codes.update(v for v in written if len(written) == 1)
        return normalise_code(values)

    def _survey_row(self, record: dict, row: int, entry: dict, rel: str, stats: FileStats) -> bool:
        cols = self.columns
        id_header = str(cols.get("respondent_id"))
        if self.design != "paired":
            raw_id = None
            respondent = self._row_pseudonym(rel, row)
        else:
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
        key = (wave, normalise_id(raw_id) if raw_id is not None else respondent)
        if raw_id is not None and key in self.seen:
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
        if raw_id is not None and "@" in raw_id:
            self.data.literals.append(raw_id)
        if self.design == "self_code":
            self.code_rows.append(CodeRow(respondent, wave, self._self_code(record)))
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
            transcript = read_transcript(path.read_bytes())
            if transcript.problem:
                self.data.problems.append(Problem(rel, 0, "", None, transcript.problem, scope="file"))
                continue
            if transcript.warning:
                self.data.problems.append(Problem(rel, 0, "", None, transcript.warning, scope="file", fatal=False))
            participant = transcript.turns
            stats.rows_read = len(participant)
            if not participant:
                self.data.problems.append(Problem(rel, 0, "", None, "no 'Participant:' turns in the transcript", scope="file"))
                continue
            if wave in undeclared:
                for line_no, _text in participant:
                    self.data.problems.append(Problem(rel, line_no, "", None,
                                                      f"turn set aside: wave {wave!r} is not declared", scope="row"))
                stats.rows_quarantined += len(participant)
                continue
            raw_id = transcript.raw_id
            if raw_id:
                self.data.raw_ids.add(raw_id)
            respondent = pseudonymise(raw_id or f"{self.cohort}/{path.stem}", self.key)
            person = self.people.setdefault(respondent, {"waves": set(), "group": None, "pcn": None,
                                                         "profession": None, "role": None})
            person["waves"].add(wave)
            for turn, (line_no, text) in enumerate(participant, start=1):
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
    def _link(self) -> None:
        """design: self_code: link the rows' respondents across waves by their codes (pcnstudy.ingest.linkage).

        Every row was its own respondent (``_row_pseudonym``); a linked row takes the
        respondent of its person's first row, and that respondent's waves and attributes
        (the first given, in wave order) gather from all of its rows.
        """
        linkage = link_waves(self.code_rows, self.wave_order)
        self.data.linkage = linkage.counts
        final = linkage.respondent
        for table in ("ratings", "feedback"):
            for record in self.data.records[table]:
                record["respondent"] = final[record["respondent"]]
        for item in self.pending_texts:
            item["respondent"] = final[item["respondent"]]
        merged: dict[str, dict[str, Any]] = {}
        for row in self.code_rows:
            person = self.people[row.key]
            target = merged.setdefault(final[row.key], {"waves": set(), "group": None, "pcn": None,
                                                        "profession": None, "role": None})
            target["waves"] |= person["waves"]
            for role in ("group", "pcn", "profession", "role"):
                if target[role] is None:
                    target[role] = person[role]
        self.people = merged

    def _finish(self) -> None:
        data = self.data
        if self.design == "self_code":
            self._link()
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
            if survey_waves and baseline not in survey_waves and self.design != "anonymous":
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
        if problem.column in {cols.get("name"), cols.get("email"), *self.code_headers} - {None}:
            return replace(problem, value="[withheld]")
        text = str(value)
        if problem.column == cols.get("respondent_id") and not text.startswith("r_"):
            return replace(problem, value=pseudonymise(text, self.key) if text.strip() else text)
        for raw_id in sorted(self.data.raw_ids, key=len, reverse=True):
            if raw_id and raw_id in text:
                text = re.sub(rf"(?<![\w]){re.escape(raw_id)}(?![\w])", pseudonymise(raw_id, self.key), text)
        for code in sorted(self.data.codes, key=len, reverse=True):
            if len(code) >= 3 and code in text:
                text = re.sub(rf"(?<![\w]){re.escape(code)}(?![\w])", "[code withheld]", text)
        text = redactor.redact(text)[0]
        return replace(problem, value=text)


def ingest_cohort(cohort_dir: Path, key: bytes, instrument: dict[str, Any], config: dict | None = None) -> CohortData:
    """Read one cohort folder into table rows, problems and counts (nothing written).

    ``instrument`` is config/instrument.yml as a dict; ``config`` the checked cohort.yml
    (read from the folder when None). Raises ``CohortConfigError`` when cohort.yml is
    missing or unusable.
    """
    config = config or load_cohort(cohort_dir)
    return _CohortIngester(Path(cohort_dir), config, instrument, key).run()
