"""Disclosure control of the scores stage's tables (rules in ``pcnstudy.core.disclosure``).

``publish_tables(change, fb, attrition, attrition_prof, min_cell, rule, protect_remainder,
kirkpatrick=, labels=)`` takes the unsuppressed change, feedback-proportion, attrition
and Kirkpatrick tables and gives the published ones and the feedback mask of hidden
cells, which scores.json and fig-feedback need. Tables that share margins are
protected together (``pcnstudy.core.published``, audited by
``pcnstudy.core.disclosure_audit``): feedback with the Kirkpatrick sums of its items;
attrition with attrition by profession and the change table's pairs (the pairs to the
last wave are the completers). Counts below the threshold show the rule's marker
(``<5``), cells hidden to protect them ``[c]``, and a hidden share its band
(``pct_band``, ``pct_lost_band``, ``pct_yes_band``: e.g. ``0.75-0.95``) where the
linked tables bound it. ``suppress_small_n`` hides the statistics of change rows
resting on fewer people than the threshold. ``feedback_labels(instrument)`` gives each
feedback item's Kirkpatrick and impact level.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pcnstudy.core.disclosure import get_rule
from pcnstudy.core.published import Counts, hidden_mask, protect_attrition, protect_feedback

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
    kirkpatrick: pd.DataFrame | None = None
    #: cohorts whose attrition by profession is withheld (no suppression could protect it)
    withheld_by_profession: tuple[str, ...] = ()


def suppress_small_n(frame: pd.DataFrame, n_col: str, stat_cols: list[str], marker: str, threshold: int) -> pd.DataFrame:
    """Replace statistics of rows resting on fewer than ``threshold`` people by the marker."""
    out = frame.copy()
    small = pd.to_numeric(out[n_col], errors="coerce") < threshold
    if small.any():
        cols = list(dict.fromkeys([c for c in stat_cols if c in out.columns] + [n_col]))
        out[cols] = out[cols].astype(object)
        out.loc[small, cols] = marker
    return out


def feedback_labels(instrument: dict | None) -> dict[str, dict[str, str]]:
    """{feedback item: {"kirkpatrick": level, "impact": level}} from the instrument."""
    return {str(f["id"]): {k: str(f[k]) for k in ("kirkpatrick", "impact") if f.get(k)}
            for f in (instrument or {}).get("feedback") or []}


def publish_tables(change: pd.DataFrame, fb: pd.DataFrame, attrition: pd.DataFrame, attrition_prof: pd.DataFrame,
                   min_cell: int, rule: str, protect_remainder: bool, kirkpatrick: pd.DataFrame | None = None,
                   labels: dict[str, dict[str, str]] | None = None) -> Published:
    """Apply disclosure control to the count tables and the change table, linked tables together.

    ``protect_remainder=False`` leaves the feedback "no" answers unprotected (a small
    remainder may then be inferred); ``kirkpatrick`` (with the items' ``labels``) is
    protected with the feedback it sums.
    """
    spec = get_rule(rule, min_cell)
    counts = Counts(spec.threshold, True, spec.marker, spec.secondary_marker)
    kirk = kirkpatrick if kirkpatrick is not None else pd.DataFrame(columns=["dimension", "source", "cohort", "level"])
    fb_prot = protect_feedback(fb, kirk, labels or {}, counts, spec.round_to, protect_remainder=protect_remainder)
    fb_pub = fb_prot.tables["feedback_proportions"]
    fb_mask = hidden_mask(fb_prot.kinds["feedback_proportions"])
    att = protect_attrition(attrition, attrition_prof, change, counts, ATTRITION_DERIVED, spec.round_to)
    change_pub = suppress_small_n(change, "n_pairs", [c for c in change.columns if c not in CHANGE_KEYS],
                                  spec.marker, spec.threshold)
    complementary = att.kinds["change_scores"]["n_pairs"].to_numpy() == "secondary"
    if complementary.any():
        change_pub["n_pairs"] = change_pub["n_pairs"].astype(object)
        change_pub.loc[complementary, "n_pairs"] = spec.secondary_marker
    for cohort in att.withheld:
        print(f"note: attrition by profession of {cohort} is withheld: its professions' small counts "
              f"would bound its total below {spec.threshold} whatever else was hidden")
    return Published(change_pub, fb_pub, fb_mask, att.tables["attrition"], att.tables["attrition_by_profession"],
                     spec.marker, spec.threshold,
                     fb_prot.tables["kirkpatrick"] if kirkpatrick is not None else None, tuple(att.withheld))


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
