"""Render the Quarto paper to HTML and PDF, with Quarto or with its engines directly.

``render(paper_dir, formats, epoch)`` takes a Quarto project folder holding
``index.qmd`` (and the ``_variables.yml``, ``tables/`` and ``figures/`` the paper
stage wrote) and gives ``<paper_dir>/_output/index.html`` and/or ``index.pdf``, with
a dict per format: path, engine, seconds and (PDF) page count, in all and before the
supplement (``main_text_pages``).

- Where ``quarto`` is on PATH: ``quarto render <paper_dir> --to html|typst``.
- Otherwise: pandoc from the pypandoc-binary wheel with this package's Lua filters
  (shortcodes, then cross-references) BEFORE ``--citeproc``; HTML self-contained
  (``--embed-resources --standalone``) in the layout of a Quarto manuscript (this
  package's ``templates/paper.html``: a floating table of contents with "Other formats"
  and the executed notebooks; tables wrapped to scroll in their box, ``tables.lua``);
  PDF through pandoc's Typst writer (page margins from ``TYPST_MARGIN``, given as a
  nested metadata map, the form its template reads) and the ``typst`` package,
  stamped with ``epoch`` instead of the clock.

Both paths show the same date: the ISO date of ``epoch`` (the build's source date,
``pcnstudy.core.workspace.source_date_epoch``), never the clock; _quarto.yml sets
``date-format: iso`` so that Quarto prints it as the fallback does. The paper stage also
writes that date into ``_study.yml``, so a hand-run ``quarto render paper`` shows it.

The bibliography and CSL come from index.qmd's front matter, read by both paths.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

import pypandoc
import typst
from pypdf import PdfReader

from pcnstudy.core import paths
from pcnstudy.paper.colophon import build_date

FORMATS = ("html", "pdf")
# Typst set-up shared with _quarto.yml's typst include-in-header: table captions above
# their tables, tables in a smaller size with narrow cell padding and ragged-right
# (not justified) cells, so that a heading wraps between its words and never runs into
# its neighbour, and figures kept with their captions.
TYPST_HEADER = (
    "#show figure.where(kind: table): set figure.caption(position: top)\n"
    "#show table: set text(size: 8pt, hyphenate: false)\n"
    "#show table: set par(justify: false)\n"
    "#show table: set table(inset: (x: 3pt, y: 4pt))\n"
    "#show figure: set block(breakable: true)\n"
)
# _quarto.yml's typst margin; pandoc's Typst template reads ``margin`` as a map, which
# only metadata (not ``--variable margin.x=...``) can give.
TYPST_MARGIN = {"x": "2.2cm", "y": "2.5cm"}
STUDY_METADATA = "_study.yml"
#: The heading of the paper's supplement (after the references, on a new page): the main
#: text is every page before it (``main_text_pages``).
SUPPLEMENT_HEADING = "Supplementary material"
FILTERS = ("shortcodes.lua", "crossref.lua")
HTML_FILTERS = ("tables.lua",)  # after FILTERS, HTML only
HTML_TEMPLATE = "templates/paper.html"
NOTEBOOKS_TABLE = "tables/notebooks.md"
PDF_LINK = '<a href="index.pdf">PDF</a>'


class RenderError(Exception):
    """Rendering failed; the message says which step and why (pandoc's or typst's own words)."""


def filter_paths() -> list[Path]:
    """The Lua filters shipped in pcnstudy/paper/filters, in the order they must run."""
    return [paths.packaged_file("pcnstudy.paper", f"filters/{name}") for name in FILTERS]


def html_filter_paths() -> list[Path]:
    """The HTML-only Lua filters, run after ``filter_paths()``."""
    return [paths.packaged_file("pcnstudy.paper", f"filters/{name}") for name in HTML_FILTERS]


def html_template_path() -> Path:
    """The pandoc HTML template of the fallback (Quarto manuscript layout)."""
    return paths.packaged_file("pcnstudy.paper", HTML_TEMPLATE)


def pandoc_path() -> str:
    """Path of the pandoc binary bundled with pypandoc-binary (the pinned version), else
    pypandoc's choice. pypandoc alone may pick an older pandoc on PATH (Debian's 2.17 lacks
    ``--embed-resources``), depending on the environment it runs in."""
    bundled = Path(pypandoc.__file__).parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc")
    return str(bundled) if bundled.is_file() else pypandoc.get_pandoc_path()


def quarto_path() -> str | None:
    """Path of quarto when it is on PATH (and PCNSTUDY_NO_QUARTO is unset), else None."""
    if os.environ.get("PCNSTUDY_NO_QUARTO"):
        return None
    return shutil.which("quarto")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        message = " ".join((done.stderr or done.stdout).strip().split())
        raise RenderError(f"{Path(cmd[0]).name} failed in {cwd}: {message[:500]}")
    return done.stderr


def _env(epoch: int) -> dict[str, str]:
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = str(int(epoch))
    return env


def pandoc_args(fmt: str, output: Path, date: str | None = None, metadata_file: str | None = None,
                margin_file: str | None = None, notebooks: list[tuple[str, str]] | tuple = ()) -> list[str]:
    """pandoc's arguments (after the binary) to turn index.qmd into ``fmt`` ('html' or 'typst').

    ``metadata_file`` (relative to the paper folder) is read as document metadata, as
    _quarto.yml's ``metadata-files`` is by Quarto: the flags of conditional prose.
    ``margin_file`` (Typst) is the metadata file holding the nested ``margin`` map
    (``write_margin_file``); ``notebooks`` (HTML) are (title, href) pairs listed beside
    the table of contents.
    """
    args = ["index.qmd", "--from", "markdown", "--to", "html5" if fmt == "html" else "typst"]
    if metadata_file:
        args += ["--metadata-file", metadata_file]
    for path in filter_paths() + (html_filter_paths() if fmt == "html" else []):
        args += ["--lua-filter", str(path)]
    args += ["--citeproc", "--resource-path", ".", "--output", str(output)]
    if date:
        args += ["--metadata", f"date={date}"]
    if fmt == "html":
        args += ["--embed-resources", "--standalone", "--template", str(html_template_path()),
                 "--toc", "--toc-depth=2", "--section-divs", "--css", "style.css",
                 "--variable", f"other-formats={PDF_LINK}"]
        for title, href in notebooks:
            link = f'<a href="{html.escape(href)}">{html.escape(title)}</a>'
            args += ["--variable", f"notebook-links={link}"]
    else:
        args += ["--standalone", "--variable", f"header-includes={TYPST_HEADER}",
                 "--variable", "papersize=a4", "--variable", "fontsize=10pt"]
        if margin_file:
            args += ["--metadata-file", margin_file]
    return args


def write_margin_file(folder: Path) -> Path:
    """Write ``TYPST_MARGIN`` as a YAML metadata file (``margin: {x: .., y: ..}``) in ``folder``."""
    lines = ["margin:"] + [f"  {side}: {value}" for side, value in TYPST_MARGIN.items()]
    out = Path(folder) / "margin.yml"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def notebook_links(paper_dir: Path) -> list[tuple[str, str]]:
    """(title, href) of each executed notebook the paper's notebooks table links, in its order."""
    table = Path(paper_dir) / NOTEBOOKS_TABLE
    if not table.is_file():
        return []
    found = re.findall(r"^- \[(.+?)\]\((notebooks/[^)\s]+)\)", table.read_text(encoding="utf-8"), flags=re.M)
    return [(re.sub(r"\\(.)", r"\1", title), href) for title, href in found]


