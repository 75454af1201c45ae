"""The disclosure audit over linked tables, and suppression chosen across them.

Each leak pattern found in the study's published tables is rebuilt as a small table:
the audit must find it in the tables as they used to be published, and the tables
protected together must pass it. The LP intervals are checked against a brute-force
enumeration of the integer tables (a second implementation).
"""
from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from pcnstudy.core.disclosure import SECONDARY_MARKER, is_hidden, suppress
from pcnstudy.core.disclosure_audit import PRIMARY, SECONDARY, SHOWN, Linked, audit, intervals, protect
from pcnstudy.core.publication_audit import audit_results, bundle_files
from pcnstudy.core.published import (Counts, attrition_model, feedback_model, prevalence_model, protect_attrition,
                                     protect_feedback, protect_prevalence)
from pcnstudy.paper.manuscript import write_supplementary_zip

THR = 5
READER = Counts(THR, False, "<5", SECONDARY_MARKER)
TRUTH = Counts(THR, True, "<5", SECONDARY_MARKER)


def leaks_of(model, *frames, **kw):
    linked = Linked()
    model(READER, linked, *frames, **kw)
    return audit(linked, THR)


# --------------------------------------------------------------------------- the engine


def test_intervals_match_brute_force_enumeration():
    # a 2 x 2 table with margins: a + b = 7, c + d = 9, a + c = 6, b + d = 10; a and c hidden as "<5",
    # b and d complementary. Enumerate every integer table the published facts allow.
    linked = Linked()
    a, b, c, d = (linked.add(n, k) for n, k in (("a", PRIMARY), ("b", SECONDARY), ("c", PRIMARY), ("d", SECONDARY)))
    r1, r2, c1, c2 = (linked.add(n, SHOWN, shown=v) for n, v in (("r1", 7), ("r2", 9), ("c1", 6), ("c2", 10)))
    linked.equal([r1], [a, b])
    linked.equal([r2], [c, d])
    linked.equal([c1], [a, c])
    linked.equal([c2], [b, d])
    spans = intervals(linked, THR)
    feasible = [(x, 7 - x, 6 - x, 9 - (6 - x)) for x in range(0, 8)
                if 1 <= x <= 4 and 1 <= 6 - x <= 4 and 7 - x >= 0 and 9 - (6 - x) >= 0 and (7 - x) + (3 + x) == 10]
    for pos, var in enumerate((a, b, c, d)):
        values = [f[pos] for f in feasible]
        assert spans[var] == pytest.approx((min(values), max(values)))
    assert audit(linked, THR) == []  # a in 2..4, c in 2..4: three values each


