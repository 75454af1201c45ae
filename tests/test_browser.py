"""Open the rendered paper in headless Chromium and check what a reader sees: every
image loaded, every figure and table numbered, no unresolved reference, the title and
every section present. Renders the fixture paper, and checks the pipeline's own
paper/_output/index.html too when it has been built; saves a screenshot in reports/."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paper_helpers import build_fixture_paper
from pcnstudy.paper import render

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Top-level sections, then the supplement's own (after the references, as second-level headings).
PAPER_SECTIONS = ["Abstract", "Background", "Methods", "Results", "Discussion", "Limitations",
                  "Data statement: a simulated twin", "Data and code availability", "References",
                  "Supplementary material", "Reporting checklist", "Notebooks", "Colophon"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 120

if not CHROMIUM.is_file():
    pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

# Runs after the page (and its images) have loaded; writes its findings into the DOM.
CHECK_SCRIPT = """<script>
window.addEventListener("load", function () {
  var text = document.body.innerText;
  var out = {
    title: (document.querySelector("h1.title") || {}).textContent || "",
    sections: Array.from(document.querySelectorAll("h1:not(.title), h2")).map(function (h) { return h.textContent.trim(); }),
    images: Array.from(document.images).map(function (i) {
      return {alt: i.alt, loaded: i.complete && i.naturalWidth > 0, width: i.naturalWidth}; }),
    figures: Array.from(document.querySelectorAll("figure")).map(function (f) {
      var c = f.querySelector("figcaption"); return {id: f.id, caption: c ? c.textContent.trim() : ""}; }),
    tables: Array.from(document.querySelectorAll("table")).map(function (t) {
      var c = t.querySelector("caption"); return {id: t.id, caption: c ? c.textContent.trim() : ""}; }),
    unresolved: ["??", "@fig-", "@tbl-", "{{<", "?var:"].filter(function (s) { return text.indexOf(s) >= 0; }),
    links: Array.from(document.querySelectorAll("a[href^='#']")).map(function (a) { return a.getAttribute("href"); })
      .filter(function (h) { return h.length > 1 && !document.getElementById(decodeURIComponent(h.slice(1))); }),
    layout: (function () {
      var nav = document.querySelector("nav#TOC"), main = document.querySelector("main") || document.body;
      var box = function (el) { var r = el.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; };
      return {
        nav: nav ? box(nav) : null, main: box(main),
        navPosition: nav ? getComputedStyle(nav).position : "",
        otherFormats: Array.from(document.querySelectorAll("nav#TOC a")).map(function (a) { return a.getAttribute("href"); }),
        tables: Array.from(document.querySelectorAll("table")).map(function (t) {
          var wrap = t.parentElement, c = t.querySelector("caption");
          return {id: t.id, wrapClass: wrap.className, wrapWidth: wrap.getBoundingClientRect().width,
                  overflow: getComputedStyle(wrap).overflowX, scrolls: wrap.scrollWidth > wrap.clientWidth,
                  captionAlign: c ? getComputedStyle(c).textAlign : "", captionSide: c ? getComputedStyle(c).captionSide : ""}; }),
        figures: Array.from(document.querySelectorAll("figure")).map(function (f) {
          var c = f.querySelector("figcaption"), i = f.querySelector("img");
          return {captionBelow: !!(c && i && c.getBoundingClientRect().top >= i.getBoundingClientRect().bottom),
                  captionAlign: c ? getComputedStyle(c).textAlign : ""}; })
      };
    })()
  };
  var pre = document.createElement("pre");
  pre.id = "pcnstudy-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def inspect_page(html: Path, tmp_path: Path) -> dict:
    """Load a copy of ``html`` (beside the original, so relative links resolve) with the check script."""
    copy = html.with_name("_browser_check.html")
    text = html.read_text(encoding="utf-8")
    copy.write_text(text.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    try:
        done = chromium(["--virtual-time-budget=10000", "--window-size=1400,1000", "--dump-dom", copy.as_uri()], tmp_path)
    finally:
        copy.unlink()
    match = re.search(r'<pre id="pcnstudy-check">(.*?)</pre>', done.stdout, flags=re.S)
    assert match, f"the check script did not run: {done.stderr[-500:]}"
    return json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def screenshot(html: Path, out: Path, tmp_path: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = chromium(["--hide-scrollbars", "--window-size=1280,1800", f"--screenshot={out}", html.as_uri()], tmp_path)
    assert out.is_file() and out.stat().st_size > 0, done.stderr[-500:]
    return out


def assert_reader_sees_a_complete_paper(found: dict, title_part: str, sections: list[str]) -> None:
    assert title_part in " ".join(found["title"].split())
    missing = [s for s in sections if s not in found["sections"]]
    assert not missing, f"sections missing: {missing} (found {found['sections']})"
    assert found["images"], "no images"
    broken = [i["alt"][:60] for i in found["images"] if not i["loaded"]]
    assert not broken, f"images that did not load: {broken}"
    assert not found["unresolved"], f"unresolved references: {found['unresolved']}"
    assert not found["links"], f"internal links to nothing: {found['links']}"
    for i, fig in enumerate(found["figures"], start=1):
        assert fig["id"].startswith("fig-") and fig["caption"].startswith(f"Figure {i}:"), fig
    for i, table in enumerate(found["tables"], start=1):
        assert table["id"].startswith("tbl-") and table["caption"].startswith(f"Table {i}:"), table


def assert_manuscript_layout(layout: dict) -> None:
    """At 1400 px: the table of contents floats beside the text (left of it, sticky), links the PDF;
    every table sits in a box of the text column's width that scrolls; captions as Quarto sets them."""
    nav, main = layout["nav"], layout["main"]
    assert nav and nav["right"] <= main["left"], layout
    assert layout["navPosition"] == "sticky"
    assert "index.pdf" in layout["otherFormats"]
    for table in layout["tables"]:
        assert "table-wrap" in table["wrapClass"] and table["overflow"] == "auto", table
        assert table["wrapWidth"] <= main["width"] + 1, table
        assert table["captionAlign"] == "center" and table["captionSide"] == "top", table
    for figure in layout["figures"]:
        assert figure["captionBelow"] and figure["captionAlign"] == "center", figure


@pytest.fixture(scope="module")
def fixture_html(tmp_path_factory) -> Path:
    folder = build_fixture_paper(tmp_path_factory.mktemp("browser"))
    shutil.copyfile(ROOT / "paper" / "style.css", folder / "style.css")  # the paper's look
    return render.render(folder, ["html"], epoch=1600000000, engine="pandoc")["html"]["path"]


def test_fixture_paper_in_chromium(fixture_html, tmp_path):
    found = inspect_page(fixture_html, tmp_path)
    assert_reader_sees_a_complete_paper(found, "Fixture paper", ["Abstract", "Methods", "Results", "References"])
    assert [f["id"] for f in found["figures"]] == ["fig-demo"]
    assert [t["id"] for t in found["tables"]] == ["tbl-change", "tbl-themes"]
    assert_manuscript_layout(found["layout"])


def test_check_catches_a_broken_image_and_a_stray_reference(fixture_html, tmp_path):
    broken = fixture_html.with_name("broken.html")
    text = fixture_html.read_text(encoding="utf-8")
    text = re.sub(r'src="data:image/png;base64,[^"]+"', 'src="missing.png"', text, count=1)
    broken.write_text(text.replace("</body>", "<p>see @fig-missing</p></body>"), encoding="utf-8")
    found = inspect_page(broken, tmp_path)
    assert not found["images"][0]["loaded"]
    assert found["unresolved"] == ["@fig-"]


@pytest.mark.slow
def test_pipeline_paper_in_chromium(built_project, tmp_path):
    html = built_project / "paper" / "_output" / "index.html"
    found = inspect_page(html, tmp_path)
    assert_reader_sees_a_complete_paper(found, "primary care networks", PAPER_SECTIONS)
    assert len(found["figures"]) >= 7
    assert_manuscript_layout(found["layout"])
    notebooks = sorted((built_project / "reports").glob("*.html"))
    assert len(notebooks) >= 3
    for nb in notebooks:
        assert (html.parent / "notebooks" / nb.name).is_file(), nb.name
    screenshot(html, ROOT / "reports" / "paper-screenshot.png", tmp_path)


def test_screenshot_is_saved(fixture_html, tmp_path):
    out = tmp_path / "fixture-screenshot.png"
    screenshot(fixture_html, out, tmp_path)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
