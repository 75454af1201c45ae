"""Check a cohort's description and the processed tables: schemas and the rules they cannot hold.

Takes a cohort folder's ``cohort.yml`` (and config/instrument.yml) and gives either a
checked cohort description or a ``CohortConfigError`` (a usage error: the folder or
its cohort.yml is missing, not YAML, or lacks required keys), plus ``Problem`` records
for mapping mistakes a run can report (an item id the instrument does not have, a
file whose wave the cohort does not declare, an export header missing from the file,
an export column the mapping does not mention). cohort.yml's ``design`` (``DESIGNS``:
paired, anonymous, self_code; absent = paired) decides which id columns are required:
paired needs ``columns.respondent_id``, self_code ``columns.self_code`` (one header or a
list), anonymous neither; a mismatch is a ``CohortConfigError`` naming the line.

The processed tables' schemas (pandera) live here too: ``TABLE_COLUMNS`` is the one
list of each table's columns (docs/data-dictionary.md is kept in step by a test),
``SCHEMAS`` the checks on them, ``validate_tables`` runs them.

Decisions: a mapped column missing from an export is a problem (fatal: the cohort
cannot be ingested cleanly); an export column the mapping does not mention is a
warning (shown, non-fatal): survey tools add metadata columns (timestamps, IP
addresses) that the analysis need not use. What stops a cohort from being analysed
is fatal (``analysis_problems``: no rating, feedback or text column mapped; a scaffold
placeholder such as ``programme: null  # EDIT`` still empty).
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import yaml

from pcnstudy.core.problems import Problem

COHORT_ID = re.compile(r"^[a-z0-9_]+$")
REQUIRED_KEYS = ("cohort", "waves", "files", "columns")
FILE_FORMATS = ("csv", "xlsx", "text", "auto", "tsv")
ROLE_COLUMNS = ("respondent_id", "pcn", "profession", "role", "group", "date", "name", "email", "wave")
MAPPING_GROUPS = ("items", "feedback", "text")
#: Roles used only for redaction: their values never leave ingest.
PRIVATE_ROLES = ("name", "email")


#: Keys cohort.yml may hold (anything else is reported: a typo would otherwise be ignored).
TOP_KEYS = ("cohort", "programme", "region", "n_pcns", "start", "end", "waves", "retrospective_waves",
            "instrument", "demo", "design", "files", "columns", "names")
FILE_KEYS = ("path", "wave", "format", "layout")
COLUMN_KEYS = (*ROLE_COLUMNS, *MAPPING_GROUPS, "self_code")
#: How a cohort's rows are told apart and linked across waves (cohort.yml ``design``; absent = paired):
#: ``paired`` by columns.respondent_id; ``anonymous`` not at all (each row its own pseudonymous
#: respondent); ``self_code`` by a self-generated identification code (columns.self_code).
DESIGNS = ("paired", "anonymous", "self_code")
EXPORT_LAYOUTS = ("auto", "plain", "qualtrics", "surveymonkey", "msforms", "googleforms")


class _CohortLoader(getattr(yaml, "SafeLoader")):
    """YAML's safe loader, noting keys given twice in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _value in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                self.duplicates.append((str(key), key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class CohortConfigError(Exception):
    """cohort.yml is missing, unreadable or incomplete: a usage error (exit code 2)."""


TABLE_COLUMNS: dict[str, list[str]] = {
    "respondents": ["respondent", "cohort", "group", "pcn", "profession", "role", "waves"],
    "ratings": ["respondent", "cohort", "group", "pcn", "profession", "wave", "item", "domain", "score"],
    "feedback": ["respondent", "cohort", "group", "pcn", "profession", "wave", "item", "value"],
    "texts": ["response_id", "respondent", "cohort", "group", "pcn", "profession", "wave", "question", "text"],
    "quarantine": ["file", "row", "column", "value", "reason"],
}
#: Sort order of each table's rows.
TABLE_SORT: dict[str, list[str]] = {
    "respondents": ["cohort", "respondent"],
    "ratings": ["cohort", "respondent", "wave", "item"],
    "feedback": ["cohort", "respondent", "wave", "item"],
    "texts": ["cohort", "response_id"],
    "quarantine": ["file", "row", "column", "reason", "value"],
}

