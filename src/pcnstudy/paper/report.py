"""A short report for one cohort, beside the pooled results of the other cohorts.

``report_command(name) -> int`` is ``pcnstudy report NAME``. It takes the study's
results (``data/processed/results/``: scores.json, themes.json,
scores/change_scores.csv, scores/feedback_proportions.csv, themes/prevalence.csv,
themes/doc_themes.csv), the redacted free text (``data/processed/texts.parquet``,
for the cohort's own quotes), the cohort's row of the ingested cohorts table
(``data/processed/cohorts.parquet``), the instrument and codebook configs and
params.yaml, and gives ``reports/cohort-NAME.html`` and ``reports/cohort-NAME.pdf``,
rendered by the same engines as the paper (``pcnstudy.paper.render``: Quarto where it is
installed, else pandoc with the shortcode filters and Typst). It never reads data/raw.

The report is the template ``pcnstudy/paper/templates/cohort_report.qmd`` with a
``_variables.yml`` and ``tables/*.md`` written beside it in a build folder:

- the cohort's change by domain (scores.json ``change``), beside a REML
  random-effects pool of the other cohorts' published mean changes
  (``pooled_change_others``) and the study's meta-analysis of every cohort;
- feedback proportions (scores.json ``feedback``) beside the other cohorts' published
  counts added up, with Wilson intervals (``pooled_counts_others``);
- theme prevalence (themes.json ``by_cohort``) beside the other cohorts' answers;
- the cohort's exemplar quotes (``cohort_quotes``), chosen as the study chooses them.

A cohort whose design (the cohorts table's ``design``) is ``unpaired`` gets its unpaired
change instead (scores.json ``unpaired_change``, ``unpaired_change_md``), and the report
says that its waves could not be linked; a ``single_wave`` cohort says that no change is
estimated; a ``retrospective`` cohort (one wave with a then-test) gets its retrospective
then-vs-now change (scores.json ``then_test``, ``retrospective_change_md``), said to be
retrospective and pooled with no other cohort (``CHANGE_INTROS``, ``DESIGN_NOTES``).

Values are formatted as the paper formats them (``pcnstudy.paper.values.format_value``), and
values suppressed by disclosure control stay suppressed; pooled figures only add
published counts. Exit codes: 0 written; 1 unknown cohort, no results, or the cohort
not in the results (one line on stderr saying what to run); 2 a malformed name.

Unlike the paper stage, which depends on the core and this subpackage alone, the report
imports the scores and themes stages' own rules at the top (``random_effects``,
``order_waves``, ``select_quotes``) so that it pools and quotes exactly as the study
does; it is a command, run outside the pipeline, so no stage depends on those imports.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from pcnstudy.core import paths
from pcnstudy.core.labels import cohort_labels
from pcnstudy.core.params import load_params
from pcnstudy.core.proportions import wilson_ci
from pcnstudy.paper import render
from pcnstudy.paper.colophon import COHORT_REPORT_PREFIX, build_epoch
from pcnstudy.paper.inputs import PaperInputError, cohort_records, project_path, read_cohorts
from pcnstudy.paper.tables import display_names, md_escape, pipe_table
from pcnstudy.paper.values import conf_pct as confidence_pct
from pcnstudy.paper.values import flatten, format_value, nest
from pcnstudy.scores.meta import random_effects
from pcnstudy.scores.ratings_table import order_waves
from pcnstudy.themes.quotes import ANONYMOUS_ROLE, QUOTE_COLUMNS, quote_roles, select_quotes

COHORT_NAME = re.compile(r"^[a-z0-9_]+$")
TEMPLATE = "cohort_report.qmd"
POOLED_KEYS = ("pooled", "all")


class ReportInputError(Exception):
    """The report cannot be made: the message says which file or cohort and what to run."""


# --------------------------------------------------------------------------- inputs


def template_path() -> Path:
    """The report template shipped in pcnstudy/paper/templates."""
    return paths.packaged_file("pcnstudy.paper", f"templates/{TEMPLATE}")


def load_json(path: Path) -> dict[str, Any]:
    """Read a results JSON file; a missing file is an error naming it and the fix."""
    path = Path(path)
    if not path.is_file():
        raise ReportInputError(f"{path}: no such file; run `dvc repro` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportInputError(f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ReportInputError(f"{path}: cannot read ({err.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: not a JSON object; run `dvc repro` to rebuild it")
    return data


def load_yaml(path: Path, default: Any = None) -> Any:
    """Read a YAML file (``default`` when missing); a broken file is an error naming it and the line."""
    path = Path(path)
    if not path.is_file():
        return default
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ReportInputError(f"{path}:{mark.line + 1 if mark else 0}: not valid YAML") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ReportInputError(f"{path}: cannot read ({err.__class__.__name__})") from None


def read_table(path: Path) -> pd.DataFrame:
    """Read a results CSV as strings (suppressed cells stay as their marker); empty if missing."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame()
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_texts(processed: Path) -> pd.DataFrame:
    """The processed texts table (parquet, else its CSV twin); empty when neither exists."""
    processed = Path(processed)
    if (processed / "texts.parquet").is_file():
        return pd.read_parquet(processed / "texts.parquet")
    if (processed / "texts.csv").is_file():
        return pd.read_csv(processed / "texts.csv", dtype=str, keep_default_na=False)
    return pd.DataFrame()


