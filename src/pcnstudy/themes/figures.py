"""Figures of the thematic analysis: prevalence heatmap, top terms per topic, co-occurrence.

Each ``plot_*`` function takes a table and returns a matplotlib ``Figure`` (built
without pyplot, so nothing global is left open); save it with
``pcnstudy.core.plots.save_figure(fig, "fig-themes")``, which writes byte-stable PNG and SVG.

- ``plot_theme_heatmap(prevalence, row="cohort", column="theme", value="prop")``:
  groups x themes, cells annotated with the percentage. ``prevalence`` is either long
  (columns ``row``, ``column``, ``value``) or already wide (index groups, columns
  themes). Values are fractions in [0, 1]; a cell suppressed by disclosure control
  (NaN, or a string such as "<5" in its place) is drawn hatched and blank, or with that
  string.
- ``plot_topic_terms(topics, n_terms=8)``: one bar panel per topic from a table with
  columns ``topic, rank, term, weight, theme`` (theme id, or "emergent"), titled by the
  theme's name or "emergent"; codebook topics first, then emergent ones.
- ``plot_cooccurrence(matrix)``: a square theme x theme table of counts of responses
  carrying both themes (diagonal: the theme's own count), lower triangle shown,
  suppressed cells hatched. ``cooccurrence_counts(codes, themes)`` builds that table
  from a long (id, theme) code table.

``labels`` (theme id -> display name, and cohort id -> its programme's label,
``pcnstudy.core.labels.cohort_labels``) renames themes and cohorts in every figure; text
is ``FONT_PT`` points and each figure narrow enough that the PDF prints it at 8 points
or more.

``stage_figures(prevalence, topics, doc_themes, themes, labels, min_cell, rule,
cohort_names=None)`` gives the themes stage's three figures by label (``STAGE_FIGURES``):
the disclosed prevalence of each theme (rows) by cohort (columns; overall, without
cohorts), the topic terms, and the co-occurrence matrix with counts below the
disclosure threshold hidden.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from pcnstudy.core.disclosure import get_rule
from pcnstudy.core.plots import FONT_PT, PRINT_HEIGHT_IN, PRINT_WIDTH_IN, wrap

STAGE_FIGURES = ("fig-theme-heatmap", "fig-topic-terms", "fig-theme-cooccurrence")
EMERGENT = "emergent"
CMAP = "Blues"
HATCH = "///"


def _split_suppressed(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (numeric values, text shown in suppressed cells: '' when none)."""
    numeric = table.apply(pd.to_numeric, errors="coerce").astype(float)
    shown = table.where(numeric.isna() & table.notna(), "").astype(str)
    shown = shown.where(~shown.isin(["nan", "None", "<NA>"]), "")
    return numeric, shown


def _wide(table: pd.DataFrame, row: str, column: str, value: str) -> pd.DataFrame:
    if {row, column, value} <= set(table.columns):
        duplicated = table.duplicated([row, column])
        if duplicated.any():
            first = table[duplicated].iloc[0]
            raise ValueError(f"prevalence: more than one row for {row}={first[row]!r}, {column}={first[column]!r}")
        wide = table.pivot(index=row, columns=column, values=value)
        return wide.sort_index(axis=0).sort_index(axis=1)
    if row in table.columns or column in table.columns or value in table.columns:
        missing = [c for c in (row, column, value) if c not in table.columns]
        raise ValueError(f"prevalence: missing column(s) {', '.join(missing)}")
    return table


def _hatch(ax, mask: np.ndarray) -> None:
    for i, j in zip(*np.nonzero(mask)):
        ax.add_patch(Rectangle((j, i), 1, 1, fill=False, hatch=HATCH, edgecolor="0.6", linewidth=0))


def _rename(names: Sequence, labels: Mapping | None, width: int = 40) -> list[str]:
    labels = labels or {}
    return [wrap(labels.get(name, name), width) for name in names]


