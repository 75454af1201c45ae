"""The paper stage's assembly: value formatting, _variables.yml, tables, colophon,
supplementary bundle, and the rules index.qmd must keep (no hand-typed number in the
Abstract and Results, no shortcode without its variable)."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import yaml

from paper_helpers import FIXTURE, PARAMS, fixture_tables
from pcnstudy.ingest.cohorts_table import cohorts_frame
from pcnstudy.paper import colophon, inputs, manuscript, prose, tables, values

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "paper" / "index.qmd"
RESULTS = ROOT / "data" / "processed" / "results"

# The only literal digits allowed in the Abstract and Results prose (keep minimal).
ALLOWED_DIGITS: tuple[str, ...] = ()
VAR_RE = re.compile(r"{{<\s*var\s+(\S+)\s*>}}")
INCLUDE_RE = re.compile(r"^{{<\s*include\s+(\S+)\s*>}}\s*$", re.M)


# ------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("scores.change.c.d.pct_change", 0.243, "24.3"),
        ("scores.change.c.d.pct_ci_low", -0.0004, "0.0"),
        ("themes.themes.t.prop", 0.09375, "9.4"),
        ("scores.change.c.d.n", 24.0, "24"),
        ("scores.change.c.d.n_pairs", 18, "18"),
        ("scores.meta.d.k", 4, "4"),
        ("scores.change.c.d.p_holm", 0.0132, "0.013"),
        ("scores.change.c.d.p_value", 0.0004, "<0.001"),
        ("scores.change.c.d.p", 0.5, "0.500"),
        ("scores.change.c.d.mean_change", 0.715, "0.71"),  # binary float 0.71499..., as printf rounds
        ("scores.change.c.d.ci_low", -0.123, "-0.12"),
        ("themes.quality.npmi_mean", 0.1234, "0.12"),  # 'npmi' is not a count
        ("scores.meta.d.tau2", 1e-9, "0.00"),
        ("scores.change.c.d.n", "<5", "<5"),
        ("scores.change.c.d.estimate", float("nan"), "NA"),
        ("scores.change.c.d.estimate", None, "NA"),
    ],
)
def test_format_value_follows_the_naming_conventions(key, value, shown):
    assert values.format_value(key, value) == shown


def test_format_value_rejects_a_non_number():
    with pytest.raises(TypeError, match="x.y"):
        values.format_value("x.y", {"a": 1})


def test_flatten_and_nest_are_inverse():
    tree = {"a": {"b": 1, "c": {"d": "x"}}, "e": 2}
    flat = values.flatten(tree)
    assert flat == {"a.b": 1, "a.c.d": "x", "e": 2}
    assert values.nest(flat) == tree


def test_variables_cover_results_params_and_derived():
    flat = manuscript.variables(inputs.load_results(FIXTURE / "results"), PARAMS, {"build.date": "2020-01-01"})
    assert flat["scores.change.cohort_a.leadership.pct_change"] == "24.1"
    assert flat["scores.change.cohort_b.leadership.n_pairs"] == "<5"
    assert flat["themes.quality.n_free_topics"] == "2"
    assert flat["params.disclosure.min_cell"] == "5"
    assert flat["params.derived.conf_pct"] == "95"
    assert flat["build.date"] == "2020-01-01"
    assert list(flat) == sorted(flat)


def test_write_variables_round_trips_through_yaml(tmp_path):
    out = tmp_path / "_variables.yml"
    flat = manuscript.variables(inputs.load_results(FIXTURE / "results"), PARAMS)
    assert manuscript.write_variables(flat, out) == out
    loaded = yaml.safe_load(out.read_text())
    assert values.flatten(loaded) == flat
    assert all(isinstance(v, str) for v in values.flatten(loaded).values())
    assert b"\r" not in out.read_bytes()


def test_bad_json_is_reported_with_file_and_line(tmp_path):
    (tmp_path / "scores.json").write_text('{"a": 1,\n "b": }\n')
    with pytest.raises(inputs.PaperInputError, match=r"scores.json:2:"):
        inputs.load_results(tmp_path)


# ------------------------------------------------------------------ tables


def test_md_escape_neutralises_markdown():
    assert tables.md_escape("a | b *c* @d <5 {{< x >}}") == r"a \| b \*c\* \@d \<5 \{\{\< x \>\}\}"


def test_tables_have_labels_and_merged_intervals(tmp_path):
    written = manuscript.write_tables(fixture_tables(), tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["attrition.md", "bias.md", "change.md", "effects.md", "feedback.md", "meta.md",
                     "meta_estimators.md", "meta_programmes.md", "mixed.md", "ordinal.md", "quotes.md",
                     "reliability.md", "tests.md", "themes.md", "themes_by_cohort.md", "then_test.md",
                     "unpaired_change.md"]
    change = (tmp_path / "change.md").read_text()
    assert change.rstrip().endswith("{#tbl-change}")
    assert "| cohort\\_a | leadership | 24 | 2.95 | 3.66 | 0.71 | (0.40, 1.02) | 24.1 | (13.0, 35.0) | \\<0.001 | 0.91 |" in change
    assert "95% CI (%)" in change
    # a cohort with suppressed values keeps its row, with the suppression shown
    assert "| cohort\\_b | leadership | \\<5 |   |   | \\<5 |   | \\<5 |   | 0.500 |   |" in change
    # a section with no results still gives a table, so includes and @tbl- refs resolve
    assert "| none |" in (tmp_path / "then_test.md").read_text()
    assert "{#tbl-then-test}" in (tmp_path / "then_test.md").read_text()
    meta = (tmp_path / "meta.md").read_text()
    assert "| leadership | 2 | 0.60 | (0.30, 0.90) | 0.01 | 12.0 | 0.300 |" in meta  # nested methods left out; I² in %
    assert "| cohort\\_a | leadership | 0.81 | 0.84 |" in (tmp_path / "reliability.md").read_text()
    quotes = (tmp_path / "quotes.md").read_text()
    assert quotes.index("We got to know") < quotes.index("A second quote")  # by rank
    assert r"\| and built trust, \*really\*." in quotes


def test_display_names_label_rows(tmp_path):
    instrument = yaml.safe_load((ROOT / "config" / "instrument.yml").read_text())
    codebook = yaml.safe_load((ROOT / "config" / "codebook.yml").read_text())
    manuscript.write_tables(fixture_tables(instrument, codebook), tmp_path)
    assert "Leadership skills" in (tmp_path / "change.md").read_text()
    assert "I would recommend the programme to colleagues" in (tmp_path / "feedback.md").read_text()
    assert "Relational working" in (tmp_path / "themes.md").read_text()


def test_quotes_without_a_text_column_name_the_file(tmp_path):
    bad = tmp_path / "quotes.csv"
    bad.write_text("theme,words\nx,y\n")
    with pytest.raises(inputs.PaperInputError, match="quotes.csv:1:"):
        inputs.read_quotes(bad)
    with pytest.raises(ValueError, match="theme, words"):
        tables.quotes_table(pd.DataFrame({"theme": ["x"], "words": ["y"]}), {})


def test_pipe_table_requires_a_tbl_label():
    with pytest.raises(ValueError):
        tables.pipe_table(["a"], [["1"]], "cap", "table-x")


def write_cohorts(folder: Path, *configs: dict, csv_twin: bool = False) -> Path:
    """The processed cohorts table of ``configs`` (cohort.yml contents) as the ingest stage writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = cohorts_frame(configs)
    if csv_twin:
        frame.to_csv(folder / "cohorts.csv", index=False)
    else:
        frame.to_parquet(folder / "cohorts.parquet", index=False)
    return folder


