"""The PDF (pandoc's Typst writer + the typst package): page count in range, figures
embedded, and its text carrying the headline numbers of the results JSON; the main text
(the pages before the supplement) at most ``MAIN_TEXT_PAGES``; table headings and cells
that never run into their neighbours; cohorts and items named in plain words, never by
id. The fixture paper always; the pipeline's paper/_output/index.pdf when it has been built."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

import yaml

from paper_helpers import FIXTURE, build_fixture_paper
from pcnstudy.core.labels import item_labels
from pcnstudy.paper import inputs, manuscript
from pcnstudy.paper import render
from pcnstudy.paper.tables import pipe_table, shown_text

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PAGES = (1, 2)
PAPER_PAGES = (8, 40)
#: The main text's longest length in pages: everything before the supplement.
MAIN_TEXT_PAGES = 15
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


def layout_text(reader: PdfReader) -> str:
    """The PDF's text laid out as on the page (columns kept apart by spaces), as pdftotext -layout."""
    return "\n".join(page.extract_text(extraction_mode="layout") or "" for page in reader.pages)


def glued(table_md: str) -> list[str]:
    """For each pair of neighbouring cells of a markdown table (heading and body rows), the
    last word of the first run into the first word of the second: what the PDF's text shows
    where two cells collide ("CI%", "se_cohort1Multiprofessional"). Only pairs with a letter."""
    rows = [line for line in table_md.splitlines() if line.startswith("| ")]
    out = []
    for line in rows:
        cells = [shown_text(c.strip()) for c in line.strip().strip("|").split(" | ")]
        for a, b in zip(cells, cells[1:]):
            if a.split() and b.split():
                joint = a.split()[-1] + b.split()[0]
                if len(joint) >= 3 and any(ch.isalpha() for ch in joint):
                    out.append(joint)
    return out


def collisions(table_md: str, text: str) -> list[str]:
    """The glued pairs of ``table_md`` that occur in ``text`` but in none of the table's own cells."""
    own = table_md.replace("\\", "")
    return sorted({j for j in glued(table_md) if re.search(r"(?<!\S)" + re.escape(j), text) and j not in own})


WIDE_HEADER = ["Cohort", "Domain", "Pairs", "Before", "After", "Mean change", "95% CI", "% change", "95% CI (%)",
               "p (Holm)", "d~z~"]
WIDE_ROW = ["Multiprofessional leadership programme for PCNs, cohort 1", "Understanding of complex and dynamic systems",
            "21", "2.80", "3.56", "0.76", "(0.55, 0.98)", "27.2", "(18.4, 36.6)", "<0.001", "1.62"]


def test_wide_table_headings_do_not_collide_in_the_pdf(tmp_path):
    """The change table's eleven columns, through pandoc's Typst writer with the paper's header."""
    folder = tmp_path / "paper"
    folder.mkdir()
    pooled = ["All respondents, unweighted (not a pooled estimate)"] + WIDE_ROW[1:]
    table = pipe_table(WIDE_HEADER, [WIDE_ROW] * 3 + [pooled], "A wide table", "tbl-wide", "ll" + "r" * 9)
    (folder / "index.qmd").write_text("---\ntitle: Wide\n---\n\n" + table + "\n")
    (folder / "_variables.yml").write_text("{}\n")
    pdf = render.render(folder, ["pdf"], epoch=1600000000, engine="pandoc")["pdf"]["path"]
    text = layout_text(PdfReader(str(pdf)))
    assert "Multiprofessional" in text and "Holm" in text
    assert collisions(table, text) == [], text


def test_collision_check_finds_glued_cells():
    table = pipe_table(["95% CI", "% change"], [["se\\_cohort1", "Multiprofessional"]], "C", "tbl-c", "lr")
    assert collisions(table, "Cohort 95% CI% change\nse_cohort1Multiprofessional") == \
        ["CI%", "se_cohort1Multiprofessional"]
    assert collisions(table, "Cohort 95% CI   % change\nse_cohort1   Multiprofessional") == []


def internal_ids(root: Path) -> set[str]:
    """The ids of cohorts (the processed cohorts table), of waves that are not words as they
    stand (``follow_up``), and of items and feedback items (the instrument)."""
    cohorts = inputs.cohort_records(inputs.read_cohorts(root / "data" / "processed"))
    instrument = yaml.safe_load((root / "config" / "instrument.yml").read_text())
    waves = {str(w) for c in cohorts for key in ("waves", "retrospective_waves") for w in (c.get(key) or [])}
    return {str(c["cohort"]) for c in cohorts} | {w for w in waves if "_" in w} | set(item_labels(instrument))


def ids_in(text: str, ids: set[str]) -> list[str]:
    """The ids that occur in ``text`` as words (underscores included)."""
    return sorted(i for i in ids if re.search(r"(?<![\w-])" + re.escape(i) + r"(?![\w-])", text))


def test_id_check_finds_an_id_but_not_a_label():
    assert ids_in("In the llr_cd cohort (lead_1)", {"llr_cd", "lead_1", "se_cohort1"}) == ["lead_1", "llr_cd"]
    assert ids_in("In the clinical directors' programme", {"llr_cd"}) == []


@pytest.mark.slow
def test_pipeline_main_text_is_at_most_fifteen_pages(built_project):
    pdf = built_project / "paper" / "_output" / "index.pdf"
    reader = PdfReader(str(pdf))
    main = render.main_text_pages(pdf)
    assert main < len(reader.pages), "no supplement found in the PDF's outline"
    assert main <= MAIN_TEXT_PAGES, main
    first = " ".join((reader.pages[main].extract_text() or "").split())
    assert first.startswith(render.SUPPLEMENT_HEADING), first[:80]  # the supplement starts its own page
    before = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages[:main])
    assert "References" in before and "Colophon" not in before and "Exemplar quotes by theme" not in before


@pytest.mark.slow
def test_pipeline_pdf_tables_do_not_collide(built_project):
    text = layout_text(PdfReader(str(built_project / "paper" / "_output" / "index.pdf")))
    found = {}
    for path in sorted((built_project / "paper" / "tables").glob("*.md")):
        hits = collisions(path.read_text(encoding="utf-8"), text)
        if hits:
            found[path.stem] = hits
    assert found == {}


@pytest.mark.slow
def test_no_internal_id_in_the_rendered_paper(built_project):
    """Prose, tables and captions name cohorts by programme and items by wording, in the PDF and the HTML."""
    ids = internal_ids(built_project)
    assert {"llr_cd", "lead_1", "follow_up"} <= ids
    assert ids_in(pdf_text(PdfReader(str(built_project / "paper" / "_output" / "index.pdf"))), ids) == []
    html = (built_project / "paper" / "_output" / "index.html").read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    body = re.sub(r'src="data:[^"]*"', " ", body)
    body = re.sub(r'href="[^"]*"', " ", body)
    assert ids_in(re.sub(r"<[^>]+>", " ", body), ids) == []
