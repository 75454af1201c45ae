"""Tests that the themes command reads CSVs and codebooks as people really write them (any
encoding, delimiter and header case; odd texts) and answers bad input with one line and
exit 1 (usage errors exit 2), never a traceback; and of pcnstudy.core.textfile's readers."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pcnstudy.core.textfile import TableError, decode_bytes, read_table, sniff_delimiter
from pcnstudy.themes import command as themes_module
from pcnstudy.themes.codebook import CodebookError, load_codebook
from pcnstudy.themes.command import themes_command
from pcnstudy.themes.inputs import read_codes, read_texts

CODEBOOK = """themes:
  - id: access
    name: Access
    seed_terms: [appointment, waiting, phone, booking]
  - id: staff
    name: Staff attitude
    seed_terms: [friendly, rude, helpful, staff]
  - id: care
    name: Quality of care
    seed_terms: [treatment, care, doctor, nurse]
"""
TEXTS = [
    "Could not get an appointment, waiting on the phone for an hour",
    "The staff were friendly and helpful at reception",
    "Excellent care from the doctor and the nurse at the café",
    "Booking online is impossible, phone lines always busy",
    "Rude receptionist, unhelpful staff",
    "Treatment was quick and the nurse explained everything",
    "Waiting room was crowded and waiting times long",
    "Parking was difficult near the surgery",
] * 2
THEMES = ["access", "care", "staff"]


@pytest.fixture()
def book(tmp_path) -> Path:
    path = tmp_path / "codebook.yml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return path


def frame(n: int = len(TEXTS)) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"d{k:02d}" for k in range(n)], "text": TEXTS[:n]})


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and err.startswith("error:"), err
    return err


def run_ok(texts: Path, book: Path, out: Path, n_texts: int, **kw) -> pd.DataFrame:
    assert themes_command(texts, book, out, kw.pop("free_topics", "0"), kw.pop("human_codes", None),
                          kw.pop("seed", 7)) == 0
    doc = pd.read_csv(out / "doc_themes.csv", dtype={"id": str}, keep_default_na=False)
    assert list(doc.columns) == ["id", "theme", "score", "assigned"]
    assert len(doc) == n_texts * len(THEMES) and doc.groupby("id").size().eq(len(THEMES)).all()
    assert list(pd.read_csv(out / "topics.csv").columns) == ["topic", "rank", "term", "weight", "theme"]
    assert json.loads((out / "quality.json").read_text())["n_documents"] == n_texts
    return doc


# ------------------------------------------------------------------ textfile unit tests
@pytest.mark.parametrize("codec, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                        ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""), ("utf-16-be", b""),
                                        ("cp1252", b""), ("latin-1", b"")])
def test_decode_bytes_reads_common_encodings(codec, bom):
    text = "id,text\n1,café naïve £5 – fine\n" if codec != "latin-1" else "id,text\n1,café naïve £5\n"
    assert decode_bytes(bom + text.encode(codec)) == text


@pytest.mark.parametrize("data, message", [(b"PK\x03\x04rest", "xlsx"), (b"%PDF-1.7 ...", "PDF"),
                                           (bytes(range(256)) * 4, "binary")])
def test_decode_bytes_rejects_files_that_are_not_text(data, message):
    with pytest.raises(TableError, match=message):
        decode_bytes(data, "f.csv")


@pytest.mark.parametrize("header, delimiter", [("id,text", ","), ("id;text", ";"), ("id\ttext", "\t"),
                                               ("id|text", "|"), ("text", ","), ('"a;b",text', ",")])
def test_sniff_delimiter(header, delimiter):
    assert sniff_delimiter(header + "\nx\n") == delimiter


def test_read_table_rows_are_spreadsheet_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('ID , Text\n1,"two\nlines"\n\n2,short\n3\n', encoding="utf-8")
    table = read_table(path, ["text"], optional=["id"])
    assert list(table.columns) == ["id", "text"]
    assert table.index.tolist() == [2, 4, 5]  # blank line 3 skipped; a quoted newline is one row
    assert table["text"].tolist() == ["two\nlines", "short", ""]


@pytest.mark.parametrize("content, where", [
    ("id,text\na,fine\nb,one,two\n", ":3:"),  # unquoted delimiter inside a value
    ('id,text\na,fine\nb,"never closed\nc,x\n', ":3:"),
    ("id,text,text\na,x,y\n", ":1:text"),
    ("id,Text,TEXT\na,x,y\n", ":1:text"),  # two loose matches and no exact one
])
def test_read_table_errors_name_the_row(tmp_path, content, where):
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TableError, match=where):
        read_table(path, ["text"], optional=["id"])


def test_read_table_keeps_a_stray_quote_inside_a_value(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,text\na,"Great" service\n', encoding="utf-8")
    assert read_table(path, ["text"])["text"].tolist() == ["Great service"]


# ------------------------------------------------------------------ texts the command accepts
@pytest.mark.parametrize("variant", ["upper_headers", "semicolon", "tab", "cp1252", "utf16", "utf8_bom",
                                     "extra_columns", "labels_column", "crlf", "quoted_newlines"])
def test_command_reads_csv_variants(tmp_path, book, variant):
    table, sep, encoding = frame(), ",", "utf-8"
    if variant == "upper_headers":
        table = table.rename(columns={"id": "ID", "text": " Text "})
    elif variant in ("semicolon", "tab"):
        sep = ";" if variant == "semicolon" else "\t"
    elif variant in ("cp1252", "utf16"):
        encoding = "cp1252" if variant == "cp1252" else "utf-16"
    elif variant == "utf8_bom":
        encoding = "utf-8-sig"
    elif variant == "extra_columns":
        table = table.assign(extra="x", score=1)[["extra", "text", "score", "id"]]
    elif variant == "labels_column":
        table = table.assign(labels="Access;Staff attitude")
    elif variant == "quoted_newlines":
        table = table.assign(text=table["text"].str.replace(" ", "\n", n=2))
    text = table.to_csv(index=False, sep=sep, lineterminator="\r\n" if variant == "crlf" else "\n")
    path = tmp_path / "texts.csv"
    path.write_bytes(text.encode(encoding))
    run_ok(path, book, tmp_path / "out", len(table))
    read = read_texts(path)
    assert read["id"].tolist() == frame()["id"].tolist()
    assert read["text"].str.contains("café").sum() == 2  # the encoding was read right


@pytest.mark.parametrize("texts", [
    ["only one text about the doctor"],
    ["waiting for an appointment"] * 6,
    ["", "   ", "NaN", "NA", "the and of it", "123 456", "😀👍 ❤️", "<p>Great <b>staff</b></p><script>x</script>",
     "Le médecin était très gentil", "医生很好", "x" * 200_000],
])
def test_command_runs_on_odd_texts(tmp_path, book, texts):
    path = tmp_path / "texts.csv"
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(path, index=False)
    for free in ("0", "auto"):
        run_ok(path, book, tmp_path / f"out{free}", len(texts), free_topics=free)


def test_texts_without_an_id_column_are_numbered(tmp_path, book):
    path = tmp_path / "texts.csv"
    frame()[["text"]].to_csv(path, index=False)
    doc = run_ok(path, book, tmp_path / "out", len(TEXTS))
    assert sorted(doc["id"].unique()) == [f"{k:02d}" for k in range(1, len(TEXTS) + 1)]


@pytest.mark.parametrize("codebook", [
    "themes:\n  - id: a\n    seed_terms: ['c++', 'a&e', '(gp)', '[x', '*', '\\\\d+', 'waiting on the phone']\n",
    "themes:\n  - id: a\n    seed_terms: ['médecin', '医生', '😀', 111, 2.5]\n",
    "themes:\n  - id: a\n    seed_terms: [zzzqqq]\n",
    "themes:\n  - id: a\n    seed_terms: [the, and]\n",
])
def test_command_runs_with_odd_seed_terms(tmp_path, codebook):
    texts, book = tmp_path / "texts.csv", tmp_path / "codebook.yml"
    frame().to_csv(texts, index=False)
    book.write_text(codebook, encoding="utf-8")
    assert themes_command(texts, book, tmp_path / "out", "auto", None, 7) == 0
    doc = pd.read_csv(tmp_path / "out" / "doc_themes.csv")
    assert len(doc) == len(TEXTS) and set(doc["theme"]) == {"a"}


def test_codebook_in_utf16_or_cp1252_is_read(tmp_path):
    for encoding in ("utf-16", "cp1252", "utf-8-sig"):
        path = tmp_path / f"book-{encoding}.yml"
        path.write_bytes("themes:\n  - id: a\n    seed_terms: [café]\n".encode(encoding))
        assert load_codebook(path).seed_terms() == {"a": ["café"]}


@pytest.mark.parametrize("seeds, message", [("[no, cancel]", "boolean False; put it in quotes"),
                                            ("[[x, y]]", "term 1 is a list"),
                                            ("[{k: v}]", "term 1 is a dict")])
def test_codebook_seed_terms_that_are_not_words_are_errors(tmp_path, seeds, message):
    path = tmp_path / "book.yml"
    path.write_text(f"themes:\n  - id: a\n    seed_terms: {seeds}\n")
    with pytest.raises(CodebookError, match=message):
        load_codebook(path)


# ------------------------------------------------------------------ human codes
def test_human_codes_from_a_labels_column_and_other_headers(tmp_path, book):
    codebook = load_codebook(book)
    path = tmp_path / "codes.csv"
    frame(4).assign(labels=["Access;Staff attitude", "", "care", "ACCESS"]).to_csv(path, index=False)
    codes = read_codes(path, codebook)
    assert list(codes.itertuples(index=False, name=None)) == [
        ("d00", "access"), ("d00", "staff"), ("d01", ""), ("d02", "care"), ("d03", "access")]
    path.write_text("ID;Code\nd05;staff\nd05;staff\n", encoding="utf-8")
    assert list(read_codes(path, codebook).itertuples(index=False, name=None)) == [("d05", "staff")]


def test_command_with_labels_file_as_human_codes(tmp_path, book, capsys):
    texts, codes = tmp_path / "texts.csv", tmp_path / "codes.csv"
    frame().to_csv(texts, index=False)
    labels = ["access", "staff", "care", "access", "staff", "care", "access", ""] * 2
    frame().assign(labels=labels).pipe(lambda t: pd.concat([t, pd.DataFrame(
        {"id": ["elsewhere"], "text": ["x"], "labels": ["care"]})])).to_csv(codes, index=False)
    run_ok(texts, book, tmp_path / "out", len(TEXTS), human_codes=codes)
    assert "1 coded id(s)" in capsys.readouterr().err  # the unknown id is named, not fatal
    quality = json.loads((tmp_path / "out" / "quality.json").read_text())
    assert quality["human_codes"]["n_coded_documents"] == len(TEXTS)
    assert quality["human_codes"]["n_codes"] == 14
    assert (tmp_path / "out" / "agreement.csv").is_file()


# ------------------------------------------------------------------ bad input: one line, exit 1 or 2
@pytest.mark.parametrize("case, message, code", [
    ("header_only", "texts.csv:2:text: no texts", 1),
    ("empty", "empty file", 1),
    ("xlsx", "save it as CSV", 1),
    ("ragged", "texts.csv:3:", 1),
    ("unclosed_quote", "never closed", 1),
    ("empty_id", "texts.csv:3:id: empty id", 1),
    ("codes_header_only", "codes.csv:2:id: no codes", 1),
    ("codes_no_theme_column", "codes.csv:1:theme: no 'theme' column", 1),
    ("codes_bad_label", "codes.csv:2:labels: 'nope'", 1),
    ("codes_not_zip", "not a zip", 1),
    ("out_is_file", "cannot create the output folder", 1),
    ("seed_negative", "--seed", 2),
    ("seed_huge", "--seed", 2),
    ("free_negative", "--free-topics", 2),
])
def test_bad_input_one_line_error(tmp_path, book, capsys, case, message, code):
    texts, codes, out, seed, free = tmp_path / "texts.csv", None, tmp_path / "out", 7, "0"
    frame().to_csv(texts, index=False)
    if case == "header_only":
        texts.write_text("id,text\n")
    elif case == "empty":
        texts.write_text("\n \n")
    elif case == "xlsx":
        with zipfile.ZipFile(texts, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
    elif case == "ragged":
        texts.write_text("id,text\na,fine\nb,one,two\n")
    elif case == "unclosed_quote":
        texts.write_text('id,text\na,"open\nb,x\n')
    elif case == "empty_id":
        texts.write_text("id,text\na,x\n ,y\n")
    elif case.startswith("codes"):
        codes = tmp_path / ("codes.qdpx" if case == "codes_not_zip" else "codes.csv")
        codes.write_text({"codes_header_only": "id,theme\n", "codes_no_theme_column": "id,text\nd01,x\n",
                          "codes_bad_label": "id,labels\nd01,Access;nope\n",
                          "codes_not_zip": "plain text"}[case])
    elif case == "out_is_file":
        out = texts
    elif case == "seed_negative":
        seed = -1
    elif case == "seed_huge":
        seed = 2**64
    elif case == "free_negative":
        free = "-3"
    assert themes_command(texts, book, out, free, codes, seed) == code
    assert message in one_line_error(capsys)


def test_an_unexpected_model_failure_is_one_line_not_a_traceback(tmp_path, book, capsys, monkeypatch):
    texts = tmp_path / "texts.csv"
    frame().to_csv(texts, index=False)

    def broken(*args, **kwargs):
        raise RuntimeError("solver diverged\nsecond line")

    monkeypatch.setattr(themes_module, "code_texts", broken)
    assert themes_command(texts, book, tmp_path / "out", "0", None, 7) == 1
    err = one_line_error(capsys)
    assert "texts.csv" in err and "RuntimeError: solver diverged" in err
