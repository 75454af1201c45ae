"""Tests of the themes command's contract and bad-input handling (pcnstudy.themes.command), the
stage's contract and outputs (pcnstudy.themes.stage: read_inputs, compute, write, the results
object), and recovery of the planted themes on the simulated twin."""
from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pcnstudy.core import paths
from pcnstudy.core.params import load_params
from pcnstudy.themes import stage
from pcnstudy.themes.agreement import agreement_table
from pcnstudy.themes.codebook import load_codebook
from pcnstudy.themes.command import themes_command
from pcnstudy.themes.prevalence import cooccurrence_table, prevalence_table
from pcnstudy.themes.quotes import MAX_SIMILARITY, quote_similarity, select_quotes
from pcnstudy.themes.qdpx import read_human_codes
from pcnstudy.themes.stage import ThemesSettings, compute, read_inputs, run_themes_stage, write
from themes_corpus import CODEBOOK_YAML, make_corpus

REF = json.loads((Path(__file__).parent / "results" / "themes_reference.json").read_text())
NHS_DEV = paths.ROOT.parent / "shared" / "data" / "nhs-feedback" / "dev.csv"


@pytest.fixture()
def inputs(tmp_path):
    texts, truth = make_corpus(90, seed=11)
    texts.to_csv(tmp_path / "texts.csv", index=False)
    (tmp_path / "codebook.yml").write_text(CODEBOOK_YAML)
    return tmp_path, texts, truth


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and err.startswith("error:")
    return err


def test_command_writes_contract_files(inputs):
    tmp, texts, _ = inputs
    out = tmp / "out"
    assert themes_command(tmp / "texts.csv", tmp / "codebook.yml", out, "auto", None, 3) == 0
    doc = pd.read_csv(out / "doc_themes.csv")
    assert list(doc.columns) == ["id", "theme", "score", "assigned"]
    assert len(doc) == len(texts) * 3 and set(doc["assigned"]) <= {0, 1}
    assert ((doc["score"] >= 0.5) == (doc["assigned"] == 1)).all()
    assert list(doc[["id", "theme"]].itertuples(index=False)) == sorted(doc[["id", "theme"]].itertuples(index=False))
    topics = pd.read_csv(out / "topics.csv")
    assert list(topics.columns) == ["topic", "rank", "term", "weight", "theme"]
    assert set(topics["theme"]) <= {"trust", "time", "mdt", "emergent"}
    assert not topics["term"].str.contains("name").any()
    quality = json.loads((out / "quality.json").read_text())
    for key in ("npmi", "npmi_mean", "stability", "n_free_topics", "free_topic_selection", "thresholds", "baseline"):
        assert key in quality
    assert set(quality["thresholds"]) == {"trust", "time", "mdt"}
    assert not (out / "agreement.csv").exists()
    # deterministic: a second run gives the same bytes
    out2 = tmp / "out2"
    themes_command(tmp / "texts.csv", tmp / "codebook.yml", out2, "auto", None, 3)
    for name in ("doc_themes.csv", "topics.csv", "quality.json"):
        assert (out / name).read_bytes() == (out2 / name).read_bytes()


def test_command_with_human_codes_writes_agreement_and_learning_curve(inputs):
    tmp, texts, truth = inputs
    truth = truth[truth["theme"] != "parking"]  # a code outside the codebook is an input error
    truth.to_csv(tmp / "codes.csv", index=False)
    out = tmp / "out"
    assert themes_command(tmp / "texts.csv", tmp / "codebook.yml", out, "0", tmp / "codes.csv", 3) == 0
    agreement = pd.read_csv(out / "agreement.csv")
    assert set(agreement["method"]) == {"model", "keyword"}
    for col in ("theme", "kappa", "alpha", "precision", "recall", "f1"):
        assert col in agreement.columns
    model = agreement[agreement["method"] == "model"].set_index("theme")
    assert model.loc["mdt", "kappa"] > 0.5
    quality = json.loads((out / "quality.json").read_text())
    assert quality["human_codes"]["n_coded_documents"] == truth["id"].nunique()
    curve = pd.read_csv(out / "learning_curve.csv")
    assert {"keyword", "zero_shot", "model"} <= set(curve["method"])


