"""Assemble the paper's inputs from the pipeline's results, then render it.

Takes the stages' outputs (``data/processed/results/*.json`` and the results CSVs,
``figures/fig-*.png``, ``reports/*.html``, the cohorts' ``cohort.yml``, params.yaml)
and gives what ``paper/index.qmd`` uses, so that the paper holds no hand-typed result:

- ``paper/_variables.yml``: every results JSON flattened under its file's stem
  (``scores.change.<cohort>.<domain>.pct_change``), the study's parameters under
  ``params.`` and build facts under ``build.``, each value a string formatted by the
  naming conventions of docs/architecture.md (``format_value``);
- ``paper/tables/*.md``: pipe tables with ``: caption {#tbl-...}`` lines, written so
  that Quarto and the pandoc fallback read them alike (``write_tables``);
- ``paper/figures/``: copies of the figures (Quarto and Typst refuse files outside
  the project folder);
- after rendering: ``paper/_output/notebooks/*.html`` (the executed notebooks) and
  ``paper/_output/supplementary-tables.zip`` (every results CSV, fixed dates).

``paper_command(formats)`` is the ``pcnstudy paper`` command.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from pcnstudy.core import paths
from pcnstudy.core.params import load_params

COUNT_RE = re.compile(r"^[nk](_|$|[0-9])")
PCT_RE = re.compile(r"^(pct|prop)")
P_RE = re.compile(r"^p(_|$)")
FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PACKAGES = (
    "pcnstudy", "pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "nltk",
    "matplotlib", "seaborn", "krippendorff", "dvc", "papermill", "pypandoc-binary", "typst",
)
CONDITIONS_FILE = "_study.yml"
MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$@~^])")


class PaperInputError(Exception):
    """A results file the paper needs is missing or malformed (message names it)."""


# --------------------------------------------------------------------------- values


def stat_name(key: str) -> str:
    """Return the statistic name of a dotted key: its last part that is not a list index."""
    parts = [p for p in key.split(".") if not p.isdigit()]
    return parts[-1] if parts else key


def format_number(value: float, decimals: int) -> str:
    """Format a float with a fixed number of decimals, never showing '-0.0'."""
    text = f"{value:.{decimals}f}"
    if re.fullmatch(r"-0\.?0*", text):
        text = text[1:]
    return text


def format_value(key: str, value: Any) -> str:
    """Format one results value for the paper by its statistic's name.

    ``n*``/``k*`` counts as integers; ``pct*``/``prop*`` (and I², ``i2``) fractions as percentages with
    one decimal (0.243 -> '24.3'); ``p_*`` p-values with three decimals or '<0.001';
    anything else with two decimals. Strings (a suppressed value such as '<5') are
    kept as they are; missing or non-finite numbers become 'NA'.
    """
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if not isinstance(value, (int, float)):
        raise TypeError(f"{key}: not a number or string: {value!r}")
    value = float(value)
    if not math.isfinite(value):
        return "NA"
    name = stat_name(key)
    if COUNT_RE.match(name):
        return f"{value:.0f}" if value == round(value) else format_number(value, 1)
    if PCT_RE.match(name) or name == "i2":  # I² is stored as a fraction, read as a percentage
        return format_number(100 * value, 1)
    if P_RE.match(name):
        return "<0.001" if value < 0.001 else format_number(value, 3)
    return format_number(value, 2)


def format_param(value: Any) -> str:
    """Format a params.yaml value as written (lists joined with ', ')."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_param(v) for v in value)
    if isinstance(value, float) and value == round(value):
        return str(int(value)) if abs(value) >= 1 else str(value)
    return str(value)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts (and lists, by index) into {dotted.key: leaf}."""
    out: dict[str, Any] = {}
    if isinstance(tree, Mapping):
        for key, item in tree.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(tree, (list, tuple)):
        for i, item in enumerate(tree):
            out.update(flatten(item, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix] = tree
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten`` for dict-only trees: {'a.b': 1} -> {'a': {'b': 1}}."""
    tree: dict[str, Any] = {}
    for key in sorted(flat):
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"variable {key!r} clashes with a value at {part!r}")
        node[parts[-1]] = flat[key]
    return tree


def load_results(results_dir: Path) -> dict[str, Any]:
    """Read every ``*.json`` in results_dir into {file stem: parsed JSON}."""
    results_dir = Path(results_dir)
    results: dict[str, Any] = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise PaperInputError(f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})") from None
    return results