def _random_two_way(seed: int) -> Linked:
    """A rows x columns table with margins, about half its cells hidden (primary or complementary)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 12, size=(4, 5))
    linked = Linked()
    ids = {}
    for (r, c), v in np.ndenumerate(cells):
        kind = (PRIMARY if 1 <= v < THR else SECONDARY) if rng.random() < 0.5 else SHOWN
        ids[r, c] = linked.add(f"c{r}{c}", kind, shown=v if kind == SHOWN else None, value=v)
    for r in range(4):
        total = linked.add(f"row{r}", SHOWN, shown=cells[r].sum())
        linked.equal([total], [ids[r, c] for c in range(5)])
    for c in range(5):
        total = linked.add(f"col{c}", SHOWN, shown=cells[:, c].sum())
        linked.equal([total], [ids[r, c] for r in range(4)])
    return linked


@pytest.mark.parametrize("seed", range(8))
def test_the_audits_shortcut_keeps_narrow_intervals_exact_and_wide_ones_wide(seed):
    """``wide``: a count left unsolved is spread by at least ``wide`` by feasible points found for
    others, inside its exact interval; every narrower count keeps its exact interval."""
    from pcnstudy.core.disclosure_audit import protection_width

    linked = _random_two_way(seed)
    width = protection_width(THR)
    exact = intervals(linked, THR)
    quick = intervals(linked, THR, wide=width)
    assert exact.keys() == quick.keys()
    for i, (lo, hi) in exact.items():
        q_lo, q_hi = quick[i]
        if hi - lo < width:
            assert (q_lo, q_hi) == pytest.approx((lo, hi)), linked.names[i]
        else:
            assert lo - 1e-9 <= q_lo and q_hi <= hi + 1e-9 and q_hi - q_lo >= width - 1e-9, linked.names[i]


def test_two_small_cells_adding_to_two_are_both_recovered():
    # the row rule "two hidden cells per row" is not enough: 1 + 1 = 2 gives both back
    linked = Linked()
    x, y = linked.add("x", PRIMARY), linked.add("y", PRIMARY)
    total, big = linked.add("total", SHOWN, shown=20), linked.add("big", SHOWN, shown=18)
    linked.equal([total], [x, y, big])
    leaks = audit(linked, THR)
    assert {lk.name for lk in leaks} == {"x", "y"}
    assert all(lk.low == lk.high == 1 for lk in leaks)


def test_a_false_marker_is_reported():
    # the totals table says 14, the by-cohort table "<5" and a shown 2: "<5" cannot be true
    linked = Linked()
    total = linked.add("all", SHOWN, shown=16)
    hidden, shown = linked.add("a", PRIMARY), linked.add("b", SHOWN, shown=2)
    linked.equal([total], [hidden, shown])
    leaks = audit(linked, THR)
    assert any("contradict" in lk.reason for lk in leaks)
    assert any(lk.reason.startswith("published count below") for lk in leaks)  # the 2


def test_protect_closes_every_leak_and_needs_the_truth():
    linked = Linked()
    x = linked.add("x", PRIMARY, value=1)
    y = linked.add("y", SHOWN, shown=9, value=9)
    z = linked.add("z", SHOWN, shown=30, value=30)
    total = linked.add("total", SHOWN, shown=40, value=40, total=True)
    linked.equal([total], [x, y, z])
    added = protect(linked, THR)
    assert [linked.names[i] for i in added] == ["y"]  # the smallest cell, not the total
    assert audit(linked, THR) == []


# --------------------------------------------------------------------------- leak patterns


def test_complementary_cells_never_print_the_primary_marker():
    # by-cohort counts of 6, 8 and 14 were printed "<5": now only true small counts are
    table = pd.DataFrame({"cohort": ["a", "a", "a", "b", "b"], "n": [3, 8, 20, 6, 2]})
    out = suppress(table, ["n"], by=["cohort"])
    for shown, true in zip(out["n"], table["n"]):
        if shown == "<5":
            assert true < THR
    assert out["n"].tolist() == ["<5", SECONDARY_MARKER, "20", SECONDARY_MARKER, "<5"]


def prevalence_frames():
    """A theme with a count of 1 in two cohorts (the totals-minus-by-cohort leak), and one near 100%."""
    rows = []
    levels = {"a": (40, {"t1": 1, "t2": 12}), "b": (30, {"t1": 1, "t2": 28}), "c": (50, {"t1": 20, "t2": 9})}
    for level, (n_total, counts) in levels.items():
        for theme, n in counts.items():
            rows.append({"dimension": "cohort", "level": level, "theme": theme, "n_total": n_total, "n": n})
    for theme in ("t1", "t2"):
        rows.append({"dimension": "all", "level": "all", "theme": theme, "n_total": 120,
                     "n": sum(c[theme] for _, c in levels.values())})
    table = pd.DataFrame(rows)
    table["prop"] = table["n"] / table["n_total"]
    return table


def test_totals_minus_by_cohort_leak_is_found_and_closed():
    table = prevalence_frames()
    # as published before: cell by cell, the "all" row a different dimension, so no group spans both
    old = suppress(table, ["n"], total_col="n_total", derived_cols={"prop": "n"}, by=["dimension", "theme"])
    leaks = leaks_of(prevalence_model, old, None)
    assert leaks, "the old suppression leaks"
    assert any("prevalence|cohort" in lk.name for lk in leaks)
    new = protect_prevalence(table, None, TRUTH).tables["prevalence"]
    assert leaks_of(prevalence_model, new, None) == []
    # the "<5" cells are the true 1s; the cells hidden beside them carry their own marker
    for shown, true in zip(new["n"], table["n"]):
        assert (shown == "<5") == (1 <= true < THR)
    assert (new["n"] == SECONDARY_MARKER).any()
    # 28 of 30: the 2 without the theme would be 30 - 28, so 28 is hidden, and shown as a band
    row = new[(new["level"] == "b") & (new["theme"] == "t2")].iloc[0]
    assert is_hidden(row["n"]) and row["prop_band"] == "0.86-0.97"


def attrition_frames():
    attrition = pd.DataFrame({"cohort": ["x", "y"], "wave_from": ["baseline"] * 2, "wave_to": ["end"] * 2,
                              "n_baseline": [28, 30], "n_completers": [24, 21], "n_lost": [4, 9],
                              "pct_lost": [4 / 28, 9 / 30]})
    prof = pd.DataFrame({"cohort": ["x", "x", "y", "y"], "profession": ["GP", "Nurse", "GP", "Nurse"],
                         "n_baseline": [20, 8, 22, 8], "n_completers": [17, 7, 15, 6], "n_lost": [3, 1, 7, 2]})
    change = pd.DataFrame({"cohort": ["x", "y", "pooled"], "item": ["leadership"] * 3, "level": ["domain"] * 3,
                           "wave_from": ["baseline"] * 3, "wave_to": ["end"] * 3, "n_pairs": [24, 21, 45]})
    return attrition, prof, change


def test_change_pairs_giving_back_hidden_attrition_is_found_and_closed():
    attrition, prof, change = attrition_frames()
    # as published before: the attrition row hides lost (4) and completers beside it, the pairs stay
    old_att = attrition.astype(str).assign(n_completers=["<5", "21"], n_lost=["<5", "9"])
    old_prof = suppress(prof, ["n_completers", "n_lost"], total_col="n_baseline", by=["cohort"])
    leaks = leaks_of(attrition_model, old_att, old_prof, change.astype(str))
    assert any("attrition|x" in lk.name for lk in leaks)
    protected = protect_attrition(attrition, prof, change, TRUTH, {"pct_lost": "n_lost"})
    pub = protected.tables
    assert leaks_of(attrition_model, pub["attrition"], pub["attrition_by_profession"], pub["change_scores"]) == []
    assert pub["attrition"].loc[0, "n_lost"] == "<5" and pub["attrition"].loc[0, "pct_lost"] == "<5"


def test_a_breakdown_whose_markers_alone_bound_its_total_is_withheld():
    """At "<10", six professions each losing one person say the cohort lost at least 6 of a total
    shown "<10": no hidden cell can undo what the markers say, so that cohort's breakdown is
    withheld (and named), the other cohort's stays, and the published tables pass the audit."""
    threshold = 10
    truth = Counts(threshold, True, "<10", SECONDARY_MARKER)
    reader = Counts(threshold, False, "<10", SECONDARY_MARKER)
    jobs = ["GP", "Nurse", "Pharmacist", "Paramedic", "Manager", "Physio"]
    attrition = pd.DataFrame({"cohort": ["x", "y"], "wave_from": ["baseline"] * 2, "wave_to": ["end"] * 2,
                              "n_baseline": [60, 40], "n_completers": [54, 28], "n_lost": [6, 12],
                              "pct_lost": [6 / 60, 12 / 40]})
    prof = pd.DataFrame({"cohort": ["x"] * 6 + ["y", "y"], "profession": jobs + ["GP", "Nurse"],
                         "n_baseline": [10] * 6 + [25, 15], "n_completers": [9] * 6 + [17, 11],
                         "n_lost": [1] * 6 + [8, 4]})
    change = pd.DataFrame({"cohort": ["x", "y", "pooled"], "item": ["leadership"] * 3, "level": ["domain"] * 3,
                           "wave_from": ["baseline"] * 3, "wave_to": ["end"] * 3, "n_pairs": [54, 28, 82]})
    from pcnstudy.core.disclosure_audit import CannotProtect
    from pcnstudy.core.published import _protect_attrition_once

    with pytest.raises(CannotProtect) as failed:  # hiding cells alone cannot protect cohort x
        _protect_attrition_once(attrition, prof, change, truth, {"pct_lost": "n_lost"}, None)
    assert failed.value.leaks and all(lk.name.split("|")[1] == "x" for lk in failed.value.leaks)
    assert str(failed.value).startswith("disclosure: cannot protect ")
    protected = protect_attrition(attrition, prof, change, truth, {"pct_lost": "n_lost"})
    assert protected.withheld == ["x"]
    pub = protected.tables
    assert set(pub["attrition_by_profession"]["cohort"]) == {"y"}
    linked = Linked()
    attrition_model(reader, linked, pub["attrition"], pub["attrition_by_profession"], pub["change_scores"])
    assert audit(linked, threshold) == []


