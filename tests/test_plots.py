"""Figure saving: one measured bounding box for both files, nothing outside the axes cut off."""
from __future__ import annotations

import hashlib
import struct

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from pcnstudy.core.plots import DPI, save_figure, tight_bbox  # noqa: E402


def _png_size(path):
    header = path.read_bytes()[:24]
    return struct.unpack(">II", header[16:24])


def _figure_with_outside_legend():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="a long legend entry placed below the axes")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6))
    ax.set_ylabel("a label")
    return fig


def test_saved_area_takes_in_a_legend_outside_the_figure(tmp_path):
    fig = _figure_with_outside_legend()
    try:
        png, svg = save_figure(fig, "fig-legend", tmp_path)
        bbox = tight_bbox(fig)
        width, height = _png_size(png)
        assert bbox.y0 < 0  # the legend hangs below the figure's bottom edge ...
        legend = fig.axes[0].get_legend().get_window_extent(fig.canvas.get_renderer())
        legend_in = legend.transformed(fig.dpi_scale_trans.inverted())
        assert bbox.y0 <= legend_in.y0 and legend_in.y1 <= bbox.y1  # ... and is inside the saved area
        assert bbox.x0 <= legend_in.x0 and legend_in.x1 <= bbox.x1
        assert (width, height) == pytest.approx((bbox.width * DPI, bbox.height * DPI), abs=1)
        assert b'height="' in svg.read_bytes()
    finally:
        plt.close(fig)


def test_same_figure_same_bytes_and_constrained_layout_is_restored(tmp_path):
    digests = []
    for run in ("a", "b"):
        fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
        ax.plot([0, 1, 2], [2, 1, 3])
        ax.set_title("title")
        written = save_figure(fig, "fig-x", tmp_path / run)
        assert fig.get_layout_engine() is not None
        plt.close(fig)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in written])
    assert digests[0] == digests[1]
