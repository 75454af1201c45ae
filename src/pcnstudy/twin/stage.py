"""The twin check as a stage: read the analysis' results and the generator's truth,
compare (pure), write ``results/twin.json``, ``results/twin/*.csv`` and fig-coverage.

``read_inputs`` reads the cohorts table (which cohorts are simulated, each one's design
and programme), the change tables (complete pairs, and the unpaired comparison of
cohorts whose waves could not be linked; the then-test table for cohorts surveyed once
with a retrospective then-test), the themes stage's response-level assignments, the
codebook's themes, the truth (``effects.json``, ``text_themes.csv``) and the generator's
settings (config/simulation.yml, config/instrument.yml); ``compute(inputs, settings)``
builds the change and theme comparisons (``change_truth``, ``theme_truth``), the coverage
study of the simulated cohorts (``coverage``: ``coverage_replicates`` new draws from the
generator, seeded by params.yaml ``twin.seed``, intervals at ``scores.alpha``) and their
summary; ``write`` writes them and the coverage figure (``figures.coverage_figure``).
Counts below ``min_cell`` (params.yaml ``disclosure.min_cell``) are not written. Nothing
here is read by the analysis stages.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pcnstudy.core import paths
from pcnstudy.core.labels import cohort_labels
from pcnstudy.core.params import load_yaml
from pcnstudy.simulate.config import cohort_spec, load_config, load_instrument
from pcnstudy.twin.change_truth import change_versus_truth, coverage_summary, retrospective_versus_truth
from pcnstudy.twin.coverage import COVERAGE_COLUMNS, coverage_study
from pcnstudy.twin.figures import save_coverage_figure
from pcnstudy.twin.theme_truth import theme_summary, theme_versus_truth

SIMULATED = "simulated"
OUT_DIR = "twin"
SETTING_KEYS = {"min_cell": "disclosure.min_cell", "alpha": "scores.alpha",
                "coverage_replicates": "twin.coverage_replicates", "coverage_seed": "twin.seed"}
SIMULATION_CONFIG = paths.CONFIG / "simulation.yml"


@dataclass(frozen=True)
class TwinSettings:
    min_cell: int
    alpha: float               # the scores stage's alpha: the level of the intervals studied
    coverage_replicates: int   # simulated studies in the coverage study
    coverage_seed: int


@dataclass
class TwinInputs:
    cohorts: list[str]                              # simulated cohorts the run analysed
    change: pd.DataFrame
    doc_themes: pd.DataFrame
    themes: list[tuple[str, str]]                   # codebook (id, name)
    effects: dict[str, Any] = field(default_factory=dict)
    text_truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    then_test: pd.DataFrame = field(default_factory=pd.DataFrame)  # for retrospective cohorts
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)    # simulated cohort -> generator spec
    designs: dict[str, str] = field(default_factory=dict)             # cohort -> design (cohorts table)
    instrument: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)              # cohort -> plain label


@dataclass
class TwinResult:
    change: pd.DataFrame
    themes: pd.DataFrame
    summary: dict[str, Any]
    coverage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COVERAGE_COLUMNS))
    labels: dict[str, str] = field(default_factory=dict)


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def cohorts_table(processed_dir: Path) -> pd.DataFrame:
    """The processed cohorts table (empty without one)."""
    path = Path(processed_dir) / "cohorts.parquet"
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=["cohort", "data"])


def simulated_cohorts(processed_dir: Path) -> list[str]:
    """The cohorts of the processed cohorts table that the simulator wrote."""
    frame = cohorts_table(processed_dir)
    return sorted(frame.loc[frame["data"] == SIMULATED, "cohort"].astype(str))


def generator_specs(cohorts: list[str], config_path: Path) -> dict[str, dict[str, Any]]:
    """The generator's spec of each simulated cohort that the simulation config holds."""
    if not cohorts or not Path(config_path).is_file():
        return {}
    config = load_config(Path(config_path))
    return {c: cohort_spec(c, config) for c in cohorts if c in config["cohorts"]}


def read_inputs(processed_dir: Path = paths.PROCESSED, results_dir: Path = paths.RESULTS,
                truth_dir: Path = paths.TRUTH, codebook: Path = paths.CODEBOOK,
                simulation: Path = SIMULATION_CONFIG, instrument: Path = paths.INSTRUMENT) -> TwinInputs:
    results_dir, truth_dir = Path(results_dir), Path(truth_dir)
    effects_path = truth_dir / "effects.json"
    effects = json.loads(effects_path.read_text(encoding="utf-8")) if effects_path.is_file() else {}
    simulated = [c for c in simulated_cohorts(processed_dir) if c in (effects.get("cohorts") or {})]
    table = cohorts_table(processed_dir)
    designs = ({str(c): str(d) for c, d in zip(table["cohort"], table["design"]) if isinstance(d, str) and d}
               if "design" in table.columns else {})
    specs = generator_specs(simulated, Path(simulation))
    themes = [(str(t["id"]), str(t.get("name") or t["id"])) for t in (load_yaml(Path(codebook)) or {}).get("themes", [])]
    paired = _csv(results_dir / "scores" / "change_scores.csv").assign(comparison="paired")
    unpaired = _csv(results_dir / "scores" / "unpaired_change.csv").assign(comparison="unpaired")
    change = pd.concat([t for t in (paired, unpaired) if len(t)], ignore_index=True) if len(paired) + len(unpaired) \
        else pd.DataFrame()
    return TwinInputs(cohorts=simulated, change=change,
                      doc_themes=_csv(results_dir / "themes" / "doc_themes.csv"), themes=themes,
                      effects=effects, text_truth=_csv(truth_dir / "text_themes.csv"),
                      then_test=_csv(results_dir / "scores" / "then_test.csv"), specs=specs,
                      designs=designs, instrument=load_instrument(Path(instrument)) if specs else {},
                      labels=cohort_labels(table) if "programme" in table.columns else {})


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
    specs = {c: inputs.specs[c] for c in inputs.cohorts if c in inputs.specs}
    coverage, coverage_numbers = coverage_study(specs, inputs.designs, inputs.instrument, settings.coverage_replicates,
                                                settings.coverage_seed, settings.alpha)
    summary = {"n_cohorts": len(inputs.cohorts), "cohorts": list(inputs.cohorts),
               "change": coverage_summary(change) if len(change) else {"n_intervals": 0},
               "themes": theme_summary(themes), "coverage": coverage_numbers}
    return TwinResult(change=change, themes=hide_small_counts(themes, settings.min_cell), summary=summary,
                      coverage=coverage, labels=dict(inputs.labels))


def write(result: TwinResult, results_dir: Path = paths.RESULTS, figures_dir: Path = paths.FIGURES) -> list[Path]:
    out = Path(results_dir) / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("change_truth", result.change), ("theme_truth", result.themes),
                        ("coverage", result.coverage)):
        path = out / f"{name}.csv"
        table.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    summary = Path(results_dir) / f"{OUT_DIR}.json"
    summary.write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n", encoding="utf-8", newline="\n")
    return written + [summary] + save_coverage_figure(result.coverage, Path(figures_dir), result.labels)