@pytest.mark.parametrize("case, message", [
    ("no_text", "text"),
    ("empty_codebook", "no themes"),
    ("no_seeds", "seed_terms"),
    ("duplicate_theme", "duplicate"),
    ("unreadable", "cannot read"),
    ("duplicate_id", "duplicate id"),
    ("missing_file", "not found"),
    ("codes_unknown_theme", "theme"),
])
def test_bad_input_gives_one_line_error_and_exit_1(inputs, capsys, case, message):
    tmp, texts, _ = inputs
    csv, book, codes = tmp / "texts.csv", tmp / "codebook.yml", None
    if case == "no_text":
        texts.rename(columns={"text": "comment"}).to_csv(csv, index=False)
    elif case == "empty_codebook":
        book.write_text("themes: []\n")
    elif case == "no_seeds":
        book.write_text("themes:\n  - id: a\n    name: A\n    seed_terms: []\n")
    elif case == "duplicate_theme":
        book.write_text("themes:\n  - id: a\n    seed_terms: [x]\n  - id: a\n    seed_terms: [y]\n")
    elif case == "unreadable":  # not text (bytes outside UTF-8 alone are read as Windows-1252)
        csv.write_bytes(b"id,text\n1," + bytes(range(32)) * 20 + b"\n")
    elif case == "duplicate_id":
        pd.concat([texts, texts.head(1)]).to_csv(csv, index=False)
    elif case == "missing_file":
        csv = tmp / "nowhere.csv"
    elif case == "codes_unknown_theme":
        codes = tmp / "codes.csv"
        pd.DataFrame({"id": ["d000"], "theme": ["no_such_theme"]}).to_csv(codes, index=False)
    assert themes_command(csv, book, tmp / "out", "auto", codes, 1) == 1
    assert message in one_line_error(capsys)


def test_bad_free_topics_is_a_usage_error(inputs, capsys):
    tmp, _, _ = inputs
    assert themes_command(tmp / "texts.csv", tmp / "codebook.yml", tmp / "out", "many", None, 1) == 2
    one_line_error(capsys)


@pytest.mark.skipif(not NHS_DEV.is_file(), reason="shared NHS feedback data not present beside the checkout")
def test_command_runs_on_real_nhs_feedback_sample(tmp_path):
    sample = pd.read_csv(NHS_DEV).iloc[::15]  # real file layout (id, text, labels), 300 rows
    sample.to_csv(tmp_path / "sample.csv", index=False)
    book = paths.ROOT / "benchmarks" / "nhs_feedback_codebook.yml"
    assert themes_command(tmp_path / "sample.csv", book, tmp_path / "out", "auto", None, 7) == 0
    doc = pd.read_csv(tmp_path / "out" / "doc_themes.csv")
    assert len(doc) == len(sample) * 44


def test_prevalence_wilson_intervals_match_r():
    for case in REF["wilson"]["cases"]:
        x, n = case["x"], case["n"]
        matrix = pd.DataFrame({"a": [1] * x + [0] * (n - x)}, index=pd.Index([f"d{i:02d}" for i in range(n)], name="id"))
        row = prevalence_table(matrix, pd.DataFrame(index=matrix.index), by=[]).iloc[0]
        assert (row["n"], row["n_total"]) == (x, n)
        assert row["prop_ci_low"] == pytest.approx(case["low"], abs=REF["wilson"]["tolerance"])
        assert row["prop_ci_high"] == pytest.approx(case["high"], abs=REF["wilson"]["tolerance"])


