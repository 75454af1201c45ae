"""Ingest on the committed simulated twin, coercion and pseudonyms against known values."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typst

from pcnstudy.core import paths
from pcnstudy.ingest.coerce import (coerce_likert, coerce_yes_no, escape_html, has_markup, is_formula_like,
                             neutralise_formula, parse_uk_date)
from leakscan import find_raw_ids
from pcnstudy.core.params import load_params, resolve_settings
from pcnstudy.ingest.commands import ingest_study
from pcnstudy.ingest.stage import SETTING_KEYS, IngestSettings, compute, read_inputs, write
from pcnstudy.ingest.stage import settings_from_params
from pcnstudy.ingest.tables import _as_text
from pcnstudy.ingest.writers import csv_safe
from pcnstudy.ingest.pseudonym import DEMO_KEY, DemoKeyError, PseudonymKey, pseudonymise, refuse_demo_key, resolve_key

REFERENCE = json.loads((Path(__file__).parent / "results" / "pseudonym_reference.json").read_text())
SCALE = {"min": 1, "max": 5, "labels": {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree",
                                        4: "Agree", 5: "Strongly agree"}}
HAVE_RAW = paths.RAW.is_dir() and any(paths.RAW.glob("*/cohort.yml"))
needs_raw = pytest.mark.skipif(not HAVE_RAW, reason="data/raw (the simulated twin) is absent: run `pcnstudy simulate`")


def test_pseudonym_matches_rfc4231_hmac():
    key = REFERENCE["key"].encode()
    assert pseudonymise(REFERENCE["data"], key) == "r_" + REFERENCE["hmac_sha256"][:12]
    assert pseudonymise("  SE1-017 ", DEMO_KEY) == pseudonymise("se1-017", DEMO_KEY)
    assert pseudonymise("SE1-017", b"other") != pseudonymise("SE1-017", DEMO_KEY)


def test_key_resolution_order(tmp_path):
    key_file = tmp_path / "k.key"
    key_file.write_text("file-secret\n")
    params = {"key_env": "X_KEY", "key_file": str(key_file)}
    assert resolve_key(params, {"X_KEY": "env-secret"}) == PseudonymKey(b"env-secret", "env")
    assert resolve_key(params, {}) == PseudonymKey(b"file-secret", "file")
    assert resolve_key({"key_file": str(tmp_path / "none")}, {}).source == "demo"


def test_demo_key_is_refused_for_real_cohorts_only():
    demo = PseudonymKey(DEMO_KEY, "demo")
    assert refuse_demo_key(demo, {"a": True}) is None
    with pytest.raises(DemoKeyError, match=r"cohort\(s\) not marked `demo: true` \(b\).*run `pcnstudy key`"):
        refuse_demo_key(demo, {"a": True, "b": False})
    assert refuse_demo_key(PseudonymKey(b"s", "env"), {"b": False}) is None


@pytest.mark.parametrize("text,value,changed", [
    ("4", 4.0, False), ("4.0", 4.0, False), (" strongly AGREE ", 5.0, True), ("Neither agree nor  disagree", 3.0, True),
    ("4 - Agree", 4.0, True), ("", None, False), ("N/A", None, False),
])
def test_likert_numbers_and_labels(text, value, changed):
    result = coerce_likert(text, SCALE)
    assert result.ok and result.value == value and result.changed == changed


@pytest.mark.parametrize("text", ["7", "0", "3.5", "Somewhat agree", "four", "#N/A", "4 - Disagree"])
def test_likert_bad_values(text):
    assert not coerce_likert(text, SCALE).ok


@pytest.mark.parametrize("text,value", [("Yes", 1), ("y", 1), ("TRUE", 1), ("1", 1), ("ticked", 1), ("No", 0),
                                        ("n", 0), ("false", 0), ("0", 0)])
def test_yes_no_spellings(text, value):
    assert coerce_yes_no(text).value == value


@pytest.mark.parametrize("text,date", [("14/09/2020", "2020-09-14"), ("1/2/21", "2021-02-01"),
                                       ("17-Sep-2020", "2020-09-17"), ("3 March 2021", "2021-03-03"),
                                       ("2021-06-30", "2021-06-30"), ("2021-06-30 10:15:00", "2021-06-30"),
                                       ("30/06/2021 10:15", "2021-06-30")])
def test_uk_dates(text, date):
    assert parse_uk_date(text).value == dt.date.fromisoformat(date)


def test_excel_serial_dates_against_excel():
    for serial, date in REFERENCE["excel_serials"].items():
        if serial.isdigit() and int(serial) > 60:
            assert parse_uk_date(serial).value == dt.date.fromisoformat(date)
    assert not parse_uk_date("12/31/2020").ok and not parse_uk_date("31/02/2021").ok


def test_formula_and_markup():
    for text in ['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx"]:
        assert is_formula_like(text) and neutralise_formula(text).startswith("'")
    for text in ["- better teamwork", "-3", "Great sessions"]:
        assert not is_formula_like(text)
    assert has_markup("<script>alert(1)</script>") and not has_markup("3 < 4 and 5 > 2")
    assert escape_html("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_notebook_settings_resolve_to_what_the_command_line_reads():
    """The notebook's parameters (SETTING_KEYS) and the commands' params.yaml reading agree."""
    params = load_params()
    resolved = resolve_settings({}, SETTING_KEYS, params)
    assert settings_from_params(params) == IngestSettings(tuple(resolved["cohorts"]), resolved["key_env"],
                                                          resolved["key_file"])


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    if not HAVE_RAW:
        pytest.skip("data/raw (the simulated twin) is absent: run `pcnstudy simulate`")
    out = tmp_path_factory.mktemp("processed")
    settings = IngestSettings(cohorts=(), key_env="UNSET_KEY_ENV", key_file="unset.key")
    inputs = read_inputs(paths.RAW, settings.cohorts, paths.INSTRUMENT, settings.key_env, settings.key_file,
                         key=DEMO_KEY)
    result = compute(inputs, settings)
    assert not list(out.iterdir()), "compute writes nothing"
    write(result, out)
    return out, result


@needs_raw
def test_twin_ingests_with_nothing_lost(twin):
    out, result = twin
    report = json.loads((out / "ingest_report.json").read_text())
    assert report["rows_unaccounted"] == 0
    for rel, stats in report["files"].items():
        assert stats["rows_read"] == stats["rows_kept"] + stats["rows_quarantined"], rel
    assert report["totals"]["rows_read"] > 0
    for name in ("respondents", "ratings", "feedback", "texts"):
        parquet = pd.read_parquet(out / f"{name}.parquet")
        assert list(parquet.columns) == list(getattr(result, name).columns)
        assert len(parquet) == len(getattr(result, name)) > 0
        assert b"\r\n" not in (out / f"{name}.csv").read_bytes()
    assert (result.ratings["score"].between(1, 5)).all()


@needs_raw
def test_twin_ingest_is_deterministic(twin, tmp_path):
    out, _ = twin
    ingest_study(paths.RAW, tmp_path, cohorts=[], key=DEMO_KEY, params={})
    for path in sorted(out.iterdir()):
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name


@needs_raw
def test_no_raw_id_in_processed_files(twin):
    out, _ = twin
    hits = find_raw_ids(paths.RAW, [out])
    assert hits == [], hits[:5]
    assert find_raw_ids(paths.RAW, [paths.RAW]), "the scan must find the ids in the raw exports themselves"


def test_find_raw_ids_finds_a_planted_id(tmp_path):
    bad = Path(__file__).parent / "data" / "bad"
    (tmp_path / "leak.txt").write_text("fine\nrespondent P003 said\nP0031 is not it\n")
    raw = tmp_path / "raw"
    shutil.copytree(bad / "likert_zero", raw / "likert_zero")
    hits = find_raw_ids(raw, [tmp_path / "leak.txt"])
    assert [(h.line, h.raw_id) for h in hits] == [(2, "P003")]


def one_id_cohort(tmp_path: Path) -> Path:
    """tmp_path/raw/c1 with one participant id, r13x; returns an empty tmp_path/out to scan."""
    raw = tmp_path / "raw" / "c1"
    raw.mkdir(parents=True)
    (raw / "cohort.yml").write_text("cohort: c1\nwaves: [end]\nfiles: [{path: end.csv, wave: end}]\n"
                                    "columns: {respondent_id: ID}\n")
    (raw / "end.csv").write_text("ID\nr13x\n")
    out = tmp_path / "out"
    out.mkdir()
    return out


def test_leak_scan_ignores_binary_files_and_embedded_images(tmp_path):
    out = one_id_cohort(tmp_path)
    (out / "figure.png").write_bytes(b"\x89PNG\x00\x00r13x\x00")
    (out / "page.html").write_text('<img src="data:image/png;base64,AAr13xBB=="><p>clean</p>')
    (out / "run.ipynb").write_text('{"image/png": "' + "A" * 120 + "/r13x/" + "B" * 120 + '"}')
    assert find_raw_ids(tmp_path / "raw", [out]) == []
    (out / "leak.html").write_text("<td>r13x</td>")
    hits = find_raw_ids(tmp_path / "raw", [out])
    assert [(Path(h.file).name, h.raw_id) for h in hits] == [("leak.html", "r13x")]


def test_leak_scan_reads_a_pdf_as_its_page_text(tmp_path):
    """A PDF's compressed streams hold short ids by chance; what a reader sees is scanned."""
    out = one_id_cohort(tmp_path)
    for name, body in (("clean", "A clean page."), ("leak", "Respondent r13x said so.")):
        (tmp_path / f"{name}.typ").write_text(body)
        typst.compile(str(tmp_path / f"{name}.typ"), output=str(out / f"{name}.pdf"))
    clean = out / "clean.pdf"
    clean.write_bytes(clean.read_bytes() + b"\n%r13x\n")  # the id's bytes, but not on any page
    hits = find_raw_ids(tmp_path / "raw", [out])
    assert [(Path(h.file).name, h.raw_id) for h in hits] == [("leak.pdf", "r13x")]


