"""The simulation config: cohorts of config/simulation.yml as specs the generator draws from.

Takes ``config/simulation.yml`` (with its phrase bank, ``config/phrases.yml``) and
``config/instrument.yml``; gives the loaded config, one cohort's spec (``cohort_spec``:
the cohort's block with the ratings and text defaults merged in), the random stream
of a cohort (``cohort_rng``) and the small lookups every part of the generator shares
(wave names, merged ratings and text settings, the item table).
"""
from __future__ import annotations

import copy
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml

RATINGS_DEFAULTS: dict[str, Any] = {
    "base": {"leadership": 3.0, "systems": 2.6, "partners": 3.0},
    "item_offset": {},
    "sd_pcn": 0.15,
    "sd_respondent": 0.40,
    "sd_respondent_domain": 0.20,
    "sd_slope": 0.25,
    "sd_residual": 0.55,
    "item_missing": 0.03,
    "then_shift": {},
}
TEXT_DEFAULTS: dict[str, Any] = {
    "n_themes": [0.08, 0.47, 0.33, 0.12],
    "missing": 0.12,
    "missing_marker": 0.25,
    "typo": 0.08,
    "pii": 0.05,
    "pii_kinds": {"name": 0.35, "email": 0.15, "phone": 0.2, "nhs_number": 0.15, "postcode": 0.15},
}


class SimulationConfigError(ValueError):
    """The simulation config is missing a key or holds a value the generator cannot use."""


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read simulation.yml (default ``config/simulation.yml``) and its phrase bank."""
    path = Path(path) if path else paths.CONFIG / "simulation.yml"
    config = load_yaml(path)
    if not isinstance(config, dict) or not isinstance(config.get("cohorts"), dict):
        raise SimulationConfigError(f"{path}: no 'cohorts' mapping")
    phrases = path.parent / config.get("phrases", "phrases.yml")
    config["_phrases"] = load_yaml(phrases)
    config["_path"] = str(path)
    return config


@lru_cache(maxsize=4)
def _instrument_cached(path: str) -> dict[str, Any]:
    return load_yaml(Path(path))


def load_instrument(path: Path | None = None) -> dict[str, Any]:
    """Read instrument.yml (default ``config/instrument.yml``)."""
    return copy.deepcopy(_instrument_cached(str(path or paths.INSTRUMENT)))


def cohort_spec(cohort: str, config: dict[str, Any] | Path | None = None) -> dict[str, Any]:
    """Return one cohort's spec from simulation.yml, with the ratings and text defaults merged in."""
    if not isinstance(config, dict):
        config = load_config(config)
    if cohort not in config["cohorts"]:
        raise SimulationConfigError(f"{config.get('_path', 'simulation.yml')}: no cohort {cohort!r}")
    spec = copy.deepcopy(config["cohorts"][cohort])
    spec["cohort"] = cohort
    ratings = copy.deepcopy(config.get("ratings_defaults", {}))
    for key, value in (spec.get("ratings") or {}).items():
        if isinstance(value, dict) and isinstance(ratings.get(key), dict):
            ratings[key] = {**ratings[key], **value}
        else:
            ratings[key] = value
    spec["ratings"] = ratings
    spec["text_defaults"] = {**TEXT_DEFAULTS, **config.get("text_defaults", {})}
    spec["professions"] = copy.deepcopy(config.get("professions", {}))
    return spec


def cohort_rng(seed: int, cohort: str) -> np.random.Generator:
    """The random stream of one cohort: independent of the other cohorts in the config."""
    return np.random.default_rng([int(seed), zlib.crc32(cohort.encode("utf-8"))])


def wave_names(spec: dict[str, Any]) -> list[str]:
    """The cohort's waves in time order (the keys of its ``waves`` mapping)."""
    waves = spec.get("waves")
    if not isinstance(waves, dict) or not waves:
        raise SimulationConfigError(f"cohort {spec.get('cohort')}: 'waves' must be a non-empty mapping")
    return list(waves)


def ratings_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's ratings settings over the built-in ``RATINGS_DEFAULTS`` (mappings merged key by key)."""
    merged = copy.deepcopy(RATINGS_DEFAULTS)
    for key, value in (spec.get("ratings") or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def item_table(instrument: dict[str, Any]) -> pd.DataFrame:
    """The instrument's items: one row per item with its domain and wording."""
    return pd.DataFrame([{"item": it["id"], "domain": it["domain"], "text": it["text"]} for it in instrument["items"]])


def text_settings(spec, question: str, extra: dict | None = None) -> dict[str, Any]:
    """Free-text settings of one question: the cohort's text defaults, then the question's own (or ``extra``)."""
    settings = dict(spec.get("text_defaults") or TEXT_DEFAULTS)
    settings.update({k: v for k, v in (extra if extra is not None else (spec.get("text") or {}).get(question, {})).items() if k != "themes"})
    return settings
