"""The simulated twin: byte-identical regeneration, calibration to the published
figures, and a generating truth that agrees with the files written."""
from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from pathlib import Path

import nhs_number
import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from pcnstudy.core import paths
from pcnstudy.simulate.config import cohort_spec, load_config, load_instrument
from pcnstudy.simulate.ratings import RATINGS_COLUMNS, simulate_ratings
from pcnstudy.simulate.study import PII_COLUMNS, TEXT_THEMES_COLUMNS, simulate_command
from pcnstudy.simulate.truth import expected_score, true_effects
from pcnstudy.simulate.export_cells import write_xlsx
from pcnstudy.simulate.text import make_nhs_number, nhs_check_digit
from pcnstudy.core.params import load_params

ROOT = paths.ROOT
RAW = ROOT / "data" / "raw"
TRUTH = ROOT / "data" / "simulation_truth"
TARGETS = json.loads((ROOT / "tests" / "results" / "simulate_targets.json").read_text())
CONFIG = load_config(ROOT / "config" / "simulation.yml")
COHORTS = sorted(CONFIG["cohorts"])
INSTRUMENT = load_instrument(ROOT / "config" / "instrument.yml")
LABELS = {v.lower(): int(k) for k, v in INSTRUMENT["scale"]["labels"].items()}
YES = {"yes", "y", "true", "1"}
MISSING = {"", "n/a", "-", "none", "no answer"}
NO = {"no", "n", "false", "0"}

# Named tolerances
SOLVER_TOL = 1e-9          # root-finding of the latent shift
MONTE_CARLO_TOL = 0.02     # analytic population means vs a 20,000-respondent draw
SAMPLING_Z = 3.0           # realised sample figures within this many standard errors of the target


# ----------------------------------------------------------------------------- readers (independent of pcnstudy)


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV or XLSX export, all cells as strings ('' when blank)."""
    if path.suffix == ".xlsx":
        ws = load_workbook(path, read_only=True).active
        rows = [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    else:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def cohort_meta(cohort: str) -> dict:
    return yaml.safe_load((RAW / cohort / "cohort.yml").read_text(encoding="utf-8"))


def likert(value: str) -> float:
    value = value.strip()
    if not value:
        return math.nan
    return float(value) if value.isdigit() else float(LABELS[value.lower()])


def domain_means(cohort: str, wave: str) -> dict[str, np.ndarray]:
    """Per respondent domain means (mean of answered items) of one wave's file."""
    meta = cohort_meta(cohort)
    file = next(f for f in meta["files"] if f["wave"] == wave)
    header, rows = read_table(RAW / cohort / file["path"])
    item_of = meta["columns"]["items"]
    domain_of = {it["id"]: it["domain"] for it in INSTRUMENT["items"]}
    out = {}
    for domain in INSTRUMENT["domains"]:
        cols = [header.index(h) for h, i in item_of.items() if domain_of[i] == domain]
        values = np.array([[likert(r[c]) for c in cols] for r in rows])
        out[domain] = np.nanmean(values, axis=1)
    return out


# ----------------------------------------------------------------------------- regeneration


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("raw")
    truth = tmp_path_factory.mktemp("truth")
    seed = load_params(ROOT / "params.yaml")["simulate"]["seed"]
    code = simulate_command(config=ROOT / "config" / "simulation.yml", out=out, truth=truth, seed=seed)
    assert code == 0
    return out, truth


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_regeneration_is_byte_identical(regenerated):
    out, truth = regenerated
    for cohort in COHORTS:
        assert _files(out / cohort) == _files(RAW / cohort), cohort
        for name in _files(out / cohort):
            assert (out / cohort / name).read_bytes() == (RAW / cohort / name).read_bytes(), f"{cohort}/{name}"
    for name in ("effects.json", "text_themes.csv", "pii.csv"):
        assert (truth / name).read_bytes() == (TRUTH / name).read_bytes(), name


def test_text_files_use_unix_line_ends():
    for path in list(RAW.rglob("*.csv")) + list(RAW.rglob("*.txt")) + list(TRUTH.glob("*.csv")):
        assert b"\r\n" not in path.read_bytes(), path


