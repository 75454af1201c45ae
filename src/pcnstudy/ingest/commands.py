"""The ingest stage's command-line entry points: ``pcnstudy validate``, ``pcnstudy ingest``
and ``pcnstudy new-cohort`` (pcnstudy.cli wraps each in one line).

- ``validate_command(cohort_dir)``: check one cohort folder; print every problem as
  ``file:row:column: message``, then a summary line; exit 0 when the cohort can be
  ingested cleanly (warnings allowed), 1 when it has problems (among them what stops
  it from being analysed: no rating, feedback or text column mapped, a scaffold
  placeholder still empty, each at its cohort.yml line), 2 on a usage error.
- ``ingest_command(raw, out)``: run the whole stage outside DVC; 0 ok, 1 bad input
  (one line per reason, never a traceback), 2 an unusable cohort.yml.
- ``new_cohort_command(name, exports, waves)``: copy the exports byte for byte into
  ``data/raw/NAME/``, write its cohort.yml (pcnstudy.ingest.scaffold) and print the
  table of mapped, low-confidence and unmapped columns, then the respondent id chosen
  from the data with every candidate and why it was taken or refused
  (pcnstudy.ingest.respondent_id; none qualifying gives ``design: anonymous``). Exit
  codes: 0 scaffolded, 1 no item, feedback or text column matched or an export is
  unreadable (the line of cohort.yml to edit is named), 2 a usage error (bad name,
  folder exists, --wave count not matching --export, export missing).

These are the command layer: they read params.yaml (``cohorts``, ``ingest.key_env``,
``ingest.key_file``) and config/instrument.yml, which the stage's ``compute`` never does.
``ingest_study`` runs read_inputs, compute and write with those settings in one call
(the benchmark uses it).
"""
from __future__ import annotations

import shutil
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from pcnstudy.core import paths
from pcnstudy.core.params import load_params, load_yaml
from pcnstudy.ingest.cohort_ingester import ingest_cohort
from pcnstudy.ingest.exports import RawTable, read_export
from pcnstudy.ingest.pseudonym import resolve_key
from pcnstudy.ingest.scaffold import COHORT_NAME, DEFAULT_WAVES, build_cohort_yml, format_matches
from pcnstudy.ingest.stage import IngestError, compute, read_inputs, settings_from_params, write
from pcnstudy.ingest.tables import IngestResult
from pcnstudy.ingest.validate import CohortConfigError, analysis_problems, load_cohort


def ingest_study(raw: Path | None = None, out: Path | None = None, cohorts: Sequence[str] | None = None,
                 key: bytes | None = None, params: dict | None = None) -> IngestResult:
    """Ingest every cohort under ``raw`` (or those listed) and write the tables into ``out``.

    ``cohorts`` defaults to params.yaml ``cohorts`` ([] = every folder with a
    cohort.yml, sorted). ``key`` defaults to the key found from params.yaml
    ``ingest.key_env`` / ``ingest.key_file`` (see ``read_inputs``). ``params`` stands in
    for params.yaml. ``out=None`` writes nothing. Raises ``IngestError`` when a file's
    rows do not add up, ``CohortConfigError`` for an unusable cohort.yml.
    """
    settings = settings_from_params(load_params() if params is None else params)
    if cohorts is not None:
        settings = replace(settings, cohorts=tuple(cohorts))
    inputs = read_inputs(Path(raw or paths.RAW), settings.cohorts, paths.INSTRUMENT, settings.key_env,
                         settings.key_file, key=key)
    result = compute(inputs, settings)
    if out:
        write(result, Path(out))
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
    for cohort, entry in result.report["cohorts"].items():
        for line in linkage_lines(cohort, entry.get("linkage") or {}):
            print(line)
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
        data = ingest_cohort(cohort_dir, key, load_yaml(paths.INSTRUMENT), config)
    except Exception as exc:
        print(f"{cohort_dir}:0:: cannot check the cohort: {type(exc).__name__}: {exc}".splitlines()[0])
        print("1 problem")
        return 1
    ordered = sorted(data.problems + analysis_problems(config), key=lambda p: (p.file, p.row, p.column, p.reason))
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
        + (f"{data.no_baseline} respondent(s) without a baseline" if data.design != "anonymous"
           else "design anonymous: each row its own respondent, waves not linked")
    )
    for line in linkage_lines(config["cohort"], data.linkage):
        print(line)
    return 1 if fatal or unbalanced else 0


def linkage_lines(cohort: str, linkage: dict[str, dict[str, int]]) -> list[str]:
    """One line per wave of a self_code cohort's linking counts (none for other designs)."""
    return [f"{cohort} {wave}: {c['rows']} rows; linked {c['linked_exact']} exact, {c['linked_tolerant']} tolerant; "
            f"{c['ambiguous']} ambiguous, {c['unlinked']} unlinked, {c['no_code']} without a code"
            for wave, c in linkage.items()]


# --------------------------------------------------------------------------- new-cohort


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
    instrument = load_yaml(Path(instrument_path or paths.INSTRUMENT))

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
    choice = scaffold.id_choice
    print()
    if choice.header:
        print(f"Respondent id: {choice.header!r} (design: paired)" + (f"; {choice.note}" if choice.note else ""))
    else:
        print(f"Respondent id: none (design: anonymous): {choice.note}")
    for line in choice.lines():
        print(f"  {line}")
    for line, what in scaffold.edits:
        print(f"{config}:{line}: EDIT: {what}")
    if scaffold.edits:
        return 1
    print(f"Next: fill in the EDIT lines of {config}, then run `pcnstudy validate {target}`.")
    return 0