def derived_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Numbers the prose needs that follow from params.yaml (e.g. the confidence level)."""
    out: dict[str, str] = {}
    alpha = (params.get("scores") or {}).get("alpha")
    if isinstance(alpha, (int, float)):
        out["params.derived.conf_pct"] = format_param(round(100 * (1 - alpha), 6))
    return out


def prose_percent(key: str, value: Any) -> str:
    """A percentage for running text: '24.3%', or 'suppressed' where disclosure control hid it.

    Prose cannot write ``{{< var x.pct >}}%``: a suppressed value ('<5') would read as
    'less than five per cent'. Each ``pct*``/``prop*`` estimate therefore also gets a
    ``<key>_text`` variable made here.
    """
    if isinstance(value, str) or value is None:
        return "suppressed"
    return format_value(key, value) + "%"


def derived_results(results: Mapping[str, Any]) -> dict[str, str]:
    """Facts the prose states that follow from the results, e.g. the most prevalent theme."""
    out: dict[str, str] = {}
    themes = (results.get("themes") or {}).get("themes") or {}
    ranked = sorted(((rec.get("prop"), tid) for tid, rec in themes.items()
                     if isinstance(rec, Mapping) and isinstance(rec.get("prop"), (int, float))),
                    key=lambda pair: (-pair[0], pair[1]))
    if themes:
        out["themes.derived.n_themes"] = str(len(themes))
        for i, place in enumerate(("first", "second")):
            if i < len(ranked):
                prop, tid = ranked[i]
                name = str(themes[tid].get("name", tid))
            else:  # every prevalence suppressed: say so rather than leave a gap
                prop, tid, name = None, "", "a theme not shown (suppressed by disclosure control)"
            out[f"themes.derived.{place}.id"] = tid
            out[f"themes.derived.{place}.name"] = name
            out[f"themes.derived.{place}.name_lower"] = name[:1].lower() + name[1:]
            out[f"themes.derived.{place}.prop_text"] = prose_percent("prop", prop)
    return out


def variables(results: Mapping[str, Any], params: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the paper's flat variables: formatted results, params, derived and extra values."""
    flat: dict[str, str] = {}
    for stem, tree in results.items():
        for key, value in flatten(tree, stem).items():
            flat[key] = format_value(key, value)
            name = stat_name(key)
            if PCT_RE.match(name) and "ci_" not in name and name == key.rsplit(".", 1)[-1]:
                flat[key + "_text"] = prose_percent(key, value)
    flat.update(derived_results(results))
    for key, value in flatten(dict(params), "params").items():
        flat[key] = format_param(value)
    flat.update(derived_params(params))
    flat.update(extra or {})
    return dict(sorted(flat.items()))


