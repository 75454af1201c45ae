"""Theme figures: built from small tables, labelled, suppressed cells hatched, byte-stable."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from pcnstudy.themes import figures as tf
from pcnstudy.core.plots import save_figure


def _prevalence():
    return pd.DataFrame({
        "cohort": ["se_cohort1", "se_cohort1", "se_cohort2", "se_cohort2"],
        "theme": ["protected_time", "relational_working", "protected_time", "relational_working"],
        "prop": [0.42, 0.25, "<5", 0.6],
    })


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_heatmap_labels_annotations_and_suppression():
    fig = tf.plot_theme_heatmap(_prevalence(), labels={"protected_time": "Protected time"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Theme" and ax.get_ylabel() == "Cohort"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Protected time", "relational_working"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["se_cohort1", "se_cohort2"]
    assert sorted(_texts(ax)) == sorted(["42%", "25%", "60%", "<5"])
    hatched = [p for p in ax.patches if p.get_hatch() == tf.HATCH]
    assert [(p.get_x(), p.get_y()) for p in hatched] == [(0, 1)]
    assert fig.axes[1].get_ylabel() == "Responses with theme (%)"


def test_heatmap_accepts_wide_table_and_rejects_duplicates():
    wide = pd.DataFrame({"a": [0.1, np.nan], "b": [0.5, 0.2]}, index=["w1", "w2"])
    fig = tf.plot_theme_heatmap(wide, row="wave")
    assert len([p for p in fig.axes[0].patches if p.get_hatch()]) == 1
    doubled = pd.concat([_prevalence(), _prevalence().head(1)])
    with pytest.raises(ValueError, match="more than one row for cohort='se_cohort1'"):
        tf.plot_theme_heatmap(doubled)
    with pytest.raises(ValueError, match="missing column"):
        tf.plot_theme_heatmap(_prevalence().drop(columns="prop"))


def _topics():
    rows = []
    for topic, theme, terms in [
        ("free_1", "emergent", ["estat", "room", "parking"]),
        ("protected_time", "protected_time", ["time", "protect time", "reflect", "space"]),
    ]:
        for rank, term in enumerate(terms, start=1):
            rows.append({"topic": topic, "rank": rank, "term": term, "weight": 1.0 / rank, "theme": theme})
    return pd.DataFrame(rows)


def test_topic_terms_panels():
    fig = tf.plot_topic_terms(_topics(), n_terms=3, labels={"protected_time": "Protected time"})
    axes = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in axes] == ["Protected time", "Emergent topic 1"]  # no topic id
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["time", "protect time", "reflect"]
    assert [p.get_width() for p in axes[0].patches] == pytest.approx([1.0, 0.5, 1 / 3])
    assert axes[1].get_xlabel() == "Weight"
    with pytest.raises(ValueError, match="topics: missing column"):
        tf.plot_topic_terms(_topics().drop(columns="theme"))


def test_cooccurrence_counts_and_plot():
    codes = pd.DataFrame({
        "id": ["a", "a", "b", "b", "c", "c"],
        "theme": ["x", "y", "x", "y", "x", "z"],
        "assigned": [1, 1, 1, 1, 1, 0],
    })
    matrix = tf.cooccurrence_counts(codes, ["x", "y", "z"])
    assert matrix.to_numpy().tolist() == [[3, 2, 0], [2, 2, 0], [0, 0, 0]]
    shown = matrix.astype(object)
    shown.loc["y", "x"] = "<5"
    fig = tf.plot_cooccurrence(shown, labels={"x": "Theme X"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Theme" and ax.get_ylabel() == "Theme"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Theme X", "y", "z"]
    assert "<5" in _texts(ax) and "3" in _texts(ax)
    assert [(p.get_x(), p.get_y()) for p in ax.patches if p.get_hatch()] == [(0, 1)]
    with pytest.raises(ValueError, match="same themes"):
        tf.plot_cooccurrence(matrix.loc[["x", "y"], ["y", "x"]])


def test_figures_save_byte_identical(tmp_path):
    digests = []
    for run in range(2):
        fig = tf.plot_theme_heatmap(_prevalence())
        paths = save_figure(fig, "fig-themes", tmp_path / str(run))
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]


def test_many_topics_fit_the_printed_page_at_full_size():
    """Sixteen topics (13 codebook themes and 3 emergent ones) print at the house's smallest
    size: the grid widens, then shows fewer terms, rather than the page shrinking the figure."""
    from pcnstudy.core.plots import MIN_PRINTED_PT, smallest_printed_pt

    rows = []
    for k in range(16):
        theme = "emergent" if k >= 13 else f"theme_{k}"
        for rank, term in enumerate(["leadership", "network", "practice", "time", "support", "partner"], start=1):
            rows.append({"topic": f"t{k:02d}", "rank": rank, "term": term, "weight": 1.0 / rank, "theme": theme})
    labels = {f"theme_{k}": f"A codebook theme with a long plain label {k}" for k in range(13)}
    fig = tf.plot_topic_terms(pd.DataFrame(rows), labels=labels)
    assert smallest_printed_pt(fig) >= MIN_PRINTED_PT
    assert tf.topic_grid(16) == (4, 6) and tf.topic_grid(4) == (3, 6)
    assert tf.topic_grid(40)[1] < 6  # past four columns, fewer terms per panel
