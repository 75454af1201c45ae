"""The themes stage: the study's free text coded against the codebook.

``read_inputs(processed_dir, codebook_path) -> ThemesInputs`` reads
``processed_dir/texts.parquet`` (response_id, respondent, cohort, wave, profession,
question, text, ...), ``processed_dir/respondents.parquet`` when present (each
respondent's role, for the quotes' attribution), ``processed_dir/cohorts.parquet`` when
present (whose programmes label the cohorts in the figures) and the codebook YAML.
``compute(inputs, settings) -> ThemesResult`` is pure (no
file is read or written): it keeps the chosen cohorts' non-empty texts, fits
``topics.GuidedThemeModel`` and tabulates its codes. ``write(result, results_dir,
figures_dir)`` writes ``results_dir/themes/`` (doc_themes, topics, prevalence with
Wilson 95% CIs, prevalence_clustered with the intervals allowing for several responses
per person, seed_rule_agreement with each theme's kappa against the plain seed-term
rule, quotes, cooccurrence and sentiment, each count table under disclosure control;
quality.json), ``results_dir/themes.json``, ``results_dir/themes.qdpx`` and
the figures fig-theme-heatmap, fig-topic-terms and fig-theme-cooccurrence (PNG + SVG).

``ThemesSettings`` holds every setting (no defaults: they live in params.yaml, under
the keys of ``SETTING_KEYS``). ``ThemesResult`` holds the tables
(``summary_frame(name)``, names in ``ThemesResult.FRAMES``), the quality figures and
themes.json's content (``summary``); ``conf_int(alpha)`` gives the prevalence's Wilson
intervals at another level, hidden where disclosure control hides the count.

``run_themes_stage(processed, results, figures, params, codebook)`` runs the three
steps with settings read from a params.yaml-shaped dict (for the benchmark). The
``pcnstudy themes`` command lives in ``pcnstudy.themes.command`` (``themes_command``), the prevalence rules in ``pcnstudy.themes.prevalence``, the quote rules in ``pcnstudy.themes.quotes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from pcnstudy.core.disclosure import is_hidden, suppress
from pcnstudy.core.params import lookup
from pcnstudy.core.plots import save_figure
from pcnstudy.core.proportions import wilson_ci
from pcnstudy.themes.codebook import Codebook, load_codebook
from pcnstudy.themes.coding import (code_texts, doc_themes_table, long_codes, quality_summary, seed_rule_agreement,
                                    topics_table)
from pcnstudy.core.labels import cohort_labels
from pcnstudy.themes.figures import STAGE_FIGURES, stage_figures
from pcnstudy.themes.inputs import InputError, parse_free_topics
from pcnstudy.themes.outputs import plain, write_csv, write_json
from pcnstudy.themes.prevalence import (clustered_prevalence, cooccurrence_table, disclose_clustered,
                                        disclose_prevalence, prevalence_table)
from pcnstudy.themes.quotes import MAX_SIMILARITY, quote_roles, select_quotes
from pcnstudy.themes.qdpx import export_qdpx
from pcnstudy.themes.sentiment import sentiment_by_theme
from pcnstudy.themes.topics import GuidedThemeModel

__all__ = ["SETTING_KEYS", "ThemesInputs", "ThemesResult", "ThemesSettings", "compute", "read_inputs",
           "run_themes_stage", "write"]

# each setting and the params.yaml key its value comes from
SETTING_KEYS = {
    "free_topics": "themes.free_topics",
    "max_free_topics": "themes.max_free_topics",
    "n_stability_seeds": "themes.n_stability_seeds",
    "seed": "themes.seed",
    "n_quotes": "themes.n_quotes",
    "min_cell": "disclosure.min_cell",
    "disclosure_rule": "disclosure.rule",
    "cohorts": "cohorts",
}
QDPX_PROJECT = "pcnstudy computer-assisted codebook coding"
#: The texts' columns each REFI-QDA source carries as variables (never respondent, group or PCN).
QDPX_VARIABLES = ("cohort", "wave", "question", "profession")
SUMMARY_STATS = ("n", "prop", "prop_ci_low", "prop_ci_high")
#: The clustered intervals themes.json carries beside each share (prevalence_clustered.csv's columns).
CLUSTERED_STATS = ("deff", "prop_cl_ci_low", "prop_cl_ci_high")
#: The tables ``write`` writes to results/themes/, in order.
WRITTEN_TABLES = ("doc_themes", "topics", "prevalence", "prevalence_clustered", "seed_rule_agreement", "quotes",
                  "cooccurrence", "sentiment")


@dataclass(frozen=True)
class ThemesSettings:
    """The stage's settings. ``free_topics``: a count or "auto"; ``cohorts``: the cohorts
    to code (empty: every cohort); ``min_cell`` and ``disclosure_rule``: disclosure control."""

    free_topics: int | str
    max_free_topics: int
    n_stability_seeds: int
    seed: int
    n_quotes: int
    min_cell: int
    disclosure_rule: str
    cohorts: tuple[str, ...]

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "free_topics", parse_free_topics(self.free_topics))
        for name in ("max_free_topics", "n_stability_seeds", "seed", "n_quotes", "min_cell"):
            set_(self, name, int(getattr(self, name)))
        set_(self, "disclosure_rule", str(self.disclosure_rule))
        cohorts = [self.cohorts] if isinstance(self.cohorts, str) else list(self.cohorts or ())
        set_(self, "cohorts", tuple(str(c) for c in cohorts))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ThemesSettings":
        """Settings from a params.yaml-shaped dict (KeyError naming a missing key)."""
        return cls(**{name: lookup(params, dotted) for name, dotted in SETTING_KEYS.items()})


@dataclass(frozen=True)
class ThemesInputs:
    """The stage's inputs: the processed texts table, the codebook and the respondents
    table (respondent, cohort, profession, role; None when absent: quotes are then
    attributed by profession, from the texts)."""

    texts: pd.DataFrame
    codebook: Codebook
    people: pd.DataFrame | None = None
    cohorts: pd.DataFrame | None = None  # processed/cohorts.parquet where it exists: the cohorts' labels

    def row_counts(self) -> dict[str, int]:
        """Texts read, the cohorts they come from and the codebook's themes."""
        cohorts = int(self.texts["cohort"].nunique()) if "cohort" in self.texts else 0
        return {"texts": len(self.texts), "cohorts": cohorts, "themes": len(self.codebook.ids)}

    def codebook_frame(self) -> pd.DataFrame:
        """The codebook's themes (index ``theme``): name and seed terms."""
        rows = [{"theme": t.id, "name": t.name, "seed terms": ", ".join(t.seed_terms)} for t in self.codebook.themes]
        return pd.DataFrame(rows, columns=["theme", "name", "seed terms"]).set_index("theme")


