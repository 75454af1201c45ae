"""The scores stage: processed tables in, result tables, scores.json and figures out.

Three steps (the stage contract of docs/architecture.md):

* ``read_inputs(processed_dir, instrument_path)`` reads
  ``processed/{ratings,feedback,respondents}.parquet``, ``processed/cohorts.parquet``
  when present (each cohort's ``design``) and the instrument (config/instrument.yml)
  into a ``ScoresInputs``;
* ``compute(inputs, settings)`` is pure (no files, no params.yaml, no globals): it gives
  a ``ScoresResult`` holding the tables change_scores, mixed_models, ordinal,
  reliability, feedback_proportions and attrition, attrition_by_profession
  (disclosure-controlled), meta, then_test, kirkpatrick, unpaired_change
  (disclosure-controlled) and unpaired_models, meta_programmes (cohorts of one
  programme pooled first), effect_sizes, bias, and the scores.json dict
  (plain floats keyed by cohort then domain/item, Results JSON conventions; suppressed
  values are the marker string, e.g. "<5"). ``result.summary_frame(name)`` gives a
  table indexed by its key columns, ``result.conf_int(alpha)`` the change scores' CI of
  the mean difference at another alpha, from the stored estimates (no refit);
* ``write(result, results_dir, figures_dir)`` writes ``results/scores/*.csv``,
  ``results/scores.json`` and the figures ``fig-slopes``, ``fig-forest``,
  ``fig-likert``, ``fig-feedback`` (PNG + SVG; fig-slopes samples respondents' lines
  with ``seed`` above 200 per panel).

``ScoresSettings`` (no defaults) holds what params.yaml gives: ``scores.alpha``,
``scores.bootstrap_reps``, ``scores.seed``, ``scores.min_pcn_groups``,
``disclosure.min_cell``, ``disclosure.rule`` and ``cohorts`` (empty: every cohort);
``SETTING_KEYS`` maps each to its dotted key. Waves are put in time order by name
(baseline, pre, mid, post, end, follow_up; others as seen); a retrospective wave
(``RETROSPECTIVE_WAVES``: the then-test) is left out of change and mixed models and
compared with the last wave separately. Each cohort's design (``pcnstudy.scores.unpaired``;
no cohorts table or no ``design``: paired) chooses its statistics: paired and linked
cohorts the paired ones, unpaired cohorts the unpaired ones only, single-wave cohorts
none about change, and retrospective cohorts (one wave with a then-test) only their
then-vs-now change in the then-test table, outside the meta-analysis (reliability and
feedback for every cohort). The unpublished remainder of a feedback
count (the "no" answers beside a published "yes" count and total) is always protected
(``PROTECT_REMAINDER``, see pcnstudy.core.disclosure).

``run_scores_stage(processed, results, figures, params)`` does the three steps with
settings from a params.yaml dict (for the benchmark).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml, resolve_settings
from pcnstudy.core.proportions import FEEDBACK_COLUMNS, feedback_table
from pcnstudy.scores import figures as scores_figures
from pcnstudy.scores.attrition import attrition_by_profession, attrition_table
from pcnstudy.scores.bias import bias_table, publish_bias
from pcnstudy.scores.change import change_table, paired_t_from_summary
from pcnstudy.scores.effects import effect_table
from pcnstudy.scores.kirkpatrick import kirkpatrick_tables
from pcnstudy.scores.meta import pool_change, pool_programmes
from pcnstudy.scores.mixed import mixed_table
from pcnstudy.scores.ordinal import ordinal_table
from pcnstudy.scores.pairs import hide_counts
from pcnstudy.scores.publish import feedback_labels, publish_tables, publish_unpaired
from pcnstudy.scores.ratings_table import POOLED, InputError, add_domain_scores, order_waves, validate_long, write_csv
from pcnstudy.scores.reliability import reliability_table
from pcnstudy.scores.scores_json import (build_scores_json, build_unpaired_json, extra_sections, last_wave_rows,
                                        method_sections)
from pcnstudy.scores.then_test import then_test_table
from pcnstudy.scores.unpaired import (cohort_designs, retrospective_rows, split_by_design, unpaired_change_table,
                                      unpaired_model_table)

#: Each setting and the params.yaml key that holds its value.
SETTING_KEYS = {
    "alpha": "scores.alpha",
    "bootstrap_reps": "scores.bootstrap_reps",
    "seed": "scores.seed",
    "min_pcn_groups": "scores.min_pcn_groups",
    "min_cell": "disclosure.min_cell",
    "disclosure_rule": "disclosure.rule",
    "cohorts": "cohorts",
}
#: Waves that are retrospective ratings (the then-test, collected with the last wave).
RETROSPECTIVE_WAVES = ("then",)
#: Protect the unpublished remainder of a feedback count (see pcnstudy.core.disclosure).
PROTECT_REMAINDER = True
#: The tables of a result, in the order they are written, and the columns that identify a row.
TABLE_KEYS = {
    "change_scores": ["cohort", "level", "item", "wave_from", "wave_to"],
    "mixed_models": ["cohort", "level", "item", "term"],
    "ordinal": ["cohort", "domain", "term"],
    "reliability": ["cohort", "domain", "wave"],
    "feedback_proportions": ["cohort", "wave", "item"],
    "attrition": ["cohort"],
    "attrition_by_profession": ["cohort", "profession"],
    "meta": ["domain", "method"],
    "then_test": ["cohort", "item", "comparison"],
    "kirkpatrick": ["dimension", "source", "cohort", "level"],
    "unpaired_change": ["cohort", "level", "item", "wave_from", "wave_to"],
    "unpaired_models": ["cohort", "level", "item", "term"],
    "meta_programmes": ["domain", "method"],
    "effect_sizes": ["cohort", "level", "item", "wave_from", "wave_to"],
    "bias": ["cohort", "level", "item", "wave_from", "wave_to"],
}
RATINGS_COLUMNS = ("respondent", "cohort", "pcn", "profession", "wave", "item", "domain", "score")


@dataclass(frozen=True)
class ScoresSettings:
    """The stage's settings, as params.yaml gives them (keys in ``SETTING_KEYS``)."""

    alpha: float
    bootstrap_reps: int
    seed: int
    min_pcn_groups: int
    min_cell: int
    disclosure_rule: str
    cohorts: tuple[str, ...]

    def __post_init__(self) -> None:
        for name, kind in (("alpha", float), ("bootstrap_reps", int), ("seed", int), ("min_pcn_groups", int),
                           ("min_cell", int), ("disclosure_rule", str)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        object.__setattr__(self, "cohorts", tuple(str(c) for c in (self.cohorts or ())))
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ScoresSettings":
        """The settings params.yaml (as a dict) holds at ``SETTING_KEYS``; KeyError naming a missing key."""
        return cls(**resolve_settings({}, SETTING_KEYS, params))


@dataclass(frozen=True)
class ScoresInputs:
    """What the stage reads: the processed ratings, feedback and respondents tables, and the
    instrument (config/instrument.yml as a dict); ``ratings_source`` names the ratings
    table in error messages; ``cohorts``: processed/cohorts.parquet where it exists (each
    cohort's design and programme; ``programmes_of`` gives cohort -> programme)."""

    ratings: pd.DataFrame
    feedback: pd.DataFrame
    respondents: pd.DataFrame
    instrument: dict
    ratings_source: str
    cohorts: pd.DataFrame | None = None

    def row_counts(self) -> dict[str, int]:
        """Rows of each table read, and the cohorts and respondents the ratings cover."""
        return {"ratings": len(self.ratings), "feedback": len(self.feedback), "respondents": len(self.respondents),
                "cohorts": int(self.ratings["cohort"].nunique()) if "cohort" in self.ratings else 0}


@dataclass(frozen=True)
class ScoresResult:
    """The scores stage's results: its published tables and scores.json, with what the
    figures are drawn from.

    ``tables``: name -> table as written (disclosure-controlled where it holds counts);
    ``summary``: the scores.json dict; ``change``, ``feedback``, ``attrition``: those
    tables before disclosure control, ``feedback_mask`` the feedback cells hidden;
    ``data``: the long table (item and domain rows, retrospective waves left out);
    ``waves``: the waves in time order; ``marker`` and ``threshold`` of the disclosure rule.
    """

    tables: dict[str, pd.DataFrame]
    summary: dict
    change: pd.DataFrame
    feedback: pd.DataFrame
    feedback_mask: pd.DataFrame
    attrition: pd.DataFrame
    data: pd.DataFrame
    waves: list[str]
    settings: ScoresSettings
    instrument: dict
    marker: str
    threshold: int
    designs: dict[str, str] = field(default_factory=dict)
    cohorts: pd.DataFrame | None = None  # the cohorts table (labels of the figures)

    def summary_frame(self, name: str) -> pd.DataFrame:
        """The table ``name`` (one of ``TABLE_KEYS``) indexed by the columns that identify its rows."""
        if name not in self.tables:
            raise KeyError(f"no table {name!r}; the tables are {', '.join(self.tables)}")
        table = self.tables[name]
        keys = [k for k in TABLE_KEYS.get(name, []) if k in table.columns]
        return table.set_index(keys) if keys else table

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """CI of each change score's mean difference at level 1 - alpha (t quantile, n_pairs - 1 df).

        Recomputed from the stored mean_diff, sd_diff and n_pairs (no refit); at the
        stage's alpha it equals the table's ``diff_ci_low``/``diff_ci_high``. Rows resting
        on fewer pairs than the disclosure threshold are NaN, as the published table hides them.
        Indexed as ``summary_frame("change_scores")``.
        """
        change = self.change
        ci = paired_t_from_summary(change["mean_diff"], change["sd_diff"], change["n_pairs"], alpha)
        small = change["n_pairs"].to_numpy(float) < self.threshold
        frame = pd.DataFrame({"diff_ci_low": np.where(small, np.nan, ci["diff_ci_low"]),
                              "diff_ci_high": np.where(small, np.nan, ci["diff_ci_high"])})
        index = pd.MultiIndex.from_frame(change[TABLE_KEYS["change_scores"]])
        return frame.set_index(index)


def _read(processed: Path, name: str) -> pd.DataFrame:
    path = Path(processed) / f"{name}.parquet"
    if not path.is_file():
        raise InputError(f"{path}:0:: missing processed table (run the ingest stage first)")
    frame = pd.read_parquet(path)
    for col in frame.columns:
        if col not in ("score", "value"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def stage_paths(processed_dir: str | Path | None, results_dir: str | Path | None, figures_dir: str | Path | None,
                instrument: str | Path | None) -> dict[str, Path]:
    """The stage's folders and instrument file: each as given (relative to the project root), or,
    where None, the project's own (data/processed, data/processed/results, figures,
    config/instrument.yml)."""
    given = {"processed_dir": (processed_dir, paths.PROCESSED), "results_dir": (results_dir, paths.RESULTS),
             "figures_dir": (figures_dir, paths.FIGURES), "instrument": (instrument, paths.INSTRUMENT)}
    return {name: paths.from_root(value) if value is not None else default for name, (value, default) in given.items()}


def read_inputs(processed_dir: Path, instrument_path: Path) -> ScoresInputs:
    """Read the processed tables the stage needs and the instrument; InputError if a table is missing."""
    processed = Path(processed_dir)
    cohorts = _read(processed, "cohorts") if (processed / "cohorts.parquet").is_file() else None
    return ScoresInputs(ratings=_read(processed, "ratings"), feedback=_read(processed, "feedback"),
                        respondents=_read(processed, "respondents"), instrument=load_yaml(instrument_path),
                        ratings_source=str(processed / "ratings.parquet"), cohorts=cohorts)


def programmes_of(cohorts: pd.DataFrame | None) -> dict[str, str]:
    """cohort -> programme from the cohorts table ({} without one; a cohort not in it is its own programme)."""
    if cohorts is None or not {"cohort", "programme"} <= set(cohorts.columns):
        return {}
    return {str(c): str(p) for c, p in zip(cohorts["cohort"], cohorts["programme"]) if p is not None and p == p}


def compute(inputs: ScoresInputs, settings: ScoresSettings) -> ScoresResult:
    """Run every scores analysis on the inputs; nothing is read or written."""
    ratings_raw, feedback_raw = inputs.ratings, inputs.feedback
    if settings.cohorts:
        ratings_raw = ratings_raw[ratings_raw["cohort"].isin(settings.cohorts)]
        feedback_raw = feedback_raw[feedback_raw["cohort"].isin(settings.cohorts)]
    keep = [c for c in RATINGS_COLUMNS if c in ratings_raw.columns]
    long_all = validate_long(ratings_raw[keep], source=inputs.ratings_source)
    retro = list(RETROSPECTIVE_WAVES)
    wave_order = [w for w in order_waves(long_all["wave"]) if w not in retro]
    with_domains_all = add_domain_scores(long_all)
    # paired statistics for paired and linked cohorts, unpaired ones for unpaired cohorts,
    # no change statistics for single-wave cohorts (a cohort the cohorts table does not type is paired)
    designs = cohort_designs(inputs.cohorts, str(Path(inputs.ratings_source).with_name("cohorts.parquet")))
    retrospective_data = retrospective_rows(with_domains_all, designs)
    with_domains_all, unpaired_data = split_by_design(with_domains_all, designs)
    unpaired_data = unpaired_data[~unpaired_data["wave"].isin(retro)].reset_index(drop=True)
    data = with_domains_all[~with_domains_all["wave"].isin(retro)].reset_index(drop=True)
    alpha = settings.alpha
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        change = change_table(data, wave_order, alpha=alpha, bootstrap_reps=settings.bootstrap_reps,
                              seed=settings.seed)
        mixed = mixed_table(data, wave_order, alpha=alpha, min_pcn_groups=settings.min_pcn_groups,
                            levels=("domain",))
        ordinal = ordinal_table(data, wave_order, alpha=alpha)
        unpaired = unpaired_change_table(unpaired_data, wave_order, alpha=alpha)
        unpaired_models = unpaired_model_table(unpaired_data, wave_order, alpha=alpha,
                                               min_pcn_groups=settings.min_pcn_groups)
    reliability = reliability_table(long_all, ci=1 - alpha)
    attrition = attrition_table(data, wave_order, seed=settings.seed, reps=settings.bootstrap_reps)
    attrition_prof = attrition_by_profession(data, wave_order)
    scale = inputs.instrument.get("scale") or {}
    scale_min, scale_max = float(scale.get("min", 1)), float(scale.get("max", 5))
    meta = pool_change(change, alpha=alpha, scale_width=scale_max - scale_min)
    meta_prog = pool_programmes(change, programmes_of(inputs.cohorts), alpha=alpha, scale_width=scale_max - scale_min)
    effects = effect_table(data, wave_order, scale_min, scale_max, alpha)
    bias = bias_table(data, wave_order, alpha)
    # retrospective cohorts (one wave and its then-test) enter the then-test table alone: their
    # then-vs-now change is not a prospective pre-post change, so it enters no other analysis
    then_test = then_test_table(pd.concat([with_domains_all, retrospective_data], ignore_index=True), retro,
                                wave_order + retro, alpha)
    fb = feedback_table(feedback_raw, alpha=alpha) if not feedback_raw.empty else pd.DataFrame(
        columns=FEEDBACK_COLUMNS)
    change_last = last_wave_rows(change[change["cohort"] != POOLED], wave_order) if not change.empty else change
    kirk = kirkpatrick_tables(change_last, fb, inputs.instrument, alpha)
    pub = publish_tables(change, fb, attrition, attrition_prof, settings.min_cell, settings.disclosure_rule,
                         PROTECT_REMAINDER, kirkpatrick=kirk, labels=feedback_labels(inputs.instrument))
    unpaired_pub = publish_unpaired(unpaired, pub.marker, pub.threshold)
    tables = {"change_scores": pub.change, "mixed_models": mixed, "ordinal": ordinal, "reliability": reliability,
              "feedback_proportions": pub.feedback, "attrition": pub.attrition,
              "attrition_by_profession": pub.attrition_by_profession, "meta": meta, "then_test": then_test,
              "kirkpatrick": pub.kirkpatrick, "unpaired_change": unpaired_pub, "unpaired_models": unpaired_models,
              "meta_programmes": meta_prog,
              "effect_sizes": hide_counts(effects, "n_pairs", pub.threshold, pub.marker),
              "bias": publish_bias(bias, pub.threshold, pub.marker)}
    summary = build_scores_json(pub.change, mixed, reliability, fb, pub.feedback_mask, meta, attrition,
                                pub.attrition, then_test, pub.kirkpatrick, wave_order, pub.marker, pub.threshold,
                                fb_pub=pub.feedback)
    summary.update(build_unpaired_json(unpaired_pub, unpaired_models, wave_order))
    summary.update(extra_sections(meta_prog, tables["effect_sizes"], tables["bias"], wave_order))
    summary.update(method_sections(reliability, ordinal, pub.marker, pub.threshold))
    return ScoresResult(tables=tables, summary=summary, change=change, feedback=fb, feedback_mask=pub.feedback_mask,
                        attrition=attrition, data=data, waves=wave_order, settings=settings,
                        instrument=inputs.instrument, marker=pub.marker, threshold=pub.threshold, designs=designs,
                        cohorts=inputs.cohorts)


def write(result: ScoresResult, results_dir: Path, figures_dir: Path) -> dict[str, Any]:
    """Write the tables (results/scores/*.csv), results/scores.json and the four figures.

    Returns the paths written: {"tables": {name: csv}, "summary": json, "figures": {label: [png, svg]}}.
    """
    results = Path(results_dir)
    tables = {name: write_csv(table, results / "scores" / f"{name}.csv") for name, table in result.tables.items()}
    results.mkdir(parents=True, exist_ok=True)
    summary = results / "scores.json"
    summary.write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    figures = scores_figures.make_all(result.data, result.change, result.tables["meta"], result.feedback,
                                      result.feedback_mask, result.waves, Path(figures_dir), result.instrument,
                                      marker=result.marker, seed=result.settings.seed, cohorts=result.cohorts)
    return {"tables": tables, "summary": summary, "figures": figures}


def run_scores_stage(processed: Path, results: Path, figures: Path, params: Mapping[str, Any],
                     instrument_path: Path | None = None) -> ScoresResult:
    """Read, compute and write with the settings of a params.yaml dict; return the result."""
    inputs = read_inputs(processed, instrument_path or paths.INSTRUMENT)
    result = compute(inputs, ScoresSettings.from_params(params))
    write(result, results, figures)
    return result