COHORT_YML = ("cohort: demo_cohort\nprogramme: A programme\nregion: Somewhere\nn_pcns: 7\n"
              "start: 2020-09-01\nend: 2021-06-30\nwaves: [baseline, end]\nretrospective_waves: [then]\ndemo: true\n")


@pytest.mark.parametrize("csv_twin", [False, True])
def test_cohorts_table_reads_the_processed_cohorts_table(tmp_path, csv_twin):
    """A cohort.yml, through the ingest stage's cohorts table, gives the row it gave when read directly."""
    folder = write_cohorts(tmp_path / "processed", yaml.safe_load(COHORT_YML), csv_twin=csv_twin)
    records = inputs.cohort_records(inputs.read_cohorts(folder))
    assert records[0]["waves"] == ["baseline", "end"] and records[0]["n_pcns"] == 7
    text = tables.cohorts_table(records)
    # a cohort is named by its programme, never by its id
    assert ("| A programme | Somewhere | 7 | 2020-09-01 to 2021-06-30 | baseline, end, then (retrospective) "
            "| simulated |") in text and "demo\\_cohort" not in text
    assert "The cohorts of the simulated twin" in text


def test_cohorts_table_leaves_missing_fields_empty_and_names_real_data(tmp_path):
    text = tables.cohorts_table([{"cohort": "new_one", "programme": None, "region": None, "n_pcns": None,
                                  "start": None, "end": "2024-03-01", "waves": ["end"]}])
    assert "None" not in text
    assert "| new\\_one |   |   | 2024-03-01 | end | survey export |" in text  # no programme: its id
    assert "The cohorts analysed" in text
    # the same cohort through the processed table (missing n_pcns, empty waves lists)
    folder = write_cohorts(tmp_path, {"cohort": "new_one", "end": "2024-03-01", "waves": ["end"]})
    records = inputs.cohort_records(inputs.read_cohorts(folder))
    assert records[0]["n_pcns"] is None and records[0]["retrospective_waves"] == []
    assert tables.cohorts_table(records) == text


def test_a_missing_cohorts_table_is_empty_and_a_damaged_one_names_the_file(tmp_path):
    assert inputs.cohort_records(inputs.read_cohorts(tmp_path)) == []
    (tmp_path / "cohorts.parquet").write_bytes(b"not parquet")
    with pytest.raises(inputs.PaperInputError, match=r"cohorts.parquet: cannot read"):
        inputs.read_cohorts(tmp_path)
    pd.DataFrame({"cohort": ["a"]}).to_parquet(tmp_path / "cohorts.parquet")
    with pytest.raises(inputs.PaperInputError, match=r"cohorts.parquet: no column programme"):
        inputs.read_cohorts(tmp_path)


