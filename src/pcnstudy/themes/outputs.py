"""Writing the themes outputs: CSV tables and JSON documents with stable bytes.

``write_csv(table, path)`` writes a table without its index and with ``\\n`` line ends;
``plain(value)`` makes nested results JSON-safe (numpy scalars to Python, nan and inf
to None); ``write_json(data, path)`` writes ``plain(data)`` indented, keys sorted.
Both create the parent folder.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` to ``path`` (no index, ``\\n`` line ends), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, lineterminator="\n")


def plain(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, nan/inf to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def write_json(data: dict, path: Path) -> None:
    """Write ``plain(data)`` as indented JSON with sorted keys, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plain(data), indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