PSEUDONYM = r"^r_[0-9a-f]{12}$"


def _text(nullable: bool = True, **kwargs: Any) -> pa.Column:
    return pa.Column(str, nullable=nullable, coerce=False, **kwargs)


def build_schemas(scale_min: int = 1, scale_max: int = 5) -> dict[str, pa.DataFrameSchema]:
    """Return the pandera schema of each processed table."""
    respondent = pa.Column(str, pa.Check.str_matches(PSEUDONYM), nullable=False)
    cohort = pa.Column(str, pa.Check.str_matches(COHORT_ID.pattern), nullable=False)
    common = {"respondent": respondent, "cohort": cohort, "group": _text(), "pcn": _text(), "profession": _text()}
    return {
        "respondents": pa.DataFrameSchema(
            {**common, "role": _text(), "waves": _text(False)},
            strict=True, ordered=True, unique=["respondent", "cohort"],
        ),
        "ratings": pa.DataFrameSchema(
            {
                **common,
                "wave": _text(False),
                "item": _text(False),
                "domain": _text(False),
                "score": pa.Column(float, [pa.Check.in_range(scale_min, scale_max),
                                           pa.Check(lambda s: (s % 1 == 0).all(), error="whole scale points")],
                                   nullable=False),
            },
            strict=True, ordered=True, unique=["respondent", "cohort", "wave", "item"],
        ),
        "feedback": pa.DataFrameSchema(
            {**common, "wave": _text(False), "item": _text(False), "value": pa.Column(int, pa.Check.isin([0, 1]))},
            strict=True, ordered=True, unique=["respondent", "cohort", "wave", "item"],
        ),
        "texts": pa.DataFrameSchema(
            {
                "response_id": pa.Column(str, nullable=False, unique=True),
                **common,
                "wave": _text(False),
                "question": _text(False),
                "text": _text(False),
            },
            strict=True, ordered=True,
        ),
        "quarantine": pa.DataFrameSchema(
            {"file": _text(False), "row": pa.Column(int, pa.Check.ge(0)), "column": _text(False),
             "value": _text(), "reason": _text(False)},
            strict=True, ordered=True,
        ),
    }


def validate_tables(tables: dict[str, pd.DataFrame], scale: dict | None = None) -> None:
    """Check each processed table against its schema (raises pandera's SchemaError)."""
    scale = scale or {"min": 1, "max": 5}
    schemas = build_schemas(int(scale["min"]), int(scale["max"]))
    for name, frame in tables.items():
        if name in schemas:
            schemas[name].validate(frame, lazy=True)


# --------------------------------------------------------------------------- cohort.yml