def test_xlsx_metadata_and_zip_times_are_fixed(tmp_path):
    stamp = pd.Timestamp(CONFIG["fixed_timestamp"]).to_pydatetime()
    write_xlsx(tmp_path / "a.xlsx", ["h"], [["1"]], stamp)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        assert {info.date_time for info in zf.infolist()} == {stamp.timetuple()[:6]}
        core = zf.read("docProps/core.xml").decode()
    assert core.count(stamp.strftime("%Y-%m-%dT%H:%M:%SZ")) == 2
    write_xlsx(tmp_path / "b.xlsx", ["h"], [["1"]], stamp)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_other_seed_gives_other_data(tmp_path):
    assert simulate_command(out=tmp_path / "r", truth=tmp_path / "t", seed=1) == 0
    assert (tmp_path / "r" / "ss_als" / "end.csv").read_bytes() != (RAW / "ss_als" / "end.csv").read_bytes()


# ----------------------------------------------------------------------------- bad input


def test_bad_config_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "simulation.yml"
    bad.write_text("cohorts:\n  x:\n    pcns: [A]\n    n_respondents: 3\n", encoding="utf-8")
    (tmp_path / "phrases.yml").write_text((ROOT / "config" / "phrases.yml").read_text())
    assert simulate_command(config=bad, out=tmp_path / "r", truth=tmp_path / "t", seed=1) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(bad) in err and "waves" in err


def test_missing_config_is_reported(tmp_path, capsys):
    assert simulate_command(config=tmp_path / "none.yml", out=tmp_path, truth=tmp_path, seed=1) == 1
    assert "none.yml" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the ratings model


def test_expected_score_known_values():
    # symmetric latent about the scale's midpoint: expectation is the midpoint
    assert expected_score(3.0, 0.8) == pytest.approx(3.0, abs=1e-12)
    # far outside the scale: clipped to the ends
    assert expected_score(np.array([-10.0, 20.0]), 0.5) == pytest.approx([1.0, 5.0])
    # a point mass (tiny sd) at 3.7 rounds to 4
    assert expected_score(3.7, 1e-6) == pytest.approx(4.0)


def test_latent_shift_hits_the_target_exactly():
    spec = cohort_spec("llr_cd", CONFIG)
    truth = true_effects(spec, INSTRUMENT)
    for domain, target in TARGETS["llr_cd"]["pct_change"].items():
        assert truth[domain]["pct_change"]["end"] == pytest.approx(target, abs=SOLVER_TOL)
        assert truth[domain]["wave_effect"]["end"] == pytest.approx(target * truth[domain]["mean"]["baseline"], abs=SOLVER_TOL)


def test_population_truth_matches_a_large_draw():
    spec = cohort_spec("se_cohort2", CONFIG)
    spec.update(n_respondents=20000, join_at={}, attrition={}, skip=0.0, pcns=[f"P{k}" for k in range(200)])
    long = simulate_ratings(spec, np.random.default_rng(11), INSTRUMENT)
    assert list(long.columns) == RATINGS_COLUMNS
    truth = long.attrs["truth"]
    means = long.groupby(["domain", "wave"])["score"].mean()
    for domain, entry in truth.items():
        for wave, value in entry["mean"].items():
            assert means[(domain, wave)] == pytest.approx(value, abs=MONTE_CARLO_TOL), (domain, wave)
        assert means[(domain, "then")] == pytest.approx(entry["then"]["mean"], abs=MONTE_CARLO_TOL)
        assert entry["then"]["mean"] < entry["mean"]["baseline"]


def test_simulate_ratings_is_deterministic():
    spec = cohort_spec("llr_cd", CONFIG)
    a = simulate_ratings(spec, np.random.default_rng(5), INSTRUMENT)
    b = simulate_ratings(spec, np.random.default_rng(5), INSTRUMENT)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["score"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}


# ----------------------------------------------------------------------------- calibration of the committed sample


