"""The twin check as a stage: read the analysis' results and the generator's truth,
compare (pure), write ``results/twin.json`` and ``results/twin/*.csv``.

``read_inputs`` reads the cohorts table (which cohorts are simulated), the change tables
(complete pairs, and the unpaired comparison of cohorts whose waves could not be linked;
the then-test table for cohorts surveyed once with a retrospective then-test),
the themes stage's response-level assignments, the codebook's themes and the truth
(``effects.json``, ``text_themes.csv``); ``compute(inputs, settings)`` builds the change
and theme comparisons (``change_truth``, ``theme_truth``) and their summary; ``write``
writes them. Counts below ``min_cell`` (params.yaml ``disclosure.min_cell``) are not
written. Nothing here is read by the analysis stages.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml
from pcnstudy.twin.change_truth import change_versus_truth, coverage_summary, retrospective_versus_truth
from pcnstudy.twin.theme_truth import theme_summary, theme_versus_truth

SIMULATED = "simulated"
OUT_DIR = "twin"
SETTING_KEYS = {"min_cell": "disclosure.min_cell"}


@dataclass(frozen=True)
class TwinSettings:
    min_cell: int


@dataclass
class TwinInputs:
    cohorts: list[str]                              # simulated cohorts the run analysed
    change: pd.DataFrame
    doc_themes: pd.DataFrame
    themes: list[tuple[str, str]]                   # codebook (id, name)
    effects: dict[str, Any] = field(default_factory=dict)
    text_truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    then_test: pd.DataFrame = field(default_factory=pd.DataFrame)  # for retrospective cohorts


@dataclass
class TwinResult:
    change: pd.DataFrame
    themes: pd.DataFrame
    summary: dict[str, Any]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def simulated_cohorts(processed_dir: Path) -> list[str]:
    """The cohorts of the processed cohorts table that the simulator wrote."""
    path = Path(processed_dir) / "cohorts.parquet"
    if not path.is_file():
        return []
    frame = pd.read_parquet(path, columns=["cohort", "data"])
    return sorted(frame.loc[frame["data"] == SIMULATED, "cohort"].astype(str))


def read_inputs(processed_dir: Path = paths.PROCESSED, results_dir: Path = paths.RESULTS,
                truth_dir: Path = paths.TRUTH, codebook: Path = paths.CODEBOOK) -> TwinInputs:
    results_dir, truth_dir = Path(results_dir), Path(truth_dir)
    effects_path = truth_dir / "effects.json"
    effects = json.loads(effects_path.read_text(encoding="utf-8")) if effects_path.is_file() else {}
    simulated = [c for c in simulated_cohorts(processed_dir) if c in (effects.get("cohorts") or {})]
    themes = [(str(t["id"]), str(t.get("name") or t["id"])) for t in (load_yaml(Path(codebook)) or {}).get("themes", [])]
    paired = _csv(results_dir / "scores" / "change_scores.csv").assign(comparison="paired")
    unpaired = _csv(results_dir / "scores" / "unpaired_change.csv").assign(comparison="unpaired")
    change = pd.concat([t for t in (paired, unpaired) if len(t)], ignore_index=True) if len(paired) + len(unpaired) \
        else pd.DataFrame()
    return TwinInputs(cohorts=simulated, change=change,
                      doc_themes=_csv(results_dir / "themes" / "doc_themes.csv"), themes=themes,
                      effects=effects, text_truth=_csv(truth_dir / "text_themes.csv"),
                      then_test=_csv(results_dir / "scores" / "then_test.csv"))


def hide_small_counts(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Blank a theme's counts and shares where either count is 1 to ``min_cell`` - 1."""
    table = table.copy()
    small = table[["n_true", "n_assigned"]].apply(lambda c: c.between(1, min_cell - 1)).any(axis=1)
    table["suppressed"] = small
    for column in ("n_true", "n_assigned", "pct_true", "pct_assigned"):
        table[column] = table[column].astype(object).where(~small, None)
    return table


def compute(inputs: TwinInputs, settings: TwinSettings) -> TwinResult:
    if not inputs.cohorts or inputs.change.empty:
        change = change_versus_truth(pd.DataFrame(columns=["level", "cohort"]), {}, [])
    else:
        change = change_versus_truth(inputs.change, inputs.effects, inputs.cohorts)
    retrospective = retrospective_versus_truth(inputs.then_test, inputs.effects, inputs.cohorts)
    if len(retrospective):
        change = pd.concat([change, retrospective], ignore_index=True) if len(change) else retrospective
    texts = inputs.text_truth
    if inputs.cohorts and not texts.empty and not inputs.doc_themes.empty:
        texts = texts[texts["cohort"].isin(inputs.cohorts)]
        themes = theme_versus_truth(inputs.doc_themes, texts, inputs.themes)
    else:
        themes = theme_versus_truth(pd.DataFrame(columns=["id", "theme", "assigned"]),
                                    pd.DataFrame(columns=["response_id", "themes"]), [])
    summary = {"n_cohorts": len(inputs.cohorts), "cohorts": list(inputs.cohorts),
               "change": coverage_summary(change) if len(change) else {"n_intervals": 0},
               "themes": theme_summary(themes)}
    return TwinResult(change=change, themes=hide_small_counts(themes, settings.min_cell), summary=summary)


def write(result: TwinResult, results_dir: Path = paths.RESULTS) -> list[Path]:
    out = Path(results_dir) / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("change_truth", result.change), ("theme_truth", result.themes)):
        path = out / f"{name}.csv"
        table.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    summary = Path(results_dir) / f"{OUT_DIR}.json"
    summary.write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n", encoding="utf-8", newline="\n")
    return written + [summary]
