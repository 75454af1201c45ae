"""Anonymous designs at ingest: cohort.yml ``design``, row pseudonyms, self-generated code linking.

Known truth: the fixtures of tests/data/anonymous (make_anonymous.py builds each end-wave
row's link, or its absence, by construction; expected.json records it), and linkage
examples worked by hand below.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from leakscan import collect_raw_ids, find_raw_ids
from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml
from pcnstudy.ingest.cohort_ingester import ingest_cohort
from pcnstudy.ingest.cohorts_table import cohorts_frame, study_design
from pcnstudy.ingest.commands import validate_command
from pcnstudy.ingest.linkage import COUNTS, CodeRow, link_waves, normalise_code, one_element_apart
from pcnstudy.ingest.pseudonym import DEMO_KEY, pseudonymise
from pcnstudy.ingest.stage import IngestSettings, compute, read_inputs, write
from pcnstudy.ingest.validate import CohortConfigError, load_cohort

FIXTURES = Path(__file__).parent / "data" / "anonymous"
SGIC = FIXTURES / "sgic_cohort"
GFORMS = FIXTURES / "gforms_feedback"
EXPECTED = json.loads((SGIC / "expected.json").read_text(encoding="utf-8"))
KEY = b"test-key"


def instrument() -> dict:
    return load_yaml(paths.INSTRUMENT)


def row_pseudonym(cohort: str, file: str, row: int, key: bytes = KEY) -> str:
    """The documented pseudonym of a row no id links: HMAC of ``row:<cohort>/<file>:<row>``."""
    return pseudonymise(f"row:{cohort}/{file}:{row}", key)


# --------------------------------------------------------------------------- linkage, by hand


def rows(*spec: tuple[str, str, str | None]) -> list[CodeRow]:
    return [CodeRow(key, wave, None if code is None else normalise_code([code])) for key, wave, code in spec]


def test_normalise_code_elements():
    assert normalise_code(["  AB 03 "]) == ("a", "b", "0", "3")  # one column: its characters
    assert normalise_code(["Ma", " 14", "7.0"]) == ("ma", "14", "7")  # several: their values
    assert normalise_code(["", None]) is None
    assert normalise_code(["Ma", "", "7"]) == ("ma", "", "7")


def test_one_element_apart_is_a_substitution_only():
    assert one_element_apart(("a", "b", "0", "3"), ("a", "b", "0", "8"))
    assert not one_element_apart(("a", "b", "0", "3"), ("a", "b", "0", "3"))
    assert not one_element_apart(("a", "b", "0", "3"), ("b", "a", "0", "3"))  # a swap is two elements
    assert not one_element_apart(("a", "b", "0", "3"), ("a", "b", "3"))  # a dropped character


def test_single_column_codes_link_exactly_then_one_character_apart():
    linked = link_waves(rows(("b1", "pre", "AB03"), ("b2", "pre", "CD11"), ("b3", "pre", "EF20"),
                             ("e1", "post", "ab03"), ("e2", "post", "CD17"), ("e3", "post", "XY99"),
                             ("e4", "post", None)), ["pre", "post"])
    assert linked.respondent == {"b1": "b1", "b2": "b2", "b3": "b3", "e1": "b1", "e2": "b2", "e3": "e3", "e4": "e4"}
    assert linked.counts["post"] == {"rows": 4, "linked_exact": 1, "linked_tolerant": 1, "ambiguous": 0,
                                     "unlinked": 1, "no_code": 1}
    assert linked.counts["pre"]["unlinked"] == 3 and list(linked.counts["pre"]) == list(COUNTS)


def test_a_tolerant_match_that_is_not_unique_either_way_is_ambiguous():
    # e1 is one character from b1 and from b2; b3 is the only neighbour of e2 and of e3
    linked = link_waves(rows(("b1", "pre", "AB03"), ("b2", "pre", "AB08"), ("b3", "pre", "KL55"),
                             ("e1", "post", "AB00"), ("e2", "post", "KL56"), ("e3", "post", "KL57")), ["pre", "post"])
    assert {k: linked.respondent[k] for k in ("e1", "e2", "e3")} == {"e1": "e1", "e2": "e2", "e3": "e3"}
    assert linked.counts["post"]["ambiguous"] == 3 and linked.counts["post"]["linked_tolerant"] == 0


def test_a_code_shared_within_a_wave_links_nobody_and_a_third_wave_links_to_the_earliest_row():
    linked = link_waves(rows(("b1", "w1", "AB03"), ("b2", "w1", "AB03"), ("c1", "w1", "ZZ11"),
                             ("m1", "w2", "ZZ11"), ("m2", "w2", "AB03"), ("e1", "w3", "ZZ12")), ["w1", "w2", "w3"])
    assert linked.counts["w1"]["ambiguous"] == 2
    assert linked.respondent["m1"] == "c1" and linked.respondent["e1"] == "c1"
    assert linked.respondent["m2"] == "m2" and linked.counts["w2"]["ambiguous"] == 1  # two earlier AB03s


# --------------------------------------------------------------------------- cohort.yml


MINIMAL = """cohort: x
waves: [baseline, end]
files:
- path: a.csv
  wave: baseline