def metadata_file(paper_dir: Path) -> str | None:
    """The study-flags file (``_study.yml``) when the paper stage wrote one in ``paper_dir``."""
    return STUDY_METADATA if (Path(paper_dir) / STUDY_METADATA).is_file() else None


def pdf_pages(path: Path) -> int:
    """Number of pages of a PDF."""
    return len(PdfReader(str(path)).pages)


def main_text_pages(path: Path, heading: str = SUPPLEMENT_HEADING) -> int:
    """Pages of the PDF's main text: those before the page where the section ``heading``
    (the supplement, after the references) starts, found in the PDF's outline; every page
    when there is no such section."""
    reader = PdfReader(str(path))

    def entries(outline):
        for entry in outline:
            if isinstance(entry, list):
                yield from entries(entry)
            else:
                yield entry

    for entry in entries(reader.outline):
        if " ".join(str(entry.title).split()) == heading:
            return reader.get_destination_page_number(entry)
    return len(reader.pages)


def render_html_pandoc(paper_dir: Path, out: Path, epoch: int, date: str | None = None) -> Path:
    """index.qmd -> self-contained HTML with pandoc, the Lua filters and citeproc."""
    out.parent.mkdir(parents=True, exist_ok=True)
    args = pandoc_args("html", out.resolve(), date, metadata_file(paper_dir), notebooks=notebook_links(paper_dir))
    if not (paper_dir / "style.css").is_file():
        i = args.index("--css")
        del args[i:i + 2]
    _run([pandoc_path(), *args], paper_dir, _env(epoch))
    return out


