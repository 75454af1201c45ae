"""Deterministic figure saving shared by every stage.

``save_figure(fig, label, folder=None)`` writes ``folder/<label>.png`` and
``folder/<label>.svg`` (default folder: ``paths.FIGURES``) so that the same figure
gives the same bytes on every run: the SVG hash salt is fixed, the SVG carries no
date, the PNG no software/version stamp. Labels are the figure's label in the paper
(``fig-slopes`` ...). ``deterministic_style()`` returns the rcParams used.

Legible at print size: the PDF prints a figure at most ``PRINT_WIDTH_IN`` wide (A4 less
the paper's margins) and ``PRINT_HEIGHT_IN`` high, scaled down from its saved size;
``printed_scale(fig)`` is that factor and ``smallest_printed_pt(fig)`` the smallest
text of the figure in points as printed, which every figure of the paper keeps at
``MIN_PRINTED_PT`` or more (``FONT_PT``: the text size the stages' figures use).
``wrap(text, width)`` breaks a long label into lines.

Both files show the same area: the figure's tight bounding box (every artist,
legends and labels outside the axes included) plus ``savefig.pad_inches``, measured
once by ``tight_bbox(fig)`` and given to both ``savefig`` calls. (``bbox_inches=
"tight"`` would lay the figure out once more per format before drawing it: four
passes instead of two.)
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from pcnstudy.core import paths  # noqa: E402

SVG_HASHSALT = "pcnstudy"
DPI = 150
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
#: A4 (210 x 297 mm) less the paper's margins (2.2 cm each side, 2.5 cm top and bottom)
#: and a caption's lines: the largest a figure prints, in inches.
PRINT_WIDTH_IN = (210 - 2 * 22) / 25.4
PRINT_HEIGHT_IN = (297 - 2 * 25) / 25.4 - 0.8
MIN_PRINTED_PT = 8.0
FONT_PT = 9.0


def wrap(text: object, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (between words)."""
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def printed_scale(fig) -> float:
    """The factor the PDF scales ``fig`` by (its saved, tight size against the printed area), at most 1."""
    box = tight_bbox(fig)
    return min(1.0, PRINT_WIDTH_IN / box.width, PRINT_HEIGHT_IN / box.height)


def smallest_printed_pt(fig) -> float:
    """The smallest size (points) of any visible text of ``fig`` as the PDF prints it."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * printed_scale(fig) if sizes else float("inf")


def deterministic_style() -> dict:
    """rcParams that make saved figures byte-stable across runs."""
    return {
        "svg.hashsalt": SVG_HASHSALT,
        "svg.fonttype": "path",
        "path.simplify": True,
        "savefig.dpi": DPI,
    }


def tight_bbox(fig):
    """The area both saved files show: the tight bounding box of ``fig`` (inches), padded.

    Measured with the Agg renderer at ``DPI``, as ``savefig(bbox_inches="tight")`` does
    for the PNG; a figure with a layout engine (``layout="constrained"``) is laid out
    first, once.
    """
    original_dpi, original_canvas = fig.dpi, fig.canvas
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        fig.dpi = DPI
        renderer = canvas.get_renderer()
        if fig.get_layout_engine() is not None:
            fig.get_layout_engine().execute(fig)
        bbox = fig.get_tightbbox(renderer)
    finally:
        fig.dpi = original_dpi
        if fig.canvas is not original_canvas:
            fig.set_canvas(original_canvas)
    pad = matplotlib.rcParams["savefig.pad_inches"]
    return bbox.padded(pad, pad)


def save_figure(fig, label: str, folder: Path | None = None) -> list[Path]:
    """Write ``fig`` as ``folder/<label>.png`` and ``.svg``; return the two paths.

    The figure is laid out and measured once (``tight_bbox``), then drawn once per
    format. The figure is left open (the caller decides when to close it).
    """
    if not LABEL_PATTERN.match(label or ""):
        raise ValueError(f"figure label {label!r} must be letters, digits, '-', '_' or '.'")
    folder = Path(folder) if folder is not None else paths.FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{label}.png"
    svg = folder / f"{label}.svg"
    with plt.rc_context(deterministic_style()):
        bbox = tight_bbox(fig)
        engine = fig.get_layout_engine()
        fig.set_layout_engine("none")  # laid out above: not again for each format
        try:
            fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches=bbox)
            fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches=bbox)
        finally:
            if engine is not None:
                fig.set_layout_engine(engine)
    return [png, svg]
