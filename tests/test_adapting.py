"""Adapting the study to new cohorts, end to end, as docs/adapting.md tells an analyst.

In ONE temporary copy of the built project: `dvc repro` (the study as shipped; its results
are kept), then for each export shape under tests/data/exports
`pcnstudy new-cohort <shape>_demo --export ...`, the EDIT lines filled in, and
`pcnstudy validate`, ONE
`dvc repro` for all of them, and `pcnstudy report <shape>_demo`. The reports must
show each cohort's numbers as the results JSON holds them, and the new cohorts must
change the pooled meta-analysis and the paper's variables with no edit outside
data/raw. Last, `dvc exp run -S 'cohorts=[...]'` restricts a run. Every command in
docs/adapting.md's console blocks must be one this module ran.
"""
from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from lxml import html as lxml_html
from pypdf import PdfReader

from analyst import fill_in
from conftest import BIN, ROOT, copy_built, pipeline_env
from pcnstudy.paper import inputs as paper_inputs
from pcnstudy.paper import tables as paper_tables
from pcnstudy.paper.tables import display_names
from pcnstudy.ingest.validate import TOP_KEYS
from pcnstudy.paper.values import format_value

pytestmark = pytest.mark.slow

EXPORTS = "tests/data/exports"
SHAPES = {
    "plain": [f"--export {EXPORTS}/plain_baseline.csv", f"--export {EXPORTS}/plain_end.csv"],
    "qualtrics": [f"--export {EXPORTS}/qualtrics.csv", "--wave end"],
    "surveymonkey": [f"--export {EXPORTS}/surveymonkey.csv", "--wave end"],
    "msforms": [f"--export {EXPORTS}/msforms.xlsx", "--wave end"],
    "googleforms": [f"--export {EXPORTS}/googleforms.csv", "--wave end"],
    # shapes met in real exports (tests/test_export_shapes.py)
    "msforms_anonymous": [f"--export {EXPORTS}/msforms_anonymous.xlsx", "--wave end"],
    "qualtrics_noemail": [f"--export {EXPORTS}/qualtrics_noemail.csv", "--wave end"],
    "qualtrics_german": [f"--export {EXPORTS}/qualtrics_german.csv", "--wave end"],
    "surveymonkey_response": [f"--export {EXPORTS}/surveymonkey_response.csv", "--wave end"],
    "surveymonkey_openended": [f"--export {EXPORTS}/surveymonkey_openended.csv", "--wave end"],
    "surveymonkey_options": [f"--export {EXPORTS}/surveymonkey_options.csv", "--wave end"],
    "surveymonkey_blanks": [f"--export {EXPORTS}/surveymonkey_blanks_baseline.csv",
                            f"--export {EXPORTS}/surveymonkey_blanks_end.csv"],
}
if "design" in TOP_KEYS:  # cohort.yml's design is read: the export without any id goes in as anonymous
    SHAPES["googleforms_anonymous"] = [f"--export {EXPORTS}/googleforms_anonymous.csv", "--wave end"]
TWO_WAVES = ("plain", "surveymonkey_blanks")
RESTRICTED = ["llr_cd", "qualtrics_demo"]
EXP_RUN = f"dvc exp run -S 'cohorts=[{','.join(RESTRICTED)}]'"
DOC = ROOT / "docs" / "adapting.md"