def read_cohort(processed: Path, name: str) -> dict[str, Any] | None:
    """Cohort ``name``'s row of the ingested cohorts table (``cohort_records``), None when it
    is not there; a damaged table is a ReportInputError naming it."""
    try:
        records = cohort_records(read_cohorts(processed))
    except PaperInputError as err:
        raise ReportInputError(str(err)) from None
    return next((rec for rec in records if rec.get("cohort") == name), None)


def results_cohorts(scores: Mapping[str, Any], themes: Mapping[str, Any]) -> list[str]:
    """Cohort ids the results hold (change, feedback, attrition, reliability, themes by cohort), sorted."""
    found: set[str] = set()
    for section in ("change", "feedback", "attrition", "reliability", "mixed", "unpaired_change", "then_test"):
        found.update((scores.get(section) or {}).keys())
    found.update((themes.get("by_cohort") or {}).keys())
    return sorted(c for c in found if c not in POOLED_KEYS)


def number(value: Any) -> float | None:
    """A published value as a float, or None when it is suppressed, missing or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


# --------------------------------------------------------------------------- pooling


def last_wave_domain_rows(change: pd.DataFrame) -> pd.DataFrame:
    """Per cohort and domain, the change to the last later wave (the row order of the table)."""
    if change.empty or "level" not in change.columns:
        return change
    dom = change[(change["level"] == "domain") & ~change["cohort"].isin(POOLED_KEYS)]
    return dom.groupby(["cohort", "item"], sort=True).tail(1).reset_index(drop=True)


def pooled_change_others(change: pd.DataFrame, name: str, alpha: float = 0.05) -> dict[str, dict[str, Any]]:
    """REML random-effects pool of the other cohorts' mean change per domain.

    ``change`` is results/scores/change_scores.csv (strings); a cohort enters a domain's
    pool when its mean_diff, sd_diff and n_pairs are published numbers (a suppressed
    cohort does not). Returns {domain: {k, estimate, ci_low, ci_high, tau2, cohorts}}.
    """
    rows = last_wave_domain_rows(change)
    out: dict[str, dict[str, Any]] = {}
    if rows.empty:
        return out
    for domain, sub in rows[rows["cohort"] != name].groupby("item", sort=True):
        y, v, used = [], [], []
        for rec in sub.to_dict("records"):
            diff, sd, n = number(rec.get("mean_diff")), number(rec.get("sd_diff")), number(rec.get("n_pairs"))
            if diff is None or sd is None or not n or sd <= 0:
                continue
            y.append(diff)
            v.append(sd**2 / n)
            used.append(rec["cohort"])
        res = random_effects(np.array(y), np.array(v), method="reml", alpha=alpha)
        out[str(domain)] = {"k": res["k"], "estimate": res["estimate"], "ci_low": res["ci_low"],
                            "ci_high": res["ci_high"], "tau2": res["tau2"], "cohorts": ", ".join(used)}
    return out


def pooled_counts_others(table: pd.DataFrame, name: str, key: str, n_col: str, k_col: str,
                         alpha: float = 0.05, where: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Add up the other cohorts' published counts per ``key`` value; Wilson interval on the sum.

    ``table`` holds a cohort column (or ``level`` with ``where`` selecting the cohort
    rows), ``key``, a total ``n_col`` and a count ``k_col`` (strings; a suppressed row
    is left out). Returns {key value: {n, k, prop, prop_ci_low, prop_ci_high, n_cohorts}}.
    """
    if table.empty:
        return {}
    frame = table
    for col, value in (where or {}).items():
        frame = frame[frame[col] == value]
    cohort_col = "cohort" if "cohort" in frame.columns else "level"
    frame = frame[(frame[cohort_col] != name) & ~frame[cohort_col].isin(POOLED_KEYS)]
    if "wave" in frame.columns:  # the last wave each cohort has for the item, as scores.json
        rank = {w: i for i, w in enumerate(order_waves(frame["wave"]))}
        frame = frame.assign(_r=frame["wave"].map(rank)).sort_values(["_r"], kind="stable")
        frame = frame.groupby([cohort_col, key], sort=True).tail(1)
    out: dict[str, dict[str, Any]] = {}
    for value, sub in frame.groupby(key, sort=True):
        n = k = 0
        used = 0
        for rec in sub.to_dict("records"):
            rn, rk = number(rec.get(n_col)), number(rec.get(k_col))
            if rn is None or rk is None:
                continue
            n, k, used = n + int(rn), k + int(rk), used + 1
        low, high = wilson_ci(np.array([k]), np.array([n]), alpha=alpha) if n else ([math.nan], [math.nan])
        out[str(value)] = {"n": n, "k": k, "prop": k / n if n else math.nan, "prop_ci_low": float(low[0]),
                           "prop_ci_high": float(high[0]), "n_cohorts": used}
    return out


