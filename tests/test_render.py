"""The two rendering paths: the Lua filters on small documents, then the fixture paper
rendered to HTML and PDF by the pandoc + typst fallback (and by Quarto where installed)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paper_helpers import PARAMS, build_fixture_paper
from pcnstudy.paper import colophon, manuscript
from pcnstudy.paper import render


def pandoc(tmp_path: Path, text: str, to: str = "html5", variables: str = "", files: dict | None = None,
           metadata: str | None = None):
    """Run the bundled pandoc with the project's filters on ``text``; return the process.

    ``metadata`` is written to _study.yml and passed as pandoc's --metadata-file.
    """
    (tmp_path / "doc.md").write_text(text)
    (tmp_path / "_variables.yml").write_text(variables)
    for name, content in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    cmd = [render.pandoc_path(), "doc.md", "-f", "markdown", "-t", to]
    if metadata is not None:
        (tmp_path / render.STUDY_METADATA).write_text(metadata)
        cmd += ["--metadata-file", render.STUDY_METADATA]
    for f in render.filter_paths():
        cmd += ["--lua-filter", str(f)]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)


# ------------------------------------------------------------------ shortcodes.lua


def test_var_is_replaced_keeping_surrounding_punctuation(tmp_path):
    done = pandoc(tmp_path, "Rose by {{< var a.b >}}% (p {{< var a.p >}}), see ({{< var a.b >}}).\n",
                  variables='a:\n  b: "24.3"\n  p: "<0.001"\n')
    assert done.returncode == 0, done.stderr
    assert "Rose by 24.3% (p &lt;0.001), see (24.3)." in done.stdout


def test_var_in_a_table_cell_and_across_a_line_break(tmp_path):
    text = "| x |\n|---|\n| {{< var a.b >}} |\n\nText {{< var\na.b >}} end.\n"
    done = pandoc(tmp_path, text, variables='a:\n  b: "7.5"\n')
    assert done.returncode == 0, done.stderr
    assert "<td>7.5</td>" in done.stdout
    assert "Text 7.5 end." in done.stdout


def test_missing_var_stops_the_render_naming_the_key(tmp_path):
    done = pandoc(tmp_path, "Value {{< var a.nope >}}.\n", variables='a:\n  b: "1"\n')
    assert done.returncode != 0
    assert "a.nope" in done.stderr


def test_include_expands_nested_files_and_their_vars(tmp_path):
    files = {"tables/t.md": "Inner {{< var a.b >}}.\n\n{{< include more.md >}}\n",
             "tables/more.md": "Deepest paragraph.\n"}
    done = pandoc(tmp_path, "Before.\n\n{{< include tables/t.md >}}\n\nAfter.\n", variables='a:\n  b: "3"\n', files=files)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Before\.</p>\s*<p>Inner 3\.</p>\s*<p>Deepest paragraph\.</p>\s*<p>After\.", done.stdout)


def test_include_of_a_missing_file_fails(tmp_path):
    done = pandoc(tmp_path, "{{< include tables/none.md >}}\n")
    assert done.returncode != 0 and "tables/none.md" in done.stderr


CONDITIONAL = """::: {.content-visible when-meta="has_x"}
Shown when x: {{< var a.x >}}.
:::

::: {.content-hidden when-meta="has_x"}
Shown without x.
:::

