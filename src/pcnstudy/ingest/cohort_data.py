"""What ingesting one cohort gives: its table rows, problems and per-file counts.

``CohortData`` (filled by pcnstudy.ingest.cohort_ingester, read by pcnstudy.ingest.tables)
holds the rows of each of ``TABLES``, every ``Problem``, a ``FileStats`` per raw file
(rows read, kept, quarantined; values coerced, quarantined, flagged: the proof that
nothing was lost), the redaction counts, respondents without a baseline, and the raw
ids, names, literals and unredacted texts (for the leak and redaction checks only), the
cohort's design (cohort.yml ``design``), and for ``design: self_code`` the linking counts
per wave (pcnstudy.ingest.linkage.COUNTS) and the raw codes (for the leak check only:
they never reach a table).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pcnstudy.core.problems import Problem
from pcnstudy.ingest.redact import KINDS

TABLES = ("respondents", "ratings", "feedback", "texts")


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
    design: str = "paired"
    linkage: dict[str, dict[str, int]] = field(default_factory=dict)
    codes: set[str] = field(default_factory=set)