columns:
{columns}
  items:
    Q1: lead_1
"""


def write_cohort(tmp_path: Path, columns: str, extra: str = "") -> Path:
    folder = tmp_path / "x"
    folder.mkdir(exist_ok=True)
    (folder / "cohort.yml").write_text(extra + MINIMAL.format(columns=columns), encoding="utf-8")
    return folder


def test_design_absent_is_paired_and_respondent_id_stays_required(tmp_path):
    assert load_cohort(write_cohort(tmp_path, "  respondent_id: ID"))["design"] == "paired"
    with pytest.raises(CohortConfigError, match=r"cohort.yml:6: columns.respondent_id is required .*design: anonymous"):
        load_cohort(write_cohort(tmp_path, "  date: When"))


@pytest.mark.parametrize(("extra", "columns", "message"), [
    ("design: anonymus\n", "  date: When", r"cohort.yml:1: design 'anonymus' must be one of paired, anonymous, self_code"),
    ("design: self_code\n", "  date: When", r"cohort.yml:7: design: self_code needs columns.self_code"),
    ("design: self_code\n", "  self_code: []", r"cohort.yml:8: design: self_code needs columns.self_code"),
    ("design: self_code\n", "  self_code: [A, A]", r"cohort.yml:8: design: self_code needs columns.self_code"),
    ("design: self_code\n", "  self_code: Q1", r"cohort.yml:8: columns.self_code header 'Q1' is also mapped"),
    ("design: anonymous\n", "  self_code: Code", r"cohort.yml:8: columns.self_code is read only with design: self_code"),
    ("", "  respondent_id: ID\n  self_code: Code", r"cohort.yml:8: columns.self_code is read only with design: self_code"),
    ("design: anonymous\n", "  respondent_id: ID", r"cohort.yml:8: design: anonymous takes no columns.respondent_id"),
])
def test_design_errors_name_the_file_and_line(tmp_path, extra, columns, message):
    with pytest.raises(CohortConfigError, match=message):
        load_cohort(write_cohort(tmp_path, columns, extra))


def test_self_code_columns_become_a_list(tmp_path):
    config = load_cohort(write_cohort(tmp_path, "  self_code: Code", "design: self_code\n"))
    assert config["design"] == "self_code" and config["columns"]["self_code"] == ["Code"]
    assert load_cohort(write_cohort(tmp_path, "  respondent_id:\n  date: When", "design: anonymous\n"))["design"] == "anonymous"


@pytest.mark.parametrize(("design", "waves", "expected"), [
    ("paired", ["baseline", "end"], "paired"), (None, ["a", "b", "c"], "paired"), ("self_code", ["a", "b"], "linked"),
    ("anonymous", ["a", "b"], "unpaired"), ("anonymous", ["end"], "single_wave"), ("paired", ["end"], "single_wave"),
])
def test_study_design_of_the_cohorts_table(design, waves, expected):
    config = {"cohort": "x", "waves": waves, **({"design": design} if design else {})}
    assert study_design(config) == expected
    assert cohorts_frame([config])["design"].tolist() == [expected]


# --------------------------------------------------------------------------- fixtures through ingest


def test_self_code_fixture_links_as_built():
    data = ingest_cohort(SGIC, KEY, instrument())
    assert not [p for p in data.problems if p.fatal]
    assert data.linkage == EXPECTED["linkage"]
    assert [(s.rows_read, s.rows_kept, s.rows_quarantined) for s in data.files.values()] == [(12, 12, 0), (13, 13, 0)]
    waves = {r["respondent"]: r["waves"] for r in data.records["respondents"]}
    linked_baseline = set()
    for end_row, target in EXPECTED["end_row_links_to_baseline_row"].items():
        own = row_pseudonym("sgic_cohort", "end.csv", int(end_row))
        if target is None:
            assert waves[own] == "end", end_row
        else:
            assert own not in waves, end_row
            assert waves[row_pseudonym("sgic_cohort", "baseline.csv", target)] == "baseline;end", end_row
            linked_baseline.add(target)
    for row in range(2, 14):
        if row not in linked_baseline:
            assert waves[row_pseudonym("sgic_cohort", "baseline.csv", row)] == "baseline"
    assert len(waves) == 12 + 13 - 8  # every row kept: 8 end rows linked to a baseline row
    ratings = pd.DataFrame(data.records["ratings"])
    assert not ratings.duplicated(["respondent", "wave", "item"]).any()
    assert data.no_baseline == 5  # the end rows left unlinked
    assert data.codes >= set(EXPECTED["codes"])


def test_self_code_counts_reach_the_report_and_validate(capsys):
    inputs = read_inputs(FIXTURES, ["sgic_cohort", "gforms_feedback"], paths.INSTRUMENT, None, None, key=KEY)
    result = compute(inputs, IngestSettings(("sgic_cohort", "gforms_feedback"), "UNSET_ENV", "/nonexistent"))
    assert result.report["cohorts"]["sgic_cohort"]["design"] == "self_code"
    assert result.report["cohorts"]["sgic_cohort"]["linkage"] == EXPECTED["linkage"]
    assert result.report["cohorts"]["gforms_feedback"]["design"] == "anonymous"
    assert "linkage" not in result.report["cohorts"]["gforms_feedback"]
    frame = result.linkage_frame()
    assert frame.loc[("sgic_cohort", "end")].to_dict() == EXPECTED["linkage"]["end"]
    assert list(frame.index) == [("sgic_cohort", "baseline"), ("sgic_cohort", "end")]
    assert dict(zip(result.cohorts["cohort"], result.cohorts["design"])) == {"gforms_feedback": "single_wave",
                                                                             "sgic_cohort": "linked"}
    assert validate_command(SGIC) == 0
    out = capsys.readouterr().out
    assert "sgic_cohort end: 13 rows; linked 6 exact, 2 tolerant; 3 ambiguous, 1 unlinked, 1 without a code" in out


def test_codes_never_reach_an_output(tmp_path):
    inputs = read_inputs(FIXTURES, ["sgic_cohort"], paths.INSTRUMENT, None, None, key=DEMO_KEY)
    out = tmp_path / "processed"
    write(compute(inputs, IngestSettings(("sgic_cohort",), "UNSET_ENV", "/nonexistent")), out)
    assert set(EXPECTED["codes"]) <= collect_raw_ids(FIXTURES)  # the scanner looks for every code
    assert find_raw_ids(FIXTURES, [out]) == []
    (tmp_path / "control.csv").write_text("respondent,note\nx,Ma147\n", encoding="utf-8")
    assert [h.raw_id for h in find_raw_ids(FIXTURES, [tmp_path / "control.csv"])] == ["Ma147"]


def test_single_wave_anonymous_form_keeps_every_row(tmp_path):
    data = ingest_cohort(GFORMS, KEY, instrument())
    stats = data.files["gforms_feedback/feedback.csv"]
    assert (stats.rows_read, stats.rows_kept, stats.rows_quarantined) == (9, 9, 0)  # two share a timestamp
    respondents = sorted(r["respondent"] for r in data.records["respondents"])
    assert respondents == sorted(row_pseudonym("gforms_feedback", "feedback.csv", r) for r in range(2, 11))
    assert len(data.records["feedback"]) == 9 * 4 and not [p for p in data.problems if p.fatal]
    assert data.raw_ids == set() and data.linkage == {}
    again = ingest_cohort(GFORMS, KEY, instrument())
    assert again.records == data.records  # deterministic


def test_anonymous_rows_are_never_linked_even_with_an_identical_row(tmp_path):
    folder = tmp_path / "gforms_feedback"
    shutil.copytree(GFORMS, folder)
    (folder / "cohort.yml").write_text(
        (folder / "cohort.yml").read_text(encoding="utf-8").replace("waves: [end]", "waves: [start, end]").replace(
            "files:\n", "files:\n- path: start.csv\n  wave: start\n"), encoding="utf-8")
    shutil.copy(folder / "feedback.csv", folder / "start.csv")  # the same answers, row for row
    data = ingest_cohort(folder, KEY, instrument())
    assert len(data.records["respondents"]) == 18
    assert {r["waves"] for r in data.records["respondents"]} == {"start", "end"}
    assert data.no_baseline == 0


@pytest.mark.skipif(not (paths.RAW / "nw_cd" / "cohort.yml").is_file(), reason="data/raw/nw_cd absent: pcnstudy simulate")
def test_simulated_anonymous_cohort_is_unpaired():
    config = load_cohort(paths.RAW / "nw_cd")
    data = ingest_cohort(paths.RAW / "nw_cd", DEMO_KEY, instrument(), config)
    truth = json.loads((paths.TRUTH / "effects.json").read_text(encoding="utf-8"))["cohorts"]["nw_cd"]
    sizes = truth["sizes"]
    assert config["design"] == "anonymous" and truth["design"] == "anonymous"
    assert len(data.records["respondents"]) == sizes["baseline"] + sizes["end"]
    assert {r["waves"] for r in data.records["respondents"]} == {"baseline", "end"}
    assert all(s.rows_quarantined == 0 for s in data.files.values())
    assert study_design(config) == "unpaired"
    # the realised per-wave means the generator recorded are what ingest reads back
    ratings = pd.DataFrame(data.records["ratings"])
    per = ratings.groupby(["domain", "wave", "respondent"])["score"].mean().groupby(["domain", "wave"]).mean()
    for domain, entry in truth["sample"].items():
        for wave, mean in entry["mean"].items():
            assert per[(domain, wave)] == pytest.approx(mean, abs=1e-12), (domain, wave)


def brute_force_link(rows: list[CodeRow], waves: list[str]) -> dict:
    """The linking rule written out plainly (every pair compared): the oracle of link_waves' indexed passes."""
    people: list[dict] = []  # {"key", "codes", "waves"}
    out = {}
    for wave in waves:
        mine = [r for r in rows if r.wave == wave]
        earlier = [p for p in people if wave not in p["waves"]]
        codes = [r.code for r in mine if r.code is not None]
        link: dict = {}
        ambiguous = {r.key for r in mine if r.code is not None and codes.count(r.code) > 1}
        single = [r for r in mine if r.code is not None and r.key not in ambiguous]
        exact = {r.key: [i for i, p in enumerate(earlier) if r.code in p["codes"]] for r in single}
        for r in single:
            found = exact[r.key]
            if len(found) == 1 and sum(exact[o.key] == found for o in single) == 1:
                link[r.key] = found[0]
            elif found:
                ambiguous.add(r.key)
        taken = set(link.values())
        left = [r for r in single if not exact[r.key]]
        near = {r.key: [i for i, p in enumerate(earlier) if i not in taken
                        and any(one_element_apart(r.code, c) for c in p["codes"])] for r in left}
        for r in left:
            found = near[r.key]
            if len(found) == 1 and sum(found[0] in near[o.key] for o in left) == 1:
                link[r.key] = found[0]
            elif found:
                ambiguous.add(r.key)
        for r in mine:
            person = earlier[link[r.key]] if r.key in link else None
            if person is None:
                person = {"key": r.key, "codes": set(), "waves": set()}
                people.append(person)
            if r.code is not None:
                person["codes"].add(r.code)
            person["waves"].add(wave)
            out[r.key] = person["key"]
    return out