def cohort_quotes(doc_themes: pd.DataFrame, texts: pd.DataFrame, name: str, n_quotes: int,
                  seed_terms: Mapping[str, Sequence[str]] | None = None, people: pd.DataFrame | None = None,
                  min_cell: int = 5) -> pd.DataFrame:
    """This cohort's exemplar quotes: per theme distinct excerpts of its assigned answers.

    ``doc_themes``: results/themes/doc_themes.csv (id, theme, score, assigned);
    ``texts``: the processed texts table (response_id, respondent, cohort, profession, text,
    redacted); ``seed_terms``: the codebook's; ``people``: the respondents table (roles).
    Chosen and attributed by ``pcnstudy.themes.quotes`` (``select_quotes``, ``quote_roles``),
    the rules the study's quotes follow.
    """
    columns = list(QUOTE_COLUMNS)
    if doc_themes.empty or texts.empty:
        return pd.DataFrame(columns=columns)
    mine = texts[texts["cohort"] == name]
    plain = pd.DataFrame({"id": mine["response_id"].astype(str), "text": mine["text"].fillna("").astype(str),
                          "cohort": name})
    if "respondent" in mine.columns:
        plain["respondent"] = mine["respondent"].astype(str).to_numpy()
        source = people if people is not None and {"respondent", "cohort"} <= set(people.columns) else mine
        roles = quote_roles(source.assign(respondent=source["respondent"].astype(str)), min_cell)
        plain["role"] = plain["respondent"].map(roles).fillna(ANONYMOUS_ROLE).to_numpy()
    docs = doc_themes[doc_themes["id"].isin(set(plain["id"]))].copy()
    docs["score"] = pd.to_numeric(docs["score"])
    docs["assigned"] = pd.to_numeric(docs["assigned"]).astype(int)
    return select_quotes(docs, plain.drop_duplicates("id"), n_quotes, seed_terms=seed_terms)