Inline [with x]{.content-visible when-meta="has_x"}[without x]{.content-hidden when-meta="has_x"} and
[nested key]{.content-visible when-meta="group.flag"}[unless]{.content-visible unless-meta="has_x"} end.
"""


def test_conditional_content_follows_the_metadata_flags(tmp_path):
    done = pandoc(tmp_path, CONDITIONAL, variables='a:\n  x: "42"\n', metadata="has_x: true\ngroup:\n  flag: true\n")
    assert done.returncode == 0, done.stderr
    assert "Shown when x: 42." in done.stdout and "Shown without x" not in done.stdout
    assert "Inline with x and nested key end." in " ".join(done.stdout.split())


def test_hidden_content_never_looks_up_its_variables(tmp_path):
    """A block about data a run does not have may quote variables that do not exist."""
    done = pandoc(tmp_path, CONDITIONAL, metadata="has_x: false\n")
    assert done.returncode == 0, done.stderr
    assert "Shown when x" not in done.stdout and "Shown without x." in done.stdout
    assert "Inline without x and unless end." in " ".join(done.stdout.split())


def test_conditional_content_with_a_missing_flag_is_false_and_formats_match(tmp_path):
    text = ("[html only]{.content-visible when-format=\"html\"}[pdf only]{.content-visible when-format=\"pdf\"}"
            "[flagged]{.content-visible when-meta=\"absent\"} done.\n")
    html = pandoc(tmp_path, text)
    typst = pandoc(tmp_path, text, to="typst")
    assert html.returncode == 0 and typst.returncode == 0, html.stderr + typst.stderr
    assert "html only done." in html.stdout and "pdf only" not in html.stdout and "flagged" not in html.stdout
    assert "pdf only done." in typst.stdout and "html only" not in typst.stdout


# ------------------------------------------------------------------ crossref.lua


DOC = """See @fig-b, @tbl-a and @fig-a.

