"""Read params.yaml: the study's parameters, grouped by stage."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from pcnstudy.core import paths


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


def lookup(params: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted key of params.yaml (``"scores.alpha"``); KeyError naming the key if absent."""
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"params.yaml has no {dotted!r}")
        value = value[part]
    return value


def resolve_settings(given: Mapping[str, Any], keys: Mapping[str, str],
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A stage's settings: each value as the notebook's parameters cell gave it, or, where
    that is None, the value params.yaml holds at its dotted key in ``keys``.

    dvc.yaml fills every parameter from params.yaml, so under ``dvc repro`` nothing is
    looked up; a notebook opened in Jupyter leaves them None and gets the same values.
    Defaults therefore live in params.yaml alone.
    """
    missing = [name for name in keys if given.get(name) is None]
    if missing and params is None:
        params = load_params()
    settings = {}
    for name, dotted in keys.items():
        value = given.get(name)
        settings[name] = lookup(params, dotted) if value is None else value
    return settings
