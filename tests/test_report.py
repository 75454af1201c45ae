"""The cohort report: pooling the other cohorts, the report's content, and `pcnstudy report`.

Runs on a small results fixture (tests/data/results/report: cohorts a, b and c, c
suppressed) whose pooled values are known by hand or from published tables
(tests/results/report_reference.json). The end-to-end run on real exports is
tests/test_adapting.py.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from lxml import html as lxml_html

from pcnstudy.ingest.cohorts_table import cohorts_frame
from pcnstudy.paper.report import (
    build_report,
    pooled_change_others,
    pooled_counts_others,
    read_table,
    report_command,
    results_cohorts,
)
from pcnstudy.paper.values import format_value

HERE = Path(__file__).parent
FIXTURE = HERE / "data" / "results" / "report"
RESULTS = FIXTURE / "data" / "processed" / "results"
REFERENCE = json.loads((HERE / "results" / "report_reference.json").read_text(encoding="utf-8"))
TOLERANCES = {"published_4dp": 0.5e-4 + 1e-9, "hand_1e9": 1e-9}


def check(got: dict, name: str) -> None:
    for stat, (value, tol) in REFERENCE[name].items():
        assert got[stat] == pytest.approx(value, abs=TOLERANCES[tol]), (name, stat)


def write_cohorts_table(dest: Path, configs: list[dict]) -> None:
    """data/processed/cohorts.csv of ``configs`` (cohort.yml contents), as the ingest stage writes it."""
    cohorts_frame(configs).to_csv(dest / "data" / "processed" / "cohorts.csv", index=False)


@pytest.fixture()
def project(tmp_path: Path, root: Path) -> Path:
    """A copy of the fixture with the study's config, as a project root.

    The fixture's cohort.yml files become the processed cohorts table the ingest stage
    writes, and data/raw is removed: the report reads only processed data."""
    dest = tmp_path / "study"
    shutil.copytree(FIXTURE, dest)
    shutil.copytree(root / "config", dest / "config")
    (dest / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    raw = dest / "data" / "raw"
    write_cohorts_table(dest, [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(raw.glob("*/cohort.yml"))])
    shutil.rmtree(raw)
    return dest


def table_rows(page: str, caption_word: str) -> list[list[str]]:
    """Cell texts of each body row of the HTML table whose caption contains ``caption_word``."""
    tree = lxml_html.fromstring(page)
    for table in tree.iter("table"):
        caption = " ".join(table.xpath("string(.//caption)").split())
        if caption_word in caption:
            return [[" ".join(td.text_content().split()) for td in tr.findall("td")]
                    for tr in table.xpath(".//tbody/tr")]
    raise AssertionError(f"no table captioned {caption_word!r}")


# --------------------------------------------------------------------------- pooling


def test_pooled_change_of_two_others_matches_hand_computed_fixed_effect():
    pooled = pooled_change_others(read_table(RESULTS / "scores" / "change_scores.csv"), "cohort_c")
    rec = pooled["leadership"]
    assert rec["k"] == 2 and rec["cohorts"] == "cohort_a, cohort_b"
    assert rec["tau2"] == pytest.approx(0.0, abs=1e-12)
    check(rec, "pooled_a_b")


def test_pooled_change_leaves_out_the_cohort_and_suppressed_cohorts_and_uses_the_last_wave():
    pooled = pooled_change_others(read_table(RESULTS / "scores" / "change_scores.csv"), "cohort_a")
    rec = pooled["leadership"]
    assert rec["k"] == 1 and rec["cohorts"] == "cohort_b"  # c is suppressed; b's mid row is not its last
    check(rec, "pooled_b_alone")


def test_pooled_counts_add_the_others_published_counts_with_wilson_interval():
    table = read_table(RESULTS / "scores" / "feedback_proportions.csv")
    pooled = pooled_counts_others(table, "cohort_a", key="item", n_col="n", k_col="k")
    rec = pooled["would_recommend"]
    assert (rec["k"], rec["n"], rec["n_cohorts"]) == (81, 263, 2)  # b's baseline row is not its last wave
    assert rec["prop"] == pytest.approx(81 / 263)
    check({"low": rec["prop_ci_low"], "high": rec["prop_ci_high"]}, "wilson_81_263")
    assert pooled["took_action"]["n"] == 0  # only a suppressed row: nothing to add


def test_pooled_theme_counts_read_the_cohort_rows_of_prevalence():
    table = read_table(RESULTS / "themes" / "prevalence.csv")
    pooled = pooled_counts_others(table, "cohort_a", key="theme", n_col="n_total", k_col="n",
                                  where={"dimension": "cohort"})
    rec = pooled["protected_time"]
    assert (rec["k"], rec["n"], rec["n_cohorts"]) == (15, 148, 1)
    check({"low": rec["prop_ci_low"], "high": rec["prop_ci_high"]}, "wilson_15_148")


def test_results_cohorts_excludes_the_pooled_rows():
    scores = json.loads((RESULTS / "scores.json").read_text())
    themes = json.loads((RESULTS / "themes.json").read_text())
    assert results_cohorts(scores, themes) == ["cohort_a", "cohort_b", "cohort_c"]


# --------------------------------------------------------------------------- content


def test_build_report_holds_the_cohorts_numbers_and_quotes(project):
    content = build_report("cohort_a", project)
    flat = content["variables"]
    assert flat["cohort.change.leadership.pct_change"] == "16.7"
    assert flat["cohort.feedback.would_recommend.pct"] == "90.0"
    assert flat["cohort.themes.protected_time.prop"] == "35.0"
    assert flat["study.others"] == "Programme B (cohort_b), cohort_c"  # by the paper's label where the cohort has one
    quotes = content["quotes"]
    # the study's quote rule: 6+ words carrying the theme, one a person, seed-matched and highest score first; another cohort's text never
    assert list(quotes["id"]) == ["cohort_a-end-2-valued_most", "cohort_a-end-3-valued_most"]
    assert "Leadership skills" in content["tables"]["change"]
    cohort = content["tables"]["cohort"]  # the cohort's row of the processed cohorts table
    for row in ("| Programme | Programme A |", "| PCNs | 3 |", "| Dates | 2020-09-01 to 2021-06-30 |",
                "| Waves | baseline, end |"):
        assert row in cohort, row
    assert flat["cohort.programme"] == "Programme A"
    assert build_report("cohort_c", project)["variables"]["cohort.programme"] == \
        "programme not stated in cohort.yml"  # its cohort.yml leaves the programme empty


def test_report_renders_html_and_pdf_with_the_cohorts_numbers(project, capsys):
    assert report_command("cohort_a", root=project) == 0
    page = (project / "reports" / "cohort-cohort_a.html").read_text(encoding="utf-8")
    change = table_rows(page, "Change in self-rated capability")
    row = next(r for r in change if r[0] == "Leadership skills")
    assert row[1:8] == ["10", "3.00", "3.50", "0.50", "(-0.07, 1.07)", "16.7", "0.090"]
    assert row[8].startswith(format_value("estimate", 0.7) + " (0.26, 1.14) k=1")
    feedback = table_rows(page, "Feedback")
    row = next(r for r in feedback if r[0] == "I would recommend the programme to colleagues")
    assert row[1:] == ["10", "9", "90.0", "(59.6, 98.2)", "81 of 263", "30.8", "(25.5, 36.6)"]
    took = next(r for r in feedback if r[0] != row[0])
    assert took[5] == "none"  # the only other row is suppressed
    themes = table_rows(page, "Theme prevalence")
    assert themes[0][1:4] == ["20", "7", "35.0"]
    assert "finally plan with partners" in page and "best part of the whole programme" not in page
    pdf = project / "reports" / "cohort-cohort_a.pdf"
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert "cohort_a" in text and "16.7" in text
    assert not list((project / "reports").glob(".cohort-*")), "build folder left behind"


def test_suppressed_cohort_shows_the_marker(project):
    content = build_report("cohort_c", project)
    assert content["variables"]["cohort.change.leadership.pct_change"] == "<5"
    assert "<5" in content["tables"]["change"].replace("\\", "")


@pytest.mark.parametrize("name, code, words", [
    ("nosuch", 1, "unknown cohort 'nosuch'"),
    ("Bad-Name", 2, "not a cohort id"),
])
def test_bad_names_exit_with_one_line(project, capsys, name, code, words):
    assert report_command(name, root=project) == code
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cohort_without_results_says_run_dvc_repro(project, capsys):
    write_cohorts_table(project, [{"cohort": c} for c in ("cohort_a", "cohort_b", "cohort_c", "cohort_d")])
    assert report_command("cohort_d", root=project) == 1
    err = capsys.readouterr().err.strip()
    assert "no results for cohort 'cohort_d'" in err and "dvc repro" in err


def test_missing_results_say_run_dvc_repro(project, capsys):
    shutil.rmtree(project / "data" / "processed" / "results")
    assert report_command("cohort_a", root=project) == 1
    err = capsys.readouterr().err.strip()
    assert "scores.json: no such file; run `dvc repro` first" in err and len(err.splitlines()) == 1


def test_a_retrospective_cohort_reports_its_then_vs_now_change_alone(project):
    """A cohort surveyed once with a then-test: its report shows now minus then on the same
    respondents, says it is retrospective, and pools it with no other cohort."""
    configs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((FIXTURE / "data" / "raw").glob("*/cohort.yml"))]
    configs.append({"cohort": "fed", "programme": "System leadership programme for GP federation leaders",
                    "region": "East Lancashire", "n_pcns": 7, "waves": ["follow_up"], "retrospective_waves": ["then"],
                    "demo": True})
    write_cohorts_table(project, configs)
    scores_path = project / "data" / "processed" / "results" / "scores.json"
    scores = json.loads(scores_path.read_text(encoding="utf-8"))
    scores["then_test"] = {"fed": {"leadership": {"then_vs_post": {
        "n_pairs": 24, "mean_from": 2.8889, "mean_to": 3.7743, "mean_diff": 0.8854, "diff_ci_low": 0.6950,
        "diff_ci_high": 1.0759, "pct_change": 0.3065, "p_t": 1.2e-9}}}}
    scores_path.write_text(json.dumps(scores), encoding="utf-8")
    content = build_report("fed", project)
    change = content["tables"]["change"]
    assert "Retrospective change" in change and "Then (retrospective)" in change
    assert "| Leadership skills | 24 | 2.89 | 3.77 | 0.89 | (0.69, 1.08) | 30.6 |" in change
    assert "Other cohorts pooled" not in change  # pooled with no other cohort
    intro = content["variables"]["cohort.change_intro"]
    assert "retrospective" in intro and "meta-analysis" in intro
    assert "| Respondents analysed | 24 |" in content["tables"]["cohort"]
    assert "retrospective then-test" in content["tables"]["cohort"]
    # the other cohorts' reports do not pool it either
    assert "fed" not in build_report("cohort_a", project)["pooled"]["change"].get("leadership", {}).get("cohorts", "")
