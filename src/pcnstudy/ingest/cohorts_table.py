"""The cohorts table: each ingested cohort's description from its cohort.yml, so that
later stages (the paper, the cohort report) read cohort metadata from data/processed
and never from data/raw.

``cohorts_frame(configs)`` takes the checked cohort configs (``load_cohort``) and gives
one row per cohort: cohort, programme, region, n_pcns, start, end, waves and
retrospective_waves (``;``-joined, in time order), instrument, data ("simulated"
for the demonstration study's cohorts, else "survey export"), and design (``study_design``:
how change can be estimated: ``paired`` by respondent id, ``linked`` by self-generated
codes, ``unpaired`` for anonymous waves, ``retrospective`` for one wave with a retrospective
then-rating of respondents who can be linked to it, ``single_wave`` for any other single wave).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

COHORT_COLUMNS = ["cohort", "programme", "region", "n_pcns", "start", "end", "waves", "retrospective_waves",
                  "instrument", "data", "design"]
SIMULATED, SURVEY_EXPORT = "simulated", "survey export"
#: cohort.yml ``design`` -> the cohorts table's design when the cohort has several waves.
STUDY_DESIGNS = {"paired": "paired", "self_code": "linked", "anonymous": "unpaired"}
SINGLE_WAVE = "single_wave"
RETROSPECTIVE = "retrospective"


def study_design(config: Mapping[str, Any]) -> str:
    """How a cohort's change can be estimated: paired, linked, unpaired, retrospective (one survey
    wave with a then-test on the same, identified, respondents) or single_wave (one survey wave)."""
    if len(config.get("waves") or []) < 2:
        if config.get("retrospective_waves") and (config.get("design") or "paired") != "anonymous":
            return RETROSPECTIVE
        return SINGLE_WAVE
    return STUDY_DESIGNS[config.get("design") or "paired"]


def _text(value: Any) -> str | None:
    """A metadata value as text (dates as ISO 8601), or None when the cohort.yml leaves it empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _count(value: Any) -> int | None:
    try:
        return None if value is None or str(value).strip() == "" else int(value)
    except (TypeError, ValueError):
        return None


def cohort_row(config: Mapping[str, Any]) -> dict[str, Any]:
    """One cohort's row of the cohorts table."""
    return {
        "cohort": str(config["cohort"]),
        "programme": _text(config.get("programme")),
        "region": _text(config.get("region")),
        "n_pcns": _count(config.get("n_pcns")),
        "start": _text(config.get("start")),
        "end": _text(config.get("end")),
        "waves": ";".join(str(w) for w in config.get("waves") or []),
        "retrospective_waves": ";".join(str(w) for w in config.get("retrospective_waves") or []),
        "instrument": _text(config.get("instrument")),
        "data": SIMULATED if config.get("demo") else SURVEY_EXPORT,
        "design": study_design(config),
    }


def cohorts_frame(configs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The cohorts table, sorted by cohort id: text columns as ``str`` (None where empty), n_pcns as Int64."""
    rows = sorted((cohort_row(c) for c in configs), key=lambda r: r["cohort"])
    frame = pd.DataFrame.from_records(rows, columns=COHORT_COLUMNS) if rows else pd.DataFrame(columns=COHORT_COLUMNS)
    for column in COHORT_COLUMNS:
        if column == "n_pcns":
            frame[column] = frame[column].astype("Int64")
        else:
            frame[column] = pd.Series(frame[column].to_numpy(dtype=object), dtype="str", index=frame.index)
    return frame.reset_index(drop=True)