def write_variables(results_dir: Path, params: Mapping[str, Any], out: Path, extra: Mapping[str, str] | None = None,
                    results: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Write ``_variables.yml`` (nested, every value a quoted string); return the flat dict.

    ``results`` (the trees to flatten) defaults to the JSON files of ``results_dir``.
    """
    flat = variables(results if results is not None else load_results(Path(results_dir)), params, extra)
    text = yaml.safe_dump(nest(flat), sort_keys=True, allow_unicode=True, default_style='"', width=1000)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Written by `pcnstudy paper` from the results JSON and params.yaml: do not edit.\n" + text,
                   encoding="utf-8", newline="\n")
    return flat


# --------------------------------------------------------------------------- study roles


def select_cohorts(cohorts: list[dict[str, Any]], wanted: Iterable[str] | None) -> list[dict[str, Any]]:
    """The cohorts a run analyses: those named in params ``cohorts``, or all when it is empty."""
    wanted = [str(c) for c in (wanted or [])]
    return [c for c in cohorts if not wanted or str(c.get("cohort")) in wanted]


def _largest(tree: Mapping[str, Any] | None, size: Any) -> str | None:
    """The key of ``tree`` whose subtree has the largest ``size`` (a tuple of counts, compared
    in order; ties go to the first id); None when every size is zero."""
    sized = [(size(sub), key) for key, sub in (tree or {}).items()
             if key != "pooled" and isinstance(sub, Mapping)]
    sized = [(s, key) for s, key in sized if any(s)]
    if not sized:
        return None
    best = max(s for s, _ in sized)
    return min(key for s, key in sized if s == best)


def _max_count(tree: Any, name: str) -> int:
    """Largest numeric ``name`` anywhere in a results subtree (e.g. n_pairs over domains)."""
    counts = [v for k, v in flatten(tree).items() if k.rsplit(".", 1)[-1] == name and isinstance(v, (int, float))]
    return int(max(counts)) if counts else 0


def lower_first(text: str) -> str:
    """'Action learning sets' -> 'action learning sets', for use mid-sentence.

    A first word that is 'I' or an acronym ('PCN leads', 'GP federation') is kept.
    """
    first = text.split(" ", 1)[0]
    if first == "I" or first.startswith("I'") or first[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def study_roles(scores: Mapping[str, Any], cohorts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The cohorts the paper's prose speaks of, chosen by rule from the results.

    - ``lead``: the cohort with the most complete baseline-to-end pairs (its change,
      mixed model and attrition are quoted in the text);
    - ``then_test``: of the cohorts with a retrospective then-test, the one with most pairs;
    - ``feedback``: the cohort with the most yes/no feedback items, then the most respondents.

    Each role holds the cohort's id, programme and its results subtrees, so the prose
    reads ``roles.lead.change.<domain>.pct_change`` whatever cohorts a run includes.
    A role without a cohort is absent; ``paper_conditions`` hides the prose about it.
    """
    programmes = {str(c.get("cohort")): str(c.get("programme") or c.get("cohort")) for c in cohorts}
    picks = {
        "lead": _largest(scores.get("change"), lambda t: (_max_count(t, "n_pairs"),)),
        "then_test": _largest(scores.get("then_test"), lambda t: (_max_count(t, "n_pairs"),)),
        "feedback": _largest(scores.get("feedback"), lambda t: (len(t), _max_count(t, "n"))),
    }
    roles: dict[str, Any] = {}
    for role, cohort in picks.items():
        if cohort is None:
            continue
        programme = programmes.get(cohort, cohort)
        rec: dict[str, Any] = {"cohort": cohort, "programme": programme, "programme_lower": lower_first(programme)}
        if role == "lead":
            for part in ("change", "mixed", "attrition"):
                if cohort in (scores.get(part) or {}):
                    rec[part] = scores[part][cohort]
        elif role == "then_test":
            rec["change"] = scores["then_test"][cohort]
        else:
            rec["items"] = scores["feedback"][cohort]
        roles[role] = rec
    return roles


def write_conditions(out: Path, conditions: Mapping[str, bool]) -> None:
    """Write the flags as a YAML metadata file (``_study.yml``) read by Quarto and pandoc alike."""
    text = yaml.safe_dump(dict(sorted(conditions.items())), sort_keys=True)
    Path(out).write_text("# Written by `pcnstudy paper`: which parts of the prose this run has data for.\n" + text,
                         encoding="utf-8", newline="\n")


def join_and(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def feedback_prose(roles: Mapping[str, Any], instrument: Mapping[str, Any] | None) -> dict[str, str]:
    """Sentences about the feedback cohort's yes/no items, for whichever items it was asked.

    ``roles.feedback.sentence``: each shown item's share and wording, in the instrument's
    order, then the items disclosure control hid; ``roles.feedback.summary``: the range
    of the shown shares, for the abstract.
    """
    fb = roles.get("feedback")
    if not fb:
        return {}
    wording = {f["id"]: str(f.get("text") or f["id"]) for f in (instrument or {}).get("feedback") or []}
    order = [i for i in wording if i in fb["items"]] + sorted(i for i in fb["items"] if i not in wording)
    shown, hidden = [], []
    for item in order:
        pct = (fb["items"][item] or {}).get("pct")
        quote = "“" + lower_first(wording.get(item, item).rstrip(".")) + "”"
        (shown if isinstance(pct, (int, float)) else hidden).append((item, pct, quote))
    parts = []
    if shown:
        parts.append(join_and([f"{prose_percent('pct', pct)} answered yes to {quote}" for _, pct, quote in shown]))
    if hidden:
        noun = "share" if len(hidden) == 1 else "shares"
        parts.append(f"the {noun} for {join_and([q for _, _, q in hidden])} "
                     f"{'is' if len(hidden) == 1 else 'are'} hidden by disclosure control")
    pcts = sorted(pct for _, pct, _ in shown)
    if not pcts:
        summary = f"the shares answering yes to its {len(order)} feedback items are hidden by disclosure control"
    elif pcts[0] == pcts[-1]:
        summary = (f"{prose_percent('pct', pcts[0])} answered yes to "
                   + ("the one feedback item shown" if len(pcts) == 1
                      else f"each of the {len(pcts)} feedback items shown"))
    else:
        summary = (f"between {prose_percent('pct', pcts[0])} and {prose_percent('pct', pcts[-1])} answered yes "
                   f"to each of the {len(pcts)} feedback items shown")
    return {"roles.feedback.sentence": "; ".join(parts), "roles.feedback.summary": summary}


def paper_conditions(results: Mapping[str, Any], roles: Mapping[str, Any],
                     cohorts: list[Mapping[str, Any]], all_cohorts: list[Mapping[str, Any]]) -> dict[str, bool]:
    """Metadata flags for the paper's conditional prose (``.content-visible when-meta=...``)."""
    scores = results.get("scores") or {}
    meta = scores.get("meta") or {}
    lead = roles.get("lead") or {}
    demo = [c for c in cohorts if c.get("demo")]
    return {
        "study_all_simulated": bool(cohorts) and len(demo) == len(cohorts),
        "study_is_twin": bool(cohorts) and len(demo) == len(cohorts) == len([c for c in all_cohorts if c.get("demo")]),
        "study_has_lead": "change" in lead,
        "study_has_mixed": bool((lead.get("mixed") or {})),
        "study_has_attrition": bool(lead.get("attrition")),
        "study_has_meta": any(int((rec or {}).get("k") or 0) >= 2 for rec in meta.values()),
        "study_has_then_test": "then_test" in roles,
        "study_has_feedback": "feedback" in roles,
        "study_has_themes": bool((results.get("themes") or {}).get("themes")),
    }


# --------------------------------------------------------------------------- tables


def md_escape(text: Any) -> str:
    """Escape text for a pipe-table cell in pandoc markdown (one line)."""
    text = " ".join(str(text).split())
    return MD_SPECIAL.sub(r"\\\1", text)


def pipe_table(header: list[str], rows: list[list[str]], caption: str, label: str, align: str | None = None,
               max_width: int = 28) -> str:
    """Return a pipe table with a ``: caption {#label}`` line; cells are already markdown.

    ``align`` holds one of 'l', 'r', 'c' per column (default: first left, others right).
    Column widths (pandoc reads them from the dashes under the header) follow each
    column's widest cell, between 6 and ``max_width`` characters, so that numbers
    and intervals never wrap while long text columns do.
    """
    if not label.startswith("tbl-"):
        raise ValueError(f"table label {label!r} must start with 'tbl-'")
    align = align or "l" + "r" * (len(header) - 1)
    if not rows:
        rows = [["none"] + [""] * (len(header) - 1)]
    # dashes in proportion to each column's widest cell: pandoc's relative widths
    shown = lambda cell: len(cell.replace("\\", ""))  # noqa: E731 - escapes take no room
    widths = [max(6, min(max_width, max(shown(r[i]) for r in [header, *rows]))) for i in range(len(header))]
    rule = {"l": ":{}", "r": "{}:", "c": ":{}:"}
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(rule[a].format("-" * w) for a, w in zip(align, widths)) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell if cell != "" else " " for cell in row) + " |")
    return "\n".join(lines) + f"\n\n: {caption} {{#{label}}}\n"