def test_llr_realised_changes_near_published_targets():
    base, end = domain_means("llr_cd", "baseline"), domain_means("llr_cd", "end")
    for domain, target in TARGETS["llr_cd"]["pct_change"].items():
        m0, m1 = np.nanmean(base[domain]), np.nanmean(end[domain])
        v0 = np.nanvar(base[domain], ddof=1) / np.isfinite(base[domain]).sum()
        v1 = np.nanvar(end[domain], ddof=1) / np.isfinite(end[domain]).sum()
        se = math.sqrt(v1 / m0**2 + v0 * m1**2 / m0**4)  # delta method, ignoring the (positive) covariance
        realised = m1 / m0 - 1
        assert abs(realised - target) < SAMPLING_Z * se, (domain, realised, target, se)


def test_llr_design():
    meta = cohort_meta("llr_cd")
    assert meta["n_pcns"] == TARGETS["llr_cd"]["n_pcns"]
    assert meta["waves"] == ["baseline", "end"]
    assert all(f["format"] == "xlsx" for f in meta["files"])
    header, rows = read_table(RAW / "llr_cd" / "end.xlsx")
    groups = {r[header.index(meta["columns"]["group"])] for r in rows}
    assert len(groups) == TARGETS["llr_cd"]["n_groups"]
    rec = header.index(next(h for h, i in meta["columns"]["feedback"].items() if i == "would_recommend"))
    assert {r[rec].lower() for r in rows} <= YES
    labels = {r[header.index(h)] for r in rows for h in meta["columns"]["items"]} - {""}
    assert labels and all(not v.isdigit() for v in labels)
    ids = [r[header.index(meta["columns"]["respondent_id"])] for r in rows]
    assert all(re.fullmatch(r"[a-z]\.[a-z]+\d*@nhs\.net", i) for i in ids)


def test_als_counts_reproduce_published_percentages():
    meta = cohort_meta("ss_als")
    header, rows = read_table(RAW / "ss_als" / "end.csv")
    assert len(rows) == TARGETS["ss_als"]["n_responses"]
    spellings = set()
    counts = {}
    for head, item in meta["columns"]["feedback"].items():
        values = [r[header.index(head)].strip() for r in rows]
        spellings |= set(values)
        assert all(v.lower() in YES | NO for v in values)
        counts[item] = sum(v.lower() in YES for v in values)
    for item, percent in TARGETS["ss_als"]["published_percent"].items():
        assert round(100 * counts[item] / len(rows)) == percent, item
    assert len(spellings) >= 4  # mixed spellings
    assert len({r[header.index(meta["columns"]["group"])] for r in rows}) == 4


def test_se_design():
    metas = [cohort_meta(c) for c in ("se_cohort1", "se_cohort2")]
    assert sum(m["n_pcns"] for m in metas) == TARGETS["se"]["n_pcns_total"]
    ids = {}
    for meta in metas:
        assert meta["waves"] == TARGETS["se"]["waves"]
        people = {}
        for f in meta["files"]:
            header, rows = read_table(RAW / meta["cohort"] / f["path"])
            people[f["wave"]] = {r[header.index(meta["columns"]["respondent_id"])] for r in rows}
        ids[meta["cohort"]] = people
        assert people["mid"] - people["baseline"], "someone joins at mid"
        assert people["baseline"] - people["end"], "someone drops out"
    assert cohort_meta("se_cohort2")["retrospective_waves"] == ["then"]
    assert ids["se_cohort2"]["then"] == ids["se_cohort2"]["end"]
    assert {"name", "email"} <= set(metas[0]["columns"]) or {"name", "email"} <= set(metas[1]["columns"])


def test_then_test_is_below_baseline():
    base, then = domain_means("se_cohort2", "baseline"), domain_means("se_cohort2", "then")
    for domain in INSTRUMENT["domains"]:
        assert np.nanmean(then[domain]) < np.nanmean(base[domain]), domain


def test_bjgp_design():
    meta = cohort_meta("bjgp_qual")
    header, rows = read_table(RAW / "bjgp_qual" / "end.csv")
    assert len(rows) == TARGETS["bjgp_qual"]["n_text"]
    interviews = sorted((RAW / "bjgp_qual" / "interviews").glob("*.txt"))
    assert len(interviews) == TARGETS["bjgp_qual"]["n_interviews"]
    assert any(f["format"] == "text" for f in meta["files"])
    for path in interviews:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        assert all(line.startswith(("Interviewer: ", "Participant: ")) for line in lines)


# ----------------------------------------------------------------------------- truth agrees with the files


