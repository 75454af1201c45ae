"""Result tables formatted for people: p-values, precision, intervals, labels, suppressed cells."""
import math

import pandas as pd

from pcnstudy.core import display


def test_p_values_are_three_decimals_or_below_a_thousandth():
    assert display.format_p(6.935693e-08) == "<0.001"
    assert display.format_p(0.0342) == "0.034"
    assert display.format_p(1.0) == "1.000"
    assert display.format_p(math.nan) == "" and display.format_p(None) == ""
    assert display.format_p("<5") == "<5"


def test_intervals_read_a_to_b_and_a_suppressed_one_shows_its_marker():
    assert display.format_ci(0.5401950411547578, 0.789815260292658) == "0.54 to 0.79"
    assert display.format_ci(0.1253, 0.3589, percent=True) == "12.5 to 35.9"
    assert display.format_ci("<5", "<5") == "<5"
    assert display.format_ci(math.nan, 0.3) == ""


def test_numbers_keep_a_precision_that_fits_and_markers_stay():
    assert display.format_number(0.7096774193548387) == "0.71"
    assert display.format_number(31.0, 0) == "31"
    assert display.format_number(0.23655913978494625, percent=True) == "23.7"
    assert display.format_number("0.8897", percent=True) == "89.0"  # published tables hold strings
    assert display.format_number("<5") == "<5"
    assert display.format_number(True) == "yes"


def test_a_result_table_gets_labels_one_ci_column_and_formatted_cells():
    frame = pd.DataFrame({
        "cohort": ["a", "b"], "n_pairs": [31, "<5"], "mean_diff": [0.70967, "<5"],
        "diff_ci_low": [0.4073, "<5"], "diff_ci_high": [1.0121, "<5"], "pct_change": [0.23656, "<5"],
        "p_t": [4.17e-05, 0.0342], "converged": [True, False], "note": [None, "few pairs"],
    }).set_index("cohort")
    shown = display.table(frame, alpha=0.05)
    assert list(shown.columns) == ["Pairs", "Mean change", "95% CI of the change", "Change (%)", "p (t-test)",
                                   "Converged", "Note"]
    assert shown.index.name == "Cohort"
    assert shown.loc["a"].tolist() == ["31", "0.71", "0.41 to 1.01", "23.7", "<0.001", "yes", ""]
    assert shown.loc["b"].tolist() == ["<5", "<5", "<5", "<5", "0.034", "no", "few pairs"]


def test_columns_keeps_the_named_ones_and_a_ci_pair_by_its_prefix():
    frame = pd.DataFrame({"estimate": [0.665], "ci_low": [0.54], "ci_high": [0.79], "tau2": [0.0], "p": [0.2]})
    shown = display.table(frame, columns=["estimate", "ci", "p"], alpha=None)
    assert list(shown.columns) == ["Estimate", "CI", "p"]
    assert list(display.table(frame, columns=["p", "estimate"]).columns) == ["p", "Estimate"]
    assert shown.iloc[0].tolist() == ["0.67", "0.54 to 0.79", "0.200"]


def test_counts_are_a_labelled_column_of_integers():
    shown = display.counts({"rows_read": 120, "rows_kept": 118}, "rows")
    assert shown.to_dict() == {"rows": {"Rows read": "120", "Rows kept": "118"}}


def test_display_options_show_every_column():
    display.use_display_options()
    try:
        assert pd.get_option("display.max_columns") is None
        wide = pd.DataFrame([range(40)], columns=[f"c{i}" for i in range(40)])
        assert "..." not in wide.to_html() and "c39" in repr(wide)
    finally:
        pd.reset_option("display")


def test_integer_columns_stay_integers_whatever_their_name():
    shown = display.table(pd.DataFrame({"respondents_without_baseline": [3, 0]}))
    assert shown.iloc[:, 0].tolist() == ["3", "0"]


def test_single_values_keep_integers_and_three_significant_digits():
    shown = display.counts({"npmi_mean": 0.005940575, "n_free_topics": 1, "stability": 1.0, "score_scale": "0.5 is"})
    assert shown["Count"].tolist() == ["0.00594", "1", "1", "0.5 is"]