STAT_HEADERS = {
    "n": "n", "k": "k", "n_pairs": "Pairs", "n_respondents": "Respondents", "n_obs": "Observations",
    "n_total": "Responses", "n_baseline": "Baseline", "n_completers": "Completers", "n_lost": "Lost",
    "pct_lost": "% lost", "mean_from": "Before", "mean_to": "After", "mean_diff": "Mean change",
    "estimate": "Estimate", "pct_change": "% change", "pct": "% yes", "prop": "%", "p_t": "p (t)",
    "p_holm": "p (Holm)", "p_wilcoxon": "p (Wilcoxon)", "p_mixed": "p", "p_q": "p (Q)", "p_welch": "p (Welch)",
    "tau2": "tau²", "i2": "I² (%)", "dz": "d~z~", "mean_baseline_completers": "Baseline mean, completers",
    "mean_baseline_lost": "Baseline mean, lost",
}
CI_PAIRS = (("ci_low", "ci_high"), ("diff_ci_low", "diff_ci_high"), ("pct_ci_low", "pct_ci_high"),
            ("prop_ci_low", "prop_ci_high"))
TABLE_COLUMNS = {
    "change": ["n_pairs", "mean_from", "mean_to", "mean_diff", "diff_ci_low", "pct_change", "pct_ci_low", "p_holm",
               "dz"],
    "mixed": ["n_respondents", "n_obs", "estimate", "ci_low", "p_mixed"],
    "feedback": ["n", "k", "pct", "pct_ci_low"],
    "meta": ["k", "estimate", "ci_low", "tau2", "i2", "p_q"],
    "themes": ["n", "prop", "prop_ci_low"],
    "themes_by_cohort": ["n", "n_total", "prop", "prop_ci_low"],
    "then_test": ["n_pairs", "mean_from", "mean_to", "mean_diff", "diff_ci_low", "pct_change", "p_t"],
    "attrition": ["n_baseline", "n_completers", "n_lost", "pct_lost", "mean_baseline_completers",
                  "mean_baseline_lost", "p_welch"],
}


def stat_columns(records: Iterable[Mapping[str, Any]], wanted: list[str] | None = None) -> list[str]:
    """Statistic columns to show: ``wanted`` in order where present, else all, CI pairs merged."""
    present: list[str] = []
    for rec in records:
        for key, value in rec.items():
            if key not in present and not isinstance(value, (dict, list)):
                present.append(key)
    if wanted is not None:
        present = [k for k in wanted if k in present or any(k == lo for lo, hi in CI_PAIRS if lo in present)]
    cols: list[str] = []
    for key in present:
        pair = next(((lo, hi) for lo, hi in CI_PAIRS if key in (lo, hi)), None)
        if pair:
            if pair[0] in present and pair[1] in present:
                if pair[0] not in cols:
                    cols.append(pair[0])
                continue
        cols.append(key)
    return cols


def stat_cell(rec: Mapping[str, Any], col: str, prefix: str) -> str:
    """Format one statistic (a CI column shows '(low, high)')."""
    for lo, hi in CI_PAIRS:
        if col == lo:
            if lo not in rec or hi not in rec:
                return ""
            return f"({md_escape(format_value(prefix + '.' + lo, rec[lo]))}, {md_escape(format_value(prefix + '.' + hi, rec[hi]))})"
    if col not in rec:
        return ""
    return md_escape(format_value(prefix + "." + col, rec[col]))


