"""Build a small paper from the fixtures in tests/data/paper (shared by the paper tests)."""
from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

from pcnstudy.paper import manuscript
from pcnstudy.paper.inputs import find_csv, load_results, read_quotes
from pcnstudy.paper.tables import paper_tables

FIXTURE = Path(__file__).parent / "data" / "paper"
PROJECT_PAPER = Path(__file__).resolve().parents[1] / "paper"
PARAMS = {"disclosure": {"min_cell": 5, "rule": "threshold"}, "scores": {"alpha": 0.05}}


def write_png(path: Path, width: int = 240, height: int = 120) -> Path:
    """A small deterministic RGB PNG (three coloured bars on white)."""
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44)]
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            bar = x * 3 // width
            filled = y >= height - (bar + 1) * height // 4
            row += bytes(colours[bar] if filled else (255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def fixture_tables(instrument: dict | None = None, codebook: dict | None = None) -> dict[str, str]:
    """The paper's results tables made from the fixture results (no cohorts table)."""
    results = FIXTURE / "results"
    return paper_tables(load_results(results), instrument=instrument, codebook=codebook, conf_pct="95",
                        quotes=read_quotes(find_csv(results, "quote")), cohorts=None)


def build_fixture_paper(tmp: Path, params: dict | None = None) -> Path:
    """Copy the fixture paper into ``tmp/paper`` and write its variables, tables and figure."""
    dest = Path(tmp) / "paper"
    dest.mkdir(parents=True)
    for name in ("index.qmd", "references.bib"):
        shutil.copyfile(FIXTURE / name, dest / name)
    shutil.copyfile(PROJECT_PAPER / "vancouver.csl", dest / "vancouver.csl")
    manuscript.write_variables(manuscript.variables(load_results(FIXTURE / "results"), params or PARAMS),
                               dest / "_variables.yml")
    manuscript.write_tables(fixture_tables(), dest / "tables")
    write_png(dest / "figures" / "fig-demo.png")
    return dest