def read_inputs(processed_dir: Path, codebook_path: Path) -> ThemesInputs:
    """Read ``processed_dir/texts.parquet``, ``respondents.parquet`` (when present) and the
    codebook; raise InputError / CodebookError (one line)."""
    processed_dir = Path(processed_dir)
    book = load_codebook(Path(codebook_path))
    path = processed_dir / "texts.parquet"
    texts = pd.read_parquet(path)
    missing = [c for c in ("response_id", "text") if c not in texts.columns]
    if missing:
        raise InputError(f"{path}:1:{missing[0]}: missing column")
    people_path = processed_dir / "respondents.parquet"
    people = pd.read_parquet(people_path) if people_path.is_file() else None
    cohorts_file = processed_dir / "cohorts.parquet"
    cohorts = pd.read_parquet(cohorts_file) if cohorts_file.is_file() else None
    return ThemesInputs(texts=texts, codebook=book, people=people, cohorts=cohorts)


@dataclass
class ThemesResult:
    """The coded texts and their tables (see the module docstring).

    ``tables``: the published tables by name (doc_themes, topics, prevalence,
    cooccurrence and sentiment as written, count tables disclosure-controlled strings;
    quotes); ``quality``: quality.json's content; ``summary``: themes.json's content.
    ``texts`` (id, text and the ``QDPX_VARIABLES`` columns) and ``codes`` (assigned id,
    theme rows) make the REFI-QDA project.
    """

    FRAMES = ("doc_themes", "topics", "prevalence", "prevalence_clustered", "seed_rule_agreement", "quotes",
              "cooccurrence", "sentiment", "themes",
              "topic_terms", "free_topic_selection", "baseline", "quality")

    settings: ThemesSettings
    codebook: Codebook
    model: GuidedThemeModel
    tables: dict[str, pd.DataFrame]
    quality: dict[str, Any]
    summary: dict[str, Any]
    texts: pd.DataFrame
    codes: pd.DataFrame
    counts: pd.DataFrame = field(repr=False)  # prevalence before disclosure control: never written
    cohort_names: dict[str, str] = field(default_factory=dict)  # cohort id -> label (the figures)

    def summary_frame(self, name: str) -> pd.DataFrame:
        """A labelled table: a published table, or ``themes`` (overall prevalence by theme, with
        names), ``topic_terms`` (each topic's terms), ``free_topic_selection`` (the search
        for K), ``baseline`` (model beside seed-term rule, with thresholds), ``quality``."""
        if name in self.tables:
            return self.tables[name]
        if name == "themes":
            frame = pd.DataFrame.from_dict(self.summary["themes"], orient="index")
            frame.index.name = "theme"
            return frame
        if name == "topic_terms":
            return self.tables["topics"].groupby(["theme", "topic"])["term"].apply(", ".join).to_frame()
        if name == "free_topic_selection":
            return pd.DataFrame(self.quality["free_topic_selection"], columns=["k", "npmi", "stability", "criterion"])
        if name == "baseline":
            frame = pd.DataFrame.from_dict(self.quality["baseline"], orient="index")
            frame["threshold"] = pd.Series(self.quality["thresholds"])
            frame["threshold_rule"] = pd.Series(self.quality["threshold_rule"])
            frame.index.name = "theme"
            return frame
        if name == "quality":
            return pd.Series(self.summary["quality"], name="value", dtype=object).to_frame()
        raise KeyError(f"no table {name!r}; one of {', '.join(self.FRAMES)}")

    def preprocessing(self) -> dict[str, Any]:
        """What the model was fitted on: responses coded, those no theme explains, the score scale."""
        keys = ("n_documents", "n_unexplained_documents", "score_scale")
        return {k: self.quality[k] for k in keys if k in self.quality}

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wilson (1 - alpha) intervals of each prevalence, indexed by dimension, level, theme;
        NaN where disclosure control hides the count."""
        counts = self.counts
        low, high = wilson_ci(counts["n"].to_numpy(), counts["n_total"].to_numpy(), alpha)
        shown = self.tables["prevalence"]
        hidden = (shown["n"].map(is_hidden) | shown["n_total"].map(is_hidden)).to_numpy()
        frame = pd.DataFrame({"prop_ci_low": np.where(hidden, np.nan, low),
                              "prop_ci_high": np.where(hidden, np.nan, high)},
                             index=pd.MultiIndex.from_frame(counts[["dimension", "level", "theme"]]))
        return frame


def _stat_or_marker(value: str) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return number


def _summary(shown: pd.DataFrame, clustered: pd.DataFrame, topics: pd.DataFrame, quality: dict,
             names: dict[str, str], n_responses: int, n_people: int, agreement: pd.DataFrame,
             n_quotes: int, min_cell: int) -> dict[str, Any]:
    """themes.json: overall and per-cohort prevalence (numbers or markers) with the clustered
    intervals, responses and people, the seed-rule agreement, the quote rules, quality,
    emergent terms, figures."""
    summary: dict[str, Any] = {"themes": {}, "by_cohort": {}}
    cl = clustered.set_index(["dimension", "level", "theme"])

    def clustered_stats(row: pd.Series) -> dict[str, Any]:
        key = (row["dimension"], row["level"], row["theme"])
        return {k: _stat_or_marker(cl.at[key, k]) for k in CLUSTERED_STATS} if key in cl.index else {}

    for _, row in shown[shown["dimension"] == "all"].iterrows():
        summary["themes"][row["theme"]] = {"name": names[row["theme"]],
                                           **{k: _stat_or_marker(row[k]) for k in SUMMARY_STATS},
                                           **clustered_stats(row),
                                           **({"prop_band": row["prop_band"]} if row.get("prop_band") else {})}
    for _, row in shown[shown["dimension"] == "cohort"].iterrows():
        summary["by_cohort"].setdefault(row["level"], {})[row["theme"]] = {
            **{k: _stat_or_marker(row[k]) for k in ("n", "n_total", "prop", "prop_ci_low", "prop_ci_high")},
            **clustered_stats(row),
            **({"prop_band": row["prop_band"]} if row.get("prop_band") else {})}
    summary["n_responses"] = n_responses
    summary["n_people"] = n_people
    deffs = [v for v in (_stat_or_marker(x) for x in clustered.loc[clustered["dimension"] == "all", "deff"])
             if isinstance(v, float)]
    summary["clustering"] = {"deff_min": min(deffs) if deffs else None, "deff_max": max(deffs) if deffs else None,
                             "responses_per_person": n_responses / n_people if n_people else None}
    kappas = [_stat_or_marker(x) for x in agreement["kappa"]]
    kappas = [k for k in kappas if isinstance(k, float) and np.isfinite(k)]
    summary["seed_rule"] = {"kappa_min": min(kappas) if kappas else None, "kappa_max": max(kappas) if kappas else None,
                            "n_themes": len(kappas), "n_identical": sum(k == 1.0 for k in kappas)}
    summary["quotes"] = {"n_quotes": n_quotes, "max_similarity": MAX_SIMILARITY, "n_role_min": min_cell}
    summary["quality"] = {k: quality[k] for k in ("npmi_mean", "stability", "n_free_topics", "n_stability_seeds",
                                                  "n_assigned_model", "n_assigned_keyword")}
    summary["emergent"] = [grp.sort_values("rank")["term"].tolist()
                           for _, grp in topics[topics["theme"] == "emergent"].groupby("topic", sort=True)]
    summary["figures"] = [f"{label}{ext}" for label in STAGE_FIGURES for ext in (".png", ".svg")]
    return plain(summary)


def qdpx_texts(plain_texts: pd.DataFrame, texts: pd.DataFrame) -> pd.DataFrame:
    """id, text and the ``QDPX_VARIABLES`` columns ``texts`` has (rows in the same order)."""
    columns = [c for c in QDPX_VARIABLES if c in texts.columns]
    return pd.concat([plain_texts.reset_index(drop=True), texts[columns].reset_index(drop=True)], axis=1)


def quote_sources(texts: pd.DataFrame, people: pd.DataFrame | None, min_cell: int) -> pd.DataFrame:
    """id, text, respondent, cohort and role (``quotes.quote_roles``: a role or profession shared by
    at least ``min_cell`` respondents of the cohort, else "participant") of each text."""
    out = pd.DataFrame({"id": texts["response_id"].astype(str), "text": texts["text"].fillna("").astype(str)})
    respondent = texts["respondent"].astype(str) if "respondent" in texts.columns else out["id"]
    out["respondent"] = respondent.to_numpy()
    out["cohort"] = texts["cohort"].astype(str).to_numpy() if "cohort" in texts.columns else ""
    if people is not None and {"respondent", "cohort"} <= set(people.columns):
        source = people.assign(respondent=people["respondent"].astype(str))
    else:
        source = pd.DataFrame({"respondent": out["respondent"], "cohort": out["cohort"],
                               **({"profession": texts["profession"].to_numpy()} if "profession" in texts else {})})
    roles = quote_roles(source, min_cell)
    out["role"] = out["respondent"].map(roles).fillna("participant").to_numpy()
    return out


def disclose_agreement(agreement: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """seed_rule_agreement.csv: kappa and alpha as strings (4 decimals), the published share's
    marker where disclosure control hides the theme's overall count or share."""
    overall = shown[shown["dimension"] == "all"].set_index("theme")
    out = agreement[["theme"]].copy()
    for col in ("kappa", "alpha"):
        values = []
        for theme, value in zip(agreement["theme"], agreement[col]):
            row = overall.loc[theme] if theme in overall.index else None
            if row is not None and (is_hidden(row["n"]) or is_hidden(row["prop"])):
                values.append(str(row["prop"]))
            else:
                values.append("" if pd.isna(value) else f"{float(value):.4f}")
        out[col] = values
    return out


