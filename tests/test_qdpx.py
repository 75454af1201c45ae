"""REFI-QDA export/import: schema validity, byte-identical output, round trip, foreign files."""
from __future__ import annotations

import hashlib
import uuid
import zipfile

import pandas as pd
import pytest
from lxml import etree

from pcnstudy.themes import qdpx
from pcnstudy.themes.codebook import parse_codebook
from pcnstudy.themes.qdpx import GUID_NAMESPACE, guid

CODEBOOK = {
    "themes": [
        {"id": "relational_working", "name": "Relational working",
         "definition": "Building trust & working relationships <across> practices."},
        {"id": "protected_time", "name": "Protected time", "definition": "Time away to think."},
        {"id": "mdt_working", "name": "Multidisciplinary team working", "definition": "Across professions."},
    ]
}


def _texts():
    return pd.DataFrame({
        "id": ["r_02", "r_01", "r_03", "r_04"],
        "text": [
            "We built trust quickly. Time out helped \U0001F600 a lot.",
            "Protected time to reflect & think <properly>.",
            "Nothing to add",
            "",
        ],
        "cohort": ["se_cohort1", "se_cohort1", None, "se_cohort2"],
        "wave": ["end", "end", "mid", "end"],
        "question text": ["What helped?", "What helped?", "What helped?", "What helped?"],
    })


def _codes():
    return pd.DataFrame({
        "id": ["r_02", "r_02", "r_01", "r_01", "r_03"],
        "theme": ["relational_working", "protected_time", "protected_time", "emergent_1", "mdt_working"],
        "start": [0, 24, None, None, None],
        "end": [23, 48, None, None, None],
        "score": [0.91, 0.52, 0.7, None, 0.3],
    })


@pytest.fixture()
def exported(tmp_path):
    return qdpx.export_qdpx(_texts(), _codes(), CODEBOOK, tmp_path / "out" / "themes.qdpx", "demo project")


def test_export_is_valid_against_refi_qda_schema(exported):
    assert qdpx.schema_path().name == "Project.xsd"
    assert qdpx.validate_qde(exported) == []


def test_validator_reports_schema_errors(exported):
    with zipfile.ZipFile(exported) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    code = root.find(f"{{{qdpx.NS}}}CodeBook/{{{qdpx.NS}}}Codes/{{{qdpx.NS}}}Code")
    del code.attrib["isCodable"]
    errors = qdpx.validate_qde(etree.tostring(root))
    assert errors and "isCodable" in errors[0]


def test_export_is_byte_identical_and_input_order_free(tmp_path):
    a = qdpx.export_qdpx(_texts(), _codes(), CODEBOOK, tmp_path / "a.qdpx", "demo project")
    shuffled_texts = _texts().sample(frac=1, random_state=3)
    shuffled_codes = _codes().sample(frac=1, random_state=4)
    b = qdpx.export_qdpx(shuffled_texts, shuffled_codes, CODEBOOK, tmp_path / "b.qdpx", "demo project")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with zipfile.ZipFile(a) as archive:
        assert all(info.date_time == qdpx.ZIP_DATE for info in archive.infolist())


def test_archive_layout_and_spans(exported):
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
        root = etree.fromstring(archive.read("project.qde"))
        assert names[0] == "project.qde"
        assert len([n for n in names if n.startswith("sources/") and n.endswith(".txt")]) == 4
        ns = {"q": qdpx.NS}
        source = root.find(".//q:TextSource[@name='r_02']", ns)
        path = source.get("plainTextPath").replace("internal://", "sources/")
        text = archive.read(path).decode("utf-8")
    assert text == _texts()["text"][0]
    spans = {
        (int(s.get("startPosition")), int(s.get("endPosition")))
        for s in source.findall("q:PlainTextSelection", ns)
    }
    assert spans == {(0, 23), (24, 48)}
    assert text[24:48] == "Time out helped \U0001F600 a lot."
    codes = root.findall(".//q:CodeBook/q:Codes/q:Code", ns)
    assert [c.get("name") for c in codes] == [
        "Relational working", "Protected time", "Multidisciplinary team working", "emergent_1"]
    assert "[codebook id: relational_working]" in codes[0].findtext("q:Description", namespaces=ns)
    variables = [v.get("name") for v in root.findall(".//q:Variables/q:Variable", ns)]
    assert variables == ["cohort", "question text", "wave"]


