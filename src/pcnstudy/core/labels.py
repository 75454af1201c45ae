"""Plain labels for what the pipeline names by id: cohorts, items and domains.

Published tables, figures and the paper name a cohort by its programme and an item by
its wording, never by the ids of cohort.yml and instrument.yml (``cohort:``, ``items: - id:``).

- ``cohort_labels(cohorts)``: {cohort id: label} from the cohorts table (columns
  ``cohort``, ``programme``, optionally ``start``; a data frame or records), the
  programme's name as each cohort.yml gives it; cohorts of one programme are told apart
  as "<programme>, cohort 1", "cohort 2" ... in order of their start date (then id). A
  cohort without a programme keeps its id.
- ``item_labels(instrument)``: {item id: wording} for the rating and feedback items;
  ``domain_labels(instrument)``: {domain id: name}.
- ``relabel(values, labels)``: the labels of ``values`` (an id without a label kept).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd


def _records(cohorts: Any) -> list[dict[str, Any]]:
    if cohorts is None:
        return []
    if isinstance(cohorts, pd.DataFrame):
        return cohorts.to_dict("records")
    return [dict(c) for c in cohorts]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).split())


def cohort_labels(cohorts: Any) -> dict[str, str]:
    """{cohort id: plain label}: the programme's name, numbered when a programme has several cohorts."""
    records = [r for r in _records(cohorts) if _text(r.get("cohort"))]
    by_programme: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_programme.setdefault(_text(rec.get("programme")), []).append(rec)
    labels: dict[str, str] = {}
    for programme, members in by_programme.items():
        members = sorted(members, key=lambda r: (_text(r.get("start")), _text(r.get("cohort"))))
        for k, rec in enumerate(members, start=1):
            cohort = _text(rec["cohort"])
            if not programme:
                labels[cohort] = cohort
            elif len(members) == 1:
                labels[cohort] = programme
            else:
                labels[cohort] = f"{programme}, cohort {k}"
    return labels


def item_labels(instrument: Mapping[str, Any] | None) -> dict[str, str]:
    """{item id: its wording} for the instrument's rating and feedback items."""
    instrument = instrument or {}
    out: dict[str, str] = {}
    for section in ("items", "feedback"):
        for item in instrument.get(section) or []:
            if isinstance(item, Mapping) and item.get("id"):
                out[str(item["id"])] = _text(item.get("text")) or str(item["id"])
    return out


def domain_labels(instrument: Mapping[str, Any] | None) -> dict[str, str]:
    """{domain id: name} from the instrument's domains."""
    domains = (instrument or {}).get("domains") or {}
    return {str(k): _text((v or {}).get("name")) or str(k) for k, v in domains.items()}


#: waves whose id is not plain English as it stands
WAVE_LABELS = {"follow_up": "follow-up", "followup": "follow-up", "then": "then (retrospective)"}


def wave_label(wave: Any) -> str:
    """A wave as tables print it: "follow-up" for ``follow_up``, "then (retrospective)" for the
    then-test's wave; other ids with their underscores read as spaces."""
    text = _text(wave)
    return WAVE_LABELS.get(text, text.replace("_", " "))


def relabel(values: Iterable[Any], labels: Mapping[str, str] | None) -> list[str]:
    """Each value's label (its own text where ``labels`` has none)."""
    labels = labels or {}
    return [labels.get(str(v), str(v)) for v in values]