def compute(inputs: ThemesInputs, settings: ThemesSettings) -> ThemesResult:
    """Code the texts against the codebook and tabulate the result (pure: nothing is written)."""
    book = inputs.codebook
    texts = inputs.texts
    missing = [c for c in ("response_id", "text") if c not in texts.columns]
    if missing:
        raise InputError(f"texts:1:{missing[0]}: missing column")
    if settings.cohorts:
        texts = texts[texts["cohort"].isin(list(settings.cohorts))]
    texts = texts.sort_values("response_id", kind="stable").reset_index(drop=True)
    texts = texts[texts["text"].fillna("").str.strip() != ""].reset_index(drop=True)
    min_cell, rule = settings.min_cell, settings.disclosure_rule
    ids = texts["response_id"].astype(str).tolist()
    docs = texts["text"].fillna("").tolist()
    coding = code_texts(docs, book, settings.free_topics, settings.seed, None,
                        max_free_topics=settings.max_free_topics, n_stability_seeds=settings.n_stability_seeds)
    model, scores, assigned, keyword = coding.model, coding.scores, coding.assigned, coding.keyword
    themes = book.ids

    doc_themes = doc_themes_table(ids, themes, scores)
    topics = topics_table(model)
    matrix = pd.DataFrame(assigned, index=pd.Index(ids, name="id"), columns=themes)
    meta = texts.set_index(pd.Index(ids, name="id"))
    counts = prevalence_table(matrix, meta)
    plain_texts = pd.DataFrame({"id": ids, "text": docs})
    quotes = select_quotes(doc_themes, quote_sources(texts, inputs.people, min_cell), settings.n_quotes,
                           seed_terms=book.seed_terms())
    cooc = suppress(cooccurrence_table(matrix), count_cols=["n"], derived_cols={"jaccard": "n"}, min_cell=min_cell,
                    rule=rule)
    sentiment = sentiment_by_theme(doc_themes, plain_texts)
    shown, sentiment = disclose_prevalence(counts, min_cell, rule, sentiment=sentiment)
    clustered = disclose_clustered(clustered_prevalence(matrix, meta), shown)
    agreement = disclose_agreement(seed_rule_agreement(themes, assigned, keyword), shown)
    quality = quality_summary(model, docs, keyword, assigned)
    tables = {"doc_themes": doc_themes, "topics": topics, "prevalence": shown, "prevalence_clustered": clustered,
              "seed_rule_agreement": agreement, "quotes": quotes, "cooccurrence": cooc, "sentiment": sentiment}
    n_people = int(texts["respondent"].nunique()) if "respondent" in texts.columns else len(ids)
    return ThemesResult(settings=settings, codebook=book, model=model, tables=tables, quality=quality,
                        summary=_summary(shown, clustered, topics, quality, book.names(), len(ids), n_people,
                                         agreement, settings.n_quotes, min_cell),
                        texts=qdpx_texts(plain_texts, texts),
                        codes=long_codes(ids, themes, assigned), counts=counts,
                        cohort_names=cohort_labels(inputs.cohorts))


