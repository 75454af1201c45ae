"""Load and check a codebook of a-priori themes.

Takes a YAML file of the form::

    themes:
      - id: relational_working
        name: Relational working
        definition: Building trust and working relationships ...
        seed_terms: [relationship, trust, "get to know", colleagues]

and gives a ``Codebook`` (an ordered tuple of ``Theme`` records). A bad codebook
raises ``CodebookError`` whose message is one line naming the file, the theme's
position (1-based, as a reader counts) and the field: an unreadable or empty file,
no themes, a theme without an id or seed terms, an id that is not ``[a-z0-9_]+`` or
repeats an earlier one, a seed term that is a list/mapping or a bare YAML yes/no
(read as a boolean). The file may be UTF-8/16 or Windows-1252 (``textfile.decode_bytes``);
numeric seed terms are kept as text and whitespace inside a term is collapsed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pcnstudy.core.textfile import TableError, decode_bytes

ID_RE = re.compile(r"^[a-z0-9_]+$")


class CodebookError(ValueError):
    """A codebook that cannot be used; the message is one line, naming file and theme."""


@dataclass(frozen=True)
class Theme:
    """One a-priori theme: an id, a display name, a definition and its seed terms."""

    id: str
    name: str
    definition: str
    seed_terms: tuple[str, ...]


@dataclass(frozen=True)
class Codebook:
    """The themes of a codebook, in file order."""

    themes: tuple[Theme, ...]
    source: str = ""

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def seed_terms(self) -> dict[str, list[str]]:
        """Return {theme id: seed terms}, in file order."""
        return {t.id: list(t.seed_terms) for t in self.themes}

    def names(self) -> dict[str, str]:
        return {t.id: t.name for t in self.themes}


def _seed_term(value: Any, where: str, k: int) -> str:
    """One seed term as text: strings and numbers are kept, None is dropped, others are errors."""
    if value is None:
        return ""
    if isinstance(value, bool):  # YAML reads bare yes/no/on/off/true/false as booleans
        raise CodebookError(f"{where}: term {k} was read as the boolean {value}; put it in quotes")
    if isinstance(value, (str, int, float)):
        return " ".join(str(value).split())
    raise CodebookError(f"{where}: term {k} is a {type(value).__name__}, not a word or phrase")


def parse_codebook(data: Any, source: str = "<codebook>") -> Codebook:
    """Check a codebook already read from YAML; raise ``CodebookError`` on the first problem."""
    if not isinstance(data, dict) or "themes" not in data:
        raise CodebookError(f"{source}: codebook is empty or has no 'themes' list")
    raw = data["themes"]
    if not isinstance(raw, list) or not raw:
        raise CodebookError(f"{source}: codebook has no themes")
    themes: list[Theme] = []
    seen: set[str] = set()
    for pos, item in enumerate(raw, start=1):
        where = f"{source}: theme {pos}"
        if not isinstance(item, dict):
            raise CodebookError(f"{where}: expected a mapping with id, name, definition, seed_terms")
        tid = item.get("id")
        if tid is None or str(tid).strip() == "":
            raise CodebookError(f"{where}: id: missing")
        tid = str(tid).strip()
        where = f"{source}: theme {pos} ({tid})"
        if not ID_RE.match(tid):
            raise CodebookError(f"{where}: id: must be lower-case letters, digits and _ only")
        if tid in seen:
            raise CodebookError(f"{where}: id: duplicate theme id {tid!r}")
        seen.add(tid)
        seeds = item.get("seed_terms")
        if isinstance(seeds, str):
            seeds = [seeds]
        if not isinstance(seeds, list):
            raise CodebookError(f"{where}: seed_terms: missing or not a list")
        seeds = [_seed_term(s, f"{where}: seed_terms", k) for k, s in enumerate(seeds, start=1)]
        seeds = [s for s in seeds if s]
        if not seeds:
            raise CodebookError(f"{where}: seed_terms: theme has no seed terms")
        name = str(item.get("name") or tid)
        themes.append(Theme(id=tid, name=name, definition=str(item.get("definition") or ""),
                            seed_terms=tuple(seeds)))
    return Codebook(themes=tuple(themes), source=source)


def load_codebook(path: Path) -> Codebook:
    """Read and check a codebook YAML file; raise ``CodebookError`` (one line) when unusable."""
    path = Path(path)
    try:
        text = decode_bytes(path.read_bytes(), path)
    except OSError as exc:
        raise CodebookError(f"{path}: cannot read codebook ({exc.strerror or exc.__class__.__name__})") from None
    except TableError:
        raise CodebookError(f"{path}: cannot read codebook (a binary file, not YAML text)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise CodebookError(f"{path}: not valid YAML{line}") from None
    return parse_codebook(data, source=str(path))
