"""The paper's tables of the twin check (``pcnstudy twin``): estimates beside the truth.

``twin_tables(twin, cohorts, names, conf_pct)`` takes the check's tables
(``pcnstudy.paper.inputs.read_twin``: change_truth and theme_truth), the cohorts analysed
(programme names label the rows) and the instrument's and codebook's display names, and
gives {file stem: markdown} for ``twin_change`` (each simulated cohort's change per domain:
estimate and interval, the generator's value, whether the interval covers it; a cohort
surveyed once is its retrospective then-vs-now change, labelled by ``cohort_labels``) and
``twin_themes`` (each theme's true and assigned share of responses, and Cohen's kappa).
Both tables are always made, so that their references resolve; without a simulated cohort
they hold one row 'none'.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from pcnstudy.core.labels import wave_label
from pcnstudy.paper.tables import cohort_labels, md_escape, pipe_table
from pcnstudy.paper.values import format_number, format_value

QUANTITY_LABELS = {"mean_change": "Mean change (points)", "pct_change": "Change of the mean (%)"}  # column order


def _scaled(quantity: str, value: float) -> str:
    return format_number(100 * value, 1) if quantity == "pct_change" else format_number(value, 2)


def programme_labels(cohorts: list[Mapping[str, Any]] | None) -> dict[str, str]:
    """Cohort id -> its programme's name, numbered where a programme ran several cohorts
    (``pcnstudy.paper.tables.cohort_labels``: the label every table gives it)."""
    return cohort_labels(cohorts)


def change_truth_table(change: pd.DataFrame, programmes: Mapping[str, str], domains: Mapping[str, str],
                       conf_pct: str) -> str:
    """One row per cohort, domain and later wave: each quantity's estimate (CI), truth, covered."""
    rows = []
    keys = ["cohort", "domain", "wave_to"]
    if change.empty or any(k not in change.columns for k in keys):
        change = pd.DataFrame(columns=keys + ["quantity"])
    for (cohort, domain, wave), part in change.groupby(keys, sort=False):
        by = {rec["quantity"]: rec for rec in part.to_dict("records")}
        label = programmes.get(cohort, cohort)
        if any(rec.get("comparison") == "unpaired" for rec in by.values()):
            label += " (unpaired)"
        row = [md_escape(label), md_escape(domains.get(domain, domain)), md_escape(wave_label(wave))]
        for q in QUANTITY_LABELS:
            rec = by.get(q)
            if rec is None:
                row += ["", "", ""]
                continue
            row += [f"{_scaled(q, rec['estimate'])} ({_scaled(q, rec['ci_low'])} to {_scaled(q, rec['ci_high'])})",
                    _scaled(q, rec["truth"]), "yes" if bool(rec["covered"]) else "**no**"]
        rows.append(row)
    header = ["Programme", "Domain", "Wave", f"Mean change ({conf_pct}% CI)", "True change", "Covered",
              f"Change of the mean, % ({conf_pct}% CI)", "True %", "Covered (%)"]
    return pipe_table(header, rows, "The simulated cohorts' change from baseline (for a cohort surveyed once, from "
                      "its retrospective then-test) beside the simulator's population value, in scale points and "
                      "as percent change of the mean: does each interval cover the truth?", "tbl-twin-change", "lll" + "rrcrrc", max_width=30)


def theme_truth_table(themes: pd.DataFrame) -> str:
    rows = []
    for rec in (themes.to_dict("records") if "name" in themes.columns else []):
        hidden = bool(rec.get("suppressed"))
        pct = (lambda key: "suppressed" if hidden or pd.isna(rec[key]) else format_value("pct", float(rec[key])))
        rows.append([md_escape(rec["name"]), pct("pct_true"), pct("pct_assigned"),
                     "NA" if pd.isna(rec["kappa"]) else format_number(float(rec["kappa"]), 2)])
    header = ["Theme", "True share (%)", "Assigned share (%)", "Cohen's kappa"]
    return pipe_table(header, rows, "Each codebook theme's share of the simulated responses: written in by the "
                      "simulator (truth) and assigned by the theme model, with their agreement", "tbl-twin-themes",
                      "lrrr", max_width=40)


def twin_tables(twin: Mapping[str, pd.DataFrame], cohorts: list[Mapping[str, Any]] | None,
                names: Mapping[str, Mapping[str, str]], conf_pct: str) -> dict[str, str]:
    programmes = programme_labels(cohorts)
    change = twin.get("change_truth", pd.DataFrame())
    themes = twin.get("theme_truth", pd.DataFrame())
    return {"twin_change": change_truth_table(change, programmes, names.get("Domain", {}), conf_pct),
            "twin_themes": theme_truth_table(themes)}