def test_csv_safe_same_for_text_and_object_columns():
    values = ["=SUM(A1)", "+cmd", "-2+3", "@x", "\tx", "plain", None, "- bullet", "'already"]
    as_object = pd.DataFrame({"t": pd.Series(values, dtype=object)})
    as_text = pd.DataFrame({"t": pd.Series(values, dtype="str")})
    expected = ["'=SUM(A1)", "'+cmd", "'-2+3", "'@x", "'\tx", "plain", None, "'- bullet", "'already"]
    for frame in (as_object, as_text):
        out = csv_safe(frame)["t"].tolist()
        assert [None if v is None or v != v else v for v in out] == expected
    assert as_text["t"].iloc[0] == "=SUM(A1)"  # the input is not changed


def test_frame_text_columns_keep_missing_and_stringify_others():
    out = _as_text(pd.Series(["a", None, 3, float("nan"), 2.5], dtype=object))
    assert str(out.dtype) == "str"
    assert out.iloc[0] == "a" and out.iloc[2] == "3" and out.iloc[4] == "2.5"
    assert out.isna().tolist() == [False, True, False, True, False]


@needs_raw
def test_federation_cohort_is_one_wave_with_its_then_test_linked_by_respondent(twin):
    """The East Lancashire cohort: a single survey wave and a retrospective then-test of the
    same people, so the cohorts table calls it retrospective and both waves share pseudonyms."""
    _, result = twin
    row = result.cohorts.set_index("cohort").loc["elancs_fed"]
    assert (row["waves"], row["retrospective_waves"], row["design"]) == ("follow_up", "then", "retrospective")
    ratings = result.ratings[result.ratings["cohort"] == "elancs_fed"]
    people = ratings.groupby("wave")["respondent"].agg(lambda s: frozenset(s))
    assert set(people.index) == {"follow_up", "then"} and people["follow_up"] == people["then"]
    assert len(people["then"]) == 24
    texts = result.texts[result.texts["cohort"] == "elancs_fed"]
    assert set(texts["question"]) == {"highlights"} and set(texts["wave"]) == {"follow_up"}
    # answered 14 months after the programme ended: a follow-up wave's dates are not problems
    assert result.report["cohorts"]["elancs_fed"]["problems"] == 0


def test_a_follow_up_wave_may_answer_long_after_the_programme():
    from pcnstudy.ingest.cohort_ingester import _date_bounds

    config = {"start": "2017-09-11", "end": "2018-01-26", "waves": ["end"]}
    low, high = _date_bounds(config)
    assert low == dt.date(2016, 9, 10) and high == dt.date(2019, 1, 27)
    _, later = _date_bounds({**config, "waves": ["follow_up"]})
    assert later == dt.date(2020, 1, 28)  # two years: 14 months on is inside, a decade on is not


@pytest.mark.parametrize("config, design", [
    ({"waves": ["follow_up"], "retrospective_waves": ["then"]}, "retrospective"),
    ({"waves": ["end"], "retrospective_waves": ["then"], "design": "anonymous"}, "single_wave"),  # cannot link
    ({"waves": ["end"], "retrospective_waves": []}, "single_wave"),
    ({"waves": ["baseline", "end"], "retrospective_waves": ["then"]}, "paired"),
])
def test_study_design_of_a_single_wave_with_a_then_test(config, design):
    from pcnstudy.ingest.cohorts_table import study_design

    assert study_design(config) == design
