"""Writers of the ingest stage's files: deterministic parquet, spreadsheet-safe CSV, the report.

``write_outputs(result, out)`` takes an ``IngestResult`` (pcnstudy.ingest.tables) and
writes into ``out``: respondents, ratings, feedback, texts and cohorts as parquet
(pyarrow, no index, no pandas metadata: the same bytes on every run) and CSV ("\\n"
line ends, UTF-8, formula-looking text neutralised with a leading apostrophe),
quarantine.csv, and ingest_report.json (sorted keys, two-space indent).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pcnstudy.core.progress import progress

from pcnstudy.core.problems import QUARANTINE_COLUMNS
from pcnstudy.ingest.cohort_data import TABLES
from pcnstudy.ingest.coerce import FORMULA_PREFIXES, neutralise_formula
from pcnstudy.ingest.tables import IngestResult


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
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="snappy", write_statistics=True)


def write_outputs(result: IngestResult, out: Path) -> None:
    """Write the tables (parquet + CSV), quarantine.csv and ingest_report.json into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for table in progress(TABLES, desc="write tables", leave=False):
        frame = getattr(result, table)
        write_parquet(frame, out / f"{table}.parquet")
        write_csv(frame, out / f"{table}.csv")
    write_csv(result.quarantine[QUARANTINE_COLUMNS], out / "quarantine.csv")
    write_parquet(result.cohorts, out / "cohorts.parquet")
    write_csv(result.cohorts, out / "cohorts.csv")
    (out / "ingest_report.json").write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