def _text_cells() -> dict[str, str]:
    """response_id -> text of every non-blank free-text cell and interview turn in data/raw."""
    found = {}
    for cohort in COHORTS:
        meta = cohort_meta(cohort)
        for f in meta["files"]:
            if f["format"] == "text":
                for path in sorted((RAW / cohort / f["path"]).glob("*.txt")):
                    turns = [l[len("Participant: "):] for l in path.read_text().splitlines() if l.startswith("Participant: ")]
                    for k, turn in enumerate(turns, start=1):
                        found[f"{cohort}-{f['wave']}-{path.stem}-{k}"] = turn
                continue
            header, rows = read_table(RAW / cohort / f["path"])
            for head, question in (meta["columns"].get("text") or {}).items():
                if head not in header:
                    continue
                for k, row in enumerate(rows, start=2):
                    if row[header.index(head)].strip().lower() not in MISSING:
                        found[f"{cohort}-{f['wave']}-{k}-{question}"] = row[header.index(head)]
    return found


def test_text_truth_covers_every_answer():
    truth = pd.read_csv(TRUTH / "text_themes.csv", keep_default_na=False)
    assert list(truth.columns) == TEXT_THEMES_COLUMNS
    cells = _text_cells()
    assert set(truth["response_id"]) == set(cells)
    codebook = yaml.safe_load((ROOT / "config" / "codebook.yml").read_text())
    known = {t["id"] for t in codebook["themes"]} | {"workload_pressure"}
    themes = [t for value in truth["themes"] for t in value.split(";") if t]
    assert set(themes) <= known
    assert "workload_pressure" in themes
    counts = truth["themes"].map(lambda v: len([t for t in v.split(";") if t]))
    assert counts.min() == 0 and counts.max() == 3
    als = truth[truth["cohort"] == "ss_als"]
    top = pd.Series([t for v in als["themes"] for t in v.split(";") if t]).value_counts().index[:3]
    assert set(top) == {"developing_relationships", "mdt_working", "protected_time"}


def test_pii_truth_is_in_the_text():
    pii = pd.read_csv(TRUTH / "pii.csv", dtype=str, keep_default_na=False)
    assert list(pii.columns) == PII_COLUMNS
    cells = _text_cells()
    assert 0.02 < len(pii) / len(cells) < 0.10
    for row in pii.itertuples():
        assert row.string in cells[row.text_response_id], row
        if row.kind == "nhs_number":
            assert nhs_number.is_valid(re.sub(r"\D", "", row.string))


def test_nhs_check_digit_known_example():
    example = TARGETS["nhs_number_valid_example"]
    assert nhs_check_digit(example[:9]) == int(example[9])
    numbers = [make_nhs_number(np.random.default_rng(k)) for k in range(50)]
    assert all(nhs_number.is_valid(n) for n in numbers)


def test_effects_truth_matches_file_sizes():
    effects = json.loads((TRUTH / "effects.json").read_text())["cohorts"]
    for cohort in COHORTS:
        meta = cohort_meta(cohort)
        for f in meta["files"]:
            if f["format"] == "text":
                continue
            _, rows = read_table(RAW / cohort / f["path"])
            assert effects[cohort]["sizes"][f["wave"]] == len(rows), (cohort, f["wave"])


def test_cohort_yml_shape():
    keys = ["cohort", "programme", "region", "n_pcns", "start", "end", "waves", "retrospective_waves",
            "instrument", "demo", "files", "columns", "names"]
    for cohort in COHORTS:
        meta = cohort_meta(cohort)
        design = CONFIG["cohorts"][cohort].get("design")  # written only where the spec gives one
        assert list(meta) == (keys[:10] + ["design"] + keys[10:] if design else keys)
        assert meta.get("design") == design
        assert meta["cohort"] == cohort and meta["demo"] is True
        for f in meta["files"]:
            assert (RAW / cohort / f["path"]).exists()
            assert f["wave"] in meta["waves"] + meta["retrospective_waves"]
            if f["format"] != "text":
                header, _ = read_table(RAW / cohort / f["path"])
                scalar = [v for k, v in meta["columns"].items() if isinstance(v, str)]
                assert set(scalar) <= set(header)