def plot_theme_heatmap(
    prevalence: pd.DataFrame,
    row: str = "cohort",
    column: str = "theme",
    value: str = "prop",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Heatmap of theme prevalence (share of responses, %) by group x theme."""
    wide = _wide(prevalence, row, column, value)
    numeric, shown = _split_suppressed(wide)
    if numeric.size == 0:
        raise ValueError("prevalence: no cells to plot")
    annot = numeric.map(lambda v: "" if math.isnan(v) else f"{100 * v:.0f}%")
    annot = annot.where(shown == "", shown)
    n_rows, n_cols = numeric.shape
    fig = Figure(figsize=(min(PRINT_WIDTH_IN, 0.62 * n_cols + 3.6), 0.36 * n_rows + 2.4))
    ax = fig.subplots()
    sns.heatmap(
        100 * numeric, ax=ax, cmap=CMAP, vmin=0, vmax=100, annot=annot.to_numpy(), fmt="",
        annot_kws={"fontsize": FONT_PT}, linewidths=0.5, linecolor="white",
        cbar_kws={"label": "Responses with theme (%)"}, mask=numeric.isna(),
    )
    _hatch(ax, numeric.isna().to_numpy())
    for (i, j), text in np.ndenumerate(annot.where(numeric.isna(), "").to_numpy()):
        if text:
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=FONT_PT, color="0.3")
    ax.set_xticks(np.arange(n_cols) + 0.5, _rename(numeric.columns, labels, 24), rotation=90, ha="center",
                  fontsize=FONT_PT)
    ax.set_yticks(np.arange(n_rows) + 0.5, _rename(numeric.index, labels, 34), rotation=0, fontsize=FONT_PT)
    ax.set_xlabel(column.replace("_", " ").capitalize(), fontsize=FONT_PT)
    ax.set_ylabel(row.replace("_", " ").capitalize(), fontsize=FONT_PT)
    cbar = ax.collections[0].colorbar if ax.collections and ax.collections[0].colorbar else None
    if cbar is not None:
        cbar.ax.tick_params(labelsize=FONT_PT)
        cbar.ax.yaxis.label.set_size(FONT_PT)
    if title:
        ax.set_title(title, fontsize=FONT_PT)
    fig.tight_layout()
    return fig


def _topic_panel_height(n_terms: int) -> float:
    return 0.2 * n_terms + 0.95


def topic_grid(n_panels: int, ncols: int = 3, n_terms: int = 6, max_cols: int = 4,
               min_terms: int = 4) -> tuple[int, int]:
    """(columns, terms per panel) so that ``n_panels`` topic panels fit the printed page at full
    size: more columns first (up to ``max_cols``), then fewer terms (down to ``min_terms``)."""
    ncols = max(1, min(ncols, n_panels))

    def height(cols: int, terms: int) -> float:
        return _topic_panel_height(terms) * math.ceil(n_panels / cols) + 0.2

    while height(ncols, n_terms) > PRINT_HEIGHT_IN and ncols < min(max_cols, n_panels):
        ncols += 1
    while height(ncols, n_terms) > PRINT_HEIGHT_IN and n_terms > min_terms:
        n_terms -= 1
    return ncols, n_terms


def plot_topic_terms(
    topics: pd.DataFrame,
    n_terms: int = 6,
    labels: Mapping[str, str] | None = None,
    ncols: int = 3,
) -> Figure:
    """Bar panels of each topic's top terms by weight, titled by the theme it serves
    (an emergent topic: "Emergent topic k")."""
    missing = [c for c in ("topic", "rank", "term", "weight", "theme") if c not in topics.columns]
    if missing:
        raise ValueError(f"topics: missing column(s) {', '.join(missing)}")
    if topics.empty:
        raise ValueError("topics: no rows to plot")
    table = topics.copy()
    table["topic"] = table["topic"].astype(str)
    table["theme"] = table["theme"].fillna(EMERGENT).astype(str)
    order = (
        table.groupby("topic", sort=True)["theme"].first().reset_index()
        .assign(emergent=lambda d: d["theme"].eq(EMERGENT))
        .sort_values(["emergent", "topic"], kind="stable")
    )
    n = len(order)
    ncols, n_terms = topic_grid(n, ncols, n_terms)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(PRINT_WIDTH_IN, _topic_panel_height(n_terms) * nrows + 0.2))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    palette = sns.color_palette("tab10", 2)
    k_emergent = 0
    for ax, (_, item) in zip(axes, order.iterrows()):
        rows = table[table["topic"] == item["topic"]].sort_values(["rank", "term"], kind="stable").head(n_terms)
        colour = palette[1] if item["emergent"] else palette[0]
        ax.barh(np.arange(len(rows)), rows["weight"].astype(float), color=colour)
        ax.set_yticks(np.arange(len(rows)), [str(t) for t in rows["term"]], fontsize=FONT_PT)
        ax.invert_yaxis()
        if item["emergent"]:
            k_emergent += 1
            heading = f"Emergent topic {k_emergent}"
        else:
            heading = str((labels or {}).get(item["theme"], item["theme"]))
        ax.set_title(wrap(heading, 30 if ncols <= 3 else 22), fontsize=FONT_PT)
        ax.set_xticks([])  # the bars' lengths compare the terms; their scale is not read
        ax.set_xlabel("Weight", fontsize=FONT_PT)
    for ax in axes[n:]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def cooccurrence_counts(codes: pd.DataFrame, themes: Sequence[str]) -> pd.DataFrame:
    """Theme x theme counts of responses carrying both themes (diagonal: the theme alone).

    ``codes``: long (id, theme) table; with an ``assigned`` column only assigned == 1
    rows count. Rows and columns follow ``themes``.
    """
    if "assigned" in codes.columns:
        codes = codes[pd.to_numeric(codes["assigned"], errors="coerce").fillna(0) > 0]
    codes = codes[codes["theme"].isin(themes)].drop_duplicates(["id", "theme"])
    indicator = pd.crosstab(codes["id"], codes["theme"]).reindex(columns=list(themes), fill_value=0)
    matrix = indicator.T.dot(indicator).astype(int)
    matrix.index.name = None
    matrix.columns.name = None
    return matrix.reindex(index=list(themes), columns=list(themes), fill_value=0)


def plot_cooccurrence(
    matrix: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Lower-triangle heatmap of a theme co-occurrence matrix, counts annotated."""
    if list(matrix.index) != list(matrix.columns):
        raise ValueError("co-occurrence matrix: rows and columns must list the same themes in the same order")
    numeric, shown = _split_suppressed(matrix)
    n = len(numeric)
    if n == 0:
        raise ValueError("co-occurrence matrix: no themes")
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    suppressed = numeric.isna().to_numpy() & ~upper
    annot = numeric.map(lambda v: "" if math.isnan(v) else f"{v:.0f}").to_numpy()
    annot = np.where(shown.to_numpy() != "", shown.to_numpy(), annot)
    fig = Figure(figsize=(PRINT_WIDTH_IN, min(PRINT_WIDTH_IN, 0.42 * n + 2.6)))
    ax = fig.subplots()
    sns.heatmap(
        numeric, ax=ax, cmap=CMAP, mask=upper | numeric.isna().to_numpy(), annot=annot, fmt="",
        annot_kws={"fontsize": FONT_PT}, linewidths=0.5, linecolor="white", square=True,
        cbar_kws={"label": "Responses with both themes"},
    )
    _hatch(ax, suppressed)
    for (i, j), text in np.ndenumerate(np.where(suppressed, annot, "")):
        if text:
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=FONT_PT, color="0.3")
    ax.set_xticks(np.arange(n) + 0.5, _rename(numeric.columns, labels, 24), rotation=90, ha="center",
                  fontsize=FONT_PT)
    ax.set_yticks(np.arange(n) + 0.5, _rename(numeric.columns, labels, 34), rotation=0, fontsize=FONT_PT)
    ax.set_xlabel("Theme", fontsize=FONT_PT)
    ax.set_ylabel("Theme", fontsize=FONT_PT)
    cbar = ax.collections[0].colorbar if ax.collections and ax.collections[0].colorbar else None
    if cbar is not None:
        cbar.ax.tick_params(labelsize=FONT_PT)
        cbar.ax.yaxis.label.set_size(FONT_PT)
    if title:
        ax.set_title(title, fontsize=FONT_PT)
    fig.tight_layout()
    return fig


