"""Reading what the paper and the cohort report are made from, all of it processed.

Takes a project root and gives its folders (``project_path``: a
``pcnstudy.core.paths`` name moved under another root), the results JSON
(``load_results``: {file stem: parsed JSON}), the exemplar quotes CSV
(``read_quotes``), the twin check's tables (``read_twin``), and the cohorts the run ingested (``read_cohorts``:
data/processed/cohorts.parquet, else its CSV twin; ``cohort_records``: one dict per
cohort with empty values as None, n_pcns as int and the waves as lists). Nothing here
reads data/raw: the ingest stage wrote the cohorts table from each cohort.yml and holds
only the cohorts a run analyses. Errors are ``PaperInputError`` naming the file.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd

from pcnstudy.core import paths

#: The cohorts table's ``data`` value for a cohort of the simulated twin (else "survey export").
SIMULATED = "simulated"
COHORT_FILE = "cohorts.parquet"
COHORT_COLUMNS = ("cohort", "programme", "region", "n_pcns", "start", "end", "waves", "retrospective_waves",
                  "data")
WAVE_COLUMNS = ("waves", "retrospective_waves")


class PaperInputError(Exception):
    """A file the paper needs is missing or malformed (message names it)."""


def project_path(root: Path | None, path: Path) -> Path:
    """``path`` (a ``pcnstudy.core.paths`` name such as ``paths.RESULTS``) in the project at ``root``."""
    return path if root is None else Path(root) / Path(path).relative_to(paths.ROOT)


def load_results(results_dir: Path) -> dict[str, Any]:
    """Read every ``*.json`` in results_dir into {file stem: parsed JSON}."""
    results: dict[str, Any] = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise PaperInputError(f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})") from None
    return results


def find_csv(folder: Path, word: str) -> Path | None:
    """The first CSV (sorted) under ``folder`` whose name contains ``word``."""
    found = sorted(p for p in Path(folder).rglob("*.csv") if word in p.name)
    return found[0] if found else None


def read_quotes(path: Path | None) -> pd.DataFrame | None:
    """The exemplar quotes CSV as read by the csv module (every cell a string), None when absent.

    It must have a theme column (theme, theme_id or topic) and a text column (quote,
    text or excerpt); otherwise PaperInputError names the file and its columns.
    """
    if path is None or not Path(path).is_file():
        return None
    with Path(path).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        if not any(c in fields for c in ("theme", "theme_id", "topic")) or \
                not any(c in fields for c in ("quote", "text", "excerpt")):
            raise PaperInputError(f"{path}:1:{','.join(fields)}: quotes need a theme and a quote/text column")
        rows = list(reader)
    return pd.DataFrame(rows, columns=fields, dtype=object)


def read_twin(results_dir: Path) -> dict[str, pd.DataFrame]:
    """The twin check's tables (``results/twin/change_truth.csv``, ``theme_truth.csv``), empty when absent."""
    tables = {}
    for name in ("change_truth", "theme_truth"):
        path = Path(results_dir) / "twin" / f"{name}.csv"
        try:
            tables[name] = pd.read_csv(path) if path.is_file() else pd.DataFrame()
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise PaperInputError(f"{path}: cannot read the twin check ({err.__class__.__name__}); "
                                  "run `dvc repro` to rebuild it") from None
    return tables


def read_cohorts(processed_dir: Path) -> pd.DataFrame:
    """The ingested cohorts (``cohorts.parquet``, else ``cohorts.csv``); an empty table when neither exists."""
    processed_dir = Path(processed_dir)
    parquet, text = processed_dir / COHORT_FILE, processed_dir / "cohorts.csv"
    path = parquet if parquet.is_file() else text
    if not path.is_file():
        return pd.DataFrame(columns=list(COHORT_COLUMNS))
    try:
        frame = (pd.read_parquet(path) if path == parquet
                 else pd.read_csv(path, dtype=str, keep_default_na=False))
    except Exception as err:  # pyarrow and the CSV parser raise many types; one line names the file
        raise PaperInputError(f"{path}: cannot read the cohorts table ({err.__class__.__name__}); "
                              "run `dvc repro` to rebuild it") from None
    missing = [c for c in COHORT_COLUMNS if c not in frame.columns]
    if missing:
        raise PaperInputError(f"{path}: no column {', '.join(missing)}; run `dvc repro` to rebuild it")
    return frame


def _cell(value: Any) -> Any:
    """A table cell as Python: None for a missing or empty value."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return None
    if isinstance(value, str) and value == "":
        return None
    return value.item() if hasattr(value, "item") else value


def cohort_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per cohort of the cohorts table, in its order: empty cells None, n_pcns an int,
    ``waves`` and ``retrospective_waves`` lists (in time order, [] when none)."""
    records = []
    for row in frame.to_dict("records"):
        rec = {str(key): _cell(value) for key, value in row.items()}
        if rec.get("n_pcns") is not None:
            rec["n_pcns"] = int(rec["n_pcns"])
        for column in WAVE_COLUMNS:
            rec[column] = [w for w in str(rec.get(column) or "").split(";") if w]
        records.append(rec)
    return records
