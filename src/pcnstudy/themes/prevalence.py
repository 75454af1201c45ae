"""Theme prevalence and co-occurrence from the model's assignments (the exemplar quotes: ``pcnstudy.themes.quotes``).

- ``prevalence_table(assigned, meta, by, alpha)``: per theme the number and share of
  responses carrying it, overall and by cohort, wave, profession and question, with
  Wilson intervals (``pcnstudy.core.proportions.wilson_ci``);
- ``clustered_prevalence(assigned, meta, cluster, by, alpha)``: the same prevalences
  with intervals that allow for several responses per person: the design effect of
  the responses clustered by ``cluster`` (the respondent) and the Wilson interval on
  the effective sample size (``pcnstudy.core.proportions.cluster_wilson_ci``);
  ``disclose_clustered(clustered, shown)`` hides them wherever the published
  prevalence hides the share;
- ``disclose_prevalence(table, min_cell, rule, sentiment=None)``: that table (and the
  sentiment table, whose counts per theme it shares) under disclosure control over
  all its dimensions together (``pcnstudy.core.published.protect_prevalence``): strings,
  counts below the threshold as ``<5``, cells hidden to protect them as ``[c]``, hidden
  shares as a band (``prop_band``); returns the prevalence table, or (prevalence,
  sentiment) when ``sentiment`` is given;
- ``cooccurrence_table(assigned)``: pairs of themes, the responses carrying both and
  the Jaccard index of their responses.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from pcnstudy.core.disclosure import get_rule, is_hidden
from pcnstudy.core.published import Counts, protect_prevalence
from pcnstudy.core.proportions import cluster_proportion, cluster_wilson_ci, wilson_ci

PREVALENCE_BY = ("cohort", "wave", "profession", "question")
PREVALENCE_COLUMNS = ["dimension", "level", "theme", "n_total", "n", "prop", "prop_ci_low", "prop_ci_high"]
#: The clustered intervals' table (counts kept for the stage, never written: see ``CLUSTERED_PUBLISHED``).
CLUSTERED_COLUMNS = ["dimension", "level", "theme", "n_total", "n", "n_people", "deff", "prop_cl_ci_low",
                     "prop_cl_ci_high"]
#: The columns of prevalence_clustered.csv: no count, so nothing hidden in prevalence.csv is given back.
CLUSTERED_PUBLISHED = ["dimension", "level", "theme", "deff", "prop_cl_ci_low", "prop_cl_ci_high"]


def _levels(meta: pd.DataFrame, by: Sequence[str]) -> list[tuple[str, str, pd.Index]]:
    """(dimension, level, row index) of "all" and of each level of each column of ``by``."""
    dims = [("all", pd.Series("all", index=meta.index))] + [(c, meta[c].fillna("").astype(str)) for c in by
                                                              if c in meta.columns]
    return [(dim, str(level), idx) for dim, levels in dims
            for level, idx in levels.groupby(levels, sort=True).groups.items()]


def prevalence_table(assigned: pd.DataFrame, meta: pd.DataFrame, by: Sequence[str] = PREVALENCE_BY,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Theme prevalence overall ("all") and by each column of ``by``, with Wilson (1 - alpha) CIs.

    ``assigned``: documents x themes 0/1 (index = response id); ``meta``: the texts table
    indexed the same way. Rows sorted by dimension, level, theme.
    """
    rows = []
    for dim, level, idx in _levels(meta, by):
        sub = assigned.loc[idx]
        for theme in assigned.columns:
            rows.append({"dimension": dim, "level": level, "theme": theme, "n_total": len(sub),
                         "n": int(sub[theme].sum())})
    table = pd.DataFrame(rows, columns=["dimension", "level", "theme", "n_total", "n"])
    table["prop"] = table["n"] / table["n_total"]
    low, high = wilson_ci(table["n"].to_numpy(), table["n_total"].to_numpy(), alpha)
    table["prop_ci_low"], table["prop_ci_high"] = low, high
    return table.sort_values(["dimension", "level", "theme"], kind="stable").reset_index(drop=True)[PREVALENCE_COLUMNS]


def clustered_prevalence(assigned: pd.DataFrame, meta: pd.DataFrame, cluster: str = "respondent",
                         by: Sequence[str] = PREVALENCE_BY, alpha: float = 0.05) -> pd.DataFrame:
    """Theme prevalence with intervals allowing for the clustering of responses in ``meta[cluster]``.

    Same rows as ``prevalence_table``; ``n_people`` the clusters in the level, ``deff`` the
    design effect of the share (NaN where undefined: a share of 0 or 1, one person) and
    ``prop_cl_ci_low`` / ``prop_cl_ci_high`` the Wilson interval on the effective sample
    size (deff below 1 or undefined counts as 1). Without a ``cluster`` column every
    response is its own person (the plain Wilson interval).
    """
    people = (meta[cluster].astype(str) if cluster in meta.columns
              else pd.Series(meta.index.astype(str), index=meta.index))
    rows = []
    for dim, level, idx in _levels(meta, by):
        sub = assigned.loc[idx]
        groups = people.loc[idx].to_numpy()
        for theme in assigned.columns:
            y = sub[theme].to_numpy()
            _, _, deff, g = cluster_proportion(y, groups)
            rows.append({"dimension": dim, "level": level, "theme": theme, "n_total": len(sub), "n": int(y.sum()),
                         "n_people": g, "deff": deff})
    table = pd.DataFrame(rows, columns=CLUSTERED_COLUMNS[:7])
    low, high = cluster_wilson_ci(table["n"].to_numpy(), table["n_total"].to_numpy(), table["deff"].to_numpy(),
                                  alpha)
    table["prop_cl_ci_low"], table["prop_cl_ci_high"] = low, high
    return table.sort_values(["dimension", "level", "theme"], kind="stable").reset_index(drop=True)[CLUSTERED_COLUMNS]


def disclose_clustered(clustered: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """prevalence_clustered.csv: ``CLUSTERED_PUBLISHED`` as strings (4 decimals), each row's
    design effect and interval replaced by the published share's marker wherever
    ``shown`` (the disclosure-controlled prevalence) hides the count or the share."""
    keys = ["dimension", "level", "theme"]
    marks = shown[keys + ["n", "prop"]].rename(columns={"n": "n_shown", "prop": "prop_shown"})
    merged = clustered.merge(marks, on=keys, how="left")
    out = merged[keys].copy()
    hidden = merged["n_shown"].map(is_hidden) | merged["prop_shown"].map(is_hidden)
    for col in ("deff", "prop_cl_ci_low", "prop_cl_ci_high"):
        values = merged[col].map(lambda v: "" if pd.isna(v) else f"{float(v):.4f}")
        out[col] = values.where(~hidden, merged["prop_shown"].astype(str))
    return out[CLUSTERED_PUBLISHED]


def disclose_prevalence(table: pd.DataFrame, min_cell: int, rule: str, sentiment: pd.DataFrame | None = None):
    """Prevalence (and sentiment) under disclosure control over every dimension together:
    no hidden count can be recovered from the "all" row, another dimension or the sentiment counts."""
    spec = get_rule(rule, min_cell)
    counts = Counts(spec.threshold, True, spec.marker, spec.secondary_marker)
    protected = protect_prevalence(table, sentiment, counts, spec.round_to)
    if sentiment is None:
        return protected.tables["prevalence"]
    return protected.tables["prevalence"], protected.tables["sentiment"]


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