def stage_figures(prevalence: pd.DataFrame, topics: pd.DataFrame, doc_themes: pd.DataFrame, themes: list[str],
                  labels: Mapping[str, str], min_cell: int, rule: str,
                  cohort_names: Mapping[str, str] | None = None) -> dict[str, Figure]:
    """The stage's figures by label: fig-theme-heatmap, fig-topic-terms, fig-theme-cooccurrence.

    ``prevalence`` is the disclosed prevalence table (suppressed cells are hatched in
    the heatmap, themes by row, cohorts by column, named by ``cohort_names``);
    co-occurrence counts below the rule's threshold are shown as its marker.
    """
    by_cohort = prevalence[prevalence["dimension"] == "cohort"].rename(columns={"level": "cohort"})
    if by_cohort.empty:
        by_cohort = prevalence[prevalence["dimension"] == "all"].rename(columns={"level": "cohort"})
    spec = get_rule(rule, min_cell)
    counts = cooccurrence_counts(doc_themes, themes)
    matrix = counts.astype(object).where((counts == 0) | (counts >= spec.threshold), spec.marker)
    return {
        "fig-theme-heatmap": plot_theme_heatmap(by_cohort, row="theme", column="cohort", value="prop",
                                                labels={**dict(cohort_names or {}), **dict(labels)}),
        "fig-topic-terms": plot_topic_terms(topics, labels=labels),
        "fig-theme-cooccurrence": plot_cooccurrence(matrix, labels=labels),
    }