# --------------------------------------------------------------------------- content


def fmt(key: str, value: Any) -> str:
    """A value formatted as the paper formats it (by statistic name), escaped for a table cell."""
    return md_escape(format_value(key, value))


def interval(rec: Mapping[str, Any], low: str, high: str) -> str:
    """'(low, high)' formatted by the bounds' names, or '' when absent."""
    if low not in rec or high not in rec:
        return ""
    return f"({fmt(low, rec[low])}, {fmt(high, rec[high])})"


def cohort_table(config: Mapping[str, Any], n_respondents: Any) -> str:
    """The cohort's description: its row of the cohorts table (``cohort_records``; {} when absent)."""
    def shown(value: Any) -> str:
        return md_escape(value) if value not in (None, "") else "not stated"

    waves = list(config.get("waves") or []) + list(config.get("retrospective_waves") or [])
    rows = [["Programme", shown(config.get("programme"))], ["Region", shown(config.get("region"))],
            ["PCNs", shown(config.get("n_pcns"))],
            ["Dates", f"{shown(config.get('start'))} to {shown(config.get('end'))}"],
            ["Waves", (md_escape(", ".join(str(w) for w in waves)) or "not stated")
             + DESIGN_NOTES.get(str(config.get("design") or "paired"), "")],
            ["Respondents analysed", shown(n_respondents)]]
    return pipe_table(["", "This cohort"], rows, "The cohort, from its cohort.yml and the study's results",
                      "tbl-cohort", "ll", max_width=60)


#: What the report says of a cohort's waves, by its design (the cohorts table's ``design``).
DESIGN_NOTES = {"unpaired": " (unpaired: the waves could not be linked)", "single_wave": " (a single wave)",
                "retrospective": " (a single wave with a retrospective then-test)"}
#: The report's opening of its change section, by design (paired and linked: complete pairs).
CHANGE_INTROS = {
    "paired": "Change from the first to the last wave, by domain, on complete pairs. The other cohorts are pooled "
              "by a random-effects meta-analysis (REML) of their mean change, as in the study's own meta-analysis, "
              "which pools every cohort (last column).",
    "unpaired": "This cohort's waves could not be linked (an anonymous survey), so nothing paired is attempted: "
                "the change from the first to the last wave, by domain, is an unpaired comparison of start and end "
                "respondents (difference of the means with Welch's interval, percentage change of the means, "
                "Welch and Mann-Whitney tests). It enters neither the other cohorts' pool nor the study's "
                "meta-analysis of paired change.",
    "single_wave": "This cohort was surveyed at a single wave: no change is estimated and nothing paired is "
                   "attempted. The other cohorts' change is shown for reference (REML random-effects pool of their "
                   "mean change, and the study's meta-analysis).",
}
CHANGE_INTROS["retrospective"] = (
    "This cohort was surveyed once, after the programme: each respondent rated every item as they are now and, "
    "retrospectively, as they were before the programme (a then-test). Its change, by domain, is now minus then "
    "on the same respondents (paired t interval and test): a retrospective pre-post change, which rests on recall "
    "rather than a baseline, so it enters neither the other cohorts' pool nor the study's meta-analysis of "
    "prospective change.")
CHANGE_INTROS["linked"] = CHANGE_INTROS["paired"]


