"""The PDF (pandoc's Typst writer + the typst package): page count in range, figures
embedded, and its text carrying the headline numbers of the results JSON. The fixture
paper always; the pipeline's paper/_output/index.pdf when it has been built."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from paper_helpers import FIXTURE, build_fixture_paper
from pcnstudy.paper import inputs, manuscript
from pcnstudy.paper import render

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PAGES = (1, 2)
PAPER_PAGES = (8, 40)
PAPER_FIGURES = 7
# Headline numbers of the paper: results JSON keys whose formatted value the PDF must show.
HEADLINE_KEYS = (
    "scores.change.llr_cd.leadership.pct_change",
    "scores.change.llr_cd.systems.pct_change",
    "scores.change.llr_cd.partners.pct_change",
    "scores.meta.leadership.estimate",
    "scores.then_test.se_cohort2.leadership.then_vs_post.pct_change",
    "themes.themes.relational_working.prop",
)


def length_pt(value: str) -> float:
    """A Typst length such as '2.2cm' in PDF points."""
    units = {"cm": 72 / 2.54, "mm": 72 / 25.4, "in": 72.0, "pt": 1.0}
    return float(value[:-2]) * units[value[-2:]]


def text_origins(page) -> list[tuple[float, float]]:
    """(x, y) in points of where each piece of text on ``page`` starts (baseline, from the bottom left)."""
    found: list[tuple[float, float]] = []

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            found.append((tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return found


def margins(page) -> dict[str, float]:
    """The text box of a page as margins in points: left (leftmost text), top (page top to the
    first baseline), right (page edge to the rightmost text start, an upper bound of the margin)."""
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    points = text_origins(page)
    return {"left": min(x for x, _ in points), "top": height - max(y for _, y in points),
            "right": width - max(x for x, _ in points), "width": width}


def assert_configured_margins(page) -> None:
    """Left margin is _quarto.yml's margin.x within 2 pt; the first baseline sits one line below margin.y."""
    found = margins(page)
    x, y = length_pt(render.TYPST_MARGIN["x"]), length_pt(render.TYPST_MARGIN["y"])
    assert abs(found["left"] - x) <= 2, found
    assert y <= found["top"] <= y + 20, found  # the first line's ascent, at most one large line
    assert found["right"] > x, found


def pdf_text(reader: PdfReader) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def image_count(reader: PdfReader) -> int:
    return sum(len(page.images) for page in reader.pages)


@pytest.fixture(scope="module")
def fixture_pdf(tmp_path_factory) -> Path:
    folder = build_fixture_paper(tmp_path_factory.mktemp("pdf"))
    return render.render(folder, ["pdf"], epoch=1600000000, engine="pandoc")["pdf"]["path"]


def test_fixture_pdf_pages_figures_and_numbers(fixture_pdf):
    reader = PdfReader(str(fixture_pdf))
    assert FIXTURE_PAGES[0] <= len(reader.pages) <= FIXTURE_PAGES[1]
    assert image_count(reader) == 1
    text = pdf_text(reader)
    flat = manuscript.variables(inputs.load_results(FIXTURE / "results"), {})
    assert f"Leadership skills rose by {flat['scores.change.cohort_a.leadership.pct_change']}%" in text
    assert "Figure 1" in text and "Table 1" in text and "Table 2" in text
    assert re.search(r"Wilson EB\. Probable inference", text)  # the bibliography, Vancouver style
    # stamped with the build epoch (SOURCE_DATE_EPOCH or the commit date), never the clock
    assert reader.metadata["/CreationDate"].startswith("D:20200913")


def test_fixture_pdf_has_the_configured_margins(fixture_pdf):
    """pandoc's Typst template reads a nested ``margin`` map: the PDF's text box is _quarto.yml's."""
    assert_configured_margins(PdfReader(str(fixture_pdf)).pages[0])


def test_margin_check_would_catch_pandocs_default_margins():
    """The check distinguishes the configured margin (2.2 cm) from pandoc's default (1.25 in)."""
    assert abs(length_pt("1.25in") - length_pt(render.TYPST_MARGIN["x"])) > 20
    assert abs(length_pt("2.2cm") - 62.36) < 0.01


@pytest.mark.slow
def test_pipeline_pdf_pages_figures_and_headline_numbers(built_project):
    results = built_project / "data" / "processed" / "results"
    reader = PdfReader(str(built_project / "paper" / "_output" / "index.pdf"))
    assert PAPER_PAGES[0] <= len(reader.pages) <= PAPER_PAGES[1], len(reader.pages)
    assert image_count(reader) >= PAPER_FIGURES
    text = pdf_text(reader)
    flat = manuscript.variables(inputs.load_results(results), {})
    for key in HEADLINE_KEYS:
        assert key in flat, f"headline key {key} missing from the results"
        assert flat[key] in text, f"{key} = {flat[key]} not in the PDF text"
        assert any(ch.isdigit() for ch in flat[key]), f"{key} is suppressed ({flat[key]}): not a headline"
    assert "simulated" in text.lower()
    assert_configured_margins(reader.pages[2])  # a body page
    scores = json.loads((results / "scores.json").read_text())
    assert scores  # the PDF was built from results that exist
