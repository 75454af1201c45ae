"""The one line each stage prints when it has run, read from the files it wrote."""
import json
import os
import time

from pcnstudy.core.stage_summary import stage_of, stage_summary


def write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header] + rows) + "\n", encoding="utf-8")


def test_stage_of_drops_the_notebooks_number():
    assert stage_of("02_scores") == "scores"
    assert stage_of("tiny") == "tiny"
    assert stage_of("my_stage") == "my_stage"


def test_ingest_line_counts_cohorts_rows_and_redactions_from_its_report(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    report = {"cohorts": {f"c{i}": {} for i in range(5)},
              "totals": {"rows_read": 1246, "rows_kept": 1234, "rows_quarantined": 12},
              "redaction": {"email": 4, "name": 7}}
    (out / "ingest_report.json").write_text(json.dumps(report))
    line = stage_summary("01_ingest", {"out_dir": "out"}, tmp_path)
    assert line == "ingest: 5 cohorts, 1,234 rows kept, 12 quarantined, 11 redactions -> out"


def test_scores_line_counts_change_rows_models_and_the_figures_this_run_wrote(tmp_path):
    tables = tmp_path / "data/processed/results/scores"
    write_csv(tables / "change_scores.csv", "cohort,item,n_pairs", [f"a,i{i},9" for i in range(18)])
    # a model is one cohort x item x level, whatever its number of terms
    write_csv(tables / "mixed_models.csv", "cohort,item,term,level",
              [f"{c},{d},{t},domain" for c in "abc" for d in "xyz" for t in ("Intercept", "wave")])
    write_csv(tables / "ordinal.csv", "cohort,domain,term", ["a,x,wave", "b,x,wave"])
    figures = tmp_path / "figs"
    figures.mkdir()
    for name in ("fig-old", "fig-a", "fig-b", "fig-c"):
        (figures / f"{name}.png").write_bytes(b"png")
        (figures / f"{name}.svg").write_text("svg")
    started = time.time()
    os.utime(figures / "fig-old.png", (started - 60, started - 60))  # another stage's, earlier
    line = stage_summary("02_scores", {"results_dir": None, "figures_dir": "figs"}, tmp_path, since=started - 1)
    assert line == ("scores: 18 change rows, 9 mixed models, 2 ordinal models, 3 figures "
                    "-> data/processed/results")


def test_themes_line_counts_texts_themes_free_topics_and_figures_from_themes_json(tmp_path):
    results = tmp_path / "res"
    results.mkdir()
    doc = {"n_responses": 402, "themes": {f"t{i}": {} for i in range(10)},
           "quality": {"n_free_topics": 4},
           "figures": ["fig-a.png", "fig-a.svg", "fig-b.png", "fig-b.svg", "fig-c.png", "fig-c.svg"]}
    (results / "themes.json").write_text(json.dumps(doc))
    line = stage_summary("03_themes", {"results_dir": str(results)}, tmp_path)
    assert line == "themes: 402 texts, 10 themes, 4 free topics, 3 figures -> res"


def test_a_notebook_without_a_summary_or_outputs_still_gets_one_line(tmp_path):
    assert stage_summary("09_extra", {}, tmp_path) == "extra: ran notebooks/09_extra.ipynb -> reports/09_extra.html"
    line = stage_summary("03_themes", {"results_dir": "nowhere"}, tmp_path)
    assert line.startswith("themes: ran notebooks/03_themes.ipynb -> reports/03_themes.html (no summary: ")
    assert "themes.json" in line and "\n" not in line
