"""The guided theme model fitted on a corpus, and its codes as tables.

- ``fit_model(texts, codebook, free_topics, seed, y, max_free_topics, n_stability_seeds)``:
  ``GuidedThemeModel`` fitted with the codebook's seed terms (and human codes ``y``);
- ``doc_themes_table(ids, themes, scores)``: the long table id, theme, score, assigned;
- ``topics_table(model)``: each theme's and each free topic's top terms (topic, rank,
  term, weight, theme: a theme id or "emergent");
- ``long_codes(ids, themes, matrix)``: the (id, theme) rows of a 0/1 matrix;
- ``seed_rule_agreement(themes, assigned, keyword)``: per theme Cohen's kappa and
  Krippendorff's alpha of the model's assignments against the plain seed-term rule's
  (how much the model changes its seeds' coding);
- ``quality_summary(model, texts, keyword, assigned)``: quality.json's content
  (coherence, stability, the free-topic choice, thresholds, each theme's held-out seed
  check, each theme's phrase-variant guard, the model beside the seed-term rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from pcnstudy.themes.agreement import agreement_table_from_matrices, cohen_kappa
from pcnstudy.themes.codebook import Codebook
from pcnstudy.themes.topics import ASSIGN_AT, GuidedThemeModel

DOC_THEME_COLUMNS = ["id", "theme", "score", "assigned"]
TOPIC_COLUMNS = ["topic", "rank", "term", "weight", "theme"]


def fit_model(texts: Sequence[str], codebook: Codebook, free_topics: int | str, seed: int,
              y: np.ndarray | None = None, max_free_topics: int = 4, n_stability_seeds: int = 5) -> GuidedThemeModel:
    """Fit the guided theme model on ``texts`` with the codebook's seed terms (and codes ``y``)."""
    model = GuidedThemeModel(seed_terms=codebook.seed_terms(), n_free_topics=free_topics,
                             max_free_topics=max_free_topics, n_stability_seeds=n_stability_seeds,
                             random_state=seed)
    return model.fit(list(texts), y)


@dataclass(frozen=True)
class Coding:
    """The model fitted on a corpus and what it says of each text: theme scores, the
    themes assigned (score >= ``ASSIGN_AT``) and the plain seed-term rule's themes."""

    model: GuidedThemeModel
    scores: np.ndarray
    assigned: np.ndarray
    keyword: np.ndarray


def code_texts(texts: Sequence[str], codebook: Codebook, free_topics: int | str, seed: int,
               y: np.ndarray | None = None, **model_settings: int) -> Coding:
    """Fit the model (``fit_model``) and code every text: the step the stage and the command share."""
    texts = list(texts)
    model = fit_model(texts, codebook, free_topics, seed, y, **model_settings)
    scores = model.transform(texts)
    return Coding(model, scores, (scores >= ASSIGN_AT).astype(int), model.keyword_predict(texts))


def doc_themes_table(ids: Sequence[str], themes: Sequence[str], scores: np.ndarray) -> pd.DataFrame:
    """Long table id, theme, score, assigned (one row per document x theme), sorted by id, theme."""
    n, T = scores.shape
    table = pd.DataFrame({
        "id": np.repeat(np.asarray(ids, dtype=object), T),
        "theme": np.tile(np.asarray(themes, dtype=object), n),
        "score": scores.ravel(),
    })
    table["assigned"] = (table["score"] >= ASSIGN_AT).astype(int)
    return table.sort_values(["id", "theme"], kind="stable").reset_index(drop=True)[DOC_THEME_COLUMNS]


def topics_table(model: GuidedThemeModel) -> pd.DataFrame:
    """topics.csv: the model's theme topics then its emergent topics, sorted by topic and rank."""
    return model.topic_terms().sort_values(["topic", "rank"], kind="stable")[TOPIC_COLUMNS]


def long_codes(ids: Sequence[str], themes: Sequence[str], matrix: np.ndarray) -> pd.DataFrame:
    """Sorted (id, theme) rows of the non-zero cells of a documents x themes matrix."""
    rows = [(ids[i], themes[j]) for i, j in zip(*np.nonzero(matrix))]
    return pd.DataFrame(sorted(rows), columns=["id", "theme"])


SEED_RULE_COLUMNS = ["theme", "kappa", "alpha"]


def seed_rule_agreement(themes: Sequence[str], assigned: np.ndarray, keyword: np.ndarray) -> pd.DataFrame:
    """theme, kappa, alpha: the model's 0/1 assignments (documents x themes) against the
    seed-term rule's, per theme (``agreement.agreement_table_from_matrices``; NaN where
    neither varies)."""
    cols = pd.Index(list(themes), name="theme")
    index = pd.RangeIndex(len(assigned))
    table = agreement_table_from_matrices(pd.DataFrame(np.asarray(assigned, dtype=int), index=index, columns=cols),
                                          pd.DataFrame(np.asarray(keyword, dtype=int), index=index, columns=cols))
    return table[SEED_RULE_COLUMNS].reset_index(drop=True)


def quality_summary(model: GuidedThemeModel, texts: Sequence[str], keyword: np.ndarray, assigned: np.ndarray) -> dict:
    """quality.json content: coherence, stability, free-topic choice, thresholds, baseline comparison."""
    theme_npmi = model.theme_npmi(list(texts))
    npmi = {**theme_npmi, **model.free_topic_npmi_}
    finite = [v for v in npmi.values() if v is not None and np.isfinite(v)]
    sel = model.free_topic_selection_
    chosen = sel[sel["k"] == model.n_free_topics_]
    stability = float(chosen["stability"].iloc[0]) if len(chosen) else float("nan")
    baseline = {}
    for j, theme in enumerate(model.themes_):
        baseline[theme] = {
            "n_model": int(assigned[:, j].sum()),
            "n_keyword": int(keyword[:, j].sum()),
            "kappa_model_vs_keyword": cohen_kappa(assigned[:, j], keyword[:, j]),
        }
    return {
        "n_documents": len(texts),
        "npmi": npmi,
        "npmi_mean": float(np.mean(finite)) if finite else float("nan"),
        "stability": stability,
        "n_free_topics": int(model.n_free_topics_),
        "free_topics_requested": model.n_free_topics,
        "free_topic_criterion": "max over K of (mean NPMI + 1) / 2 x stability (Hungarian-matched "
                                "top-term Jaccard over seeds); ties to the smaller K",
        "free_topic_selection": sel.to_dict(orient="records"),
        "n_stability_seeds": int(model.n_stability_seeds),
        "n_unexplained_documents": int(model.n_unexplained_),
        "thresholds": {t: model.thresholds_[t] for t in model.themes_},
        "threshold_rule": dict(model.threshold_rule_),
        "score_scale": "per-theme scores are mapped so that the assignment threshold is 0.5",
        "expansion_f1": dict(model.expansion_f1_),
        "expansion_check": {t: {"kept": bool(c.keep), "ratio": c.ratio, "mean_f1_gain": c.gain,
                                "n_groups": int(c.n_groups)} for t, c in model.expansion_check_.items()},
        "phrase_variant_check": {t: {"kept": bool(c["kept"]), "n_added": int(c["n_added"]),
                                     "precision": c["precision"]}
                                 for t, c in getattr(model, "phrase_variant_check_", {}).items()},
        "baseline": baseline,
        "n_assigned_model": int(assigned.sum()),
        "n_assigned_keyword": int(keyword.sum()),
    }