def feedback_frames():
    fb = pd.DataFrame({"cohort": ["s"] * 3, "wave": ["end"] * 3, "item": ["recommend", "action", "network"],
                       "n": [18, 18, 18], "k": [18, 16, 4]})
    fb["pct"] = fb["k"] / fb["n"]
    kirk = pd.DataFrame({"dimension": ["kirkpatrick", "kirkpatrick"], "source": ["feedback", "feedback"],
                         "cohort": ["s", "s"], "level": ["reaction", "behaviour"], "n": [36, 18], "k": [22, 16]})
    kirk["pct_yes"] = kirk["k"] / kirk["n"]
    labels = {"recommend": {"kirkpatrick": "reaction"}, "network": {"kirkpatrick": "reaction"},
              "action": {"kirkpatrick": "behaviour"}}
    return fb, kirk, labels


def test_unsuppressed_kirkpatrick_leak_is_found_and_closed():
    fb, kirk, labels = feedback_frames()
    old_fb = suppress(fb, ["k"], total_col="n", derived_cols={"pct": "k"})
    # kirkpatrick.csv was published as computed: n 18, k 16 gives back the 2 "no" answers
    leaks = leaks_of(feedback_model, old_fb, kirk.astype(str), labels)
    assert any(lk.name.startswith("kirkpatrick") for lk in leaks)
    pub = protect_feedback(fb, kirk, labels, TRUTH).tables
    assert leaks_of(feedback_model, pub["feedback_proportions"], pub["kirkpatrick"], labels) == []
    assert pub["kirkpatrick"].loc[1, "k"] == SECONDARY_MARKER


