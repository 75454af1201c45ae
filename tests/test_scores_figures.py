"""Scores figures: the slope figure's lines (one collection per panel, a seeded sample
above MAX_SLOPE_LINES) and its means from every respondent."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from pcnstudy.scores.figures import MAX_SLOPE_LINES, respondent_lines, slope_figure  # noqa: E402


def _domain_rows(n, seed=0, cohorts=("c1",), domains=("d1", "d2")):
    rng = np.random.default_rng(seed)
    rows = []
    for cohort in cohorts:
        for r in range(n):
            base = rng.normal(3, 0.5)
            for k, wave in enumerate(("baseline", "end")):
                if k and r % 7 == 0:
                    continue  # drop-outs: a single point draws no line
                for domain in domains:
                    rows.append({"cohort": cohort, "respondent": f"r{r:04d}", "wave": wave, "item": domain,
                                 "level": "domain", "score": base + 0.5 * k + rng.normal(0, 0.3)})
    return pd.DataFrame(rows)


def test_respondent_lines_skip_missing_and_sample_without_replacement():
    wide = pd.DataFrame({"baseline": [1.0, 2.0, np.nan, 4.0], "mid": [np.nan, 2.5, 3.0, 4.5],
                         "end": [2.0, 3.0, np.nan, 5.0]})
    x = np.arange(3, dtype=float)
    lines = respondent_lines(wide, x, 10, np.random.default_rng(0))
    assert len(lines) == 3  # the third row has one score
    np.testing.assert_array_equal(lines[0], [[0, 1.0], [2, 2.0]])
    big = pd.DataFrame(np.arange(1000, dtype=float).reshape(500, 2), columns=["baseline", "end"])
    a = respondent_lines(big, np.arange(2.0), 50, np.random.default_rng(4))
    b = respondent_lines(big, np.arange(2.0), 50, np.random.default_rng(4))
    assert len(a) == 50 and all(np.array_equal(p, q) for p, q in zip(a, b))
    starts = [line[0, 1] for line in a]
    assert len(set(starts)) == 50 and starts == sorted(starts)  # distinct rows, kept in order


def test_slope_figure_draws_one_collection_per_panel_and_samples_large_cohorts():
    data = _domain_rows(MAX_SLOPE_LINES * 3)
    fig = slope_figure(data, ["baseline", "end"], seed=11)
    try:
        for ax in fig.axes:
            collections = [c for c in ax.collections if isinstance(c, LineCollection) and len(c.get_segments()) > 2]
            assert len(collections) == 1
            assert len(collections[0].get_segments()) <= MAX_SLOPE_LINES
            assert any("of 600 lines shown" in t.get_text() for t in ax.texts)
            # the bold mean line uses every respondent, not the sample
            domain = ax.get_title()
            sub = data[data["item"] == domain]
            means = sub.groupby("wave")["score"].mean().reindex(["baseline", "end"]).to_numpy()
            mean_line = [line for line in ax.lines if line.get_linewidth() > 2][0]
            np.testing.assert_allclose(mean_line.get_ydata(), means, rtol=1e-12)
    finally:
        plt.close(fig)


def test_small_cohorts_draw_every_line_and_no_sample_note():
    data = _domain_rows(30)
    fig = slope_figure(data, ["baseline", "end"], seed=11)
    try:
        ax = fig.axes[0]
        (collection,) = [c for c in ax.collections if isinstance(c, LineCollection) and len(c.get_segments()) > 2]
        assert len(collection.get_segments()) == 30 - len(range(0, 30, 7))
        assert not any("lines shown" in t.get_text() for t in ax.texts)
    finally:
        plt.close(fig)