# ------------------------------------------------------------------ the cohorts the prose speaks of

SCORES = {
    "change": {
        "pooled": {"leadership": {"n_pairs": 500}},
        "small": {"leadership": {"n_pairs": 12, "pct_change": 0.1}},
        "big": {"leadership": {"n_pairs": 30, "pct_change": 0.25}, "systems": {"n_pairs": 29}},
    },
    "mixed": {"big": {"leadership": {"estimate": 0.7}}},
    "attrition": {"big": {"n_baseline": 38}, "small": {"n_baseline": 20}},
    "then_test": {"small": {"leadership": {"then_vs_post": {"n_pairs": 12, "pct_change": 0.33},
                                           "then_vs_pre": {"n_pairs": 11, "mean_diff": -0.3}}},
                  # surveyed once with a then-test: more pairs, but no pre-test, so not the then-test role
                  "fed": {"leadership": {"then_vs_post": {"n_pairs": 24, "mean_diff": 0.89}}}},
    "feedback": {
        "big": {"would_recommend": {"n": 30, "pct": 1.0}},
        "als": {"open_honest": {"n": 18, "pct": 0.9}, "took_action": {"n": 18, "pct": "<5"},
                "would_recommend": {"n": 18, "pct": 1.0}},
    },
}
COHORTS = [{"cohort": "big", "programme": "Leadership programme for PCN clinical directors"},
           {"cohort": "small", "programme": "GP federation programme"},
           {"cohort": "fed", "programme": "System leadership programme for GP federation leaders",
            "design": "retrospective"},
           {"cohort": "als", "programme": "Action learning sets"}]
INSTRUMENT = {"feedback": [{"id": "open_honest", "text": "The sessions enabled open and honest conversations"},
                           {"id": "took_action", "text": "I took action on my issue between sessions"},
                           {"id": "would_recommend", "text": "I would recommend the programme to colleagues."}]}


def test_study_roles_pick_cohorts_by_rule_not_by_name():
    roles = prose.study_roles(SCORES, COHORTS)
    assert roles["lead"]["cohort"] == "big"  # most complete pairs; 'pooled' is not a cohort
    assert roles["lead"]["change"] is SCORES["change"]["big"] and roles["lead"]["mixed"]["leadership"]
    assert roles["lead"]["attrition"]["n_baseline"] == 38
    assert roles["lead"]["programme_lower"] == "leadership programme for PCN clinical directors"
    assert roles["then_test"]["cohort"] == "small" and roles["then_test"]["programme_lower"] == "GP federation programme"
    assert roles["feedback"]["cohort"] == "als"  # most feedback items, not most respondents
    # the cohort surveyed once with a then-test is the retrospective role, never the then-test one
    assert roles["retrospective"]["cohort"] == "fed"
    assert roles["retrospective"]["change"]["leadership"]["then_vs_post"]["mean_diff"] == 0.89
    assert prose.paper_conditions({"scores": SCORES}, roles, COHORTS, restricted=False)["study_has_retrospective"]
    flat = manuscript.variables({"roles": roles}, {})
    assert flat["roles.lead.change.leadership.pct_change_text"] == "25.0%"
    assert flat["roles.feedback.items.took_action.pct_text"] == "suppressed"


def test_study_roles_are_absent_without_data():
    roles = prose.study_roles({"change": {"pooled": {}}, "feedback": {}}, [])
    assert roles == {}
    conditions = prose.paper_conditions({"scores": {}}, roles, [], restricted=False)
    assert not any(conditions.values())


def test_feedback_prose_names_shown_and_hidden_items_in_instrument_order():
    roles = prose.study_roles(SCORES, COHORTS)
    said = prose.feedback_prose(roles, INSTRUMENT)
    assert said["roles.feedback.sentence"] == (
        "90.0% answered yes to “the sessions enabled open and honest conversations” and 100.0% answered yes to "
        "“I would recommend the programme to colleagues”; the share for “I took action on my issue between "
        "sessions” is hidden by disclosure control")
    # the summary speaks of every item asked, saying how many it cannot describe
    assert said["roles.feedback.summary"] == ("between 90.0% and 100.0% answered yes to each of its 3 feedback items "
                                              "(1 hidden and not counted in that range)")
    one = prose.feedback_prose({"feedback": {"items": {"would_recommend": {"pct": 1.0}}}}, INSTRUMENT)
    assert one["roles.feedback.summary"] == "100.0% answered yes to its feedback item"
    assert prose.feedback_prose({}, INSTRUMENT) == {}