def stat_header(col: str, conf_pct: str = "95") -> str:
    """Column heading for a statistic."""
    if col in ("ci_low", "diff_ci_low"):
        return f"{conf_pct}% CI"
    if col in ("pct_ci_low", "prop_ci_low"):
        return f"{conf_pct}% CI (%)"
    return STAT_HEADERS.get(col) or md_escape(col.replace("_", " "))


def leaf_records(tree: Any, depth: int) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Walk ``depth`` levels of a nested dict; return ((key, ...), statistics dict) pairs, sorted."""
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def walk(node: Any, keys: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            return
        if len(keys) == depth:
            out.append((keys, dict(node)))
            return
        for key in sorted(node, key=str):
            walk(node[key], keys + (str(key),))

    walk(tree, ())
    return out


def stats_table(tree: Any, levels: list[str], caption: str, label: str, *, wanted: list[str] | None = None,
                names: Mapping[str, Mapping[str, str]] | None = None, prefix: str = "x", conf_pct: str = "95") -> str:
    """A table with one row per leaf of ``tree`` (``levels`` deep) and one column per statistic.

    ``names`` maps a level's heading to {id: display name} for row labels.
    """
    records = leaf_records(tree or {}, len(levels))
    cols = stat_columns([rec for _, rec in records], wanted)
    header = [md_escape(level) for level in levels] + [stat_header(c, conf_pct) for c in cols]
    rows = []
    for keys, rec in records:
        labels = [md_escape((names or {}).get(level, {}).get(key, key)) for level, key in zip(levels, keys)]
        rows.append(labels + [stat_cell(rec, c, prefix) for c in cols])
    return pipe_table(header, rows, caption, label, "l" * len(levels) + "r" * len(cols))


def display_names(instrument: Mapping[str, Any] | None, codebook: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Row-label maps from the instrument (domains, feedback items) and codebook (themes)."""
    instrument = instrument or {}
    codebook = codebook or {}
    domains = {k: v.get("name", k) for k, v in (instrument.get("domains") or {}).items()}
    feedback = {f["id"]: f.get("text", f["id"]) for f in instrument.get("feedback") or []}
    themes = {t["id"]: t.get("name", t["id"]) for t in codebook.get("themes") or []}
    comparisons = {"pre_vs_post": "Pre-test vs end", "then_vs_post": "Then-test vs end"}
    return {"Domain": domains, "Item": feedback, "Theme": themes, "Comparison": comparisons}