def render_pdf_pandoc(paper_dir: Path, out: Path, epoch: int, date: str | None = None) -> Path:
    """index.qmd -> Typst source with pandoc (filters, citeproc) -> PDF with the typst package."""
    out.parent.mkdir(parents=True, exist_ok=True)
    source = paper_dir / ".index.pandoc.typ"  # beside index.qmd, so figure paths resolve
    try:
        with tempfile.TemporaryDirectory(prefix="pcnstudy-typst-") as tmp:
            margin = str(write_margin_file(Path(tmp)))
            args = pandoc_args("typst", source.resolve(), date, metadata_file(paper_dir), margin_file=margin)
            _run([pandoc_path(), *args], paper_dir, _env(epoch))
        try:
            typst.compile(str(source), output=str(out), root=str(paper_dir.resolve()),
                          timestamp=int(epoch), ignore_system_fonts=True)
        except Exception as err:  # typst raises its own error types with the compiler's message
            message = " ".join(str(err).split())
            raise RenderError(f"typst failed on {source.name}: {message[:500]}") from None
    finally:
        if source.exists():
            source.unlink()
    return out


def quarto_command(quarto: str, paper_dir: Path, fmt: str, date: str | None = None) -> list[str]:
    """``quarto render <paper_dir> --to html|typst [-M date:<date>]``: the date the fallback shows too."""
    cmd = [quarto, "render", str(paper_dir), "--to", "html" if fmt == "html" else "typst"]
    if date:
        cmd += ["-M", f"date:{date}"]
    return cmd


def render_quarto(paper_dir: Path, fmt: str, epoch: int, date: str | None = None) -> Path:
    """``quarto render <paper_dir> --to html|typst``; return the output file."""
    quarto = quarto_path()
    if quarto is None:
        raise RenderError("quarto is not on PATH")
    _run(quarto_command(quarto, paper_dir, fmt, date), paper_dir.parent, _env(epoch))
    return paper_dir / "_output" / ("index.html" if fmt == "html" else "index.pdf")


def render_one(paper_dir: Path, fmt: str, use: str, epoch: int, date: str) -> dict[str, Any]:
    """Render one format with engine ``use``; return {path, engine, seconds, pages (PDF)}."""
    start = time.perf_counter()
    out_dir = paper_dir / "_output"
    if use == "quarto":
        path = render_quarto(paper_dir, fmt, epoch, date)
    elif fmt == "html":
        path = render_html_pandoc(paper_dir, out_dir / "index.html", epoch, date)
    else:
        path = render_pdf_pandoc(paper_dir, out_dir / "index.pdf", epoch, date)
    info: dict[str, Any] = {"path": path, "engine": use, "seconds": time.perf_counter() - start}
    if fmt == "pdf":
        info["pages"] = pdf_pages(path)
        info["main_pages"] = main_text_pages(path)
    return info


def render(paper_dir: Path, formats: list[str] | tuple[str, ...] = FORMATS, epoch: int = 0,
           engine: str = "auto", on_done: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Render ``paper_dir/index.qmd`` to each format in ``paper_dir/_output``.

    ``engine`` is 'quarto', 'pandoc' or 'auto' (quarto where it is on PATH). The fallback
    renders its formats side by side (each is a pandoc process, and typst for the PDF, writing
    its own files), so two formats take about as long as the slower one on a machine with
    two cores; Quarto renders them one after the other, as it shares its project folder's
    state between runs. ``on_done(fmt)`` is called as each format is finished.
    Returns {format: {path, engine, seconds, pages and main_pages (PDF)}}, in the order of ``formats``.
    """
    paper_dir = Path(paper_dir)
    if not (paper_dir / "index.qmd").is_file():
        raise RenderError(f"{paper_dir / 'index.qmd'}: no such file")
    for fmt in formats:
        if fmt not in FORMATS:
            raise RenderError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    use = engine if engine != "auto" else ("quarto" if quarto_path() else "pandoc")
    date = build_date(int(epoch))
    done: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=1 if use == "quarto" else max(1, len(formats))) as pool:
        futures = {pool.submit(render_one, paper_dir, fmt, use, int(epoch), date): fmt for fmt in formats}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if on_done is not None:
                on_done(futures[future])
    return {fmt: done[fmt] for fmt in formats}