def test_round_trip_gives_the_same_codes(exported):
    back = qdpx.import_codes(exported, CODEBOOK)
    expected = _codes()[["id", "theme"]].sort_values(["id", "theme"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.sort_values(["id", "theme"]).reset_index(drop=True), expected)
    selections = qdpx.read_qdpx_selections(exported, CODEBOOK)
    row = selections[(selections["id"] == "r_01") & (selections["theme"] == "protected_time")].iloc[0]
    assert (row["start"], row["end"]) == (0, len(_texts()["text"][1]))


def test_round_trip_after_a_researcher_renames_a_code(exported, tmp_path):
    with zipfile.ZipFile(exported) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    xml = entries["project.qde"].replace(b'name="Protected time"', b'name="Headspace (renamed)"')
    renamed = tmp_path / "renamed.qdpx"
    with zipfile.ZipFile(renamed, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, xml if name == "project.qde" else data)
    assert set(qdpx.import_codes(renamed, CODEBOOK)["theme"]) >= {"protected_time"}


FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="coded by hand" origin="QualCoder">
  <Users><User guid="{11111111-1111-1111-1111-111111111111}" name="coder A"/></Users>
  <CodeBook><Codes>
    <Code guid="22222222-2222-2222-2222-222222222222" name="protected time" isCodable="true">
      <Code guid="22222222-2222-2222-2222-222222222223" name="no cover for clinics" isCodable="true"/>
    </Code>
    <Code guid="33333333-3333-3333-3333-333333333333" name="Team stuff" isCodable="true">
      <Description>Her own label. [codebook id: mdt_working]</Description>
    </Code>
    <Code guid="44444444-4444-4444-4444-444444444444" name="Frustration" isCodable="true"/>
    <Code guid="55555555-5555-5555-5555-555555555555" name="relational_working" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="66666666-6666-6666-6666-666666666666" name="r_01.txt" plainTextPath="internal://66666666-6666-6666-6666-666666666666.txt">
      <PlainTextSelection guid="77777777-7777-7777-7777-777777777777" startPosition="0" endPosition="14" creatingUser="11111111-1111-1111-1111-111111111111">
        <Coding guid="88888888-8888-8888-8888-888888888888" creatingUser="11111111-1111-1111-1111-111111111111">
          <CodeRef targetGUID="22222222-2222-2222-2222-222222222223"/>
        </Coding>
        <Coding guid="88888888-8888-8888-8888-888888888889" creatingUser="11111111-1111-1111-1111-111111111111">
          <CodeRef targetGUID="44444444-4444-4444-4444-444444444444"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <TextSource guid="99999999-9999-9999-9999-999999999999" name="r_02" plainTextPath="internal://99999999-9999-9999-9999-999999999999.txt">
      <Coding guid="aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"><CodeRef targetGUID="33333333-3333-3333-3333-333333333333"/></Coding>
      <Coding guid="aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaab"><CodeRef targetGUID="55555555-5555-5555-5555-555555555555"/></Coding>
    </TextSource>
  </Sources>
</Project>
"""


def _foreign(tmp_path, xml=FOREIGN):
    path = tmp_path / "researcher.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", xml)
        archive.writestr("Sources/66666666-6666-6666-6666-666666666666.txt", "Protected time to reflect")
        archive.writestr("Sources/99999999-9999-9999-9999-999999999999.txt", "Team and trust")
    return path


def test_researcher_project_imports_by_name_marker_and_parent(tmp_path):
    path = _foreign(tmp_path)
    assert qdpx.validate_qde(path) == []
    codes = qdpx.read_human_codes(path, CODEBOOK)
    assert codes.values.tolist() == [
        ["r_01", "Frustration"],
        ["r_01", "protected_time"],
        ["r_02", "mdt_working"],
        ["r_02", "relational_working"],
    ]
    detail = qdpx.read_qdpx_selections(path, CODEBOOK)
    assert set(detail["coder"]) == {"coder A", ""}
    assert "no cover for clinics" in set(detail["code"])


def test_dangling_code_reference_is_a_clear_error(tmp_path):
    bad = FOREIGN.replace('targetGUID="44444444-4444-4444-4444-444444444444"',
                          'targetGUID="44444444-4444-4444-4444-44444444444f"')
    with pytest.raises(qdpx.QdpxError, match=r"researcher\.qdpx!project\.qde:\d+:CodeRef: coding refers"):
        qdpx.import_codes(_foreign(tmp_path, bad))


def test_not_a_project(tmp_path):
    path = tmp_path / "x.qdpx"
    path.write_bytes(b"not a zip")
    with pytest.raises(qdpx.QdpxError, match="x.qdpx:0:: not a zip archive"):
        qdpx.read_human_codes(path)
    empty = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(qdpx.QdpxError, match="no project.qde"):
        qdpx.import_codes(empty)


def test_human_codes_csv(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("id,theme\nr_02,Protected Time\nr_01, relational_working \nr_01,relational_working\n",
                    encoding="utf-8")
    codes = qdpx.read_human_codes(path, CODEBOOK)
    assert codes.values.tolist() == [["r_01", "relational_working"], ["r_02", "protected_time"]]


@pytest.mark.parametrize(
    "content, message",
    [
        ("doc,theme\nr_1,x\n", r"codes.csv:1:id: missing column\(s\) id"),
        ("id,theme\nr_1,protected_time\nr_2,\n", "codes.csv:3:theme: empty theme"),
        ("id,theme\nr_1,protected_time\n,mdt_working\n", "codes.csv:3:id: empty id"),
        ("id,theme\nr_1,time out\n", "codes.csv:2:theme: theme is neither an id nor a name"),
        ("", "codes.csv:0:: empty file"),
    ],
)
def test_human_codes_csv_errors(tmp_path, content, message):
    path = tmp_path / "codes.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(qdpx.QdpxError, match=message):
        qdpx.read_human_codes(path, CODEBOOK)


def test_export_input_errors(tmp_path):
    with pytest.raises(qdpx.QdpxError, match="texts:1:text: missing column"):
        qdpx.export_qdpx(_texts().drop(columns="text"), _codes(), CODEBOOK, tmp_path / "x.qdpx", "p")
    codes = _codes()
    codes.loc[0, "end"] = 500
    with pytest.raises(qdpx.QdpxError, match="codes:2:start,end: span outside text of id 'r_02'"):
        qdpx.export_qdpx(_texts(), codes, CODEBOOK, tmp_path / "x.qdpx", "p")
    codes = pd.concat([_codes(), pd.DataFrame({"id": ["r_99"], "theme": ["mdt_working"]})], ignore_index=True)
    with pytest.raises(qdpx.QdpxError, match="codes:7:id: code for an id not in texts"):
        qdpx.export_qdpx(_texts(), codes, CODEBOOK, tmp_path / "x.qdpx", "p")


def test_doc_themes_table_exports_assigned_rows_only(tmp_path):
    doc_themes = pd.DataFrame({
        "id": ["r_01", "r_01", "r_02"], "theme": ["protected_time", "mdt_working", "protected_time"],
        "score": [0.8, 0.1, 0.6], "assigned": [1, 0, 1],
    })
    path = qdpx.export_qdpx(_texts(), doc_themes, CODEBOOK, tmp_path / "d.qdpx", "p")
    assert qdpx.import_codes(path, CODEBOOK).values.tolist() == [["r_01", "protected_time"], ["r_02", "protected_time"]]
    assert qdpx.validate_qde(path) == []


def test_accepts_codebook_object(tmp_path):
    data = {"themes": [dict(t, seed_terms=["x"]) for t in CODEBOOK["themes"]]}
    path = qdpx.export_qdpx(_texts(), _codes(), parse_codebook(data), tmp_path / "c.qdpx", "p")
    assert qdpx.import_codes(path, parse_codebook(data)).equals(qdpx.import_codes(path, CODEBOOK))
    assert qdpx.validate_qde(path) == []


def test_round_trip_with_awkward_ids_and_text(tmp_path):
    texts = pd.DataFrame({
        "id": ['a&b <1> "q"', "ünï cödé", "tab\there", "NEAS PTS 537 - Q1"],
        "text": ["x & y < z", "Café — naïve ☕", "line one\nline two\r\n", "None."],
    })
    codes = pd.DataFrame({"id": texts["id"].tolist() + ["ünï cödé"],
                          "theme": ["protected_time", "mdt_working", "relational_working", "emergent <odd>",
                                    "protected_time"]})
    path = qdpx.export_qdpx(texts, codes, CODEBOOK, tmp_path / "odd.qdpx", "odd & ends")
    assert qdpx.validate_qde(path) == []
    back = qdpx.import_codes(path, CODEBOOK)
    expected = codes.drop_duplicates().sort_values(["id", "theme"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.sort_values(["id", "theme"]).reset_index(drop=True), expected)
    with zipfile.ZipFile(path) as archive:
        stored = {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/")}
    assert sorted(stored.values()) == sorted(texts["text"])


def test_guid_is_the_rfc4122_name_based_uuid():
    for parts in [("code", "relational_working"), ("selection", "r_1", "trust", 0, 42), ("source", "é\u00fc id"), ()]:
        assert guid(*parts) == str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


# ------------------------------------------------------------ REFI-QDA 1.5, variables, a second reader
def _texts_with_attributes():
    return pd.DataFrame({
        "id": ["se1-end-2-what_helped", "se1-end-3-what_helped", "se2-baseline-2-what_helped"],
        "text": ["We built trust quickly across the practices.",
                 "Protected time to reflect and think properly.",
                 "The pharmacist joined our weekly huddles."],
        "cohort": ["se_cohort1", "se_cohort1", "se_cohort2"],
        "wave": ["end", "end", "baseline"],
        "question": ["what_helped"] * 3,
        "profession": ["GP", "Nurse", None],
    })


def _codes_for_attributes():
    return pd.DataFrame({"id": ["se1-end-2-what_helped", "se1-end-3-what_helped", "se2-baseline-2-what_helped",
                                "se1-end-3-what_helped"],
                         "theme": ["relational_working", "protected_time", "mdt_working", "relational_working"]})


def test_sources_carry_cohort_wave_question_profession_and_cohorts_are_cases(tmp_path):
    path = qdpx.export_qdpx(_texts_with_attributes(), _codes_for_attributes(), CODEBOOK, tmp_path / "v.qdpx", "p")
    assert qdpx.validate_qde(path) == []
    ns = {"q": qdpx.NS}
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        assert all(n == "project.qde" or n.startswith("sources/") for n in archive.namelist())
    variables = {v.get("guid"): v.get("name") for v in root.findall("q:Variables/q:Variable", ns)}
    assert sorted(variables.values()) == ["cohort", "profession", "question", "wave"]
    values = {}
    for source in root.findall("q:Sources/q:TextSource", ns):
        values[source.get("name")] = {variables[vv.find("q:VariableRef", ns).get("targetGUID")]:
                                      vv.findtext("q:TextValue", namespaces=ns)
                                      for vv in source.findall("q:VariableValue", ns)}
    assert values["se1-end-3-what_helped"] == {"cohort": "se_cohort1", "wave": "end", "question": "what_helped",
                                               "profession": "Nurse"}
    assert "profession" not in values["se2-baseline-2-what_helped"]  # missing values are left out
    guids = {s.get("guid"): s.get("name") for s in root.findall("q:Sources/q:TextSource", ns)}
    cases = {c.get("name"): sorted(guids[r.get("targetGUID")] for r in c.findall("q:SourceRef", ns))
             for c in root.findall("q:Cases/q:Case", ns)}
    assert cases == {"se_cohort1": ["se1-end-2-what_helped", "se1-end-3-what_helped"],
                     "se_cohort2": ["se2-baseline-2-what_helped"]}


def test_stage_exports_only_the_four_variables():
    from pcnstudy.themes.stage import QDPX_VARIABLES, qdpx_texts

    texts = _texts_with_attributes().assign(respondent="r_0123456789ab", pcn="North PCN", group="ALS 1")
    plain = texts[["id", "text"]]
    out = qdpx_texts(plain, texts)
    assert list(out.columns) == ["id", "text", *QDPX_VARIABLES]
    assert out["profession"].tolist()[:2] == ["GP", "Nurse"]


def test_qdpxlib_reads_the_export(tmp_path, monkeypatch):
    """A second, independent reader (qdpxlib, PyPI) opens sources/<guid>.txt and finds every coding."""
    import tempfile

    from qdpxlib import QDPXFile

    work = iter(tmp_path / f"work{k}" for k in range(10))

    def mkdtemp(*_args, **_kwargs):  # qdpxlib extracts into mkdtemp() and never removes it
        folder = next(work)
        folder.mkdir()
        return str(folder)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    texts, codes = _texts_with_attributes(), _codes_for_attributes()
    path = qdpx.export_qdpx(texts, codes, CODEBOOK, tmp_path / "second.qdpx", "p")
    project = QDPXFile(str(path), uncoded_word_count_threshold=1000)  # (it keeps sentences ending in . ! ?)
    names = {t["id"]: t["name"] for t in CODEBOOK["themes"]}
    found = {}
    for source_guid, text, _context, (start, end), labels in project.codings:
        found.setdefault(source_guid, set()).update(labels)
        assert text in texts["text"].tolist()
    expected = {}
    for doc, theme in zip(codes["id"], codes["theme"]):
        expected.setdefault(guid("source", doc), set()).add(names[theme])
    assert found == expected


# ------------------------------------------------------------ a project edited in QualCoder, and back
def qualcoder_rewrite(exported, dest, seed=0, rename=None, delete_codings_of=(), new_code=None,
                      keep_guids=False, keep_memos=True):
    """Rewrite ``exported`` as QualCoder's REFI-QDA project export writes a project it imported.

    Mirrors QualCoder's refi.py export: every object gets a new random GUID (unless
    ``keep_guids``, as tools that keep the standard's GUIDs do); a code's memo is its
    Description (dropped with ``keep_memos=False``); one PlainTextSelection per coding,
    each with one Coding, named by the selected text; the users are the coders' names;
    named Cases keep their Description only; sources' VariableValues come after the
    selections; the plain text files go to sources/ as UTF-8 with a byte-order mark; a
    project Description closes the document. ``rename`` maps code names to new names,
    ``delete_codings_of`` lists code names whose codings are removed, ``new_code`` is
    (name, [source names]) coded on the whole text.
    """
    import html
    import random

    rng = random.Random(seed)
    fresh = (lambda old: old) if keep_guids else (lambda old: str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    ns = {"q": qdpx.NS}
    with zipfile.ZipFile(exported) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        files = {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n != "project.qde"}
    rename = rename or {}
    user = fresh("user")
    xml = ['<?xml version="1.0" encoding="utf-8"?>',
           '<Project xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'name="edited.qda" origin="QualCoder 3.7" creatingUserGUID="{fresh("creator")}" '
           'creationDateTime="2026-11-30T10:00:00Z" xmlns="urn:QDA-XML:project:1.0">',
           f'<Users>\n<User guid="{user}" name="coder A" />\n</Users>', "<CodeBook>", "<Codes>"]
    code_guid, code_name = {}, {}
    for code in root.findall("q:CodeBook/q:Codes/q:Code", ns):
        name = rename.get(code.get("name"), code.get("name"))
        code_guid[code.get("guid")] = fresh(code.get("guid"))
        code_name[code.get("guid")] = code.get("name")
        memo = code.findtext("q:Description", namespaces=ns) if keep_memos else ""
        head = f'<Code guid="{code_guid[code.get("guid")]}" name="{html.escape(name)}" isCodable="true" color="#F781F3"'
        xml.append(f"{head}>\n<Description>{html.escape(memo)}</Description>\n</Code>" if memo else f"{head} />")
    new_guid = fresh("new code")
    if new_code:
        xml.append(f'<Code guid="{new_guid}" name="{html.escape(new_code[0])}" isCodable="true" color="#81F7D8" />')
    xml += ["</Codes>", "</CodeBook>"]
    var_guid = {}
    variables = root.findall("q:Variables/q:Variable", ns)
    for var in variables:  # QualCoder writes no empty Variables or Cases element
        var_guid[var.get("guid")] = fresh(var.get("guid"))
        xml.append(f'<Variable guid="{var_guid[var.get("guid")]}" name="{html.escape(var.get("name"))}" '
                   'typeOfVariable="Text" >\n<Description />\n</Variable>')
    if variables:
        xml.insert(len(xml) - len(variables), "<Variables>")
        xml.append("</Variables>")
    cases = root.findall("q:Cases/q:Case", ns)
    xml += ["<Cases>"] if cases else []
    for case in cases:
        xml.append(f'<Case guid="{fresh(case.get("guid"))}" name="{html.escape(case.get("name"))}">\n'
                   f'<Description>{html.escape(case.findtext("q:Description", "", ns))}</Description>\n</Case>')
    xml += ["</Cases>"] if cases else []
    xml += ["<Sources>"]
    out_files = {}
    for source in root.findall("q:Sources/q:TextSource", ns):
        text = files["sources/" + source.get("plainTextPath").removeprefix("internal://")]
        plain = f"{fresh(source.get('guid'))}.txt"
        out_files[f"sources/{plain}"] = text
        xml.append(f'<TextSource plainTextPath="internal://{plain}" creatingUser="{user}" '
                   f'creationDateTime="2026-11-30T10:00:00Z" guid="{fresh(source.get("guid"))}" '
                   f'name="{html.escape(source.get("name"))}">')
        spans = []
        for sel in source.findall("q:PlainTextSelection", ns):
            for coding in sel.findall("q:Coding", ns):
                target = coding.find("q:CodeRef", ns).get("targetGUID")
                if code_name[target] not in delete_codings_of:
                    spans.append((int(sel.get("startPosition")), int(sel.get("endPosition")), code_guid[target]))
        if new_code and source.get("name") in new_code[1]:
            spans.append((0, len(text), new_guid))
        for start, end, target in spans:
            xml.append(f'<PlainTextSelection guid="{fresh("sel")}" startPosition="{start}" endPosition="{end}" '
                       f'name="{html.escape(text[start:end])}" creatingUser="{user}" '
                       f'creationDateTime="2026-11-30T10:05:00Z">\n<Coding guid="{fresh("coding")}" '
                       f'creatingUser="{user}" >\n<CodeRef targetGUID="{target}" />\n</Coding>\n</PlainTextSelection>')
        for vv in source.findall("q:VariableValue", ns):
            ref = vv.find("q:VariableRef", ns).get("targetGUID")
            xml.append(f'<VariableValue>\n<VariableRef targetGUID="{var_guid[ref]}" />\n'
                       f'<TextValue>{html.escape(vv.findtext("q:TextValue", "", ns))}</TextValue>\n</VariableValue>')
        xml.append("</TextSource>")
    xml += ["</Sources>", "<Description></Description>", "</Project>"]
    with zipfile.ZipFile(dest, "w") as archive:
        archive.writestr("project.qde", "\n".join(xml))
        for name, text in out_files.items():
            archive.writestr(name, text.encode("utf-8-sig"))
    return dest


@pytest.fixture()
def corpus_project(tmp_path):
    from themes_corpus import CODEBOOK_YAML, make_corpus

    texts, truth = make_corpus(90, seed=11)
    texts.to_csv(tmp_path / "texts.csv", index=False)
    (tmp_path / "codebook.yml").write_text(CODEBOOK_YAML)
    book = parse_codebook(__import__("yaml").safe_load(CODEBOOK_YAML))
    known = truth[truth["theme"].isin(book.ids)]
    with_variables = texts.assign(cohort=["se_cohort1", "se_cohort2", "llr_cd"] * 30, wave="end", question="q1")
    exported = qdpx.export_qdpx(with_variables, known, book, tmp_path / "themes.qdpx", "p")
    parking = sorted(truth.loc[truth["theme"] == "parking", "id"])
    return tmp_path, texts, truth, book, exported, parking


def test_qualcoder_edited_project_maps_back(corpus_project, capsys):
    tmp, texts, truth, book, exported, parking = corpus_project
    edited = qualcoder_rewrite(exported, tmp / "edited.qdpx", rename={"Protected time": "Headspace"},
                               delete_codings_of={"MDT working"}, new_code=("Parking", parking))
    assert qdpx.validate_qde(edited) == []
    codes = qdpx.read_human_codes(edited, book)
    want_time = sorted(truth.loc[truth["theme"] == "time", "id"])
    assert sorted(codes.loc[codes["theme"] == "time", "id"]) == want_time  # renamed, mapped back
    assert "mdt" not in set(codes["theme"])
    assert sorted(codes.loc[codes["theme"] == "Parking", "id"]) == parking
    table = qdpx.project_codes(edited, book).set_index("code")
    assert table.loc["Headspace", "match"] == "marker" and table.loc["Trust and relationships", "match"] == "marker"
    notes = qdpx.import_notes(edited, book)
    assert f"{edited}: code 'Parking' matches no codebook theme ({len(parking)} codings)" in notes[0]
    assert sum("'mdt' (MDT working) has no codings left" in n for n in notes) == 1
    assert sum("code 'Headspace' is theme 'time'" in n for n in notes) == 1

    from pcnstudy.themes.command import themes_command

    assert themes_command(tmp / "texts.csv", tmp / "codebook.yml", tmp / "out", "0", edited, 3) == 0
    err = capsys.readouterr().err
    assert f"note: {notes[0]}" in err and "has no codings left" in err
    agreement = pd.read_csv(tmp / "out" / "agreement.csv")
    parking_rows = agreement[agreement["theme"] == "Parking"]
    assert len(parking_rows) == 2 and not parking_rows["in_codebook"].any()
    assert (parking_rows["n_gold"] == len(parking)).all() and (parking_rows["n_pred"] == 0).all()
    time_rows = agreement[(agreement["theme"] == "time") & (agreement["method"] == "keyword")]
    assert int(time_rows["n_gold"].iloc[0]) == len(set(want_time) & set(codes["id"]))
    quality = __import__("json").loads((tmp / "out" / "quality.json").read_text())
    assert quality["human_codes"]["codes_outside_codebook"] == {"Parking": len(parking)}
    assert quality["human_codes"]["model"]["n_themes"] == 3


def test_a_tool_that_keeps_guids_maps_a_renamed_code_by_guid(corpus_project):
    tmp, texts, truth, book, exported, parking = corpus_project
    edited = qualcoder_rewrite(exported, tmp / "kept.qdpx", rename={"Protected time": "Headspace"},
                               keep_guids=True, keep_memos=False)
    table = qdpx.project_codes(edited, book).set_index("code")
    assert table.loc["Headspace", "match"] == "guid" and table.loc["Headspace", "theme"] == "time"
    assert table.loc["Headspace", "n_codings"] == int((truth["theme"] == "time").sum())
    renamed_only = qdpx_without_guid_or_memo = qualcoder_rewrite(exported, tmp / "lost.qdpx",
                                                                 rename={"Protected time": "Headspace"},
                                                                 keep_memos=False)
    assert qdpx_without_guid_or_memo is renamed_only
    lost = qdpx.project_codes(renamed_only, book).set_index("code")
    assert lost.loc["Headspace", "match"] == "none"  # no GUID, no marker, a new name: reported, never dropped
    assert any("code 'Headspace' matches no codebook theme" in n for n in qdpx.import_notes(renamed_only, book))