def retrospective_change_md(mine: Mapping[str, Any], domains: Mapping[str, str], conf_pct: str) -> str:
    """A retrospective cohort's then-vs-now change by domain (scores.json ``then_test``, ``then_vs_post``)."""
    rows = []
    for domain in sorted(mine, key=str):
        rec = (mine.get(domain) or {}).get("then_vs_post") or {}
        rows.append([md_escape(domains.get(domain, domain))]
                    + [fmt(k, rec[k]) if k in rec else "" for k in ("n_pairs", "mean_from", "mean_to", "mean_diff")]
                    + [interval(rec, "diff_ci_low", "diff_ci_high"),
                       fmt("pct_change", rec["pct_change"]) if "pct_change" in rec else "",
                       fmt("p_t", rec["p_t"]) if "p_t" in rec else ""])
    header = ["Domain", "Pairs", "Then (retrospective)", "Now", "Mean change", f"{conf_pct}% CI", "% change",
              "p (t)"]
    return pipe_table(header, rows, "Retrospective change in self-rated capability: now minus the retrospective "
                      "then-rating on the same respondents (no prospective baseline)", "tbl-change",
                      "l" + "r" * (len(header) - 1))


def unpaired_change_md(mine: Mapping[str, Any], domains: Mapping[str, str], conf_pct: str) -> str:
    """An unpaired cohort's change by domain (scores.json ``unpaired_change``), labelled unpaired."""
    rows = []
    for domain in sorted(mine, key=str):
        rec = mine.get(domain) or {}
        rows.append([md_escape(domains.get(domain, domain))]
                    + [fmt(k, rec[k]) if k in rec else "" for k in ("n_from", "n_to", "mean_from", "mean_to",
                                                                    "mean_diff")]
                    + [interval(rec, "diff_ci_low", "diff_ci_high"),
                       fmt("pct_change", rec["pct_change"]) if "pct_change" in rec else "",
                       interval(rec, "pct_ci_low", "pct_ci_high")]
                    + [fmt(k, rec[k]) if k in rec else "" for k in ("p_welch", "p_mannwhitney")])
    header = ["Domain", "First wave", "Last wave", "Before", "After", "Mean change", f"{conf_pct}% CI", "% change",
              f"{conf_pct}% CI (%)", "p (Welch)", "p (Mann-Whitney)"]
    return pipe_table(header, rows, "Change in self-rated capability, unpaired comparison of start and end "
                      "respondents (the waves could not be linked)", "tbl-change", "l" + "r" * (len(header) - 1))


def change_table_md(mine: Mapping[str, Any], others: Mapping[str, Any], meta: Mapping[str, Any],
                    domains: Mapping[str, str], conf_pct: str) -> str:
    """This cohort's change by domain beside the other cohorts pooled and the study's meta-analysis."""
    rows = []
    for domain in sorted(set(mine) | set(others), key=str):
        rec = mine.get(domain) or {}
        oth = others.get(domain) or {}
        all_ = meta.get(domain) or {}
        rows.append([
            md_escape(domains.get(domain, domain)),
            fmt("n_pairs", rec["n_pairs"]) if "n_pairs" in rec else "",
            fmt("mean_from", rec["mean_from"]) if "mean_from" in rec else "",
            fmt("mean_to", rec["mean_to"]) if "mean_to" in rec else "",
            fmt("mean_diff", rec["mean_diff"]) if "mean_diff" in rec else "no change data",
            interval(rec, "diff_ci_low", "diff_ci_high"),
            fmt("pct_change", rec["pct_change"]) if "pct_change" in rec else "",
            fmt("p_holm", rec["p_holm"]) if "p_holm" in rec else "",
            (f"{fmt('estimate', oth['estimate'])} {interval(oth, 'ci_low', 'ci_high')} k={oth['k']}"
             if oth.get("k") else "none"),
            (f"{fmt('estimate', all_['estimate'])} {interval(all_, 'ci_low', 'ci_high')}"
             if "estimate" in all_ else ""),
        ])
    header = ["Domain", "Pairs", "Before", "After", "Mean change", f"{conf_pct}% CI", "% change", "p (Holm)",
              f"Other cohorts pooled ({conf_pct}% CI)", "All cohorts (meta-analysis)"]
    return pipe_table(header, rows, "Change in self-rated capability: this cohort, the other cohorts pooled, and "
                      "every cohort", "tbl-change", "l" + "r" * (len(header) - 1))