def test_prevalence_quotes_and_cooccurrence_tables():
    matrix = pd.DataFrame({"a": [1, 1, 0, 1], "b": [0, 1, 1, 1]}, index=pd.Index(list("wxyz"), name="id"))
    meta = pd.DataFrame({"cohort": ["c1", "c1", "c2", "c2"]}, index=matrix.index)
    prev = prevalence_table(matrix, meta, by=["cohort"])
    row = prev[(prev["dimension"] == "cohort") & (prev["level"] == "c1") & (prev["theme"] == "a")].iloc[0]
    assert row["n"] == 2 and row["n_total"] == 2 and row["prop"] == 1.0
    assert (prev["dimension"] == "all").sum() == 2
    cooc = cooccurrence_table(matrix)
    assert cooc.iloc[0].to_dict() == {"theme_a": "a", "theme_b": "b", "n": 2, "jaccard": 0.5}
    texts = pd.DataFrame({"id": list("wxyz"), "text": [
        "short one", "a <b>long</b> enough answer about trust & working relationships here",
        "a <b>long</b> enough answer about trust & working relationships here",
        "protected time with [NAME] away from the practice every month"]})
    doc = pd.DataFrame({"id": list("wxyz"), "theme": "a", "score": [0.9, 0.8, 0.7, 0.6], "assigned": 1})
    quotes = select_quotes(doc, texts, n_quotes=3)
    assert quotes["id"].tolist() == ["x", "z"]  # too short and repeated texts left out
    assert "&lt;b&gt;" in quotes["text_html"].iloc[0] and "&amp;" in quotes["text_html"].iloc[0]
    assert "[NAME]" in quotes["text"].iloc[1]


def _stage_texts(n: int = 150) -> pd.DataFrame:
    texts, _ = make_corpus(n, seed=21)
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "response_id": texts["id"], "respondent": [f"r_{i:012x}" for i in range(n)],
        "cohort": rng.choice(["cohort_a", "cohort_b"], n), "group": "", "pcn": rng.choice(["p1", "p2", "p3"], n),
        "profession": rng.choice(["gp", "nurse", "pharmacist", "manager"], n), "wave": rng.choice(["end", "mid"], n),
        "question": "valued_most", "text": texts["text"],
    })


STAGE_PARAMS = {"cohorts": [], "themes": {"free_topics": "auto", "max_free_topics": 2, "n_stability_seeds": 3,
                                          "seed": 7, "n_quotes": 2}, "disclosure": {"min_cell": 5, "rule": "threshold"}}
STAGE_FILES = ("doc_themes.csv", "topics.csv", "prevalence.csv", "prevalence_clustered.csv",
               "seed_rule_agreement.csv", "quotes.csv", "cooccurrence.csv", "sentiment.csv", "quality.json")


@pytest.fixture()
def stage_inputs(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    _stage_texts().to_parquet(processed / "texts.parquet")
    (tmp_path / "codebook.yml").write_text(CODEBOOK_YAML)
    return processed, tmp_path / "codebook.yml"


def test_settings_are_frozen_and_have_no_defaults():
    fields = dataclasses.fields(ThemesSettings)
    assert [f.name for f in fields] == list(stage.SETTING_KEYS)
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields)
    settings = ThemesSettings.from_params(STAGE_PARAMS)
    assert settings.free_topics == "auto" and settings.cohorts == () and settings.max_free_topics == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 1  # type: ignore[misc]
    with pytest.raises(KeyError, match="themes.seed"):
        ThemesSettings.from_params({**STAGE_PARAMS, "themes": {k: v for k, v in STAGE_PARAMS["themes"].items()
                                                               if k != "seed"}})
    assert ThemesSettings.from_params({**STAGE_PARAMS, "cohorts": ["cohort_a"]}).cohorts == ("cohort_a",)
    assert ThemesSettings.from_params({**STAGE_PARAMS, "cohorts": "cohort_a"}).cohorts == ("cohort_a",)
    assert ThemesSettings.from_params({**STAGE_PARAMS, "cohorts": None}).cohorts == ()


