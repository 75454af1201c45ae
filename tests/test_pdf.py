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
    scores = json.loads((results / "scores.json").read_text())
    assert scores  # the PDF was built from results that exist