def proportions_table_md(mine: Mapping[str, Any], others: Mapping[str, Any], labels: Mapping[str, str],
                         first: str, caption: str, label: str, conf_pct: str, n_key: str = "n", k_key: str = "k",
                         p_key: str = "pct") -> str:
    """A table of this cohort's proportions (k of n, %, CI) beside the other cohorts' pooled counts."""
    rows = []
    for key in sorted(set(mine) | set(others), key=str):
        rec = mine.get(key) or {}
        oth = others.get(key) or {}
        rows.append([
            md_escape(labels.get(key, key)),
            fmt(n_key, rec[n_key]) if n_key in rec else "",
            fmt(k_key, rec[k_key]) if k_key in rec else "",
            fmt(p_key, rec[p_key]) if p_key in rec else "",
            interval(rec, f"{p_key}_ci_low", f"{p_key}_ci_high"),
            f"{fmt('k', oth['k'])} of {fmt('n', oth['n'])}" if oth.get("n") else "none",
            fmt("prop", oth["prop"]) if oth.get("n") else "",
            interval(oth, "prop_ci_low", "prop_ci_high") if oth.get("n") else "",
        ])
    header = [first, "n", "k", "%", f"{conf_pct}% CI (%)", "Other cohorts", "%", f"{conf_pct}% CI (%)"]
    return pipe_table(header, rows, caption, label, "l" + "r" * (len(header) - 1), max_width=40)


def quotes_table_md(quotes: pd.DataFrame, theme_names: Mapping[str, str], max_chars: int = 300) -> str:
    """The cohort's quotes by theme."""
    rows = []
    for rec in quotes.sort_values(["theme", "rank"], kind="stable").to_dict("records"):
        text = " ".join(str(rec["text"]).split())
        if len(text) > max_chars:
            text = text[: max_chars - 1].rsplit(" ", 1)[0] + " …"
        rows.append([md_escape(theme_names.get(rec["theme"], rec["theme"])), "“" + md_escape(text) + "”",
                     md_escape(str(rec.get("role") or ANONYMOUS_ROLE))])
    return pipe_table(["Theme", "Quote", "Role"], rows, "Exemplar quotes from this cohort by theme (redacted; "
                      "each the sentences of one answer that carry the theme, a role shown only where at least "
                      "as many of the cohort's respondents share it as disclosure control requires)",
                      "tbl-quotes", "lll", max_width=90)


# --------------------------------------------------------------------------- assembly


def _named(cohort: str, labels: Mapping[str, str]) -> str:
    """A cohort as the paper names it, with the id the analyst uses: "Programme (id)"."""
    label = labels.get(cohort, cohort)
    return cohort if label == cohort else f"{label} ({cohort})"


