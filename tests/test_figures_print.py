"""The paper's figures at print size: every text at 8 points or more as the PDF prints them
(A4 less the margins), and cohorts, domains and items named in plain words, never by id.
Small tables always; the built pipeline's results when it has been built."""
from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from pcnstudy.core.plots import (MIN_PRINTED_PT, PRINT_WIDTH_IN, printed_scale, smallest_printed_pt,  # noqa: E402
                                 tight_bbox)
from pcnstudy.scores import figures as sf  # noqa: E402
from pcnstudy.themes import figures as tf  # noqa: E402

COHORTS = pd.DataFrame([{"cohort": "se_cohort1", "programme": "Multiprofessional leadership programme for PCNs",
                         "start": "2021-01-11"},
                        {"cohort": "se_cohort2", "programme": "Multiprofessional leadership programme for PCNs",
                         "start": "2021-10-04"},
                        {"cohort": "llr_cd", "programme": "Leadership programme for PCN clinical directors",
                         "start": "2020-09-01"}])
INSTRUMENT = {"domains": {"leadership": {"name": "Leadership skills"},
                          "systems": {"name": "Understanding of complex and dynamic systems"}},
              "items": [{"id": "lead_1", "domain": "leadership",
                         "text": "I am confident leading a team made up of several professions"},
                        {"id": "sys_1", "domain": "systems",
                         "text": "I understand how the parts of the local health and care system affect one another"}],
              "feedback": [{"id": "would_recommend", "text": "I would recommend the programme to colleagues"}]}
WAVES = ["baseline", "mid", "end"]


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def ids_shown(fig, ids) -> list[str]:
    found = " \n ".join(texts(fig))
    return sorted(i for i in ids if re.search(r"(?<![\w-])" + re.escape(i) + r"(?![\w-])", found))