![First figure](a.png){#fig-b}

![Second figure](b.png){#fig-a}

| x |
|---|
| 1 |

: A table {#tbl-a}
"""


def test_crossref_numbers_in_document_order_for_html(tmp_path):
    done = pandoc(tmp_path, DOC)
    assert done.returncode == 0, done.stderr
    html = done.stdout
    assert '<a href="#fig-b">Figure 1</a>' in html
    assert '<a href="#fig-a">Figure 2</a>' in html
    assert '<a href="#tbl-a">Table 1</a>' in html
    assert "Figure 1: First figure" in html and "Figure 2: Second figure" in html
    assert "Table 1: A table" in html
    assert "@fig" not in html and "??" not in html


def test_crossref_leaves_numbering_to_typst(tmp_path):
    done = pandoc(tmp_path, DOC, to="typst")
    assert done.returncode == 0, done.stderr
    assert "#ref(<fig-b>)" in done.stdout and "#ref(<tbl-a>)" in done.stdout
    assert "Figure 1:" not in done.stdout


def test_crossref_to_a_missing_label_fails(tmp_path):
    done = pandoc(tmp_path, "See @fig-nowhere.\n")
    assert done.returncode != 0 and "fig-nowhere" in done.stderr


def test_crossref_keeps_bibliography_citations_for_citeproc(tmp_path):
    done = pandoc(tmp_path, "See @fig-a [@smith2020].\n\n![F](a.png){#fig-a}\n", to="native")
    assert done.returncode == 0, done.stderr
    assert 'citationId = "smith2020"' in done.stdout
    assert 'citationId = "fig-a"' not in done.stdout


# ------------------------------------------------------------------ the fixture paper


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = build_fixture_paper(tmp_path_factory.mktemp("render"))
    info = render.render(folder, ["html", "pdf"], epoch=1600000000, engine="pandoc")
    return folder, info


def test_fallback_writes_html_and_pdf(rendered):
    folder, info = rendered
    html = (folder / "_output" / "index.html").read_text(encoding="utf-8")
    assert info["html"]["engine"] == "pandoc"
    assert "Leadership skills rose by 24.1% (p &lt;0.001)." in html
    assert "Cells below 5 were suppressed" in html
    assert "data:image/png;base64," in html  # self-contained
    assert "Wilson’s <span class=\"citation\" data-cites=\"wilson1927\"><a href=\"#ref-wilson1927\"" in html or \
        'data-cites="wilson1927">[1]' in html
    assert "Probable inference" in html  # the reference list, from the CSL
    assert "2020-09-13" in html  # the date comes from the epoch, not the clock
    pdf = folder / "_output" / "index.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and info["pdf"]["pages"] >= 1


def test_fallback_html_has_the_manuscript_layout(rendered):
    """A floating table of contents beside the text, "Other formats" linking the PDF, every
    table in a box that scrolls, and the date of the build (the epoch) under the title."""
    folder, _ = rendered
    html = (folder / "_output" / "index.html").read_text(encoding="utf-8")
    layout = html.index('<div class="page-layout">')
    nav, main = html.index('<nav id="TOC" class="toc-sidebar"'), html.index('<main id="content"')
    assert layout < nav < main
    assert '<a href="#methods"' in html[nav:main] or 'href="#methods"' in html[nav:main]
    assert "<h2>Other formats</h2>" in html[nav:main] and '<a href="index.pdf">PDF</a>' in html[nav:main]
    assert "notebook-links" not in html  # the fixture paper has no notebooks table
    assert html.count("<table") == html.count('<div class="table-wrap">\n<table') == 2
    assert '<p class="date">2020-09-13</p>' in html[main:]


def test_notebook_links_come_from_the_notebooks_table(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "notebooks.md").write_text(
        "- [01 Ingest: raw \\*exports\\*](notebooks/01_ingest.html) (`01_ingest.html`)\n"
        "- [Scores & more](notebooks/02_scores.html) (`02_scores.html`)\n")
    links = render.notebook_links(tmp_path)
    assert links == [("01 Ingest: raw *exports*", "notebooks/01_ingest.html"),
                     ("Scores & more", "notebooks/02_scores.html")]
    args = render.pandoc_args("html", tmp_path / "out.html", notebooks=links)
    assert "notebook-links=<a href=\"notebooks/02_scores.html\">Scores &amp; more</a>" in args
    assert render.notebook_links(tmp_path / "nowhere") == []


def test_typst_margins_are_a_metadata_map(tmp_path):
    """``--variable margin.x=`` never reaches pandoc's Typst template; a nested metadata map does."""
    margin_file = render.write_margin_file(tmp_path)
    args = render.pandoc_args("typst", tmp_path / "out.typ", margin_file=str(margin_file))
    assert not any(a.startswith("margin") for a in args)
    assert args[args.index(str(margin_file)) - 1] == "--metadata-file"
    (tmp_path / "doc.md").write_text("Text.\n")
    done = subprocess.run([render.pandoc_path(), "doc.md", "-t", "typst", "-s", "--metadata-file", str(margin_file)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "margin: (x: 2.2cm,y: 2.5cm,)" in done.stdout


def test_both_paths_show_the_same_build_date(tmp_path):
    """Quarto is given the date the fallback prints (the epoch's), in the same ISO form."""
    import yaml

    cmd = render.quarto_command("quarto", tmp_path, "html", "2020-09-13")
    assert cmd[-2:] == ["-M", "date:2020-09-13"]
    assert render.quarto_command("quarto", tmp_path, "pdf")[-2:] == ["--to", "typst"]
    project = yaml.safe_load((Path(__file__).resolve().parents[1] / "paper" / "_quarto.yml").read_text())
    assert project["date-format"] == "iso"
    assert "--metadata" in (args := render.pandoc_args("html", tmp_path / "o.html", "2020-09-13")) and \
        "date=2020-09-13" in args


def test_rendering_is_deterministic(rendered, tmp_path):
    folder, _ = rendered
    other = build_fixture_paper(tmp_path)
    render.render(other, ["html", "pdf"], epoch=1600000000, engine="pandoc")
    for name in ("index.html", "index.pdf"):
        assert (other / "_output" / name).read_bytes() == (folder / "_output" / name).read_bytes(), name


def test_a_params_change_reaches_the_rendered_paper(tmp_path):
    params = {**PARAMS, "disclosure": {"min_cell": 11, "rule": "threshold"}}
    folder = build_fixture_paper(tmp_path, params=params)
    render.render(folder, ["html"], epoch=0, engine="pandoc")
    assert "Cells below 11 were suppressed" in (folder / "_output" / "index.html").read_text(encoding="utf-8")


def test_a_render_error_is_one_clear_message(tmp_path):
    folder = build_fixture_paper(tmp_path)
    (folder / "index.qmd").write_text((folder / "index.qmd").read_text() + "\nAlso {{< var no.such.key >}}.\n")
    with pytest.raises(render.RenderError, match="no.such.key"):
        render.render(folder, ["html"], engine="pandoc")


def test_unknown_format_is_refused(tmp_path):
    folder = build_fixture_paper(tmp_path)
    with pytest.raises(render.RenderError, match="docx"):
        render.render(folder, ["docx"], engine="pandoc")


@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not installed on this machine")
def test_quarto_renders_the_same_source(tmp_path):
    folder = build_fixture_paper(tmp_path)
    shutil.copyfile(Path(__file__).resolve().parents[1] / "paper" / "_quarto.yml", folder / "_quarto.yml")
    (folder / "_quarto.yml").write_text((folder / "_quarto.yml").read_text().replace("css: style.css", ""))
    info = render.render(folder, ["html", "pdf"], epoch=1600000000, engine="quarto")
    html = info["html"]["path"].read_text(encoding="utf-8")
    assert "24.1%" in html and "Cells below 5" in html
    assert info["pdf"]["pages"] >= 1


def test_filters_are_shipped_with_the_package():
    names = [p.name for p in render.filter_paths()]
    assert names == ["shortcodes.lua", "crossref.lua"] and all(p.is_file() for p in render.filter_paths())
    assert colophon.PACKAGES[0] == "pcnstudy"


def test_typst_setup_matches_the_quarto_project():
    """The fallback's Typst header and _quarto.yml's typst include-in-header say the same."""
    import yaml

    project = yaml.safe_load((Path(__file__).resolve().parents[1] / "paper" / "_quarto.yml").read_text())
    typst_format = project["format"]["typst"]
    assert typst_format["include-in-header"]["text"] == render.TYPST_HEADER
    assert typst_format["citeproc"] is True
    assert project["project"]["output-dir"] == "_output"
    assert typst_format["margin"] == render.TYPST_MARGIN
    assert project["format"]["html"]["toc-location"] == "left"


def test_paper_command_end_to_end_on_a_project_copy(tmp_path, monkeypatch, capsys):
    """`pcnstudy paper` in a small project: variables, tables, figures, both formats, extras."""
    from paper_helpers import FIXTURE, PROJECT_PAPER, write_png

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    monkeypatch.setenv("PCNSTUDY_NO_QUARTO", "1")
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "results", root / "data" / "processed" / "results")
    write_png(root / "figures" / "fig-demo.png")
    (root / "reports").mkdir()
    (root / "reports" / "01_demo.html").write_text("<html><body>executed notebook</body></html>")
    (root / "params.yaml").write_text("disclosure:\n  min_cell: 7\n  rule: threshold\nscores:\n  alpha: 0.1\n")
    (root / "dvc.yaml").write_text("stages: {}\n")
    paper_dir = root / "paper"
    paper_dir.mkdir()
    for name in ("references.bib",):
        shutil.copyfile(FIXTURE / name, paper_dir / name)
    shutil.copyfile(PROJECT_PAPER / "vancouver.csl", paper_dir / "vancouver.csl")
    text = (FIXTURE / "index.qmd").read_text()
    text = text.replace("# References", "# Notebooks\n\n{{< include tables/notebooks.md >}}\n\n"
                        "Level {{< var params.derived.conf_pct >}}%.\n\n"
                        "# Colophon\n\n{{< include tables/colophon.md >}}\n\n# References")
    (paper_dir / "index.qmd").write_text(text)
    assert manuscript.paper_command(["html", "pdf"], root=root) == 0
    out = paper_dir / "_output"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "Cells below 7 were suppressed" in html and "Level 90%." in html
    assert 'href="notebooks/01_demo.html"' in html and (out / "notebooks" / "01_demo.html").is_file()
    sidebar = html[html.index('<nav id="TOC"'):html.index("</nav>")]
    assert "<h2>Notebooks</h2>" in sidebar and 'href="notebooks/01_demo.html"' in sidebar
    assert "Reproducibility colophon" in html and "2020-09-13" in html
    assert (out / "index.pdf").is_file() and (out / "supplementary-tables.zip").is_file()
    assert (paper_dir / "figures" / "fig-demo.png").is_file()
    printed = capsys.readouterr().out
    assert re.search(r"html: paper/_output/index.html \(pandoc, [\d.]+ s\)", printed)
    assert re.search(r"pdf: paper/_output/index.pdf \(pandoc, [\d.]+ s, \d+ pages\)", printed)
