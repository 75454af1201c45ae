"""Disclosure control of the scores stage's tables (rules in ``pcnstudy.core.disclosure``).

``publish_tables(change, fb, attrition, attrition_prof, min_cell, rule, protect_remainder)``
takes the unsuppressed change, feedback-proportion and attrition tables and gives the
published ones (small counts and the statistics derived from them replaced by the
rule's marker, e.g. ``<5``) and the feedback mask of hidden cells, which scores.json
and fig-feedback need. ``suppress_small_n`` hides the statistics of change rows
resting on fewer people than the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pcnstudy.core.disclosure import get_rule, suppress, suppression_mask

#: Attrition statistics that rest on the group of people lost (hidden with its count):
#: tests on a suppressed group are statistics on it.
ATTRITION_DERIVED = {"pct_lost": "n_lost", "mean_baseline_lost": "n_lost",
                     "mean_baseline_completers": "n_completers", "diff_lost_minus_completers": "n_lost",
                     **{c: "n_lost" for c in ("welch_t", "welch_df", "p_welch", "mannwhitney_u", "p_mannwhitney",
                                              "p_profession")}}
FEEDBACK_DERIVED = {"pct": "k", "pct_ci_low": "k", "pct_ci_high": "k"}
#: Change-table columns that identify a row (never hidden).
CHANGE_KEYS = ("cohort", "item", "wave_from", "wave_to", "level")


@dataclass(frozen=True)
class Published:
    """The published (disclosure-controlled) tables, and the feedback mask of hidden cells."""

    change: pd.DataFrame
    feedback: pd.DataFrame
    feedback_mask: pd.DataFrame
    attrition: pd.DataFrame
    attrition_by_profession: pd.DataFrame
    marker: str
    threshold: int


def suppress_small_n(frame: pd.DataFrame, n_col: str, stat_cols: list[str], marker: str, threshold: int) -> pd.DataFrame:
    """Replace statistics of rows resting on fewer than ``threshold`` people by the marker."""
    out = frame.copy()
    small = pd.to_numeric(out[n_col], errors="coerce") < threshold
    if small.any():
        cols = list(dict.fromkeys([c for c in stat_cols if c in out.columns] + [n_col]))
        out[cols] = out[cols].astype(object)
        out.loc[small, cols] = marker
    return out


def publish_tables(change: pd.DataFrame, fb: pd.DataFrame, attrition: pd.DataFrame, attrition_prof: pd.DataFrame,
                   min_cell: int, rule: str, protect_remainder: bool) -> Published:
    """Apply disclosure control to the count tables and the change table."""
    spec = get_rule(rule, min_cell)
    fb_pub = suppress(fb, ["k"], total_col="n", derived_cols=FEEDBACK_DERIVED, min_cell=min_cell, rule=rule,
                      protect_remainder=protect_remainder)
    fb_mask = suppression_mask(fb, ["k"], total_col="n", min_cell=min_cell, rule=rule,
                               protect_remainder=protect_remainder)
    att_pub = suppress(attrition, ["n_completers", "n_lost"], total_col="n_baseline", derived_cols=ATTRITION_DERIVED,
                       min_cell=min_cell, rule=rule)
    att_prof_pub = suppress(attrition_prof, ["n_completers", "n_lost"], total_col="n_baseline", min_cell=min_cell,
                            rule=rule, by=["cohort"])
    change_pub = suppress_small_n(change, "n_pairs", [c for c in change.columns if c not in CHANGE_KEYS],
                                  spec.marker, spec.threshold)
    return Published(change_pub, fb_pub, fb_mask, att_pub, att_prof_pub, spec.marker, spec.threshold)


#: Unpaired-change columns that identify a row (never hidden).
UNPAIRED_KEYS = ("cohort", "level", "item", "wave_from", "wave_to", "paired")


def publish_unpaired(unpaired: pd.DataFrame, marker: str, threshold: int) -> pd.DataFrame:
    """The unpaired change table with every statistic of a row hidden when either wave's
    sample (``n_from`` or ``n_to``) is smaller than the threshold; the small count too."""
    stats = [c for c in unpaired.columns if c not in UNPAIRED_KEYS]
    out = unpaired.copy()
    small = (pd.to_numeric(out["n_from"], errors="coerce") < threshold) | \
            (pd.to_numeric(out["n_to"], errors="coerce") < threshold)
    if small.any():
        out[stats] = out[stats].astype(object)
        hidden = [c for c in stats if c not in ("n_from", "n_to")]
        out.loc[small, hidden] = marker
        for col in ("n_from", "n_to"):
            out.loc[pd.to_numeric(unpaired[col], errors="coerce") < threshold, col] = marker
    return out