def write(result: ThemesResult, results_dir: Path, figures_dir: Path) -> list[Path]:
    """Write the result's tables, quality.json, themes.json, themes.qdpx and figures; return the paths."""
    results_dir, figures_dir = Path(results_dir), Path(figures_dir)
    out = results_dir / "themes"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in WRITTEN_TABLES:
        write_csv(result.tables[name], out / f"{name}.csv")
        written.append(out / f"{name}.csv")
    write_json(result.quality, out / "quality.json")
    written.append(out / "quality.json")
    written.append(export_qdpx(result.texts, result.codes, result.codebook, results_dir / "themes.qdpx",
                               project_name=QDPX_PROJECT))
    figures = stage_figures(result.tables["prevalence"], result.tables["topics"], result.tables["doc_themes"],
                            result.codebook.ids, result.codebook.names(), result.settings.min_cell,
                            result.settings.disclosure_rule, cohort_names=result.cohort_names)
    for label, fig in figures.items():
        written += save_figure(fig, label, figures_dir)
    if [p.name for p in written[-2 * len(figures):]] != result.summary["figures"]:
        raise RuntimeError("themes stage: the figures written differ from those themes.json lists")
    write_json(result.summary, results_dir / "themes.json")
    written.append(results_dir / "themes.json")
    return written


def run_themes_stage(processed: Path, results: Path, figures: Path, params: Mapping[str, Any],
                     codebook: Path) -> dict:
    """read_inputs, compute and write with settings from a params.yaml-shaped dict; return themes.json."""
    result = compute(read_inputs(processed, codebook), ThemesSettings.from_params(params))
    write(result, results, figures)
    return result.summary
