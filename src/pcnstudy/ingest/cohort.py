"""``pcnstudy new-cohort``'s entry point under its former module name, for pcnstudy.cli.

The command is pcnstudy.ingest.commands.new_cohort_command; the scaffold it writes is
pcnstudy.ingest.scaffold and the header matching behind it pcnstudy.ingest.header_matching.
"""
from __future__ import annotations

from pcnstudy.ingest.commands import new_cohort_command

__all__ = ["new_cohort_command"]