def read_cohorts(raw_dir: Path) -> list[dict[str, Any]]:
    """Read every ``<raw_dir>/*/cohort.yml``, sorted by cohort id."""
    cohorts = []
    for path in sorted(Path(raw_dir).glob("*/cohort.yml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        data.setdefault("cohort", path.parent.name)
        cohorts.append(data)
    return cohorts


def cohorts_table(cohorts: list[Mapping[str, Any]]) -> str:
    """Table of the cohorts: programme, region, PCNs, dates, waves and where the data came from.

    A field a cohort.yml leaves empty shows as an empty cell, never as 'None'.
    """
    def cell(value: Any) -> str:
        return "" if value is None else md_escape(value)

    rows = []
    for c in cohorts:
        waves = list(c.get("waves") or []) + list(c.get("retrospective_waves") or [])
        start, end = c.get("start"), c.get("end")
        dates = f"{start} to {end}" if start and end else str(start or end or "")
        rows.append([
            cell(c.get("cohort")), cell(c.get("programme")), cell(c.get("region")), cell(c.get("n_pcns")),
            cell(dates), cell(", ".join(str(w) for w in waves)), "simulated" if c.get("demo") else "survey export",
        ])
    simulated = bool(cohorts) and all(c.get("demo") for c in cohorts)
    caption = ("The cohorts of the simulated twin and the programmes they mirror" if simulated
               else "The cohorts analysed, their programmes and where their data came from")
    return pipe_table(["Cohort", "Programme", "Region", "PCNs", "Dates", "Waves", "Data"], rows, caption,
                      "tbl-cohorts", "lllrlll")


def find_csv(folder: Path, word: str) -> Path | None:
    """The first CSV (sorted) under ``folder`` whose name contains ``word``."""
    found = sorted(p for p in Path(folder).rglob("*.csv") if word in p.name)
    return found[0] if found else None


def quotes_table(path: Path | None, theme_names: Mapping[str, str], max_chars: int = 300) -> str:
    """Exemplar quotes by theme from a CSV with a theme column and a text/quote column."""
    rows = []
    has_source = False
    if path is not None and path.is_file():
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            theme_col = next((c for c in ("theme", "theme_id", "topic") if c in fields), None)
            text_col = next((c for c in ("quote", "text", "excerpt") if c in fields), None)
            if theme_col is None or text_col is None:
                raise PaperInputError(f"{path}:1:{','.join(fields)}: quotes need a theme and a quote/text column")
            extra = [c for c in ("cohort", "profession", "wave") if c in fields]
            has_source = bool(extra)
            rank = lambda r: float(r["rank"]) if r.get("rank", "").strip() else 0.0  # noqa: E731
            records = sorted(reader, key=lambda r: (r[theme_col], rank(r), r[text_col]))
        for rec in records:
            text = rec[text_col].strip()
            if len(text) > max_chars:
                text = text[: max_chars - 1].rsplit(" ", 1)[0] + " …"
            source = ", ".join(rec[c] for c in extra if rec.get(c))
            rows.append([md_escape(theme_names.get(rec[theme_col], rec[theme_col])), "“" + md_escape(text) + "”",
                         md_escape(source)])
    header = ["Theme", "Quote", "Source"] if has_source else ["Theme", "Quote"]
    rows = [row[: len(header)] for row in rows]
    return pipe_table(header, rows, "Exemplar quotes by theme (redacted, simulated)", "tbl-quotes",
                      "l" * len(header), max_width=90)


def wave_columns(scores: Mapping[str, Any]) -> list[str] | None:
    """The waves in time order (scores.settings.waves), then any other wave seen, for by-wave tables."""
    order = list(((scores.get("settings") or {}).get("waves")) or [])
    seen = [w for _, rec in leaf_records(scores.get("reliability") or {}, 2) for w in rec]
    extra = sorted({w for w in seen if w not in order})
    return order + extra if (order or extra) else None


def write_tables(results_dir: Path, out_dir: Path, *, raw_dir: Path | None = None, instrument: Mapping | None = None,
                 codebook: Mapping | None = None, conf_pct: str = "95",
                 cohorts: list[Mapping[str, Any]] | None = None) -> list[Path]:
    """Write the paper's tables (``paper/tables/*.md``) from the results; return their paths.

    Every table is always written (a table without results shows one row 'none'),
    so that the paper's includes and @tbl- references always resolve.
    """
    results = load_results(Path(results_dir))
    scores = results.get("scores") or {}
    themes = results.get("themes") or {}
    names = display_names(instrument, codebook)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kw = {"names": names, "conf_pct": conf_pct}
    cols = TABLE_COLUMNS
    tables = {
        "change": stats_table(scores.get("change"), ["Cohort", "Domain"],
                              "Change in self-rated capability from baseline to the end of each programme, by "
                              "domain (complete pairs)", "tbl-change", wanted=cols["change"],
                              prefix="scores.change.x.x", **kw),
        "mixed": stats_table(scores.get("mixed"), ["Cohort", "Domain"],
                             "Linear mixed models of domain scores: change from baseline to the last wave, "
                             "using every observation", "tbl-mixed", wanted=cols["mixed"],
                             prefix="scores.mixed.x.x", **kw),
        "reliability": stats_table(scores.get("reliability"), ["Cohort", "Domain"],
                                   "Internal consistency of each domain (Cronbach's alpha) by wave",
                                   "tbl-reliability", wanted=wave_columns(scores), prefix="scores.reliability.x.x",
                                   **kw),
        "then_test": stats_table(scores.get("then_test"), ["Cohort", "Domain", "Comparison"],
                                 "Response shift: the retrospective then-test beside the pre-test, against the "
                                 "end of the programme", "tbl-then-test", wanted=cols["then_test"],
                                 prefix="scores.then_test.x.x.x", **kw),
        "attrition": stats_table(scores.get("attrition"), ["Cohort"],
                                 "Attrition between the first and last waves, and how those lost differed at "
                                 "baseline", "tbl-attrition", wanted=cols["attrition"],
                                 prefix="scores.attrition.x", **kw),
        "feedback": stats_table(scores.get("feedback"), ["Cohort", "Item"],
                                "Participants' feedback: share answering yes, with Wilson intervals",
                                "tbl-feedback", wanted=cols["feedback"], prefix="scores.feedback.x.x", **kw),
        "meta": stats_table(scores.get("meta"), ["Domain"],
                            "Random-effects meta-analysis of the change in each domain across cohorts",
                            "tbl-meta", wanted=cols["meta"], prefix="scores.meta.x", **kw),
        "themes": stats_table(themes.get("themes"), ["Theme"],
                              "Prevalence of the codebook's themes in the free text, with Wilson intervals",
                              "tbl-themes", wanted=cols["themes"], prefix="themes.themes.x", **kw),
        "themes_by_cohort": stats_table(themes.get("by_cohort"), ["Cohort", "Theme"],
                                        "Prevalence of each theme by cohort", "tbl-themes-by-cohort",
                                        wanted=cols["themes_by_cohort"], prefix="themes.by_cohort.x.x", **kw),
        "quotes": quotes_table(find_csv(Path(results_dir), "quote"), names["Theme"]),
    }
    if cohorts is not None or raw_dir is not None:
        tables["cohorts"] = cohorts_table(cohorts if cohorts is not None else read_cohorts(raw_dir))
    written = []
    for name, text in sorted(tables.items()):
        path = out_dir / f"{name}.md"
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


# --------------------------------------------------------------------------- build facts


def git(root: Path, *args: str) -> str | None:
    """Output of a read-only git command in ``root`` (None when git or the repo is missing)."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def build_epoch(root: Path) -> int:
    """The render date as a Unix time: SOURCE_DATE_EPOCH, else the source commit's date, else 0."""
    from pcnstudy.core.workspace import source_date_epoch

    return int(source_date_epoch(root))


def build_date(epoch: int) -> str:
    """ISO date (UTC) of a Unix time."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d")


def dvc_lock_hashes(lock_path: Path, skip: Iterable[str] = ("paper",)) -> list[tuple[str, str, str]]:
    """(stage, out path, md5) for every stage output recorded in dvc.lock, sorted."""
    lock_path = Path(lock_path)
    if not lock_path.is_file():
        return []
    data = yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}
    rows = []
    for stage, entry in (data.get("stages") or {}).items():
        if stage in skip:
            continue
        for out in entry.get("outs") or []:
            md5 = out.get("md5") or out.get("hash") or ""
            rows.append((stage, out.get("path", ""), str(md5)))
    return sorted(rows)


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed version of each package (and Python, pandoc), 'not installed' where absent."""
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pypandoc

        versions["pandoc"] = pypandoc.get_pandoc_version()
    except Exception:  # pragma: no cover - pandoc missing
        versions["pandoc"] = "not installed"
    return dict(sorted(versions.items()))


def colophon_table(commit: str, date: str, hashes: list[tuple[str, str, str]], versions: Mapping[str, str]) -> str:
    """The reproducibility colophon: commit, render date, data hashes, package versions."""
    rows = [["Git commit", "`" + md_escape(commit) + "`"], ["Render date", md_escape(date)]]
    for stage, path, md5 in hashes:
        rows.append([md_escape(f"dvc.lock {stage}: {path}"), "`" + md5[:12] + "`" if md5 else ""])
    for name, version in versions.items():
        rows.append([md_escape(name), md_escape(version)])
    return pipe_table(["Item", "Value"], rows, "Reproducibility colophon: what this rendering was built from",
                      "tbl-colophon", "ll")


def notebook_title(html: Path) -> str:
    """Title of an executed notebook: the first '# ' heading of the .ipynb beside it, else its name."""
    ipynb = html.with_suffix(".ipynb")
    if ipynb.is_file():
        try:
            nb = json.loads(ipynb.read_text(encoding="utf-8"))
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "markdown":
                    source = "".join(cell.get("source", ""))
                    match = re.search(r"^#\s+(.+)$", source, flags=re.M)
                    if match:
                        return match.group(1).strip()
        except (OSError, json.JSONDecodeError):
            pass
    return html.stem


def notebooks_list(reports_dir: Path) -> str:
    """Markdown list linking every executed notebook's HTML as ``notebooks/<name>.html``."""
    items = [f"- [{md_escape(notebook_title(p))}](notebooks/{p.name}) (`{p.name}`)"
             for p in sorted(Path(reports_dir).glob("*.html"))]
    return "\n".join(items or ["- No executed notebooks were found."]) + "\n"


def copy_figures(figures_dir: Path, dest: Path) -> list[Path]:
    """Copy ``fig-*.png`` into ``dest`` (replacing what was there); return the copies."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copies = []
    for src in sorted(Path(figures_dir).glob("fig-*.png")):
        target = dest / src.name
        shutil.copyfile(src, target)
        copies.append(target)
    return copies


def copy_notebooks(reports_dir: Path, dest: Path) -> list[Path]:
    """Copy every ``reports/*.html`` into ``dest`` (the rendered paper's notebooks/)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    copies = []
    for src in sorted(Path(reports_dir).glob("*.html")):
        shutil.copyfile(src, dest / src.name)
        copies.append(dest / src.name)
    return copies


def write_supplementary_zip(results_dir: Path, out: Path) -> list[str]:
    """Zip every results CSV (paths relative to results_dir) with fixed dates and modes; return names."""
    results_dir = Path(results_dir)
    files = sorted(p for p in results_dir.rglob("*.csv") if p.is_file())
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w") as zf:
        for path in files:
            name = path.relative_to(results_dir).as_posix()
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, path.read_bytes(), compresslevel=9)
            names.append(name)
    return names


def config_facts(instrument: Mapping[str, Any] | None, codebook: Mapping[str, Any] | None) -> dict[str, str]:
    """Counts the methods section quotes from the instrument and codebook configs."""
    instrument = instrument or {}
    scale = instrument.get("scale") or {}
    facts = {
        "instrument.version": str(instrument.get("version", "")),
        "instrument.n_items": str(len(instrument.get("items") or [])),
        "instrument.n_domains": str(len(instrument.get("domains") or {})),
        "instrument.n_feedback": str(len(instrument.get("feedback") or [])),
        "instrument.n_questions": str(len(instrument.get("questions") or [])),
        "instrument.scale_min": str(scale.get("min", "")),
        "instrument.scale_max": str(scale.get("max", "")),
        "codebook.n_themes": str(len((codebook or {}).get("themes") or [])),
    }
    return {k: v for k, v in facts.items() if v != ""}


def build_facts(root: Path, cohorts: list[Mapping[str, Any]] | None = None) -> dict[str, str]:
    """Variables about this build and the study: render date, commit, cohorts and PCNs.

    ``cohorts`` are the cohorts analysed (default: every ``data/raw/*/cohort.yml``).
    Also returns 'build.epoch' (the render time as Unix seconds), which callers pop.
    """
    root = Path(root)
    epoch = build_epoch(root)
    from pcnstudy.core.workspace import source_commit

    commit = source_commit(root) or "unknown"
    if cohorts is None:
        cohorts = read_cohorts(root / "data" / "raw")
    return {
        "build.epoch": str(epoch), "build.date": build_date(epoch), "build.commit": commit,
        "build.commit_short": commit[:7], "study.n_cohorts": str(len(cohorts)),
        "study.n_pcns": str(sum(int(c.get("n_pcns") or 0) for c in cohorts)),
    }


# --------------------------------------------------------------------------- command


def prepare(root: Path | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write _variables.yml, tables/ and figures/ in ``<root>/paper``; return build facts."""
    root = Path(root or paths.ROOT)
    paper = root / "paper"
    results_dir = root / "data" / "processed" / "results"
    if not results_dir.is_dir():
        raise PaperInputError(f"{results_dir}:0:: no results folder; run the scores and themes stages first")
    params = dict(params if params is not None else load_params(root / "params.yaml"))
    all_cohorts = read_cohorts(root / "data" / "raw")
    cohorts = select_cohorts(all_cohorts, params.get("cohorts"))
    extra = build_facts(root, cohorts)
    load = lambda p: yaml.safe_load(p.read_text(encoding="utf-8")) if p.is_file() else None  # noqa: E731
    instrument = load(root / "config" / "instrument.yml")
    codebook = load(root / "config" / "codebook.yml")
    extra.update(config_facts(instrument, codebook))
    epoch, commit = int(extra.pop("build.epoch")), extra["build.commit"]
    results = load_results(results_dir)
    roles = study_roles(results.get("scores") or {}, cohorts)
    extra.update(feedback_prose(roles, instrument))
    flat = write_variables(results_dir, params, paper / "_variables.yml", extra, results={**results, "roles": roles})
    write_conditions(paper / CONDITIONS_FILE, paper_conditions(results, roles, cohorts, all_cohorts))
    tables = paper / "tables"
    if tables.exists():
        shutil.rmtree(tables)
    write_tables(results_dir, tables, cohorts=cohorts, instrument=instrument, codebook=codebook,
                 conf_pct=flat.get("params.derived.conf_pct", "95"))
    (tables / "notebooks.md").write_text(notebooks_list(root / "reports"), encoding="utf-8", newline="\n")
    (tables / "colophon.md").write_text(
        colophon_table(commit, extra["build.date"], dvc_lock_hashes(root / "dvc.lock"), package_versions()),
        encoding="utf-8", newline="\n")
    copy_figures(root / "figures", paper / "figures")
    return {"epoch": epoch, "commit": commit, "variables": flat}


def paper_command(formats: list[str], root: Path | None = None) -> int:
    """``pcnstudy paper``: assemble the inputs, render each format, add the extras.

    Returns 0 on success, 1 when an input is missing or bad (one line on stderr),
    2 for an unknown format.
    """
    from pcnstudy.paper import render

    root = Path(root or paths.ROOT)
    unknown = [f for f in formats if f not in render.FORMATS]
    if unknown or not formats:
        print(f"pcnstudy paper: unknown format(s) {', '.join(unknown) or '(none)'}; choose from "
              f"{', '.join(render.FORMATS)}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    paper = root / "paper"
    outputs: dict[str, dict[str, Any]] = {}
    with tqdm(total=len(formats) + 2, desc="paper", unit="step", disable=not sys.stderr.isatty()) as bar:
        try:
            bar.set_postfix_str("variables, tables, figures")
            facts = prepare(root)
            bar.update()
            for fmt in formats:
                bar.set_postfix_str(fmt)
                outputs.update(render.render(paper, [fmt], epoch=facts["epoch"]))
                bar.update()
        except (PaperInputError, render.RenderError) as err:
            bar.close()
            print(f"pcnstudy paper: {err}", file=sys.stderr)
            return 1
        bar.set_postfix_str("notebooks, supplementary tables")
        out_dir = paper / "_output"
        copy_notebooks(root / "reports", out_dir / "notebooks")
        write_supplementary_zip(root / "data" / "processed" / "results", out_dir / "supplementary-tables.zip")
        bar.update()
    for fmt, info in outputs.items():
        pages = f", {info['pages']} pages" if info.get("pages") else ""
        print(f"{fmt}: {info['path'].relative_to(root)} ({info['engine']}, {info['seconds']:.2f} s{pages})")
    return 0