def test_hidden_shares_are_bands_not_blanks():
    # only the 100% item would survive cell suppression; the others are now told as their bands
    fb, kirk, labels = feedback_frames()
    pub = protect_feedback(fb, kirk, labels, TRUTH).tables["feedback_proportions"]
    assert pub["pct"].tolist()[0] == "1"
    assert pub.loc[1, "k"] == SECONDARY_MARKER and pub.loc[1, "pct_band"] == "0.77-0.95"  # 16 of 18: 14-17
    assert pub.loc[2, "k"] == "<5" and pub.loc[2, "pct_band"] == "0.05-0.23"  # 4 of 18: 1-4


def test_sentiment_shares_revealing_small_counts_are_hidden():
    table = prevalence_frames()
    sentiment = pd.DataFrame({"theme": ["t1", "t2"], "n": [22, 49], "mean_compound": [0.3, 0.2],
                              "prop_positive": [20 / 22, 40 / 49], "prop_neutral": [1 / 22, 5 / 49],
                              "prop_negative": [1 / 22, 4 / 49]})
    old = sentiment.astype(str)
    assert any(lk.reason.startswith("published count below")
               for lk in leaks_of(prevalence_model, table.astype(str), old))
    protected = protect_prevalence(table, sentiment, TRUTH)
    assert leaks_of(prevalence_model, protected.tables["prevalence"], protected.tables["sentiment"]) == []


# --------------------------------------------------------------------------- the bundle


def test_bundle_carries_only_tables_that_pass_and_never_response_rows(tmp_path):
    results = tmp_path / "results"
    (results / "themes").mkdir(parents=True)
    (results / "scores").mkdir()
    pd.DataFrame({"id": ["r1", "r2"], "theme": ["t1", "t1"], "score": [0.4, 0.2], "assigned": [1, 0]}).to_csv(
        results / "themes" / "doc_themes.csv", index=False)
    fb, kirk, labels = feedback_frames()
    suppress(fb, ["k"], total_col="n", derived_cols={"pct": "k"}).to_csv(
        results / "scores" / "feedback_proportions.csv", index=False)
    kirk.to_csv(results / "scores" / "kirkpatrick.csv", index=False)  # unsuppressed
    instrument = {"feedback": [{"id": item, **lab} for item, lab in labels.items()]}
    report = audit_results(results, instrument, THR, "<5")
    assert report["themes/doc_themes.csv"] and report["scores/kirkpatrick.csv"]
    assert "themes/doc_themes.csv" not in bundle_files(report)
    names = write_supplementary_zip(results, tmp_path / "bundle.zip", instrument, THR, "<5")
    assert "themes/doc_themes.csv" not in names and "scores/kirkpatrick.csv" not in names
    # once protected together, both scores tables pass and are bundled
    pub = protect_feedback(fb, kirk, labels, TRUTH).tables
    pub["feedback_proportions"].to_csv(results / "scores" / "feedback_proportions.csv", index=False)
    pub["kirkpatrick"].to_csv(results / "scores" / "kirkpatrick.csv", index=False)
    names = write_supplementary_zip(results, tmp_path / "bundle.zip", instrument, THR, "<5")
    assert names == ["scores/feedback_proportions.csv", "scores/kirkpatrick.csv"]
    with zipfile.ZipFile(tmp_path / "bundle.zip") as zf:
        assert "disclosure-audit.txt" in zf.namelist()
        assert "doc_themes.csv: 1 leak(s), e.g. not publishable" in zf.read("disclosure-audit.txt").decode()



