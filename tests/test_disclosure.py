"""Disclosure control: primary and complementary suppression, presets, flags."""
from __future__ import annotations

import hashlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from pcnstudy.core.disclosure import get_rule, round_to_base, suppress, suppression_mask
from pcnstudy.core.plots import save_figure


def test_primary_and_derived_suppression():
    table = pd.DataFrame({"item": ["a", "b", "c"], "k": [3, 12, 0], "n": [20, 20, 20],
                          "pct": [0.15, 0.6, 0.0]})
    out = suppress(table, ["k"], total_col="n", derived_cols={"pct": "k"})
    assert out.loc[0, "k"] == "<5" and out.loc[0, "pct"] == "<5"
    assert out.loc[1, "k"] == "12" and out.loc[1, "pct"] == "0.6"
    assert out.loc[2, "k"] == "0"
    assert out["n"].tolist() == ["20", "20", "20"]


def test_small_remainder_hides_the_count_it_could_be_derived_from():
    # 16 of 18 yes: the 2 "no" answers would be 18 - 16
    table = pd.DataFrame({"k": [16, 10], "n": [18, 18], "pct": [16 / 18, 10 / 18]})
    out = suppress(table, ["k"], total_col="n", derived_cols={"pct": "k"})
    # k (16) is hidden to protect the 2: it carries the complementary marker, not "<5"
    assert out.loc[0, "k"] == "[c]" and out.loc[0, "pct"] == "[c]"
    assert out.loc[1, "k"] == "10"


def test_row_complementary_suppression_with_exhaustive_counts():
    table = pd.DataFrame({"yes": [2, 10], "no": [9, 10], "unsure": [7, 1], "n": [18, 21]})
    mask = suppression_mask(table, ["yes", "no", "unsure"], total_col="n")
    # row 0: yes hidden (2), so the next smallest (unsure 7) is hidden too
    assert mask.loc[0, ["yes", "no", "unsure"]].tolist() == [True, False, True]
    # row 1: unsure hidden (1); yes and no tie at 10, the first is taken
    assert mask.loc[1, ["yes", "no", "unsure"]].tolist() == [True, False, True]


def test_group_complementary_suppression():
    table = pd.DataFrame({"cohort": ["x", "x", "x", "y", "y"],
                          "profession": ["gp", "nurse", "pharm", "gp", "nurse"],
                          "n": [12, 3, 8, 10, 11]})
    mask = suppression_mask(table, ["n"], by=["cohort"])
    assert mask["n"].tolist() == [False, True, True, False, False]
    out = suppress(table, ["n"], by=["cohort"])
    # 3 is below the threshold; 8 is hidden only to protect it
    assert out["n"].tolist() == ["12", "<5", "[c]", "10", "11"]
    # no single hidden cell in any group
    for _, rows in mask.groupby(table["cohort"]):
        assert rows["n"].sum() != 1


def test_presets():
    assert get_rule("nhs_digital").threshold == 8 and get_rule("nhs_digital").round_to == 5
    assert get_rule("ons_10_5").threshold == 10
    table = pd.DataFrame({"k": [7, 8, 12, 13, 23], "n": [40, 40, 40, 40, 40], "m": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = suppress(table, ["k"], total_col="n", derived_cols={"m": "k"}, rule="nhs_digital")
    assert out["k"].tolist() == ["<8", "10", "10", "15", "25"]
    assert out.loc[0, "m"] == "<8" and out.loc[1, "m"] == "2"
    out = suppress(table, ["k"], total_col="n", rule="ons_10_5")
    assert out["k"].tolist()[:2] == ["<10", "<10"]
    assert np.array_equal(round_to_base(np.array([12.5, 2.4, 0]), 5), [15.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="unknown disclosure rule"):
        get_rule("nope")


def test_flags_all_in_one_category_in_small_groups():
    table = pd.DataFrame({"k": [12, 0, 30, 6], "n": [12, 12, 30, 12]})
    out = suppress(table, ["k"], total_col="n")
    assert out["flag"].tolist() == ["100%", "0%", "", ""]


def test_small_total_hides_row_and_min_cell():
    table = pd.DataFrame({"k": [2, 6], "n": [4, 9], "pct": [0.5, 6 / 9]})
    out = suppress(table, ["k"], total_col="n", derived_cols={"pct": "k"}, min_cell=10)
    assert out["k"].tolist() == ["<10", "<10"] and out["n"].tolist() == ["<10", "<10"]
    assert out["pct"].tolist() == ["<10", "<10"]


def test_save_figure_is_deterministic(tmp_path):
    def draw():
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [1, 3, 2], label="x")
        ax.legend()
        return fig

    digests = []
    for sub in ("a", "b"):
        fig = draw()
        written = save_figure(fig, "fig-test", tmp_path / sub)
        plt.close(fig)
        assert [p.name for p in written] == ["fig-test.png", "fig-test.svg"]
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in written])
    assert digests[0] == digests[1]
    assert b"<dc:date>" not in (tmp_path / "a" / "fig-test.svg").read_bytes()
    with pytest.raises(ValueError):
        save_figure(draw(), "bad label/..", tmp_path)


def test_remainder_protection_can_be_switched_off():
    table = pd.DataFrame({"k": [16], "n": [18], "pct": [16 / 18]})
    out = suppress(table, ["k"], total_col="n", derived_cols={"pct": "k"}, protect_remainder=False)
    assert out.loc[0, "k"] == "16" and out.loc[0, "pct"] == "0.8889"


def test_an_empty_table_hides_nothing_and_does_not_fail():
    import pandas as pd

    from pcnstudy.core.disclosure import suppress, suppression_mask

    empty = pd.DataFrame({"group": [], "k": [], "n": []})
    mask = suppression_mask(empty, ["k"], total_col="n", by=["group"])
    assert mask.empty and list(mask.columns) == ["k", "n"]
    assert suppress(empty, ["k"], total_col="n", by=["group"]).empty
