"""Read params.yaml: the study's parameters, grouped by stage."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pcnstudy import paths


def load_params(path: Path | None = None) -> dict[str, Any]:
    """Return params.yaml as a dict (an empty dict when the file is missing)."""
    path = Path(path) if path else paths.PARAMS
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def load_yaml(path: Path) -> Any:
    """Read a YAML config file as plain Python objects."""
    with Path(path).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)
