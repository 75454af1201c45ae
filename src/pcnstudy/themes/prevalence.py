"""Theme prevalence, exemplar quotes and co-occurrence from the model's assignments.

- ``prevalence_table(assigned, meta, by, alpha)``: per theme the number and share of
  responses carrying it, overall and by cohort, wave, profession and question, with
  Wilson intervals (``pcnstudy.core.proportions.wilson_ci``);
- ``disclose_prevalence(table, min_cell, rule, sentiment=None)``: that table (and the
  sentiment table, whose counts per theme it shares) under disclosure control over
  all its dimensions together (``pcnstudy.core.published.protect_prevalence``): strings,
  counts below the threshold as ``<5``, cells hidden to protect them as ``[c]``, hidden
  shares as a band (``prop_band``); returns the prevalence table, or (prevalence,
  sentiment) when ``sentiment`` is given;
- ``select_quotes(doc_themes, texts, n_quotes)``: per theme the highest-scoring
  assigned responses of a readable length, none quoted twice;
- ``cooccurrence_table(assigned)``: pairs of themes, the responses carrying both and
  the Jaccard index of their responses.
"""
from __future__ import annotations

import html
from typing import Sequence

import pandas as pd

from pcnstudy.core.disclosure import get_rule
from pcnstudy.core.published import Counts, protect_prevalence
from pcnstudy.core.proportions import wilson_ci

PREVALENCE_BY = ("cohort", "wave", "profession", "question")
PREVALENCE_COLUMNS = ["dimension", "level", "theme", "n_total", "n", "prop", "prop_ci_low", "prop_ci_high"]


def prevalence_table(assigned: pd.DataFrame, meta: pd.DataFrame, by: Sequence[str] = PREVALENCE_BY,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Theme prevalence overall ("all") and by each column of ``by``, with Wilson (1 - alpha) CIs.

    ``assigned``: documents x themes 0/1 (index = response id); ``meta``: the texts table
    indexed the same way. Rows sorted by dimension, level, theme.
    """
    rows = []
    dims = [("all", pd.Series("all", index=meta.index))] + [(c, meta[c].fillna("").astype(str)) for c in by
                                                              if c in meta.columns]
    for dim, levels in dims:
        for level, idx in levels.groupby(levels, sort=True).groups.items():
            sub = assigned.loc[idx]
            for theme in assigned.columns:
                rows.append({"dimension": dim, "level": str(level), "theme": theme, "n_total": len(sub),
                             "n": int(sub[theme].sum())})
    table = pd.DataFrame(rows, columns=["dimension", "level", "theme", "n_total", "n"])
    table["prop"] = table["n"] / table["n_total"]
    low, high = wilson_ci(table["n"].to_numpy(), table["n_total"].to_numpy(), alpha)
    table["prop_ci_low"], table["prop_ci_high"] = low, high
    return table.sort_values(["dimension", "level", "theme"], kind="stable").reset_index(drop=True)[PREVALENCE_COLUMNS]


def disclose_prevalence(table: pd.DataFrame, min_cell: int, rule: str, sentiment: pd.DataFrame | None = None):
    """Prevalence (and sentiment) under disclosure control over every dimension together:
    no hidden count can be recovered from the "all" row, another dimension or the sentiment counts."""
    spec = get_rule(rule, min_cell)
    counts = Counts(spec.threshold, True, spec.marker, spec.secondary_marker)
    protected = protect_prevalence(table, sentiment, counts, spec.round_to)
    if sentiment is None:
        return protected.tables["prevalence"]
    return protected.tables["prevalence"], protected.tables["sentiment"]


def select_quotes(doc_themes: pd.DataFrame, texts: pd.DataFrame, n_quotes: int, min_words: int = 8,
                  max_words: int = 80) -> pd.DataFrame:
    """Exemplar quotes: per theme the ``n_quotes`` highest-scoring assigned responses.

    A quote is between ``min_words`` and ``max_words`` words, no text is quoted twice
    (nor for two themes), and redaction placeholders stay as they are. ``text_html`` is
    the HTML-escaped text. Columns: theme, rank, id, score, text, text_html.
    """
    words = texts.set_index("id")["text"].fillna("").str.split().str.len()
    chosen = doc_themes[doc_themes["assigned"] == 1].copy()
    chosen["words"] = chosen["id"].map(words)
    chosen = chosen[(chosen["words"] >= min_words) & (chosen["words"] <= max_words)]
    chosen = chosen.sort_values(["theme", "score", "id"], ascending=[True, False, True], kind="stable")
    text_of = texts.set_index("id")["text"]
    used: set[str] = set()
    rows = []
    for theme, group in chosen.groupby("theme", sort=True):
        rank = 0
        for doc, score in zip(group["id"], group["score"]):
            text = str(text_of[doc]).strip()
            key = " ".join(text.lower().split())
            if key in used:
                continue
            used.add(key)
            rank += 1
            rows.append({"theme": theme, "rank": rank, "id": doc, "score": float(score), "text": text,
                         "text_html": html.escape(text)})
            if rank >= n_quotes:
                break
    return pd.DataFrame(rows, columns=["theme", "rank", "id", "score", "text", "text_html"])


def cooccurrence_table(assigned: pd.DataFrame) -> pd.DataFrame:
    """Pairs of themes: documents carrying both (n), and the Jaccard index of their documents."""
    A = assigned.to_numpy().astype(int)
    both = A.T @ A
    rows = []
    themes = list(assigned.columns)
    for i, a in enumerate(themes):
        for j, b in enumerate(themes):
            if i < j:
                union = both[i, i] + both[j, j] - both[i, j]
                rows.append({"theme_a": a, "theme_b": b, "n": int(both[i, j]),
                             "jaccard": float(both[i, j] / union) if union else 0.0})
    return pd.DataFrame(rows, columns=["theme_a", "theme_b", "n", "jaccard"]).sort_values(
        ["theme_a", "theme_b"], kind="stable").reset_index(drop=True)
