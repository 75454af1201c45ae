"""The twin check's figure: fig-coverage, the coverage study's coverage per interval method.

``coverage_figure(table, labels)`` draws each method's empirical coverage over all its
cohorts (black) and, where a method spans several cohorts, per cohort (grey, indented),
with the Monte Carlo interval of the coverage, against the nominal level (dashed line);
cohorts are named by ``labels`` (``pcnstudy.core.labels.cohort_labels``), never by id.
A study without simulated cohorts draws a figure that says so.
``save_coverage_figure(table, folder, labels)`` saves it as fig-coverage (PNG and SVG,
``pcnstudy.core.plots.save_figure``) and returns the two paths.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pcnstudy.core.plots import FONT_PT, PRINT_WIDTH_IN, save_figure, wrap  # noqa: E402
from pcnstudy.twin.coverage import ALL, MC_ALPHA  # noqa: E402

LABEL = "fig-coverage"
ROW_IN = 0.3  # height of one row of the figure, inches


def figure_rows(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The figure's rows, top to bottom: each method over all its cohorts, then its cohorts;
    ``text`` is the row's label and ``overall`` says which rows are a method's total."""
    labels = labels or {}
    rows = []
    for method, part in table.groupby("method", sort=False):
        for rec in part.to_dict("records"):
            overall = rec["cohort"] == ALL
            text = rec["label"] if overall else "    " + wrap(labels.get(rec["cohort"], rec["cohort"]), 64)
            rows.append({**rec, "text": text, "overall": overall})
    return pd.DataFrame(rows)


def coverage_figure(table: pd.DataFrame, labels: Mapping[str, str] | None = None):
    """The coverage of each method (and cohort) with its Monte Carlo interval, against the nominal level."""
    style = {"font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
             "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT}
    with plt.rc_context(style):
        if table.empty:
            fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 1.2))
            ax.axis("off")
            ax.text(0.5, 0.5, "No simulated cohort in this run: no coverage study", ha="center", va="center")
            return fig
        rows = figure_rows(table, labels)
        fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 0.9 + ROW_IN * len(rows)))
        fig.subplots_adjust(left=0.58, right=0.98, top=1 - 0.45 / (0.9 + ROW_IN * len(rows)),
                            bottom=0.5 / (0.9 + ROW_IN * len(rows)))
        y = np.arange(len(rows))[::-1]
        for yi, rec in zip(y, rows.to_dict("records")):
            colour = "black" if rec["overall"] else "0.5"
            ax.errorbar(100 * rec["coverage"], yi, xerr=[[100 * (rec["coverage"] - rec["mc_ci_low"])],
                                                         [100 * (rec["mc_ci_high"] - rec["coverage"])]],
                        fmt="o" if rec["overall"] else "s", color=colour, markersize=5 if rec["overall"] else 4,
                        capsize=2, linewidth=1.2)
        nominal = 100 * float(rows["nominal"].iloc[0])
        ax.axvline(nominal, color="tab:red", linestyle="--", linewidth=1, label=f"nominal {nominal:g}%")
        ax.set_yticks(y, rows["text"])
        for tick, overall in zip(ax.get_yticklabels(), rows["overall"]):
            tick.set_fontweight("bold" if overall else "normal")
        low = min(100 * rows["mc_ci_low"].min(), nominal) - 2
        ax.set_xlim(max(low, 0), 100.5)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(f"Intervals covering the true value (%),\nwith its Monte Carlo {100 * (1 - MC_ALPHA):g}% interval")
        ax.grid(axis="x", color="0.9")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return fig


def save_coverage_figure(table: pd.DataFrame, folder: Path, labels: Mapping[str, str] | None = None) -> list[Path]:
    """Draw ``coverage_figure`` and save it as fig-coverage.png and .svg in ``folder``."""
    fig = coverage_figure(table, labels)
    try:
        return save_figure(fig, LABEL, folder)
    finally:
        plt.close(fig)
