"""The ingest stage in one import: raw survey exports to validated, pseudonymised, redacted tidy tables.

Takes the raw data folder (one folder per cohort, each with a cohort.yml describing
its exports, see docs/architecture.md) and gives, in the output folder:

- respondents, ratings, feedback, texts and cohorts as parquet and CSV
  (docs/data-dictionary.md);
- quarantine.csv: every problem found (file, row, column, value, reason);
- ingest_report.json: per file rows_read, rows_kept, rows_quarantined,
  values_coerced, values_quarantined, values_flagged; totals; respondents without a
  baseline per cohort; redaction counts per kind.

Nothing is lost: every raw row is kept or quarantined (``IngestError`` when a file's
rows_read differs from kept + quarantined). Respondent ids become pseudonyms
(pcnstudy.ingest.pseudonym) and free text is redacted (pcnstudy.ingest.redact) before
anything is written.

The contract, as notebooks/01_ingest.ipynb runs it (pcnstudy.ingest.study):
``read_inputs(raw_dir, cohorts, instrument_path, key_env, key_file) -> IngestInputs``,
``compute(inputs, settings) -> IngestResult`` (pure) and ``write(result, out_dir)``.
Where the work is done: pcnstudy.ingest.cohort_ingester (one cohort), .tables (tables
and the report), .writers (files), .figures (the notebook's figure). The command
entry points (``pcnstudy validate``, ``pcnstudy ingest``, ``pcnstudy new-cohort``) are
in pcnstudy.ingest.commands and are re-exported here for pcnstudy.cli, with
``ingest_study`` (read_inputs, compute and write with params.yaml's settings in one
call) for the benchmark.
"""
from __future__ import annotations

from pcnstudy.ingest.commands import ingest_command, ingest_study, validate_command
from pcnstudy.ingest.study import (
    SETTING_KEYS,
    IngestError,
    IngestInputs,
    IngestSettings,
    compute,
    read_inputs,
    write,
)
from pcnstudy.ingest.tables import IngestResult

__all__ = ["SETTING_KEYS", "IngestError", "IngestInputs", "IngestResult", "IngestSettings", "compute",
           "ingest_command", "ingest_study", "read_inputs", "validate_command", "write"]