# --------------------------------------------------------------------------- the paper's tables


def test_paper_tables_show_bands_and_explain_each_marker():
    from pcnstudy.paper.tables import stats_table

    tree = {"s": {"recommend": {"n": 18, "k": 18, "pct": 1.0, "pct_ci_low": 0.82, "pct_ci_high": 1.0},
                  "action": {"n": 18, "k": "[c]", "pct": "[c]", "pct_ci_low": "[c]", "pct_ci_high": "[c]",
                             "pct_band": "0.75-0.95"},
                  "network": {"n": 18, "k": "<5", "pct": "<5", "pct_ci_low": "<5", "pct_ci_high": "<5"}}}
    table = stats_table(tree, ["Cohort", "Item"], "Feedback", "tbl-feedback",
                        wanted=["n", "k", "pct", "pct_ci_low"], prefix="scores.feedback.x.x")
    rows = {line.split("|")[2].strip(): line for line in table.splitlines() if line.startswith("| s ")}
    assert "| 75–95 |" in rows["action"] and "| \\[c\\] |" in rows["action"]
    assert "| \\<5 | \\<5 | \\<5 |" in rows["network"]  # no "(<5, <5)" interval
    from pcnstudy.paper.disclosure_notes import with_disclosure_note

    noted = with_disclosure_note(table, "<5")
    caption = [line for line in noted.splitlines() if line.startswith(": ")][0]
    assert caption.endswith("{#tbl-feedback}")
    assert "\\<5: a count from 1 to 4" in caption and "\\[c\\]: hidden so that" in caption
    assert "a range such as 80–95" in caption
    assert with_disclosure_note(table.replace("\\[c\\]", "1").replace("75–95", "1"), "<5").count("\\[c\\]") == 0


def test_rounding_rules_publish_no_band():
    # a band computed on unrounded totals would give back what the rounding hides
    from pcnstudy.core.disclosure import get_rule

    spec = get_rule("nhs_digital")
    counts = Counts(spec.threshold, True, spec.marker, spec.secondary_marker)
    fb, kirk, labels = feedback_frames()
    pub = protect_feedback(fb, kirk, labels, counts, spec.round_to).tables["feedback_proportions"]
    assert pub["pct_band"].tolist() == ["", "", ""]
    assert pub["n"].tolist() == ["20", "20", "20"] and pub.loc[2, "k"] == "<8"


def test_the_whole_publication_passes_the_audit(built_project):
    # every results CSV of a full pipeline run, linked tables together: no leak, no false marker;
    # the bundle the paper ships carries exactly the tables that pass, never the response-level one
    import yaml

    instrument = yaml.safe_load((built_project / "config" / "instrument.yml").read_text(encoding="utf-8"))
    report = audit_results(built_project / "data" / "processed" / "results", instrument, THR, "<5")
    leaking = {name: leaks[:2] for name, leaks in report.items() if leaks and name != "themes/doc_themes.csv"}
    assert leaking == {}
    with zipfile.ZipFile(built_project / "paper" / "_output" / "supplementary-tables.zip") as zf:
        names = set(zf.namelist())
    assert "themes/doc_themes.csv" not in names and "scores/kirkpatrick.csv" in names
    # besides the audited tables: the audit's report and the key from cohort ids to programmes
    assert {"disclosure-audit.txt", "cohorts-key.csv"} <= names
    assert names - {"disclosure-audit.txt", "cohorts-key.csv"} == set(bundle_files(report))