def test_no_seed_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("pcnstudy.simulate.study.load_params", lambda *a, **k: {})
    assert simulate_command(out=tmp_path / "r", truth=tmp_path / "t") == 2
    assert "seed" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- the retrospective cohort (seed 002)


def test_removing_the_federation_cohort_leaves_every_other_cohort_byte_identical(tmp_path):
    """Each cohort draws from its own stream: the East Lancashire cohort changes no other cohort's files."""
    config = yaml.safe_load((ROOT / "config" / "simulation.yml").read_text(encoding="utf-8"))
    del config["cohorts"]["elancs_fed"]
    (tmp_path / "simulation.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (tmp_path / "phrases.yml").write_text((ROOT / "config" / "phrases.yml").read_text(encoding="utf-8"))
    seed = load_params(ROOT / "params.yaml")["simulate"]["seed"]
    assert simulate_command(config=tmp_path / "simulation.yml", out=tmp_path / "r", truth=tmp_path / "t",
                            seed=seed) == 0
    for cohort in (c for c in COHORTS if c != "elancs_fed"):
        for name in _files(RAW / cohort):
            assert (tmp_path / "r" / cohort / name).read_bytes() == (RAW / cohort / name).read_bytes(), name


def test_federation_cohort_is_one_wave_with_a_then_test_of_the_same_leaders():
    meta = cohort_meta("elancs_fed")
    assert meta["waves"] == ["follow_up"] and meta["retrospective_waves"] == ["then"]
    assert meta["programme"] == "System leadership programme for GP federation leaders"
    header, now = read_table(RAW / "elancs_fed" / "follow_up.csv")
    then_header, then = read_table(RAW / "elancs_fed" / "then.csv")
    id_col, role_col = header.index(meta["columns"]["respondent_id"]), header.index(meta["columns"]["role"])
    assert len(now) == len(then) == 24
    assert sorted(r[id_col] for r in now) == sorted(r[then_header.index(meta["columns"]["respondent_id"])]
                                                   for r in then)
    assert all(r[role_col].startswith(("Federation", "Locality")) for r in now)  # federation leaders' posts
    question = next(h for h, q in meta["columns"]["text"].items() if q == "highlights")
    assert meta["columns"]["text"] == {question: "highlights"} and question in header
    truth = json.loads((TRUTH / "effects.json").read_text())["cohorts"]["elancs_fed"]
    assert truth["sizes"] == {"follow_up": 24, "then": 24}
    now_means, then_means = domain_means("elancs_fed", "follow_up"), domain_means("elancs_fed", "then")
    for domain, entry in truth["domains"].items():
        retro = entry["retrospective_change"]
        assert retro["mean_diff"] == pytest.approx(entry["mean"]["follow_up"] - entry["then"]["mean"], abs=1e-12)
        assert retro["mean_diff"] > 0.4
        # the realised then-vs-now change of the written files lies within sampling error of the truth
        by_id = dict(zip((r[then_header.index(meta["columns"]["respondent_id"])] for r in then), then_means[domain]))
        diff = np.array([m - by_id[r[id_col]] for r, m in zip(now, now_means[domain])])  # paired by id
        se = np.nanstd(diff, ddof=1) / np.sqrt(np.isfinite(diff).sum())
        assert abs(np.nanmean(diff) - retro["mean_diff"]) < SAMPLING_Z * se, domain
    assert "retrospective_change" not in json.loads((TRUTH / "effects.json").read_text())["cohorts"]["se_cohort2"][
        "domains"]["leadership"]  # a then-test beside a pre-test is no retrospective-only change


def test_federation_highlights_carry_the_seed_themes():
    truth = pd.read_csv(TRUTH / "text_themes.csv")
    mine = truth[truth["cohort"] == "elancs_fed"]
    assert set(mine["question"]) == {"highlights"}
    themes = mine["themes"].fillna("").str.split(";").explode()
    for theme in ("confidence", "strategy", "problem_solving", "collective_ownership"):
        assert (themes == theme).sum() >= 3, theme
    assert not truth[truth["cohort"] != "elancs_fed"]["themes"].fillna("").str.contains(
        "strategy|problem_solving|collective_ownership").any()