def build_report(name: str, root: Path | None = None) -> dict[str, Any]:
    """Gather everything the report shows for cohort ``name``; raise ReportInputError when it cannot.

    Returns {'variables': flat {key: str}, 'tables': {file stem: markdown},
    'cohort': {the cohort's parts of scores.json and themes.json}, 'others': [...]}.
    """
    processed = project_path(root, paths.PROCESSED)
    results_dir = project_path(root, paths.RESULTS)
    scores = load_json(results_dir / "scores.json")
    themes = load_json(results_dir / "themes.json")
    present = results_cohorts(scores, themes)
    row = read_cohort(processed, name)
    if row is None and name not in present:
        known = ", ".join(present) or "none"
        raise ReportInputError(f"unknown cohort {name!r}: not in the cohorts table {processed / 'cohorts.parquet'} "
                               f"(cohorts with results: {known})")
    if name not in present:
        raise ReportInputError(f"{results_dir}: no results for cohort {name!r}; run `dvc repro` first "
                               "(and check that params.yaml `cohorts` includes it)")
    config = row or {}
    params = load_params(project_path(root, paths.PARAMS))
    alpha = float((params.get("scores") or {}).get("alpha", 0.05))
    conf_pct = confidence_pct(alpha)
    names = display_names(load_yaml(project_path(root, paths.INSTRUMENT)),
                          load_yaml(project_path(root, paths.CODEBOOK)))
    settings = scores.get("settings") or {}
    marker = str(settings.get("disclosure_marker", "<5"))
    others = [c for c in present if c != name]
    cohort_names = cohort_labels(read_cohorts(processed))

    mine = {
        "change": (scores.get("change") or {}).get(name, {}),
        "feedback": (scores.get("feedback") or {}).get(name, {}),
        "themes": (themes.get("by_cohort") or {}).get(name, {}),
        "attrition": (scores.get("attrition") or {}).get(name, {}),
    }
    design = str(config.get("design") or "paired")
    if design == "unpaired":
        mine["unpaired_change"] = (scores.get("unpaired_change") or {}).get(name, {})
    if design == "retrospective":
        mine["then_test"] = (scores.get("then_test") or {}).get(name, {})
    change_csv = read_table(results_dir / "scores" / "change_scores.csv")
    pooled_change = pooled_change_others(change_csv, name, alpha)
    pooled_feedback = pooled_counts_others(read_table(results_dir / "scores" / "feedback_proportions.csv"), name,
                                           key="item", n_col="n", k_col="k", alpha=alpha)
    pooled_themes = pooled_counts_others(read_table(results_dir / "themes" / "prevalence.csv"), name, key="theme",
                                         n_col="n_total", k_col="n", alpha=alpha, where={"dimension": "cohort"})
    n_quotes = int((params.get("themes") or {}).get("n_quotes", 3))
    texts = read_texts(processed)
    codebook = load_yaml(project_path(root, paths.CODEBOOK)) or {}
    seed_terms = {str(t["id"]): [str(s) for s in t.get("seed_terms") or []] for t in codebook.get("themes") or []}
    people_path = Path(processed) / "respondents.parquet"
    people = pd.read_parquet(people_path) if people_path.is_file() else None
    min_cell = int((params.get("disclosure") or {}).get("min_cell", 5))
    quotes = cohort_quotes(read_table(results_dir / "themes" / "doc_themes.csv"), texts, name, n_quotes,
                           seed_terms=seed_terms or None, people=people, min_cell=min_cell)

    n_total = next((rec.get("n_total") for rec in mine["themes"].values() if isinstance(rec, Mapping)), None)
    n_resp = mine["attrition"].get("n_baseline") if mine["attrition"] else None
    if n_resp is None:
        n_resp = max((number(r.get("n")) or 0 for r in mine["feedback"].values()), default=None) or None
    if n_resp is None and mine.get("then_test"):
        n_resp = int(max((number((r.get("then_vs_post") or {}).get("n_pairs")) or 0
                          for r in mine["then_test"].values()), default=0)) or None
    flat: dict[str, str] = {
        "cohort.id": name,
        "cohort.programme": str(config.get("programme") or "programme not stated in cohort.yml"),
        "study.n_cohorts": str(len(present)),
        "study.n_others": str(len(others)),
        "study.others": ", ".join(_named(c, cohort_names) for c in others) or "none",
        "settings.min_cell": str(settings.get("disclosure_threshold", (params.get("disclosure") or {})
                                              .get("min_cell", 5))),
        "settings.marker": marker,
        "settings.conf_pct": conf_pct,
        "themes.n_total": format_value("n_total", n_total) if n_total is not None else "0",
        "cohort.change_intro": CHANGE_INTROS.get(design, CHANGE_INTROS["paired"]),
    }
    for section, tree in mine.items():
        for key, value in flatten(tree, f"cohort.{section}").items():
            flat[key] = format_value(key, value)
    for key, value in flatten(pooled_change, "others.change").items():
        flat[key] = value if isinstance(value, str) else format_value(key, value)
    tables = {
        "cohort": cohort_table(config, n_resp),
        "change": (unpaired_change_md(mine["unpaired_change"], names["Domain"], conf_pct) if design == "unpaired"
                   else retrospective_change_md(mine["then_test"], names["Domain"], conf_pct)
                   if design == "retrospective"
                   else change_table_md(mine["change"], pooled_change, scores.get("meta") or {}, names["Domain"],
                                        conf_pct)),
        "feedback": proportions_table_md(mine["feedback"], pooled_feedback, names["Item"], "Item",
                                         "Feedback: this cohort and the other cohorts pooled", "tbl-feedback",
                                         conf_pct),
        "themes": proportions_table_md(mine["themes"], pooled_themes, names["Theme"], "Theme",
                                       "Theme prevalence: this cohort and the other cohorts pooled", "tbl-themes",
                                       conf_pct, n_key="n_total", k_key="n", p_key="prop"),
        "quotes": quotes_table_md(quotes, names["Theme"]),
    }
    return {"variables": dict(sorted(flat.items())), "tables": tables, "cohort": mine, "others": others,
            "pooled": {"change": pooled_change, "feedback": pooled_feedback, "themes": pooled_themes},
            "quotes": quotes}