def run(study: Path, command: str, ran: list[str]) -> subprocess.CompletedProcess:
    """Run one shell-style command line in the copy (pcnstudy and dvc from this venv)."""
    ran.append(command)
    argv = shlex.split(command)
    if argv[0] in ("pcnstudy", "dvc"):
        argv[0] = str(BIN / argv[0])
    env = pipeline_env(study)
    env["HOME"] = str(study.parent / "home")  # the analyst's home: `pcnstudy key` writes the key there
    return subprocess.run(argv, cwd=study, env=env, capture_output=True, text=True)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{' '.join(proc.args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def study(tmp_path_factory, built_project) -> dict:
    """Run the whole walk-through once; return what the tests check. It starts from a copy
    of the session's built project, so its first `dvc repro` has the shipped study's results."""
    copy = copy_built(built_project, tmp_path_factory.mktemp("adapting") / "study")
    ran: list[str] = []
    results = copy / "data" / "processed" / "results"
    home = copy.parent / "home"  # the analyst's home (run's HOME): a git identity, and soon the key
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = pcnstudy\n\temail = adapting@pcnstudy.invalid\n")
    ok(run(copy, "dvc repro", ran))
    before = {"scores": read_json(results / "scores.json"),
              "variables": yaml.safe_load((copy / "paper" / "_variables.yml").read_text(encoding="utf-8"))}
    key = ok(run(copy, "pcnstudy key", ran))  # step 0: the new cohorts are real data (not demo: true)
    scaffold, validate = {}, {}
    for shape, args in SHAPES.items():
        name = f"{shape}_demo"
        scaffold[name] = run(copy, f"pcnstudy new-cohort {name} " + " ".join(args), ran)
        fill_in(copy / "data" / "raw" / name / "cohort.yml")  # docs/adapting.md step 3: the EDIT lines
        validate[name] = run(copy, f"pcnstudy validate data/raw/{name}", ran)
    tracked = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=copy,
                             capture_output=True, text=True, check=True).stdout
    ok(run(copy, "dvc repro", ran))
    after = {"scores": read_json(results / "scores.json"), "themes": read_json(results / "themes.json"),
             "variables": yaml.safe_load((copy / "paper" / "_variables.yml").read_text(encoding="utf-8"))}
    reports = {}
    for shape in SHAPES:
        name = f"{shape}_demo"
        proc = ok(run(copy, f"pcnstudy report {name}", ran))
        reports[name] = {"stdout": proc.stdout,
                         "html": (copy / "reports" / f"cohort-{name}.html").read_text(encoding="utf-8"),
                         "pdf": copy / "reports" / f"cohort-{name}.pdf"}
    instrument = yaml.safe_load((copy / "config" / "instrument.yml").read_text(encoding="utf-8"))
    codebook = yaml.safe_load((copy / "config" / "codebook.yml").read_text(encoding="utf-8"))
    return {"copy": copy, "ran": ran, "before": before, "after": after, "scaffold": scaffold,
            "validate": validate, "reports": reports, "changed_before_repro": tracked, "key": key,
            "names": display_names(instrument, codebook)}


def table_rows(page: str, caption_word: str) -> dict[str, list[str]]:
    """{first cell: other cells} of the HTML table whose caption contains ``caption_word``."""
    tree = lxml_html.fromstring(page)
    for table in tree.iter("table"):
        if caption_word in " ".join(table.xpath("string(.//caption)").split()):
            rows = [[" ".join(td.text_content().split()) for td in tr.findall("td")]
                    for tr in table.xpath(".//tbody/tr")]
            return {row[0]: row[1:] for row in rows if row}
    raise AssertionError(f"no table captioned {caption_word!r}")


@pytest.mark.parametrize("shape", list(SHAPES))
def test_new_cohort_and_validate_succeed(study, shape):
    name = f"{shape}_demo"
    ok(study["scaffold"][name])
    assert f"Scaffolded data/raw/{name}" in study["scaffold"][name].stdout
    proc = ok(study["validate"][name])
    assert "0 problems" in proc.stdout


def test_the_key_was_written_outside_the_copy_and_never_printed(study):
    key_file = study["copy"].parent / "home" / ".config" / "pcnstudy" / "pseudonym.key"
    assert f"wrote a new pseudonymisation key to {key_file}" in study["key"].stdout
    assert key_file.read_text(encoding="ascii").strip() not in study["key"].stdout + study["key"].stderr
    report = read_json(study["copy"] / "data" / "processed" / "ingest_report.json")
    assert report["pseudonym_key"] == "file"


def test_only_data_raw_changed_before_the_second_run(study):
    changed = [line[3:] for line in study["changed_before_repro"].splitlines()]
    assert changed and all(path.startswith("data/raw/") or path == "dvc.lock" for path in changed), changed


@pytest.mark.parametrize("shape", list(SHAPES))
def test_report_shows_the_cohorts_numbers(study, shape):
    name = f"{shape}_demo"
    rep = study["reports"][name]
    scores, themes, names = study["after"]["scores"], study["after"]["themes"], study["names"]
    assert f"html: reports/cohort-{name}.html" in rep["stdout"]
    page = rep["html"]
    assert f"Cohort report: {name}" in page
    checked = 0
    change = table_rows(page, "Change in self-rated capability")
    for domain, rec in (scores["change"].get(name) or {}).items():
        row = change[names["Domain"].get(domain, domain)]
        want = [format_value(k, rec[k]) for k in ("n_pairs", "mean_from", "mean_to", "mean_diff")]
        assert row[:4] == want and row[5] == format_value("pct_change", rec["pct_change"])
        assert row[6] == format_value("p_holm", rec["p_holm"])
        checked += 1
    feedback = table_rows(page, "Feedback")
    for item, rec in scores["feedback"][name].items():
        row = feedback[names["Item"].get(item, item)]
        assert row[:3] == [format_value(k, rec[k]) for k in ("n", "k", "pct")]
        checked += 1
    prevalence = table_rows(page, "Theme prevalence")
    for theme, rec in themes["by_cohort"][name].items():
        row = prevalence[names["Theme"].get(theme, theme)]
        assert row[:3] == [format_value(k, rec[k]) for k in ("n_total", "n", "prop")]
        checked += 1
    assert checked >= 10
    if shape in TWO_WAVES:  # the fixtures with two waves have change scores
        assert scores["change"][name]
    text = " ".join(p.extract_text() for p in PdfReader(str(rep["pdf"])).pages)
    assert name in text


def test_new_cohorts_change_the_pooled_meta_analysis(study):
    before, after = study["before"]["scores"]["meta"], study["after"]["scores"]["meta"]
    assert set(before) == set(after)
    for domain in after:
        for shape in TWO_WAVES:  # the cohorts with change scores enter the meta-analysis
            assert f"{shape}_demo" in after[domain]["cohorts"] and f"{shape}_demo" not in before[domain]["cohorts"]
        assert after[domain]["k"] == before[domain]["k"] + len(TWO_WAVES)
        assert after[domain]["estimate"] != before[domain]["estimate"]


def test_new_cohorts_change_the_papers_variables(study):
    before, after = study["before"]["variables"], study["after"]["variables"]
    assert int(after["study"]["n_cohorts"]) == int(before["study"]["n_cohorts"]) + len(SHAPES)
    assert after["scores"]["meta"]["leadership"]["estimate"] != before["scores"]["meta"]["leadership"]["estimate"]
    for shape in SHAPES:
        assert f"{shape}_demo" in after["scores"]["feedback"]


def test_report_of_an_unknown_cohort_exits_1(study):
    proc = run(study["copy"], "pcnstudy report nosuch_demo", [])
    assert proc.returncode == 1 and "unknown cohort 'nosuch_demo'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exp_run_restricts_every_stage_to_the_listed_cohorts(study):
    """Runs last: it rewrites params.yaml in the copy."""
    copy = study["copy"]
    proc = run(copy, EXP_RUN, study["ran"])
    study["exp_run"] = proc
    results = copy / "data" / "processed" / "results"
    report = read_json(copy / "data" / "processed" / "ingest_report.json")
    assert sorted(report["cohorts"]) == RESTRICTED
    scores, themes = read_json(results / "scores.json"), read_json(results / "themes.json")
    assert set(scores["feedback"]) <= set(RESTRICTED) and set(scores["change"]) - {"pooled"} <= set(RESTRICTED)
    assert set(themes["by_cohort"]) == set(RESTRICTED)


def test_exp_run_renders_the_paper_for_the_listed_cohorts_only(study):
    """The restricted run's paper counts, tabulates and quotes only the listed cohorts."""
    ok(study["exp_run"])
    copy = study["copy"]
    variables = yaml.safe_load((copy / "paper" / "_variables.yml").read_text(encoding="utf-8"))
    assert variables["study"]["n_cohorts"] == str(len(RESTRICTED))
    assert variables["roles"]["lead"]["cohort"] == "llr_cd"  # the only listed cohort with two waves
    flags = yaml.safe_load((copy / "paper" / "_study.yml").read_text(encoding="utf-8"))
    assert flags["study_has_lead"] and not flags["study_has_then_test"] and not flags["study_is_twin"]
    page = (copy / "paper" / "_output" / "index.html").read_text(encoding="utf-8")
    # the cohorts table names each listed cohort by its programme's label, never by its id
    records = paper_inputs.cohort_records(paper_inputs.read_cohorts(copy / "data" / "processed"))
    assert sorted(str(r["cohort"]) for r in records) == RESTRICTED
    assert sorted(table_rows(page, "cohorts")) == sorted(paper_tables.cohort_labels(records).values())
    text = " ".join(lxml_html.fromstring(page).text_content().split())
    assert "No cohort in this run gave a retrospective then-test" in text
    assert "Some cohorts in this paper are simulated" in text  # qualtrics_demo is a survey export


def doc_commands(path: Path = DOC) -> list[str]:
    """The commands of the ```console blocks of a Markdown file ('$ ' lines, comments dropped)."""
    commands, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console" and not inside
            continue
        if inside and line.startswith("$ "):
            commands.append(" ".join(shlex.split(line[2:], comments=True)))
    return commands


def test_every_command_in_adapting_md_was_run(study):
    commands = doc_commands()
    assert len(commands) >= 5
    ran = {" ".join(shlex.split(c)) for c in study["ran"]}
    missing = [c for c in commands if c not in ran]
    assert not missing, f"docs/adapting.md commands no test runs: {missing}"


def test_doc_commands_parser_reads_console_blocks(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("```console\n$ dvc repro   # all\n$ pcnstudy report x\nout\n```\n```text\n$ not me\n```\n",
                   encoding="utf-8")
    assert doc_commands(doc) == ["dvc repro", "pcnstudy report x"]