def test_feedback_prose_gives_hidden_shares_as_their_bands():
    # only the 100% item survives suppression; the hidden ones are told as their bands, so the
    # abstract cannot read "100% answered yes to each item shown"
    items = {"would_recommend": {"pct": 1.0}, "took_action": {"pct": "[c]", "pct_band": "0.75-0.95"},
             "open_honest": {"pct": "<5", "pct_band": "0.05-0.25"}}
    said = prose.feedback_prose({"feedback": {"items": items}}, INSTRUMENT)
    assert said["roles.feedback.summary"] == ("between 5.0% and 100.0% answered yes to each of its 3 feedback items "
                                              "(2 of them shown only as a range by disclosure control)")
    assert "5–25% answered yes to “the sessions enabled open and honest conversations”" in said[
        "roles.feedback.sentence"]
    assert "75–95% answered yes to “I took action on my issue between sessions”" in said["roles.feedback.sentence"]


def test_lower_first_keeps_acronyms_and_the_first_person():
    assert prose.lower_first("Action learning sets") == "action learning sets"
    assert prose.lower_first("PCN leads programme") == "PCN leads programme"
    assert prose.lower_first("I would recommend it") == "I would recommend it"


def test_paper_conditions_follow_the_results_and_cohorts():
    roles = prose.study_roles(SCORES, COHORTS)
    meta = {"leadership": {"k": 2}}
    twin = [dict(c, data="simulated") for c in COHORTS]
    flags = prose.paper_conditions({"scores": {**SCORES, "meta": meta, "meta_programmes": meta},
                                    "themes": {"themes": {"a": {}}},
                                    "twin": {"n_cohorts": 2, "coverage": {"paired_t": {}, "welch": {}, "meta_hk": {}}}},
                                   roles, twin,
                                   restricted=False)
    assert all(flags.values()), flags
    one_programme = prose.paper_conditions({"scores": {**SCORES, "meta": meta,
                                                       "meta_programmes": {"leadership": {"k": 1}}}},
                                           roles, twin, restricted=False)
    assert one_programme["study_has_meta"] and not one_programme["study_has_meta_programmes"]
    new = {"cohort": "mine", "programme": "Mine", "data": "survey export"}
    flags = prose.paper_conditions({"scores": {"meta": {"leadership": {"k": 1}}}, "twin": {"n_cohorts": 0}}, {},
                                   twin[:1] + [new], restricted=True)
    assert not flags["study_all_simulated"] and not flags["study_is_twin"] and not flags["study_has_meta"]
    assert not flags["study_has_twin_check"]  # the validation section needs a simulated cohort checked
    assert not any(flags[f] for f in ("study_has_twin_coverage", "study_has_twin_coverage_unpaired",
                                      "study_has_twin_coverage_pooled"))
    part = prose.paper_conditions({"scores": {}}, {}, twin[:2], restricted=True)
    assert part["study_all_simulated"] and not part["study_is_twin"]


def small_project(root: Path, cohorts: list[str]) -> Path:
    """A project holding the fixture results and a processed cohorts table of ``cohorts``."""
    root.mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    shutil.copytree(FIXTURE / "results", root / "data" / "processed" / "results")
    write_cohorts(root / "data" / "processed",
                  *[{"cohort": c, "programme": f"Programme {c}", "n_pcns": 3, "waves": ["baseline", "end"],
                     "demo": True} for c in cohorts])
    return root


def test_the_paper_counts_and_tabulates_the_cohorts_of_the_processed_table(tmp_path):
    """The processed table holds the cohorts a run ingested (params ``cohorts`` or all): the
    paper counts those, lists those, and calls the study the twin only when the run is not restricted."""
    root = small_project(tmp_path / "study", ["cohort_a", "cohort_b"])
    facts = manuscript.prepare(root, {**PARAMS, "cohorts": ["cohort_a", "cohort_b"]})
    assert facts["variables"]["study.n_cohorts"] == "2" and facts["variables"]["study.n_pcns"] == "6"
    table = (root / "paper" / "tables" / "cohorts.md").read_text()
    assert "| Programme cohort\\_a |" in table and "| Programme cohort\\_b |" in table
    assert "| cohort\\_a |" not in table
    flags = yaml.safe_load((root / "paper" / "_study.yml").read_text())
    assert flags["study_all_simulated"] and not flags["study_is_twin"]
    # a hand-run `quarto render paper` reads the build's source date from the same file
    assert flags["date"] == datetime.fromtimestamp(facts["epoch"], tz=timezone.utc).strftime("%Y-%m-%d")
    manuscript.prepare(root, {**PARAMS, "cohorts": []})
    assert yaml.safe_load((root / "paper" / "_study.yml").read_text())["study_is_twin"]