def test_stage_writes_results(stage_inputs, tmp_path):
    processed, codebook = stage_inputs
    inputs = read_inputs(processed, codebook)
    settings = ThemesSettings.from_params(STAGE_PARAMS)
    before = sorted(tmp_path.rglob("*"))
    result = compute(inputs, settings)
    assert sorted(tmp_path.rglob("*")) == before  # compute writes nothing
    written = write(result, processed / "results", tmp_path / "figures")
    assert all(p.is_file() for p in written)
    res = processed / "results"
    for name in STAGE_FILES:
        assert (res / "themes" / name).is_file(), name
    assert (res / "themes.qdpx").is_file()
    for label in ("fig-theme-heatmap", "fig-topic-terms", "fig-theme-cooccurrence"):
        assert (tmp_path / "figures" / f"{label}.png").is_file() and (tmp_path / "figures" / f"{label}.svg").is_file()
    saved = json.loads((res / "themes.json").read_text())
    assert saved == result.summary
    assert set(saved["themes"]) == {"trust", "time", "mdt"}
    assert set(saved["themes"]["mdt"]) == {"name", "n", "prop", "prop_ci_low", "prop_ci_high", "deff",
                                          "prop_cl_ci_low", "prop_cl_ci_high"}
    assert 0 < saved["themes"]["mdt"]["prop"] < 1
    assert {"npmi_mean", "stability", "n_free_topics"} <= set(saved["quality"])
    prevalence = pd.read_csv(res / "themes" / "prevalence.csv", dtype=str, keep_default_na=False)
    small = prevalence[prevalence["n"].str.startswith("<")]
    assert (small["prop"].str.startswith("<")).all()
    numeric = pd.to_numeric(prevalence["n"], errors="coerce").dropna()
    assert ((numeric == 0) | (numeric >= 5)).all()
    quotes = pd.read_csv(res / "themes" / "quotes.csv", dtype=str, keep_default_na=False)
    assert quotes.groupby("theme").size().max() <= 2 and quotes["text"].is_unique
    back = read_human_codes(res / "themes.qdpx")
    doc = pd.read_csv(res / "themes" / "doc_themes.csv")
    # the quotes as written: distinct, each carrying its theme, attributed, nothing personal
    assert len(quotes) and not {"respondent", "pcn", "group", "profession"} & set(quotes.columns)
    assert all(quote_similarity(a, b) < MAX_SIMILARITY for a, b in itertools.combinations(quotes["text"], 2))
    carried = set(zip(doc.loc[doc["assigned"] == 1, "id"], doc.loc[doc["assigned"] == 1, "theme"]))
    assert all((i, t) in carried for i, t in zip(quotes["id"], quotes["theme"]))
    assert (quotes["role"] != "").all() and quotes["cohort"].isin(["cohort_a", "cohort_b"]).all()
    # no respondents table: the profession, which each of the cohorts' professions shares with 5 or more
    assert quotes["role"].isin(["gp", "nurse", "pharmacist", "manager"]).all()
    assert set(pd.read_csv(res / "themes" / "prevalence_clustered.csv").columns) == {
        "dimension", "level", "theme", "deff", "prop_cl_ci_low", "prop_cl_ci_high"}
    assert saved["n_people"] == 150 and saved["n_responses"] == 150
    assert {"kappa_min", "kappa_max", "n_themes", "n_identical"} <= set(saved["seed_rule"])
    assigned = doc[doc["assigned"] == 1][["id", "theme"]].sort_values(["id", "theme"]).reset_index(drop=True)
    assert back[["id", "theme"]].astype(str).equals(assigned.astype(str))

    # the results object: every table by name, the written ones exactly as written
    for name in stage.WRITTEN_TABLES:
        frame = result.summary_frame(name)
        assert frame.to_csv(index=False, lineterminator="\n") == (res / "themes" / f"{name}.csv").read_text(), name
    for name in stage.ThemesResult.FRAMES:
        assert isinstance(result.summary_frame(name), pd.DataFrame), name
    assert list(result.summary_frame("themes").index) == sorted(saved["themes"])
    assert set(result.summary_frame("baseline").columns) >= {"n_model", "n_keyword", "threshold"}
    with pytest.raises(KeyError, match="no table"):
        result.summary_frame("nothing")

    # conf_int: the written 95% intervals where shown, hidden where the count is; narrower at alpha 0.1
    ci95, ci90 = result.conf_int(alpha=0.05), result.conf_int(alpha=0.1)
    shown = prevalence.set_index(["dimension", "level", "theme"])
    visible = ~shown["prop_ci_low"].str.startswith("<")
    assert np.allclose(ci95.loc[visible[visible].index, "prop_ci_low"].to_numpy(),
                       shown.loc[visible, "prop_ci_low"].astype(float).to_numpy(), atol=5e-5)
    assert ci95.loc[visible[~visible].index].isna().all().all()
    width95 = ci95["prop_ci_high"] - ci95["prop_ci_low"]
    width90 = ci90["prop_ci_high"] - ci90["prop_ci_low"]
    assert (width90[visible.to_numpy()] < width95[visible.to_numpy()]).all()


