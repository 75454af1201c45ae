"""Problems found in input data, reported as ``file:row:column: message``.

A ``Problem`` names where a bad value sits the way a spreadsheet user counts it
(row 1 is the first header row), what the value was and why it was set aside.
Readers, validators and ingest all collect these; quarantine.csv is a table of them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

QUARANTINE_COLUMNS = ["file", "row", "column", "value", "reason"]


@dataclass(frozen=True)
class Problem:
    """One problem in one place of one input file.

    ``row`` is the spreadsheet row number (0 for the file as a whole), ``column`` the
    export's header ('' for a whole row or file). ``scope`` says what was set aside:
    'cell' (the value became missing), 'column' (a whole column, e.g. a duplicate
    header), 'row' (the row was quarantined) or 'file'.
    ``fatal`` problems stop a cohort from being ingested cleanly.
    """

    file: str
    row: int
    column: str
    value: Any
    reason: str
    scope: str = "cell"
    fatal: bool = True
    extra: dict = field(default_factory=dict, compare=False)

    def format(self) -> str:
        """Return ``file:row:column: message`` for terminals and logs."""
        value = "" if self.value is None else str(self.value)
        if len(value) > 60:
            value = value[:57] + "..."
        shown = f" (value {value!r})" if value else ""
        return f"{self.file}:{self.row}:{self.column}: {self.reason}{shown}"

    def record(self) -> dict[str, Any]:
        """Return the quarantine.csv row for this problem."""
        data = asdict(self)
        return {key: data[key] for key in QUARANTINE_COLUMNS}
