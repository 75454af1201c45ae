"""Deterministic figure saving shared by every stage.

``save_figure(fig, label, folder=None)`` writes ``folder/<label>.png`` and
``folder/<label>.svg`` (default folder: ``paths.FIGURES``) so that the same figure
gives the same bytes on every run: the SVG hash salt is fixed, the SVG carries no
date, the PNG no software/version stamp. Labels are the figure's label in the paper
(``fig-slopes`` ...). ``deterministic_style()`` returns the rcParams used.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pcnstudy import paths  # noqa: E402

SVG_HASHSALT = "pcnstudy"
DPI = 150
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")


def deterministic_style() -> dict:
    """rcParams that make saved figures byte-stable across runs."""
    return {
        "svg.hashsalt": SVG_HASHSALT,
        "svg.fonttype": "path",
        "path.simplify": True,
        "savefig.dpi": DPI,
    }


def save_figure(fig, label: str, folder: Path | None = None) -> list[Path]:
    """Write ``fig`` as ``folder/<label>.png`` and ``.svg``; return the two paths.

    The figure is left open (the caller decides when to close it).
    """
    if not LABEL_PATTERN.match(label or ""):
        raise ValueError(f"figure label {label!r} must be letters, digits, '-', '_' or '.'")
    folder = Path(folder) if folder is not None else paths.FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{label}.png"
    svg = folder / f"{label}.svg"
    with plt.rc_context(deterministic_style()):
        fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return [png, svg]