def _long(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for cohort in COHORTS["cohort"]:
        for r in range(25):
            base = rng.normal(3, 0.5)
            for k, wave in enumerate(WAVES):
                for item, domain in (("lead_1", "leadership"), ("sys_1", "systems")):
                    score = float(np.clip(np.round(base + 0.4 * k + rng.normal(0, 0.6)), 1, 5))
                    rows.append({"cohort": cohort, "respondent": f"{cohort}-{r}", "wave": wave, "item": item,
                                 "level": "item", "score": score})
                    rows.append({"cohort": cohort, "respondent": f"{cohort}-{r}", "wave": wave, "item": domain,
                                 "level": "domain", "score": score})
    return pd.DataFrame(rows)


def _scores_figures() -> dict[str, Figure]:
    data = _long()
    names = sf.figure_names(INSTRUMENT, COHORTS)
    change = pd.DataFrame([{"cohort": c, "level": "domain", "item": d, "wave_from": "baseline", "wave_to": "end",
                            "n_pairs": 25, "mean_diff": 0.8, "diff_ci_low": 0.5, "diff_ci_high": 1.1}
                           for c in COHORTS["cohort"] for d in ("leadership", "systems")])
    meta = pd.DataFrame([{"domain": d, "method": "reml", "k": 3, "i2": 0.1, "estimate": 0.8, "ci_low": 0.6,
                          "ci_high": 1.0, "hk_ci_low": 0.5, "hk_ci_high": 1.1} for d in ("leadership", "systems")])
    fb = pd.DataFrame([{"cohort": c, "item": "would_recommend", "wave": "end", "n": 20, "k": 18, "pct": 0.9,
                        "pct_ci_low": 0.7, "pct_ci_high": 0.97} for c in COHORTS["cohort"]])
    mask = pd.DataFrame({"n": [False, False, False], "k": [False, True, False]})
    labels = {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree", 4: "Agree", 5: "Strongly agree"}
    return {"slopes": sf.slope_figure(data, WAVES, names=names),
            "forest": sf.forest_figure(change, meta, WAVES, names=names),
            "likert": sf.likert_figure(data, WAVES, labels, names=names),
            "feedback": sf.feedback_figure(fb, mask, names=names)}


def _themes_figures() -> dict[str, Figure]:
    themes = ["protected_time", "relational_working", "defining_purpose"]
    names = {"protected_time": "Protected time", "relational_working": "Relational working",
             "defining_purpose": "Defining purpose and managing ambiguity"}
    prevalence = pd.DataFrame([{"dimension": "cohort", "level": c, "theme": t, "prop": p}
                               for c, p in zip(COHORTS["cohort"], (0.2, "<5", 0.5)) for t in themes])
    topics = pd.DataFrame([{"topic": t, "rank": r, "term": f"term {r}", "weight": 1 / r, "theme": t}
                           for t in themes for r in range(1, 7)]
                          + [{"topic": "free_1", "rank": r, "term": f"word {r}", "weight": 1 / r, "theme": None}
                             for r in range(1, 7)])
    codes = pd.DataFrame([{"id": i, "theme": themes[i % 3], "assigned": 1} for i in range(60)])
    return tf.stage_figures(prevalence, topics, codes, themes, names, 5, "threshold",
                            cohort_names={"se_cohort1": "Multiprofessional leadership programme for PCNs, cohort 1",
                                          "se_cohort2": "Multiprofessional leadership programme for PCNs, cohort 2",
                                          "llr_cd": "Leadership programme for PCN clinical directors"})


def test_print_scale_follows_the_saved_width():
    wide = Figure(figsize=(2 * PRINT_WIDTH_IN, 3))
    wide.subplots().set_title("x", fontsize=10)
    box = tight_bbox(wide)  # the saved area: the figure less its empty margins
    assert box.width > PRINT_WIDTH_IN and printed_scale(wide) == pytest.approx(PRINT_WIDTH_IN / box.width)
    assert printed_scale(wide) < 0.7
    # 10 pt on a figure twice the print width prints at about 6 pt, as the old topic-terms figure did
    assert smallest_printed_pt(wide) == pytest.approx(10 * printed_scale(wide))
    assert smallest_printed_pt(wide) < MIN_PRINTED_PT
    narrow = Figure(figsize=(4, 3))
    narrow.subplots().set_title("x", fontsize=9)
    narrow.axes[0].tick_params(labelsize=9)
    assert printed_scale(narrow) == 1.0 and smallest_printed_pt(narrow) == 9


@pytest.mark.parametrize("make", [_scores_figures, _themes_figures])
def test_stage_figures_are_legible_and_name_nothing_by_id(make):
    ids = set(COHORTS["cohort"]) | {"lead_1", "sys_1", "would_recommend", "protected_time",
                                    "relational_working", "defining_purpose", "free_1"}
    for label, fig in make().items():
        try:
            assert smallest_printed_pt(fig) >= MIN_PRINTED_PT, (label, smallest_printed_pt(fig))
            assert ids_shown(fig, ids) == [], (label, ids_shown(fig, ids))
        finally:
            plt.close(fig)


@pytest.mark.slow
def test_the_pipeline_figures_are_legible_and_name_nothing_by_id(built_project):
    """The seven figures of the paper, drawn again from the built pipeline's inputs and results."""
    from pcnstudy.core.labels import item_labels
    from pcnstudy.scores import stage as scores_stage
    from pcnstudy.core.params import load_params

    processed = built_project / "data" / "processed"
    instrument = yaml.safe_load((built_project / "config" / "instrument.yml").read_text())
    cohorts = pd.read_parquet(processed / "cohorts.parquet")
    inputs = scores_stage.read_inputs(processed, built_project / "config" / "instrument.yml")
    params = load_params(built_project / "params.yaml")
    result = scores_stage.compute(inputs, scores_stage.ScoresSettings.from_params(params))
    names = sf.figure_names(instrument, cohorts)
    labels = {int(k): v for k, v in instrument["scale"]["labels"].items()}
    figures = {"slopes": sf.slope_figure(result.data, result.waves, names=names),
               "forest": sf.forest_figure(result.change, result.tables["meta"], result.waves, names=names),
               "likert": sf.likert_figure(result.data, result.waves, labels, names=names),
               "feedback": sf.feedback_figure(result.feedback, result.feedback_mask, names=names)}
    themes_dir = processed / "results" / "themes"
    codebook = yaml.safe_load((built_project / "config" / "codebook.yml").read_text())
    theme_names = {t["id"]: t["name"] for t in codebook["themes"]}
    from pcnstudy.core.labels import cohort_labels
    figures.update(tf.stage_figures(pd.read_csv(themes_dir / "prevalence.csv", dtype=str).assign(
        prop=lambda d: pd.to_numeric(d["prop"], errors="coerce").where(lambda v: v.notna(), d["prop"])),
        pd.read_csv(themes_dir / "topics.csv"), pd.read_csv(themes_dir / "doc_themes.csv"), list(theme_names),
        theme_names, int(params["disclosure"]["min_cell"]), str(params["disclosure"]["rule"]),
        cohort_names=cohort_labels(cohorts)))
    from pcnstudy.twin.figures import coverage_figure
    figures["coverage"] = coverage_figure(pd.read_csv(processed / "results" / "twin" / "coverage.csv"),
                                          cohort_labels(cohorts))
    ids = set(cohorts["cohort"]) | set(item_labels(instrument)) | set(theme_names)
    ids = {i for i in ids if "_" in i or any(ch.isdigit() for ch in i)}  # not a word a term or label may be
    for label, fig in figures.items():
        try:
            assert smallest_printed_pt(fig) >= MIN_PRINTED_PT, (label, smallest_printed_pt(fig))
            assert ids_shown(fig, ids) == [], (label, ids_shown(fig, ids))
        finally:
            plt.close(fig)
