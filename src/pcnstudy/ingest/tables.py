"""Table assembly and the ingest report: the cohorts' rows to typed tables, and the proof that nothing was lost.

Takes the ``CohortData`` of every ingested cohort (pcnstudy.ingest.cohort_data)
and gives:

- ``build_tables(cohorts)``: respondents, ratings, feedback, texts and quarantine as
  pandas tables, their columns in the order of ``TABLE_COLUMNS``
  (docs/data-dictionary.md), text as pandas' ``str`` dtype with None for missing,
  sorted by ``TABLE_SORT``;
- ``build_report(cohorts, key)``: the content of ingest_report.json (per file
  rows_read, rows_kept, rows_quarantined, values_coerced, values_quarantined,
  values_flagged; totals; rows unaccounted for; per cohort respondents, those
  without a baseline, texts, problems and warnings, and for a cohort whose design is not
  paired its design and (self_code) its linking counts per wave; redaction counts per kind; the
  key's source; the longest text kept);
- ``IngestResult``: the stage's results object holding those tables, the cohorts
  table, the report and the problems, with ``summary_frame()`` (the per-file counts) and
  ``linkage_frame()`` (self-code linking counts per cohort and wave).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pcnstudy.core.problems import Problem
from pcnstudy.ingest.cohort_data import TABLES, CohortData, FileStats
from pcnstudy.ingest.cohort_ingester import MAX_TEXT_CHARS
from pcnstudy.ingest.cohorts_table import cohorts_frame
from pcnstudy.ingest.linkage import COUNTS
from pcnstudy.ingest.pseudonym import PseudonymKey
from pcnstudy.ingest.redact import KINDS
from pcnstudy.ingest.validate import TABLE_COLUMNS, TABLE_SORT

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


def _design_entry(data: CohortData) -> dict[str, Any]:
    """A cohort's design in the report when it is not paired, with its linking counts per wave (self_code)."""
    if data.design == "paired":
        return {}
    entry: dict[str, Any] = {"design": data.design}
    if data.linkage:
        entry["linkage"] = {wave: dict(counts) for wave, counts in data.linkage.items()}
    return entry


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
                **_design_entry(data),
            }
            for data in sorted(cohorts, key=lambda d: d.cohort)
        },
        "problems": {"fatal": sum(p.fatal for p in problems), "warnings": sum(not p.fatal for p in problems)},
        "redaction": {kind: int(redaction.get(kind, 0)) for kind in KINDS},
        "pseudonym_key": key.source,
        "max_text_chars": MAX_TEXT_CHARS,
    }


def file_counts(report: dict[str, Any]) -> pd.DataFrame:
    """The report's per-file counts as a table (one row per raw file, sorted)."""
    frame = pd.DataFrame.from_dict(report["files"], orient="index")
    frame.index.name = "file"
    return frame.sort_index()


def linkage_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The report's self-code linking counts as a table (index cohort, wave; one column per count)."""
    rows = [{"cohort": cohort, "wave": wave, **counts}
            for cohort, entry in sorted(report["cohorts"].items()) for wave, counts in (entry.get("linkage") or {}).items()]
    frame = pd.DataFrame(rows, columns=["cohort", "wave", *COUNTS]).astype({c: "int64" for c in COUNTS})
    return frame.set_index(["cohort", "wave"])


@dataclass
class IngestResult:
    """The ingest stage's outputs: the four tables, quarantine, the cohorts table, the report, and problems."""

    respondents: pd.DataFrame
    ratings: pd.DataFrame
    feedback: pd.DataFrame
    texts: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any]
    problems: list[Problem]
    cohorts: pd.DataFrame = field(default_factory=lambda: cohorts_frame([]))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables and quarantine, by name."""
        return {name: getattr(self, name) for name in (*TABLES, "quarantine")}

    def row_counts(self) -> dict[str, int]:
        """Rows of each table written, and the quarantine records."""
        return {name: len(table) for name, table in self.tables().items()}

    def quarantine_reasons(self) -> pd.DataFrame:
        """Quarantine records per reason (index ``reason``, column ``n``), most frequent first."""
        reasons = self.quarantine["reason"] if "reason" in self.quarantine else pd.Series([], dtype=object)
        frame = reasons.value_counts().rename("n").to_frame()
        frame.index.name = "reason"
        return frame

    def linkage_frame(self) -> pd.DataFrame:
        """Self-code linking per cohort and wave (index cohort, wave; columns ``linkage.COUNTS``);
        no rows when no cohort has ``design: self_code``."""
        return linkage_frame(self.report)

    def summary_frame(self) -> pd.DataFrame:
        """Per raw file (index ``file``, sorted): rows read, kept and quarantined, values coerced,
        quarantined and flagged."""
        return file_counts(self.report)