def test_compute_is_pure_and_its_result_has_labelled_tables():
    results = inputs.load_results(FIXTURE / "results")
    given = manuscript.PaperInputs(
        results=results, cohorts=cohorts_frame([yaml.safe_load(COHORT_YML)]), instrument=None, codebook=None,
        quotes=None, notebooks=[("01_ingest.html", "Ingest")], epoch=1600000000, commit="deadbeef" * 5,
        lock_hashes=[("ingest", "data/processed/ratings.csv", "def456")], versions={"python": "3.11.9"})
    result = manuscript.compute(given, manuscript.PaperSettings(params=PARAMS))
    assert result.variables["build.date"] == "2020-09-13" and result.variables["build.commit_short"] == "deadbee"
    assert result.variables["study.n_cohorts"] == "1" and result.variables["study.n_pcns"] == "7"
    assert result.conditions["study_is_twin"] and result.conditions["study_all_simulated"]
    assert {"cohorts", "colophon", "notebooks", "change", "quotes"} <= set(result.tables)
    frame = result.summary_frame("tables")
    assert frame.loc["cohorts", "label"] == "tbl-cohorts" and frame.loc["cohorts", "rows"] == 1
    assert frame.loc["notebooks", "label"] == ""
    assert result.summary_frame().loc["study.n_pcns", "value"] == "7"
    assert bool(result.summary_frame("conditions").loc["study_is_twin", "shown"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.epoch = 0  # type: ignore[misc]


# ------------------------------------------------------------------ build facts and extras


def test_build_epoch_prefers_source_date_epoch(monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    assert colophon.build_epoch(tmp_path) == 1600000000
    assert colophon.build_date(1600000000) == "2020-09-13"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert colophon.build_epoch(tmp_path / "not-a-repo") == 0


def test_dvc_lock_hashes_skip_the_paper_stage(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {
        "scores": {"outs": [{"path": "data/processed/results/scores.json", "md5": "abc123", "size": 10}]},
        "paper": {"outs": [{"path": "paper/_output", "md5": "zzz.dir"}]},
        "ingest": {"outs": [{"path": "data/processed/ratings.csv", "md5": "def456"}]},
    }}))
    rows = colophon.dvc_lock_hashes(lock)
    assert rows == [("ingest", "data/processed/ratings.csv", "def456"),
                    ("scores", "data/processed/results/scores.json", "abc123")]
    table = colophon.colophon_table("deadbeef", "2020-01-01", rows, {"python": "3.11.9"})
    assert "`deadbeef`" in table and "`abc123`" in table and "{#tbl-colophon}" in table


def test_supplementary_zip_keys_cohort_ids_to_the_papers_programme_labels(tmp_path):
    """The bundle's tables name cohorts by id; its key says which programme each id is, as the
    paper labels it, and carries no count of people."""
    import io

    cohorts = pd.DataFrame({"cohort": ["b_two", "a_one", "b_one"], "programme": ["Prog B", "Prog A", "Prog B"],
                            "region": ["North", "South", "North"], "start": ["2021-06-01", "2020-01-01", "2020-09-01"],
                            "end": ["2022-01-01", "2020-06-01", "2021-03-01"], "waves": ["baseline;end"] * 3,
                            "design": ["paired"] * 3, "data": ["simulated"] * 3, "n_respondents": [31, 12, 9]})
    out = tmp_path / "bundle.zip"
    manuscript.write_supplementary_zip(FIXTURE / "results", out, cohorts=cohorts)
    with zipfile.ZipFile(out) as zf:
        key = pd.read_csv(io.BytesIO(zf.read(manuscript.COHORT_KEY)), dtype=str)
    assert list(key.columns) == list(manuscript.COHORT_KEY_COLUMNS)
    assert key.set_index("cohort")["label"].to_dict() == {
        "a_one": "Prog A", "b_one": "Prog B, cohort 1", "b_two": "Prog B, cohort 2"}
    assert "n_respondents" not in key.columns


def test_supplementary_zip_is_byte_identical(tmp_path):
    a = tmp_path / "a.zip"
    b = tmp_path / "b.zip"
    names = manuscript.write_supplementary_zip(FIXTURE / "results", a)
    manuscript.write_supplementary_zip(FIXTURE / "results", b)
    assert names == ["scores/change.csv", "themes/quotes.csv"]  # sorted, relative
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in zf.infolist())


def test_notebooks_list_links_every_report(tmp_path):
    (tmp_path / "02_scores.html").write_text("<html></html>")
    (tmp_path / "02_scores.ipynb").write_text(json.dumps(
        {"cells": [{"cell_type": "markdown", "source": ["# Change scores\n", "text"]}]}))
    (tmp_path / "01_ingest.html").write_text("<html></html>")
    (tmp_path / "cohort-llr_cd.html").write_text("<html></html>")  # a cohort report run by hand: not the paper's
    text = colophon.notebooks_list(colophon.notebook_entries(tmp_path))
    assert text.splitlines() == ["- [01\\_ingest](notebooks/01_ingest.html) (`01_ingest.html`)",
                                 "- [Change scores](notebooks/02_scores.html) (`02_scores.html`)"]


def test_paper_command_rejects_an_unknown_format(capsys):
    assert manuscript.paper_command(["docx"]) == 2
    assert "docx" in capsys.readouterr().err


