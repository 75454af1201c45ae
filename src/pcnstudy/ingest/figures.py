"""The ingest notebook's figure: rows kept and quarantined per raw file.

``plot_file_counts(counts)`` takes the per-file counts (``IngestResult.summary_frame()``)
and gives a matplotlib Figure (a horizontal stacked bar per file).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def plot_file_counts(counts: pd.DataFrame):
    """A horizontal bar chart of rows kept and quarantined per raw file; gives the Figure."""
    counts = counts[["rows_kept", "rows_quarantined"]]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(counts) + 1.2))
    counts.iloc[::-1].plot.barh(stacked=True, ax=ax, color=["#4c72b0", "#dd8452"], width=0.7)
    ax.set_xlabel("rows")
    ax.set_ylabel("")
    ax.set_title("Rows kept and quarantined per raw file")
    ax.legend(["kept", "quarantined"], loc="lower right", frameon=False)
    fig.tight_layout()
    return fig