def _line_of(text: str, needle: str) -> int:
    """1-based line of cohort.yml where ``needle`` first appears (0 when not found)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 0


def _is_date(text: str) -> bool:
    try:
        year, month, day = (int(part) for part in text.split("-"))
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def load_cohort(cohort_dir: Path) -> dict[str, Any]:
    """Read and check ``cohort_dir/cohort.yml``; raise ``CohortConfigError`` on a usage error.

    Gives the cohort description with defaults filled in (retrospective_waves [],
    names [], demo False, design 'paired', each file's layout 'auto'; columns.self_code as
    a list) and ``_source`` (the YAML text).
    """
    cohort_dir = Path(cohort_dir)
    if not cohort_dir.is_dir():
        raise CohortConfigError(f"{cohort_dir}: no such cohort folder")
    path = cohort_dir / "cohort.yml"
    if not path.is_file():
        raise CohortConfigError(f"{path}: missing (every cohort folder needs a cohort.yml)")
    try:
        source = path.read_text(encoding="utf-8")
        loader = _CohortLoader(source)
        loader.duplicates = []
        try:
            config = loader.get_single_data()
        finally:
            loader.dispose()
    except UnicodeDecodeError as exc:
        raise CohortConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else ""
        raise CohortConfigError(f"{path}{line}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. start: 2020-13-45 read as an impossible date
        line = next((f":{n}" for n, text in enumerate(source.splitlines(), start=1)
                     if (m := re.match(r"^[^#]*:\s*(\d{4}-\d{1,2}-\d{1,2})\s*(#.*)?$", text)) and not _is_date(m.group(1))), "")
        raise CohortConfigError(f"{path}{line}: a value cannot be read ({exc}); quote it or correct it") from None
    if not isinstance(config, dict):
        raise CohortConfigError(f"{path}: expected a mapping of keys (cohort, waves, files, columns)")
    missing = [key for key in REQUIRED_KEYS if not config.get(key)]
    if missing:
        raise CohortConfigError(f"{path}: missing required key(s): {', '.join(missing)}")
    cohort = str(config["cohort"])
    if not COHORT_ID.match(cohort):
        raise CohortConfigError(f"{path}:{_line_of(source, 'cohort:')}: cohort id {cohort!r} must match [a-z0-9_]+")
    if not isinstance(config["waves"], list) or not all(isinstance(w, str) for w in config["waves"]):
        raise CohortConfigError(f"{path}:{_line_of(source, 'waves:')}: waves must be a list of labels")
    if not isinstance(config["files"], list):
        raise CohortConfigError(f"{path}:{_line_of(source, 'files:')}: files must be a list")
    for index, entry in enumerate(config["files"], start=1):
        if not isinstance(entry, dict) or not entry.get("path") or not entry.get("wave"):
            raise CohortConfigError(f"{path}: files entry {index} needs path and wave")
        fmt = entry.setdefault("format", "auto")
        if fmt not in FILE_FORMATS:
            raise CohortConfigError(
                f"{path}:{_line_of(source, str(entry['path']))}: format {fmt!r} must be one of {', '.join(FILE_FORMATS)}"
            )
        entry.setdefault("layout", "auto")
    columns = config["columns"]
    if not isinstance(columns, dict):
        raise CohortConfigError(f"{path}:{_line_of(source, 'columns:')}: columns must map roles to export headers")
    config["design"] = _check_design(config, columns, path, source)
    for group in MAPPING_GROUPS:
        mapping = columns.get(group) or {}
        if not isinstance(mapping, dict):
            raise CohortConfigError(f"{path}:{_line_of(source, group + ':')}: columns.{group} must map header -> id")
        columns[group] = {str(k): str(v) for k, v in mapping.items()}
    for index, entry in enumerate(config["files"], start=1):
        layout = entry["layout"]
        if layout not in EXPORT_LAYOUTS:
            raise CohortConfigError(
                f"{path}:{_line_of(source, 'layout: ' + str(layout))}: layout {layout!r} must be one of "
                f"{', '.join(EXPORT_LAYOUTS)}"
            )
        if not isinstance(entry["path"], str):
            raise CohortConfigError(f"{path}: files entry {index}: path must be text, not {entry['path']!r}")
    retro = config.get("retrospective_waves") or []
    if not isinstance(retro, list) or not all(isinstance(w, str) for w in retro):
        raise CohortConfigError(
            f"{path}:{_line_of(source, 'retrospective_waves:')}: retrospective_waves must be a list of labels")
    config["retrospective_waves"] = list(retro)
    names = config.get("names") or []
    if not isinstance(names, list) or not all(isinstance(n, (str, type(None))) for n in names):
        raise CohortConfigError(f"{path}:{_line_of(source, 'names:')}: names must be a list of names")
    config["names"] = [n for n in names if n and n.strip()]
    demo = config.get("demo", False)
    if not isinstance(demo, bool):
        raise CohortConfigError(f"{path}:{_line_of(source, 'demo:')}: demo must be true or false, not {demo!r}")
    config["demo"] = demo
    config["_source"] = source
    config["_folder"] = cohort_dir.name
    config["_duplicates"] = list(loader.duplicates)
    return config


def _check_design(config: dict[str, Any], columns: dict[str, Any], path: Path, source: str) -> str:
    """The cohort's ``design`` (absent = paired), its id columns checked; ``columns.self_code`` made a list.

    paired needs columns.respondent_id; anonymous and self_code take none (rows are told
    apart by cohort, file and row); self_code needs columns.self_code (a header, or a list
    of headers whose values together make the code), and only self_code may give it.
    """
    design = config.get("design", "paired")
    design = "paired" if design is None else design
    if design not in DESIGNS:
        raise CohortConfigError(f"{path}:{_line_of(source, 'design:')}: design {design!r} must be one of "
                                f"{', '.join(DESIGNS)}")
    code = columns.get("self_code")
    code_line = _line_of(source, "self_code:") if code is not None else _line_of(source, "columns:")
    if design == "self_code":
        headers = [code] if isinstance(code, str) else code
        if (not isinstance(headers, list) or not headers
                or not all(isinstance(h, str) and h.strip() for h in headers) or len(set(headers)) != len(headers)):
            raise CohortConfigError(
                f"{path}:{code_line}: design: self_code needs columns.self_code: the export header of the "
                "self-generated code, or a list of the headers that together make it (e.g. [Initials, Birth month])")
        columns["self_code"] = [str(h) for h in headers]
        taken = {str(columns[r]) for r in ROLE_COLUMNS if columns.get(r)} | {
            str(h) for g in MAPPING_GROUPS for h in (columns.get(g) or {})}
        clash = [h for h in columns["self_code"] if h in taken]
        if clash:
            raise CohortConfigError(f"{path}:{code_line}: columns.self_code header {clash[0]!r} is also mapped to "
                                    "another role; a code column is read for linking only")
    elif code is not None:
        raise CohortConfigError(f"{path}:{code_line}: columns.self_code is read only with design: self_code "
                                f"(design is {design}); remove it or set design: self_code")
    if design == "paired" and not columns.get("respondent_id"):
        raise CohortConfigError(
            f"{path}:{_line_of(source, 'columns:')}: columns.respondent_id is required (or, for an export with "
            "no participant id, set design: anonymous, or design: self_code with columns.self_code)")
    if design != "paired" and columns.get("respondent_id"):
        raise CohortConfigError(
            f"{path}:{_line_of(source, 'respondent_id:')}: design: {design} takes no columns.respondent_id "
            "(rows are told apart by cohort, file and row); remove it, or set design: paired")
    return design


def _unknown_keys(found: Any, known: tuple[str, ...], where: str) -> list[tuple[str, str]]:
    """(key, message) for each key of ``found`` not in ``known``, with the nearest known key."""
    if not isinstance(found, dict):
        return []
    out = []
    for key in found:
        if str(key).startswith("_") or key in known:
            continue
        near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        out.append((str(key), f"unknown key {key!r} in {where}{hint}; it is ignored"))
    return out


def config_problems(config: dict[str, Any]) -> list[Problem]:
    """Problems in cohort.yml itself: unknown (typo'd) keys, keys given twice, an id that is not the folder's name."""
    source = config.get("_source", "")
    problems = []
    found = _unknown_keys(config, TOP_KEYS, "cohort.yml")
    found += _unknown_keys(config.get("columns"), COLUMN_KEYS, "columns")
    for entry in config.get("files", []):
        found += _unknown_keys(entry, FILE_KEYS, "a files entry")
    for key, message in found:
        problems.append(Problem("cohort.yml", _line_of(source, f"{key}:"), key, None, message, scope="file"))
    for key, line in config.get("_duplicates", []):
        problems.append(Problem("cohort.yml", line, key, None,
                                f"key {key!r} is given twice in one mapping; only the last is used", scope="file"))
    folder = config.get("_folder")
    if folder and folder != config["cohort"]:
        problems.append(Problem("cohort.yml", _line_of(source, "cohort:"), "cohort", config["cohort"],
                                f"warning: the cohort id differs from its folder's name {folder!r} "
                                "(params.yaml `cohorts` selects folders by name)", scope="file", fatal=False))
    return problems


def mapping_problems(config: dict[str, Any], instrument: dict[str, Any]) -> list[Problem]:
    """Problems in cohort.yml: its keys (``config_problems``), unknown item/feedback/question ids, undeclared waves."""
    source = config.get("_source", "")
    known = {
        "items": {item["id"] for item in instrument.get("items", [])},
        "feedback": {item["id"] for item in instrument.get("feedback", [])},
        "text": {item["id"] for item in instrument.get("questions", [])},
    }
    problems = config_problems(config)
    for group in MAPPING_GROUPS:
        for header, item_id in config["columns"].get(group, {}).items():
            if item_id not in known[group]:
                problems.append(Problem(
                    "cohort.yml", _line_of(source, header), f"columns.{group}", item_id,
                    f"maps {header!r} to {item_id!r}, which config/instrument.yml does not define",
                    scope="column",
                ))
    declared = set(config["waves"]) | set(config["retrospective_waves"])
    for entry in config["files"]:
        if entry["wave"] not in declared:
            problems.append(Problem(
                "cohort.yml", _line_of(source, f"wave: {entry['wave']}"), "files.wave", entry["wave"],
                f"file {entry['path']} has wave {entry['wave']!r}, which the cohort does not declare "
                f"(waves: {', '.join(config['waves'])}); its rows are set aside",
                scope="file",
            ))
    return problems


#: A cohort.yml line the scaffold left for the analyst: ``key: null  # EDIT: ...`` (or ``{}`` / ``[]`` / nothing).
_PLACEHOLDER = re.compile(r"^\s*-?\s*([^#:]+?):\s*(?:null|~|\{\}|\[\]|\"\")?\s*#\s*EDIT\b:?\s*(.*)$")


def analysis_problems(config: dict[str, Any]) -> list[Problem]:
    """What stops the cohort from being analysed, each at the cohort.yml line to edit (all fatal).

    - no rating, feedback or text column is mapped (columns.items, feedback and text
      all empty): nothing of the cohort would reach an analysis;
    - a placeholder the scaffold left is still empty: a line whose value is null (or
      ``{}``, ``[]``, nothing) and whose comment says EDIT, e.g. ``programme: null  #
      EDIT: the programme's name`` (the paper and the cohort's report describe it).
    """
    source = config.get("_source", "")
    problems = []
    columns = config.get("columns") or {}
    if not any(columns.get(group) for group in MAPPING_GROUPS):
        line = next((_line_of(source, f"  {group}:") for group in MAPPING_GROUPS if _line_of(source, f"  {group}:")),
                    _line_of(source, "columns:"))
        problems.append(Problem(
            "cohort.yml", line, "columns", None,
            "no rating, feedback or text column is mapped: map the export's headers to instrument ids under "
            "columns.items, columns.feedback or columns.text (nothing of this cohort could be analysed)",
            scope="file"))
    for number, text in enumerate(source.splitlines(), start=1):
        found = _PLACEHOLDER.match(text)
        if found:
            key, what = found.group(1).strip().strip('"'), found.group(2).strip()
            problems.append(Problem(
                "cohort.yml", number, key, None,
                f"{key} is still the scaffold's empty placeholder" + (f" ({what})" if what else "") + ": fill it in",
                scope="file"))
    return problems


def mapped_headers(config: dict[str, Any]) -> dict[str, str]:
    """Return export header -> role ('respondent_id', 'item:lead_1', 'text:valued_most' ...)."""
    columns = config["columns"]
    roles = {str(columns[role]): role for role in ROLE_COLUMNS if columns.get(role)}
    for header in columns.get("self_code") or []:
        roles[str(header)] = "self_code"
    for group, prefix in (("items", "item"), ("feedback", "feedback"), ("text", "text")):
        for header, item_id in columns.get(group, {}).items():
            roles[header] = f"{prefix}:{item_id}"
    return roles


def header_problems(file: str, headers: list[str], config: dict[str, Any], header_row: int = 1,
                    present_anywhere: set[str] | None = None) -> list[Problem]:
    """Compare an export's headers with the mapping.

    A mapped header missing from the export is a fatal problem when it is missing from
    every export of the cohort (``present_anywhere``: headers seen in any export;
    waves may ask different questions, so a column only some waves have is fine);
    the respondent id (and each self-code column) must be in every export. An export header the mapping does not
    mention is a non-fatal warning (the column is ignored).
    """
    mapped = mapped_headers(config)
    present = set(headers)
    anywhere = present if present_anywhere is None else present_anywhere
    problems = []
    for header, role in mapped.items():
        if header in present or role == "wave":
            continue
        if role in ("respondent_id", "self_code") or header not in anywhere:
            problems.append(Problem(
                file, header_row, header, None,
                f"mapped column ({role}) is missing from the export", scope="column",
            ))
    for header in headers:
        if header not in mapped and not header.startswith("(blank header"):
            problems.append(Problem(
                file, header_row, header, None,
                "warning: column not in the cohort.yml mapping (ignored)", scope="column", fatal=False,
            ))
    return problems
