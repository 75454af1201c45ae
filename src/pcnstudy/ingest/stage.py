"""The ingest stage's contract: read the inputs, compute the tables (pure), write them.

- ``read_inputs(raw_dir, cohorts, instrument_path, key_env, key_file) -> IngestInputs``:
  the cohort folders under ``raw_dir`` (``cohorts``: the ids to ingest, empty = every
  folder with a cohort.yml, sorted), their checked cohort.yml (``load_cohort``), the
  instrument (config/instrument.yml) as a dict, and the pseudonymisation key
  (``pcnstudy.ingest.pseudonym.resolve_key``: the environment variable named
  ``key_env``, else the file ``key_file``, else the public demo key, which is refused,
  raising ``IngestError`` with one line saying how to make a key, unless every cohort
  says ``demo: true``).
- ``compute(inputs, settings) -> IngestResult``: every cohort ingested
  (pcnstudy.ingest.cohort_ingester), the tables assembled and checked against their
  schemas, the report built (pcnstudy.ingest.tables). It reads the raw exports the
  configs list (read only) and nothing else: no params.yaml, no module-global config,
  no file written. Raises ``IngestError`` when a file's rows do not add up.
- ``write(result, out_dir)``: the tables, quarantine.csv and ingest_report.json
  (pcnstudy.ingest.writers).

``IngestSettings`` are the notebook's resolved parameters (params.yaml ``cohorts``,
``ingest.key_env``, ``ingest.key_file``); ``settings_from_params`` builds them from
params.yaml for the command line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from pcnstudy.core import paths
from pcnstudy.core.progress import progress

from pcnstudy.core.params import load_yaml
from pcnstudy.ingest.cohort_ingester import ingest_cohort
from pcnstudy.ingest.cohorts_table import cohorts_frame
from pcnstudy.ingest.pseudonym import DemoKeyError, PseudonymKey, key_path_problem, refuse_demo_key, resolve_key
from pcnstudy.ingest.tables import IngestResult, build_report, build_tables
from pcnstudy.ingest.validate import CohortConfigError, load_cohort, validate_tables
from pcnstudy.ingest.writers import write_outputs

#: params.yaml's dotted key of each setting (for ``resolve_settings``).
SETTING_KEYS = {"cohorts": "cohorts", "key_env": "ingest.key_env", "key_file": "ingest.key_file"}


class IngestError(Exception):
    """The stage cannot finish: rows unaccounted for, or no cohort to ingest."""


@dataclass(frozen=True)
class IngestSettings:
    """The ingest stage's settings: which cohorts (empty = all), where the pseudonym key is found."""

    cohorts: tuple[str, ...]
    key_env: str
    key_file: str


@dataclass(frozen=True)
class IngestInputs:
    """What the stage computes from: each cohort's folder and checked cohort.yml, the instrument, the key."""

    cohort_dirs: tuple[Path, ...]
    configs: tuple[dict[str, Any], ...]
    instrument: dict[str, Any]
    key: PseudonymKey


def settings_from_params(params: Mapping[str, Any]) -> IngestSettings:
    """The settings as params.yaml holds them (``cohorts``, ``ingest.key_env``, ``ingest.key_file``)."""
    ingest = params.get("ingest") or {}
    return IngestSettings(tuple(params.get("cohorts") or ()), ingest.get("key_env"), ingest.get("key_file"))


def cohort_dirs(raw: Path, cohorts: Sequence[str] | None) -> list[Path]:
    """The cohort folders to ingest: those listed (each must hold a cohort.yml), else every one under ``raw``."""
    raw = Path(raw)
    if cohorts:
        dirs = [raw / name for name in cohorts]
        missing = [str(d) for d in dirs if not (d / "cohort.yml").is_file()]
        if missing:
            raise CohortConfigError(f"no cohort.yml in: {', '.join(missing)}")
        return dirs
    return sorted(d for d in raw.iterdir() if d.is_dir() and (d / "cohort.yml").is_file()) if raw.is_dir() else []


def read_inputs(raw_dir: Path, cohorts: Sequence[str], instrument_path: Path, key_env: str | None,
                key_file: str | None, key: bytes | None = None) -> IngestInputs:
    """Read what ``compute`` needs (see the module docstring); ``key`` given overrides the key settings.

    Raises ``IngestError`` when there is no cohort folder, when only the public demo
    key was found for a cohort not marked ``demo: true``, or when the key file lies
    inside the project (or any DVC project); ``CohortConfigError`` for an unusable
    cohort.yml.
    """
    dirs = cohort_dirs(Path(raw_dir), cohorts)
    if not dirs:
        raise IngestError(f"{raw_dir}: no cohort folders (with a cohort.yml) to ingest")
    configs = tuple(load_cohort(d) for d in dirs)
    if key is None:
        found = resolve_key({"key_env": key_env, "key_file": key_file})
        try:
            refuse_demo_key(found, {c["cohort"]: c["demo"] for c in configs})
        except DemoKeyError as exc:
            raise IngestError(str(exc)) from None
        problem = key_path_problem(Path(str(key_file)), paths.ROOT) if found.source == "file" else None
        if problem:
            raise IngestError(f"the pseudonymisation key file {problem}; move it out (`pcnstudy key` writes a new "
                              "one outside) and point params.yaml ingest.key_file at it")
    else:
        found = PseudonymKey(key, "argument")
    return IngestInputs(tuple(dirs), configs, load_yaml(instrument_path), found)


def compute(inputs: IngestInputs, settings: IngestSettings) -> IngestResult:
    """Ingest every cohort of ``inputs`` (those of ``settings.cohorts`` when it lists any, in that order).

    Pure in the stage's sense: nothing written, no config read; the raw exports the
    configs list are read. Raises ``IngestError`` when a file's rows read differ from
    kept + quarantined, ``CohortConfigError`` when ``settings.cohorts`` names a cohort
    the inputs do not hold.
    """
    pairs = list(zip(inputs.cohort_dirs, inputs.configs))
    if settings.cohorts:
        by_folder = {folder.name: (folder, config) for folder, config in pairs}
        unknown = [name for name in settings.cohorts if name not in by_folder]
        if unknown:
            raise CohortConfigError(f"cohorts not among the inputs: {', '.join(unknown)}")
        pairs = [by_folder[name] for name in settings.cohorts]
    results = [ingest_cohort(folder, inputs.key.key, inputs.instrument, config)
               for folder, config in progress(pairs, desc="ingest")]
    tables = build_tables(results)
    validate_tables(tables, inputs.instrument.get("scale"))
    report = build_report(results, inputs.key)
    if report["unbalanced_files"]:
        raise IngestError(
            "rows unaccounted for (rows_read != kept + quarantined) in: " + ", ".join(report["unbalanced_files"])
        )
    return IngestResult(**tables, report=report, problems=[p for r in results for p in r.problems],
                        cohorts=cohorts_frame(config for _folder, config in pairs))


def write(result: IngestResult, out_dir: Path) -> None:
    """Write the tables (parquet + CSV), cohorts, quarantine.csv and ingest_report.json into ``out_dir``."""
    write_outputs(result, Path(out_dir))
