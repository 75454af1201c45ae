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
        assert len([n for n in names if n.startswith("Sources/") and n.endswith(".txt")]) == 4
        ns = {"q": qdpx.NS}
        source = root.find(".//q:TextSource[@name='r_02']", ns)
        path = source.get("plainTextPath").replace("internal://", "Sources/")
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
        stored = {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("Sources/")}
    assert sorted(stored.values()) == sorted(texts["text"])


def test_guid_is_the_rfc4122_name_based_uuid():
    for parts in [("code", "relational_working"), ("selection", "r_1", "trust", 0, 42), ("source", "é\u00fc id"), ()]:
        assert guid(*parts) == str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(str(p) for p in parts)))
