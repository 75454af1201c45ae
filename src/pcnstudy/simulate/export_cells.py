"""The cells and files of a survey export: names, ids, dates, headers, answers, writers.

Takes a cohort spec, the instrument and a numpy Generator; gives what one cell of an
export holds (respondent ids in the cohort's style, response dates within a wave's
window, numbered headers, Likert numbers or labels, yes/no spellings, feedback
answers), a seeded ``Faker`` for names, the recorder of the free-text truth
(``TextRecorder``: themes per response, planted personal data), and the writers of a
CSV (in the cohort's encoding) and of an XLSX whose bytes depend only on its content.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

from pcnstudy.simulate.config import SimulationConfigError
from pcnstudy.simulate.text import ascii_letters
from pcnstudy.simulate.xlsx import stable_xlsx


def seeded_faker(rng: np.random.Generator):
    """A British-English ``Faker`` seeded from one draw of ``rng``."""
    faker = Faker("en_GB")
    faker.seed_instance(int(rng.integers(2**31 - 1)))
    return faker


def unique_names(faker, k: int, taken: set[str]) -> list[str]:
    """``k`` full names not in ``taken`` (which they are added to)."""
    names = []
    while len(names) < k:
        name = f"{faker.first_name()} {faker.last_name()}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def respondent_ids(spec: dict[str, Any], numbers: np.ndarray, names: list[str]) -> list[str]:
    """Respondent ids in the cohort's style: a pattern, a number from ``start``, or an email from the name."""
    style = spec.get("respondent_id") or {"style": "number", "start": 1}
    if style["style"] == "pattern":
        return [style["pattern"].format(n=int(n)) for n in numbers]
    if style["style"] == "number":
        return [str(int(style.get("start", 1)) + int(n) - 1) for n in numbers]
    if style["style"] == "email":
        seen: dict[str, int] = {}
        out = []
        for name in names:
            first, last = name.split(" ", 1)
            local = f"{ascii_letters(first)[:1]}.{ascii_letters(last)}"
            seen[local] = seen.get(local, 0) + 1
            out.append(f"{local}{seen[local] if seen[local] > 1 else ''}@{style.get('domain', 'nhs.net')}")
        return out
    raise SimulationConfigError(f"cohort {spec.get('cohort')}: unknown respondent_id style {style['style']!r}")


def response_dates(rng: np.random.Generator, window: list, k: int) -> list[dt.datetime]:
    """``k`` response times within a wave's ``[first day, last day]`` window, between 08:00 and 20:00."""
    start = dt.datetime.combine(pd.Timestamp(window[0]).date(), dt.time(8, 0))
    end = dt.datetime.combine(pd.Timestamp(window[1]).date(), dt.time(8, 0))
    days = (end - start).days + 1
    out = []
    for _ in range(k):
        day = int(rng.integers(days))
        minute = int(rng.integers(0, 12 * 60))
        out.append(start + dt.timedelta(days=day, minutes=minute))
    return out


def export_headers(spec: dict[str, Any], instrument: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Export header of every (kind, id) the cohort asks, numbered the same in every wave."""
    waves = spec["waves"]
    wanted: list[tuple[str, str, str]] = []
    if any(w.get("items") for w in waves.values()):
        wanted += [("item", it["id"], it["text"]) for it in instrument["items"]]
    asked_fb = {f for w in waves.values() for f in (w.get("feedback") or {})}
    wanted += [("feedback", f["id"], f["text"]) for f in instrument["feedback"] if f["id"] in asked_fb]
    asked_q = [q for w in waves.values() for q in (w.get("text") or [])]
    wanted += [("text", q["id"], q["text"]) for q in instrument["questions"] if q["id"] in asked_q]
    prefix = (spec.get("header") or {}).get("prefix", "")
    grid = (spec.get("header") or {}).get("grid")  # Google Forms: a grid question's rows as "Question [Row]"
    return {(kind, ident): f"{grid} [{text}]" if grid and kind == "item" else prefix.format(n=k + 1) + text
            for k, (kind, ident, text) in enumerate(wanted)}


def likert_cell(rng, value: float, spec, labels: dict[int, str]) -> str | None:
    """One Likert answer as the cohort writes it: a number, or its label (sometimes re-cased); None when blank."""
    if np.isnan(value):
        return None
    if spec.get("likert", "numbers") == "numbers":
        return str(int(value))
    label = labels[int(value)]
    if rng.random() < float(spec.get("label_variants", 0.0)):
        label = label.lower() if rng.random() < 0.5 else label.title()
    return label


def yes_no_cell(rng, yes: bool, spec) -> str:
    """A yes or no in one of the cohort's spellings (drawn by their weights)."""
    spellings = spec.get("yes_no_spellings") or [["Yes", "No"]]
    weights = np.array(spec.get("yes_no_weights") or [1.0] * len(spellings), dtype=float)
    pair = spellings[int(rng.choice(len(spellings), p=weights / weights.sum()))]
    return pair[0] if yes else pair[1]


def feedback_values(rng, rule: dict[str, Any], k: int) -> np.ndarray:
    """``k`` yes/no feedback answers: an exact ``count`` of yeses (or ``"all"``), else each yes with probability ``p``."""
    if "count" in rule:
        count = k if rule["count"] == "all" else int(rule["count"])
        if count > k:
            raise SimulationConfigError(f"feedback count {count} exceeds the {k} responses")
        yes = np.zeros(k, dtype=bool)
        yes[rng.choice(k, size=count, replace=False)] = True
        return yes
    return rng.random(k) < float(rule["p"])


class TextRecorder:
    """Collects the truth about free text: themes per response and planted personal data."""

    def __init__(self, cohort: str):
        self.cohort = cohort
        self.themes: list[dict[str, Any]] = []
        self.pii: list[dict[str, Any]] = []

    def add(self, response_id, wave, file, row, question, column, themes, pii):
        self.themes.append(
            {"response_id": response_id, "cohort": self.cohort, "wave": wave, "file": file, "row": row,
             "question": question, "themes": ";".join(themes)}
        )
        for kind, value in pii:
            self.pii.append(
                {"cohort": self.cohort, "file": file, "row": row, "column": column,
                 "text_response_id": response_id, "kind": kind, "string": value}
            )


def write_csv(path: Path, header: list[str], rows: list[list[str | None]], encoding: str) -> None:
    """Write a CSV export (LF line ends, None as an empty cell) in ``encoding``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buffer.getvalue().encode(encoding))


def write_xlsx(path: Path, header: list[str], rows: list[list[str | None]], stamp: dt.datetime) -> None:
    """Write an XLSX whose bytes depend only on its content (fixed metadata and zip times)."""
    path.write_bytes(stable_xlsx([header, *rows], stamp, sheet="Form1", creator="pcnstudy simulate"))