def test_paper_command_reports_missing_results(tmp_path, capsys):
    assert manuscript.paper_command(["html"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "results" in err and "Traceback" not in err


# ------------------------------------------------------------------ the paper's own rules


def section(text: str, title: str) -> str:
    """The body of the top-level section ``# title`` up to the next top-level heading."""
    match = re.search(rf"^# {re.escape(title)}\b.*?$(.*?)(?=^# |\Z)", text, flags=re.M | re.S)
    assert match, f"no section '# {title}'"
    return match.group(1)


def prose_digits(text: str) -> list[str]:
    """Digits left in prose once shortcodes, includes, citation keys and image paths are removed."""
    text = INCLUDE_RE.sub("", text)
    text = VAR_RE.sub("", text)
    text = re.sub(r"@[\w:.-]+", "", text)            # citation and cross-reference keys
    text = re.sub(r"\]\([^)]*\)", "]", text)          # link and image targets
    text = re.sub(r"{#[\w-]+}", "", text)             # labels
    for allowed in ALLOWED_DIGITS:
        text = text.replace(allowed, "")
    return re.findall(r"\S*\d\S*", text)


def test_digit_check_catches_a_hand_typed_number():
    assert prose_digits("rose by 24% ({{< var a.b >}}) [@wilson1927] @fig-x2") == ["24%"]
    assert prose_digits("rose by {{< var a.b >}}%.") == []


@pytest.mark.parametrize("title", ["Abstract", "Results", "Validation on the simulated twin"])
def test_no_hand_typed_number_in_abstract_and_results(title):
    digits = prose_digits(section(INDEX.read_text(encoding="utf-8"), title))
    assert not digits, f"hand-typed numbers in {title}: {digits}"


def paper_keys() -> set[str]:
    """Every var key used by index.qmd and the hand-written files it includes."""
    text = INDEX.read_text(encoding="utf-8")
    for target in INCLUDE_RE.findall(text):
        path = INDEX.parent / target
        if path.is_file() and not target.startswith("tables/"):
            text += path.read_text(encoding="utf-8")
    return set(VAR_RE.findall(text))


def test_every_shortcode_is_well_formed():
    text = INDEX.read_text(encoding="utf-8")
    opened = text.count("{{<")
    assert opened == len(VAR_RE.findall(text)) + len(INCLUDE_RE.findall(text)), "a shortcode split over lines?"
    for target in INCLUDE_RE.findall(text):
        assert target.startswith("tables/") or (INDEX.parent / target).is_file(), target


def test_every_figure_in_the_paper_is_produced_by_a_stage():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text()) if (ROOT / "dvc.yaml").is_file() else {}
    produced = {Path(next(iter(o)) if isinstance(o, dict) else o).name
                for stage in (dvc.get("stages") or {}).values() for o in stage.get("outs", [])}
    if not produced:
        pytest.skip("no dvc.yaml stages to check against")
    used = set(re.findall(r"\]\(figures/([\w.-]+)\)\{#fig-", INDEX.read_text(encoding="utf-8")))
    assert used and used <= produced, sorted(used - produced)


def test_every_reference_is_cited_and_defined():
    bib = (ROOT / "paper" / "references.bib").read_text(encoding="utf-8")
    defined = set(re.findall(r"^@\w+\{([\w:-]+),", bib, flags=re.M))
    text = INDEX.read_text(encoding="utf-8")
    cited = {k for k in re.findall(r"@([\w:-]+)", text) if not k.startswith(("fig-", "tbl-"))}
    assert cited <= defined, sorted(cited - defined)
    assert defined <= cited, f"uncited entries: {sorted(defined - cited)}"


@pytest.mark.slow
def test_every_var_key_exists_in_the_pipeline_results(built_project):
    """On the whole twin every condition holds, so every shortcode must have its variable."""
    variables = yaml.safe_load((built_project / "paper" / "_variables.yml").read_text(encoding="utf-8"))
    conditions = yaml.safe_load((built_project / "paper" / "_study.yml").read_text(encoding="utf-8"))
    # the twin has an anonymous cohort (unpaired) and single-wave cohorts, so the design flags hold too
    assert all(conditions.values()), conditions
    missing = sorted(paper_keys() - set(values.flatten(variables)))
    assert not missing, f"shortcodes without a variable: {missing}"


def test_prose_percentages_say_suppressed_rather_than_less_than():
    results = {"scores": {"feedback": {"c": {"took_action": {"pct": "<5", "pct_ci_low": "<5"},
                                             "would_recommend": {"pct": 1.0}}}}}
    flat = manuscript.variables(results, {})
    assert flat["scores.feedback.c.took_action.pct"] == "<5"  # tables keep the marker
    assert flat["scores.feedback.c.took_action.pct_text"] == "suppressed"  # prose never reads '<5%'
    assert flat["scores.feedback.c.would_recommend.pct_text"] == "100.0%"
    assert "scores.feedback.c.took_action.pct_ci_low_text" not in flat


def test_derived_theme_ranking_and_its_suppressed_fallback():
    themes = {"themes": {"themes": {"a": {"name": "Alpha", "prop": 0.2}, "b": {"name": "Beta", "prop": 0.5},
                                    "c": {"name": "Gamma", "prop": "<5"}}}}
    flat = prose.derived_results(themes)
    assert flat["themes.derived.first.name_lower"] == "beta" and flat["themes.derived.first.prop_text"] == "50.0%"
    assert flat["themes.derived.second.id"] == "a" and flat["themes.derived.n_themes"] == "3"
    hidden = prose.derived_results({"themes": {"themes": {"a": {"name": "Alpha", "prop": "<20"}}}})
    assert hidden["themes.derived.first.prop_text"] == "suppressed"
    assert "suppressed" in hidden["themes.derived.second.name"]


def test_prose_percentages_use_their_text_twin():
    """'{{< var x.pct >}}%' would print a suppressed value as '<5%'; the paper uses x.pct_text."""
    text = INDEX.read_text(encoding="utf-8")
    # the confidence level and I² (a statistic of cohort-level estimates) are never suppressed
    glued = [key for key in re.findall(r"{{<\s*var\s+(\S+)\s*>}}%", text)
             if key != "params.derived.conf_pct" and not key.endswith(".i2")]
    assert not glued, glued


def test_meta_tables_show_hartung_knapp_and_prediction_intervals_and_the_pooled_row_is_relabelled():
    scores = {"meta_programmes": {"leadership": {"k": 2, "estimate": 0.66, "ci_low": 0.54, "ci_high": 0.79,
                                                 "hk_ci_low": -0.06, "hk_ci_high": 1.39, "pi_low": -0.06,
                                                 "pi_high": 1.39, "pi_informative": False, "tau2": 0.0, "i2": 0.0}},
              "change": {"pooled": {"leadership": {"n_pairs": 76, "mean_diff": 0.67}}}}
    made = tables.paper_tables({"scores": scores}, instrument=None, codebook=None, conf_pct="95", quotes=None,
                               cohorts=None)
    meta = made["meta_programmes"]
    assert "Hartung-Knapp 95% CI" in meta and "95% prediction interval" in meta
    assert "| leadership | 2 | 0.66 | (0.54, 0.79) | (-0.06, 1.39) | (-0.06, 1.39) |" in meta
    assert "All respondents, unweighted (not a pooled estimate)" in made["change"]
    assert "| pooled |" not in made["change"]
    said = prose.meta_statements(scores)["scores.derived.meta_programmes.leadership.pi_sentence"]
    assert "uninformative" in said and "2 programmes" in said
    informative = {"meta_programmes": {"d": {"k": 4, "pi_low": 0.1, "pi_high": 0.9, "pi_informative": True}}}
    assert "between 0.10 and 0.90" in prose.meta_statements(informative)["scores.derived.meta_programmes.d.pi_sentence"]


def test_bias_statements_follow_the_results():
    instrument = {"scale": {"min": 1, "max": 5}}
    lead = {"lead": {"bias": {"leadership": {"r_oldham": -0.1, "r_oldham_ci_low": -0.44, "r_oldham_ci_high": 0.27,
                                             "delta_tip": 4.01, "delta_tip_ci": 2.86, "delta_tip_sd": 6.91,
                                             "n_lost": 7}}}}
    said = prose.bias_statements(lead, instrument)
    assert "little sign" in said["roles.lead.derived.rtm_sentence"]
    assert "4.01 scale points less" in said["roles.lead.derived.dropout_sentence"]
    assert "more than the whole range of the scale" in said["roles.lead.derived.dropout_sentence"]
    lead["lead"]["bias"]["leadership"].update(r_oldham=-0.5, r_oldham_ci_high=-0.2, delta_tip="<5", n_lost="<5")
    said = prose.bias_statements(lead, instrument)
    assert "truly gained larger" in said["roles.lead.derived.rtm_sentence"]
    assert "hidden by disclosure control" in said["roles.lead.derived.dropout_sentence"]
    assert prose.bias_statements({}, instrument) == {}


def test_methods_name_what_the_scores_stage_wrote():
    """Every method name the stage writes to scores.json ``methods`` is quoted by the Methods,
    and the Methods quote no other."""
    from pcnstudy.scores.scores_json import METHODS

    qmd = INDEX.read_text(encoding="utf-8")
    quoted = set(re.findall(r"\{\{< var scores\.methods\.([a-z_]+\.[a-z_]+) >\}\}", qmd))
    written = {f"{section}.{key}" for section, names in METHODS.items() for key in names}
    assert quoted == written


def test_a_retrospective_cohort_is_labelled_and_spoken_of_by_its_programme(tmp_path):
    """A cohort surveyed once with a then-test (design retrospective): its then-vs-now change
    is in the then-test table and the prose, labelled retrospective, and it is no lead cohort."""
    root = small_project(tmp_path / "study", ["cohort_a"])
    write_cohorts(root / "data" / "processed",
                  {"cohort": "cohort_a", "programme": "Programme cohort_a", "n_pcns": 3, "waves": ["baseline", "end"],
                   "demo": True},
                  {"cohort": "fed", "programme": "System leadership programme for GP federation leaders",
                   "n_pcns": 7, "waves": ["follow_up"], "retrospective_waves": ["then"], "demo": True})
    scores_path = root / "data" / "processed" / "results" / "scores.json"
    scores = json.loads(scores_path.read_text())
    change = {"n_pairs": 24, "mean_from": 2.89, "mean_to": 3.77, "mean_diff": 0.885, "diff_ci_low": 0.695,
              "diff_ci_high": 1.076, "pct_change": 0.306, "p_t": 1e-8}
    scores["then_test"] = {"fed": {d: {"then_vs_post": change} for d in ("leadership", "systems", "partners")}}
    scores_path.write_text(json.dumps(scores))
    facts = manuscript.prepare(root, PARAMS)
    flat = facts["variables"]
    assert flat["roles.retrospective.label_lower"] == "system leadership programme for GP federation leaders"
    assert flat["roles.retrospective.change.leadership.then_vs_post.mean_diff"] == "0.89"
    assert "roles.then_test.cohort" not in flat  # no pre-test: not a response-shift cohort
    flags = yaml.safe_load((root / "paper" / "_study.yml").read_text())
    assert flags["study_has_retrospective"] and not flags["study_has_then_test"]
    label = "System leadership programme for GP federation leaders (retrospective)"
    assert label in (root / "paper" / "tables" / "cohorts.md").read_text()
    then_table = (root / "paper" / "tables" / "then_test.md").read_text()
    assert label in then_table and "Then-test vs post" in then_table
    # the paper's own prose speaks of it, under its flag
    qmd = (ROOT / "paper" / "index.qmd").read_text(encoding="utf-8")
    assert 'when-meta="study_has_retrospective"' in qmd and "roles.retrospective.change.leadership" in qmd


def test_supplement_shows_the_methods_secondary_analyses():
    """The paired tests (with both adjustments), the ordinal models, alpha's interval and both
    meta-analysis estimators get tables; names come from scores.json ``methods``; hidden stays hidden."""
    import pandas as pd

    from pcnstudy.scores.scores_json import METHODS, method_sections

    reliability = pd.DataFrame([{"cohort": "a", "domain": "leadership", "wave": w, "n": n, "n_items": 4,
                                 "alpha": 0.8, "ci_low": 0.7, "ci_high": 0.88} for w, n in
                                (("end", 20), ("baseline", 22), ("mid", 3))])
    ordinal = pd.DataFrame([{"cohort": "a", "domain": "leadership", "term": t, "estimate": 0.5, "se": 0.2,
                             "ci_low": 0.1, "ci_high": 0.9, "p": 0.01, "odds_ratio": 1.6487, "n_obs": 80,
                             "n_respondents": n, "cov_type": "cluster", "converged": True, "note": ""}
                            for t, n in (("wave[T.end]", 20), ("wave[T.mid]", 3))])
    sections = method_sections(reliability, ordinal, "<5", 5)
    assert sections["reliability_ci"]["a"]["leadership"]["mid"]["n"] == "<5"
    assert set(sections["ordinal"]["a"]["leadership"]["mid"].values()) == {"<5"}  # every statistic hidden
    assert sections["ordinal"]["a"]["leadership"]["end"]["or_ci_low"] == pytest.approx(1.10517, abs=1e-4)
    scores = {"settings": {"waves": ["baseline", "mid", "end"], "disclosure_marker": "<5"},
              "methods": {s: dict(n) for s, n in METHODS.items()}, **sections,
              "change": {"a": {"leadership": {"n_pairs": 20, "p_t": 0.004, "p_holm": 0.012, "p_bh": 0.006,
                                              "p_wilcoxon": 0.02, "rank_biserial": 0.61, "dz": 0.7}}},
              "effects": {"a": {"leadership": {"dz_ci_low": 0.2, "dz_ci_high": 1.2}}},
              "meta": {"leadership": {"estimate": 0.6, "reml": {"k": 3, "estimate": 0.6, "ci_low": 0.4,
                                                                "ci_high": 0.8, "tau2": 0.01, "i2": 0.2},
                                      "dl": {"k": 3, "estimate": 0.62, "ci_low": 0.45, "ci_high": 0.79,
                                             "tau2": 0.0, "i2": 0.0}}},
              "meta_programmes": {"leadership": {"reml": {"k": 2, "estimate": 0.5}, "dl": {"k": 2, "estimate": 0.51}}}}
    made = tables.paper_tables({"scores": scores}, instrument=None, codebook=None, conf_pct="95", quotes=None,
                               cohorts=None)
    assert "| a | leadership | 20 | 0.004 | 0.012 | 0.006 | 0.020 | 0.61 | 0.70 | (0.20, 1.20) |" in made["tests"]
    assert "p (Benjamini-Hochberg)" in made["tests"] and METHODS["change"]["adjustment_sensitivity"] in made["tests"]
    assert METHODS["ordinal"]["model"] in made["ordinal"]
    assert "| a | leadership | end | 20 | 80 | 1.65 | (1.11, 2.46) | 0.010 |" in made["ordinal"]
    assert "| a | leadership | mid | \\<5 | \\<5 | \\<5 | \\<5 | \\<5 |" in made["ordinal"]
    rel = made["reliability"]
    assert rel.index("| baseline |") < rel.index("| mid |") < rel.index("| end |")  # waves in time order
    assert "| a | leadership | end | 20 | 0.80 | (0.70, 0.88) |" in rel and METHODS["reliability"]["ci"] in rel
    est = made["meta_estimators"]
    assert est.index("Programmes") < est.index("| Cohorts |") and est.index("| REML |") < est.index("DerSimonian-Laird |")
    assert "| Cohorts | leadership | DerSimonian-Laird | 3 | 0.62 | (0.45, 0.79) |" in est