@pytest.mark.parametrize("seed", range(20))
def test_link_waves_agrees_with_the_plain_rule(seed):
    import random

    rng = random.Random(seed)
    waves = ["w1", "w2", "w3"]
    rows = [CodeRow((w, i), w, None if rng.random() < 0.05 else normalise_code(
        [rng.choice("ab"), rng.choice("xyz"), str(rng.randint(0, 3))]))
        for w in waves for i in range(rng.randint(5, 25))]
    assert link_waves(rows, waves).respondent == brute_force_link(rows, waves)


def test_a_wave_without_the_code_column_is_set_aside_with_its_reason(tmp_path):
    folder = tmp_path / "sgic_cohort"
    shutil.copytree(SGIC, folder)
    frame = pd.read_csv(folder / "end.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=["Day of the month you were born"]).to_csv(folder / "end.csv", index=False)
    data = ingest_cohort(folder, KEY, instrument())
    stats = data.files["sgic_cohort/end.csv"]
    assert (stats.rows_read, stats.rows_kept, stats.rows_quarantined) == (13, 0, 13)
    reasons = {p.reason for p in data.problems if p.file == "sgic_cohort/end.csv"}
    assert "row set aside: the self-generated code column 'Day of the month you were born' is missing" in reasons
    assert "mapped column (self_code) is missing from the export" in reasons
