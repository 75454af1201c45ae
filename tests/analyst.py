"""What an analyst does by hand between `pcnstudy new-cohort` and `pcnstudy validate`.

``fill_in(cohort_yml)`` replaces the scaffold's EDIT placeholders that describe the
programme (programme, region, start, end) with values, as docs/adapting.md step 3
asks; everything else the scaffold wrote is left as it is.
"""
from __future__ import annotations

import re
from pathlib import Path

VALUES = {
    "programme": '"Demonstration leadership programme"',
    "region": '"Test region"',
    "start": "2021-01-04",
    "end": "2021-12-17",
}


def fill_in(cohort_yml: Path) -> str:
    """Fill the programme's EDIT lines of a scaffolded cohort.yml in place; return the new text."""
    lines = []
    for line in cohort_yml.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^(programme|region|start|end): null  # EDIT", line)
        lines.append(f"{found.group(1)}: {VALUES[found.group(1)]}" if found else line)
    text = "\n".join(lines) + "\n"
    cohort_yml.write_text(text, encoding="utf-8")
    return text