def test_run_themes_stage_equals_the_three_steps(stage_inputs, tmp_path):
    processed, codebook = stage_inputs
    summary = run_themes_stage(processed, tmp_path / "a", tmp_path / "fa", STAGE_PARAMS, codebook)
    write(compute(read_inputs(processed, codebook), ThemesSettings.from_params(STAGE_PARAMS)), tmp_path / "b",
          tmp_path / "fb")
    assert summary == json.loads((tmp_path / "b" / "themes.json").read_text())
    for name in STAGE_FILES:
        assert (tmp_path / "a" / "themes" / name).read_bytes() == (tmp_path / "b" / "themes" / name).read_bytes()
    cohort = run_themes_stage(processed, tmp_path / "c", tmp_path / "fc", {**STAGE_PARAMS, "cohorts": ["cohort_a"]},
                              codebook)
    assert cohort["n_responses"] < summary["n_responses"] and set(cohort["by_cohort"]) == {"cohort_a"}


@pytest.mark.slow
def test_planted_themes_recovered_on_simulated_twin(built_project, tmp_path):
    truth_file = built_project / "data" / "simulation_truth" / "text_themes.csv"
    texts_file = built_project / "data" / "processed" / "texts.parquet"
    params = load_params(built_project / "params.yaml")
    summary = run_themes_stage(built_project / "data" / "processed", tmp_path / "results", tmp_path / "figures",
                               params, paths.CODEBOOK)
    truth = pd.read_csv(truth_file, dtype=str, keep_default_na=False)
    texts = pd.read_parquet(texts_file)
    truth = truth[truth["response_id"].isin(texts["response_id"])]
    gold = truth.assign(theme=truth["themes"].str.split(";")).explode("theme")
    gold = gold[gold["theme"] != ""][["response_id", "theme"]].rename(columns={"response_id": "id"})
    doc = pd.read_csv(tmp_path / "results" / "themes" / "doc_themes.csv", dtype={"id": str})
    pred = doc[doc["assigned"] == 1][["id", "theme"]]
    book = load_codebook(paths.CODEBOOK)
    table = agreement_table(pred, gold, book.ids, ids=sorted(truth["response_id"])).set_index("theme")
    print("\nper-theme kappa on the simulated twin:\n" + table[["n_gold", "n_pred", "kappa", "f1"]].to_string())
    # every planted theme found (developing_relationships is the weakest: its seed "network"
    # also names the PCN itself), the BJGP Open strand's four themes clearly
    supported = table[table["n_gold"] >= 5]
    assert (supported["kappa"] > 0.25).all(), supported["kappa"].to_dict()
    assert supported["kappa"].mean() > 0.55
    # the BJGP Open strand's four themes, judged on that strand's own responses (the other
    # cohorts' answers mix them with the programmes' themes)
    strand = sorted(r for r in truth["response_id"] if r.startswith("bjgp_qual-"))
    bjgp = agreement_table(pred[pred["id"].isin(strand)], gold[gold["id"].isin(strand)], book.ids,
                           ids=strand).set_index("theme")
    for theme in ("defining_purpose", "bureaucracy_autonomy", "relational_working", "facilitative_leadership"):
        assert bjgp.loc[theme, "kappa"] > 0.45, (theme, bjgp.loc[theme, "kappa"])
    planted = set(gold["theme"]) - set(book.ids)
    assert "workload_pressure" in planted
    emergent_terms = {t for topic in summary["emergent"] for t in topic}
    assert emergent_terms & {"workload", "pressure", "capacity", "exhausted", "burnout", "stretched", "demand"}, \
        summary["emergent"]