def write_source(build_dir: Path, content: Mapping[str, Any]) -> Path:
    """Write index.qmd (the template), _variables.yml and tables/*.md into ``build_dir``; return it."""
    build_dir = Path(build_dir)
    (build_dir / "tables").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_path(), build_dir / "index.qmd")
    text = yaml.safe_dump(nest(content["variables"]), sort_keys=True, allow_unicode=True, default_style='"',
                          width=1000)
    (build_dir / "_variables.yml").write_text("# Written by `pcnstudy report`: do not edit.\n" + text,
                                              encoding="utf-8", newline="\n")
    (build_dir / "_quarto.yml").write_text("project:\n  output-dir: _output\n", encoding="utf-8", newline="\n")
    style = paths.PAPER / "style.css"
    if style.is_file():
        shutil.copyfile(style, build_dir / "style.css")
    for stem, md in sorted(content["tables"].items()):
        (build_dir / "tables" / f"{stem}.md").write_text(md, encoding="utf-8", newline="\n")
    return build_dir


def render_report(name: str, root: Path | None = None, formats: Sequence[str] = ("html", "pdf"),
                  engine: str = "auto") -> dict[str, Path]:
    """Build and render the report of cohort ``name`` into reports/cohort-NAME.{html,pdf}; return the paths."""
    content = build_report(name, root)
    reports = project_path(root, paths.REPORTS)
    reports.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix=f".cohort-{name}-", dir=reports) as tmp:
        build = write_source(Path(tmp), content)
        outputs = render.render(build, list(formats), epoch=build_epoch(Path(root or paths.ROOT)), engine=engine)
        for fmt_name, info in outputs.items():
            target = reports / f"{COHORT_REPORT_PREFIX}{name}.{fmt_name}"
            shutil.copyfile(info["path"], target)
            written[fmt_name] = target
    return written


def report_command(name: str, root: Path | None = None, formats: Sequence[str] = ("html", "pdf")) -> int:
    """``pcnstudy report NAME``: 0 written, 1 unknown cohort / no results / render failed, 2 bad name."""
    if not COHORT_NAME.fullmatch(name or ""):
        print(f"pcnstudy report: {name!r} is not a cohort id ([a-z0-9_]+)", file=sys.stderr)
        return 2
    root = Path(root or paths.ROOT)
    try:
        written = render_report(name, root, formats)
    except (ReportInputError, render.RenderError) as err:
        print(f"pcnstudy report: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # damaged results: one line naming them, never a traceback
        first = str(err).splitlines()[0] if str(err) else ""
        print(f"pcnstudy report: cannot build the report for {name!r} from the results under "
              f"{project_path(root, paths.PROCESSED)} ({err.__class__.__name__}: {first}); "
              "run `dvc repro` to rebuild them", file=sys.stderr)
        return 1
    for fmt_name, path in sorted(written.items()):
        try:
            shown = path.relative_to(root)
        except ValueError:
            shown = path
        print(f"{fmt_name}: {shown}")
    return 0
