"""The paper's markdown tables: pipe tables with ``: caption {#tbl-...}`` lines, written so
that Quarto and the pandoc fallback read them alike.

Takes the results trees (scores.json, themes.json), the instrument and codebook
configs (row labels), the exemplar quotes (``pcnstudy.paper.inputs.read_quotes``) and
the cohorts analysed (``pcnstudy.paper.inputs.cohort_records``), and gives markdown
text: ``paper_tables`` returns {file stem: table} for ``paper/tables/*.md``; the
building blocks ``md_escape`` and ``pipe_table`` serve the colophon and the cohort
report too. Values are formatted by ``pcnstudy.paper.values.format_value``. Cohorts are
named by their programme, items by their wording, never by id; a cohort whose design is
``unpaired`` is labelled "<programme> (unpaired)" in every table (``cohort_labels``);
its unpaired change table is shown only when some cohort is unpaired (``visible_when``).
The supplement's tables of the analyses the Methods name beside the headline ones
(``tests``: t-test with Holm and Benjamini-Hochberg p, Wilcoxon and rank-biserial, d~z~ with
its interval; ``ordinal``; ``reliability`` with alpha's interval; ``meta_estimators``: REML
beside DerSimonian-Laird) take their captions' method names from scores.json ``methods``.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import pandas as pd

from pcnstudy.core.disclosure import is_hidden
from pcnstudy.core.labels import cohort_labels as plain_cohort_labels
from pcnstudy.core.labels import wave_label
from pcnstudy.paper.disclosure_notes import band_percent, with_disclosure_note
from pcnstudy.paper.inputs import SIMULATED
from pcnstudy.paper.values import format_value

MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$@~^])")


def md_escape(text: Any) -> str:
    """Escape text for a pipe-table cell in pandoc markdown (one line)."""
    text = " ".join(str(text).split())
    return MD_SPECIAL.sub(r"\\\1", text)


#: How many characters of table text (8 pt) one line of the PDF's text width holds, less
#: the padding each column takes (``TABLE_COLUMN_PAD`` characters): the budget the
#: column widths of ``column_widths`` share.
TABLE_LINE_CHARS = 112
TABLE_COLUMN_PAD = 1.5
MARKUP = re.compile(r"\\(.)|[~*]")


def shown_text(cell: str) -> str:
    """A markdown cell as it prints: escapes resolved, emphasis and subscript marks dropped."""
    return MARKUP.sub(lambda m: m.group(1) or "", str(cell))


def column_widths(header: list[str], rows: list[list[str]], align: str, max_width: int = 28,
                  budget: float | None = None) -> list[int]:
    """Relative column widths (characters) of a pipe table, so that its PDF headers never collide.

    Every column is at least as wide as its longest word, heading included (a heading
    wraps only between words, so it cannot run into its neighbour); a number column
    (right-aligned) is as wide as its widest cell, a text column as its widest cell up to
    ``max_width``. When they overfill ``budget`` (a line of the PDF's table text), text
    columns give up room first, then number columns, never below their longest word.
    """
    n = len(header)
    budget = budget if budget is not None else TABLE_LINE_CHARS - TABLE_COLUMN_PAD * n
    cells = [[shown_text(r[i]) if i < len(r) else "" for r in rows] for i in range(n)]
    heads = [shown_text(h) for h in header]
    words = [max([len(w) for text in [heads[i], *cells[i]] for w in text.split()] or [1]) for i in range(n)]
    full = [max([len(c) for c in cells[i]] or [1]) for i in range(n)]
    widths = [max(words[i], full[i] if align[i] == "r" else min(full[i], max_width), 4) for i in range(n)]
    for kinds in ("lc", "r"):
        excess = sum(widths) - budget
        give = {i: widths[i] - max(words[i], 4) for i in range(n) if align[i] in kinds}
        room = sum(give.values())
        if excess <= 0 or room <= 0:
            continue
        share = min(1.0, excess / room)
        for i, spare in give.items():
            widths[i] -= int(round(spare * share))
    return widths


def pipe_table(header: list[str], rows: list[list[str]], caption: str, label: str, align: str | None = None,
               max_width: int = 28) -> str:
    """Return a pipe table with a ``: caption {#label}`` line; cells are already markdown.

    ``align`` holds one of 'l', 'r', 'c' per column (default: first left, others right).
    Column widths (pandoc reads them from the dashes under the header) come from
    ``column_widths``: numbers and intervals do not wrap where the line has room, long
    text columns do, and no heading is narrower than its longest word.
    """
    if not label.startswith("tbl-"):
        raise ValueError(f"table label {label!r} must start with 'tbl-'")
    align = align or "l" + "r" * (len(header) - 1)
    if not rows:
        rows = [["none"] + [""] * (len(header) - 1)]
    widths = column_widths(header, rows, align, max_width)
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
    "n_from": "First wave", "n_to": "Later wave", "p_mannwhitney": "p (Mann-Whitney)",
    "rank_biserial": "Rank-biserial r",
    "pct_pomp": "% of maximum", "r_baseline_change": "r (baseline, change)", "d_av": "d~av~", "g_av": "g~av~", "r_oldham": "r (Oldham)",
    "delta_tip": "Tipping delta", "icc_pcn": "ICC (PCN)", "deff": "Design effect", "programmes": "Programmes",
    "p_bh": "p (Benjamini-Hochberg)", "alpha": "Alpha", "odds_ratio": "Odds ratio", "p_ordinal": "p",
}
CI_PAIRS = (("ci_low", "ci_high"), ("diff_ci_low", "diff_ci_high"), ("pct_ci_low", "pct_ci_high"),
            ("prop_ci_low", "prop_ci_high"), ("hk_ci_low", "hk_ci_high"), ("pi_low", "pi_high"),
            ("pct_pomp_ci_low", "pct_pomp_ci_high"), ("dz_ci_low", "dz_ci_high"), ("d_av_ci_low", "d_av_ci_high"),
            ("g_av_ci_low", "g_av_ci_high"), ("r_baseline_change_ci_low", "r_baseline_change_ci_high"),
            ("cr_ci_low", "cr_ci_high"), ("prop_cl_ci_low", "prop_cl_ci_high"), ("or_ci_low", "or_ci_high"))
#: Headings of the interval columns other than a plain CI: (prefix, suffix) around the level.
CI_HEADERS = {"hk_ci_low": ("Hartung-Knapp ", "% CI"), "pi_low": ("", "% prediction interval"),
              "pct_pomp_ci_low": ("", "% CI (% of maximum)"), "dz_ci_low": ("", "% CI (d~z~)"),
              "d_av_ci_low": ("", "% CI (d~av~)"), "g_av_ci_low": ("", "% CI (g~av~)"),
              "r_baseline_change_ci_low": ("", "% CI (r)"),
              "cr_ci_low": ("", "% CI, clustered by PCN"),
              "prop_cl_ci_low": ("", "% CI (%), clustered by respondent"),
              "or_ci_low": ("", "% CI (odds ratio)")}
TABLE_COLUMNS = {
    "change": ["n_pairs", "mean_from", "mean_to", "mean_diff", "diff_ci_low", "pct_change", "pct_ci_low", "p_holm",
               "dz"],
    "mixed": ["n_respondents", "n_obs", "estimate", "ci_low", "p_mixed"],
    "feedback": ["n", "k", "pct", "pct_ci_low"],
    "meta": ["k", "estimate", "ci_low", "hk_ci_low", "pi_low", "tau2", "i2", "p_q"],
    "meta_programmes": ["k", "estimate", "ci_low", "hk_ci_low", "pi_low", "tau2", "i2"],
    "effects": ["mean_diff", "pct_pomp", "pct_pomp_ci_low", "pct_change", "dz", "d_av", "d_av_ci_low", "g_av",
                "g_av_ci_low"],
    "bias": ["r_baseline_change", "r_baseline_change_ci_low", "r_oldham", "delta_tip", "icc_pcn", "deff",
             "cr_ci_low"],
    "themes": ["n", "prop", "prop_ci_low", "deff", "prop_cl_ci_low"],
    "themes_by_cohort": ["n", "n_total", "prop", "prop_ci_low"],
    "then_test": ["n_pairs", "mean_from", "mean_to", "mean_diff", "diff_ci_low", "pct_change", "p_t"],
    "attrition": ["n_baseline", "n_completers", "n_lost", "pct_lost", "mean_baseline_completers",
                  "mean_baseline_lost", "p_welch"],
    "unpaired_change": ["n_from", "n_to", "mean_from", "mean_to", "mean_diff", "diff_ci_low", "pct_change",
                        "pct_ci_low", "p_welch", "p_mannwhitney", "rank_biserial"],
    # the supplement's tables of the analyses the Methods name beside the headline ones
    "tests": ["n_pairs", "p_t", "p_holm", "p_bh", "p_wilcoxon", "rank_biserial", "dz", "dz_ci_low"],
    "ordinal": ["n_respondents", "n_obs", "odds_ratio", "or_ci_low", "p_ordinal"],
    "reliability": ["n", "alpha", "ci_low"],
    "meta_estimators": ["k", "estimate", "ci_low", "hk_ci_low", "tau2", "i2"],
}
#: Row labels of the meta-analysis estimators table.
META_UNITS = {"programmes": "Programmes (cohorts of one programme combined first)", "cohorts": "Cohorts"}
ESTIMATOR_LABELS = {"reml": "REML", "dl": "DerSimonian-Laird"}
#: The label every table gives an unpaired cohort (its waves could not be linked).
UNPAIRED_LABEL = "unpaired"
#: The label every table gives a cohort surveyed once with a retrospective then-test.
RETROSPECTIVE_LABEL = "retrospective"


#: What the mixed-model table adds to its caption when it holds an unpaired cohort's model.
UNPAIRED_MODEL_NOTE = ("; for an unpaired cohort, a model without a respondent effect (a random intercept per "
                       "PCN, or none)")
#: The paper's flag (``_study.yml``) that holds when some cohort is unpaired.
UNPAIRED_FLAG = "study_has_unpaired"


def visible_when(flag: str, text: str) -> str:
    """``text`` in a div that Quarto (and the pandoc fallback) shows only when ``flag`` is true."""
    return f'::: {{.content-visible when-meta="{flag}"}}\n\n{text}\n:::\n'


def cohort_labels(cohorts: list[Mapping[str, Any]] | None) -> dict[str, str]:
    """{cohort: label}, the row label of every table that reports a cohort: its programme
    (numbered where a programme ran several cohorts, ``pcnstudy.core.labels.cohort_labels``),
    never its id, "<label> (unpaired)" for a cohort whose design is ``unpaired`` and
    "<label> (retrospective)" for one surveyed once with a then-test (design ``retrospective``)."""
    designs = {str(c.get("cohort")): str(c.get("design") or "paired") for c in cohorts or []}
    marked = (UNPAIRED_LABEL, RETROSPECTIVE_LABEL)
    return {cohort: f"{label} ({designs[cohort]})" if designs.get(cohort) in marked else label
            for cohort, label in plain_cohort_labels(cohorts).items()}


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
    """Format one statistic (a CI column shows '(low, high)'; a hidden share its band, e.g. '80–95%')."""
    if is_hidden(rec.get(col)) and rec.get(f"{col}_band"):
        return md_escape(band_percent(rec[f"{col}_band"], sign=False))
    for lo, hi in CI_PAIRS:
        if col == lo:
            if lo not in rec or hi not in rec:
                return ""
            if is_hidden(rec[lo]):
                return md_escape(rec[lo])
            return f"({md_escape(format_value(prefix + '.' + lo, rec[lo]))}, {md_escape(format_value(prefix + '.' + hi, rec[hi]))})"
    if col not in rec:
        return ""
    return md_escape(format_value(prefix + "." + col, rec[col]))


def stat_header(col: str, conf_pct: str = "95") -> str:
    """Column heading for a statistic."""
    if col in ("ci_low", "diff_ci_low"):
        return f"{conf_pct}% CI"
    if col in CI_HEADERS:
        before, after = CI_HEADERS[col]
        return f"{before}{conf_pct}{after}"
    if col in ("pct_ci_low", "prop_ci_low"):
        return f"{conf_pct}% CI (%)"
    return STAT_HEADERS.get(col) or md_escape(col.replace("_", " "))


def leaf_records(tree: Any, depth: int,
                 orders: Mapping[int, list[str]] | None = None) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Walk ``depth`` levels of a nested dict; return ((key, ...), statistics dict) pairs, sorted
    (at a level given in ``orders``, {level index: keys in order}, by that order, then by name)."""
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def walk(node: Any, keys: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            return
        if len(keys) == depth:
            out.append((keys, dict(node)))
            return
        order = list((orders or {}).get(len(keys)) or [])
        rank = lambda key: (order.index(str(key)) if str(key) in order else len(order), str(key))  # noqa: E731
        for key in sorted(node, key=rank):
            walk(node[key], keys + (str(key),))

    walk(tree, ())
    return out


def stats_table(tree: Any, levels: list[str], caption: str, label: str, *, wanted: list[str] | None = None,
                names: Mapping[str, Mapping[str, str]] | None = None, prefix: str = "x", conf_pct: str = "95",
                orders: Mapping[str, list[str]] | None = None) -> str:
    """A table with one row per leaf of ``tree`` (``levels`` deep) and one column per statistic.

    ``names`` maps a level's heading to {id: display name} for row labels; ``orders`` a
    level's heading to its keys in order (e.g. waves in time order; others by name).
    """
    records = leaf_records(tree or {}, len(levels),
                           {i: list(orders[level]) for i, level in enumerate(levels) if level in (orders or {})})
    cols = stat_columns([rec for _, rec in records], wanted)
    header = [md_escape(level) for level in levels] + [stat_header(c, conf_pct) for c in cols]
    rows = []
    for keys, rec in records:
        labels = [md_escape((names or {}).get(level, {}).get(key, wave_label(key) if level == "Wave" else key))
                  for level, key in zip(levels, keys)]
        rows.append(labels + [stat_cell(rec, c, prefix) for c in cols])
    return pipe_table(header, rows, caption, label, "l" * len(levels) + "r" * len(cols))


def display_names(instrument: Mapping[str, Any] | None, codebook: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Row-label maps from the instrument (domains, feedback items) and codebook (themes)."""
    instrument = instrument or {}
    codebook = codebook or {}
    domains = {k: v.get("name", k) for k, v in (instrument.get("domains") or {}).items()}
    feedback = {f["id"]: f.get("text", f["id"]) for f in instrument.get("feedback") or []}
    themes = {t["id"]: t.get("name", t["id"]) for t in codebook.get("themes") or []}
    comparisons = {"pre_vs_post": "Pre-test vs end", "then_vs_post": "Then-test vs post",
                   "then_vs_pre": "Then-test minus pre-test (same respondents)"}
    # the change table's individual-level row over every cohort is not a pooled estimate
    cohorts = {"pooled": "All respondents, unweighted (not a pooled estimate)"}
    return {"Domain": domains, "Item": feedback, "Theme": themes, "Comparison": comparisons, "Cohort": cohorts,
            "Unit": dict(META_UNITS), "Estimator": dict(ESTIMATOR_LABELS)}


def cohorts_table(cohorts: list[Mapping[str, Any]]) -> str:
    """Table of the cohorts: programme, region, PCNs, dates, waves and where the data came from.

    ``cohorts`` are records of the processed cohorts table (``cohort_records``). A field
    a cohort.yml left empty shows as an empty cell, never as 'None'.
    """
    def cell(value: Any) -> str:
        return "" if value is None else md_escape(value)

    rows = []
    labels = cohort_labels(cohorts)
    for c in cohorts:
        waves = list(c.get("waves") or []) + list(c.get("retrospective_waves") or [])
        start, end = c.get("start"), c.get("end")
        dates = f"{start} to {end}" if start and end else str(start or end or "")
        rows.append([
            cell(labels.get(str(c.get("cohort")), c.get("cohort"))), cell(c.get("region")), cell(c.get("n_pcns")),
            cell(dates), cell(", ".join(wave_label(w) for w in waves)),
            "simulated" if c.get("data") == SIMULATED else "survey export",
        ])
    simulated = bool(cohorts) and all(c.get("data") == SIMULATED for c in cohorts)
    caption = ("The cohorts of the simulated twin and the programmes they mirror" if simulated
               else "The cohorts analysed, their programmes and where their data came from")
    return pipe_table(["Programme (cohort)", "Region", "PCNs", "Dates", "Waves", "Data"], rows, caption,
                      "tbl-cohorts", "llrlll", max_width=40)


def programme_names(cohorts: list[Mapping[str, Any]] | None) -> dict[str, str]:
    """Cohort id -> a plain label: its programme's name; cohorts of one programme numbered
    "cohort 1", "cohort 2" ... in order of start date (then id), never by their id
    (``pcnstudy.core.labels.cohort_labels``); a cohort without a programme is "a programme"."""
    named = {str(c.get("cohort")) for c in cohorts or [] if c.get("programme")}
    return {cohort: label if cohort in named else "a programme"
            for cohort, label in plain_cohort_labels(cohorts).items()}


def quotes_table(quotes: pd.DataFrame | None, theme_names: Mapping[str, str], max_chars: int = 300,
                 programmes: Mapping[str, str] | None = None) -> str:
    """Exemplar quotes by theme from a quotes table with a theme column and a text/quote column.

    ``quotes`` is ``read_quotes``' table (None: no quotes file); rows by theme, then rank, then text.
    A quote with a role or cohort is attributed "role, programme" (``programmes``: cohort id ->
    plain label, ``programme_names``; a cohort missing from it is called "a programme").
    """
    rows = []
    has_source = False
    if quotes is not None:
        fields = [str(c) for c in quotes.columns]
        theme_col = next((c for c in ("theme", "theme_id", "topic") if c in fields), None)
        text_col = next((c for c in ("quote", "text", "excerpt") if c in fields), None)
        if theme_col is None or text_col is None:
            raise ValueError(f"quotes need a theme and a quote/text column, not {', '.join(fields)}")
        has_source = "role" in fields or "cohort" in fields
        rank = lambda r: float(r["rank"]) if (r.get("rank") or "").strip() else 0.0  # noqa: E731
        records = sorted(quotes.to_dict("records"), key=lambda r: (r[theme_col], rank(r), r[text_col]))
        for rec in records:
            text = rec[text_col].strip()
            if len(text) > max_chars:
                text = text[: max_chars - 1].rsplit(" ", 1)[0] + " …"
            role = (rec.get("role") or "").strip()
            cohort = (rec.get("cohort") or "").strip()
            programme = (programmes or {}).get(cohort, "a programme") if cohort else ""
            source = ", ".join(x for x in (role[:1].upper() + role[1:], programme) if x)
            rows.append([md_escape(theme_names.get(rec[theme_col], rec[theme_col])), "“" + md_escape(text) + "”",
                         md_escape(source)])
    header = ["Theme", "Quote", "Source"] if has_source else ["Theme", "Quote"]
    rows = [row[: len(header)] for row in rows]
    caption = "Exemplar quotes by theme (redacted, simulated)"
    if has_source:
        caption = ("Exemplar quotes by theme (redacted, simulated): each the sentences of one answer that carry "
                   "the theme's seed terms (… where sentences are left out), no two alike and no person quoted "
                   "twice for a theme; the source is the respondent's role, or profession, only where at least "
                   "as many of the cohort's respondents share it as disclosure control requires, else "
                   "\"participant\", and the programme")
    return pipe_table(header, rows, caption, "tbl-quotes", "l" * len(header), max_width=90)


def wave_columns(scores: Mapping[str, Any]) -> list[str] | None:
    """The waves in time order (scores.settings.waves), then any other wave seen, for by-wave tables."""
    order = list(((scores.get("settings") or {}).get("waves")) or [])
    seen = [w for _, rec in leaf_records(scores.get("reliability") or {}, 2) for w in rec]
    extra = sorted({w for w in seen if w not in order})
    return order + extra if (order or extra) else None


def tests_tree(scores: Mapping[str, Any]) -> dict:
    """cohort -> domain -> the change section's tests (last wave) with d~z~'s interval from
    the effects section beside them (the supplement's table of the paired tests)."""
    effects = scores.get("effects") or {}
    out: dict = {}
    for cohort, domains in (scores.get("change") or {}).items():
        for domain, rec in (domains or {}).items():
            eff = (effects.get(cohort) or {}).get(domain) or {}
            out.setdefault(cohort, {})[domain] = {**rec, **{k: eff[k] for k in ("dz_ci_low", "dz_ci_high")
                                                           if k in eff}}
    return out


def estimators_tree(scores: Mapping[str, Any]) -> dict:
    """unit (programmes, cohorts) -> domain -> estimator -> the pooled result, from the
    estimators nested under each domain of scores.json's ``meta_programmes`` and ``meta``."""
    out: dict = {}
    for unit, section in (("programmes", "meta_programmes"), ("cohorts", "meta")):
        for domain, node in (scores.get(section) or {}).items():
            for method in ESTIMATOR_LABELS:
                if isinstance((node or {}).get(method), Mapping):
                    out.setdefault(unit, {}).setdefault(domain, {})[method] = node[method]
    return out


def _method(scores: Mapping[str, Any], section: str, key: str, default: str) -> str:
    """A method's name as the scores stage wrote it (scores.json ``methods``), else ``default``."""
    return str(((scores.get("methods") or {}).get(section) or {}).get(key) or default)


def paper_tables(results: Mapping[str, Any], *, instrument: Mapping | None, codebook: Mapping | None,
                 conf_pct: str, quotes: pd.DataFrame | None,
                 cohorts: list[Mapping[str, Any]] | None) -> dict[str, str]:
    """The paper's results tables, {file stem: markdown}, from the results trees.

    Every table is always made (a table without results shows one row 'none'), so
    that the paper's includes and @tbl- references always resolve; the cohorts table
    only when ``cohorts`` is given.
    """
    scores = results.get("scores") or {}
    themes = results.get("themes") or {}
    names = display_names(instrument, codebook)
    names["Cohort"] = {**names["Cohort"], **cohort_labels(cohorts)}
    kw = {"names": names, "conf_pct": conf_pct}
    cols = TABLE_COLUMNS
    tables = {
        "change": stats_table(scores.get("change"), ["Cohort", "Domain"],
                              "Change in self-rated capability from baseline to the end of each programme, by "
                              "domain (complete pairs)", "tbl-change", wanted=cols["change"],
                              prefix="scores.change.x.x", **kw),
        "mixed": stats_table({**(scores.get("mixed") or {}), **(scores.get("unpaired_models") or {})},
                             ["Cohort", "Domain"],
                             "Linear mixed models of domain scores: change from baseline to the last wave, "
                             "using every observation" + (UNPAIRED_MODEL_NOTE if scores.get("unpaired_models") else ""),
                             "tbl-mixed", wanted=cols["mixed"], prefix="scores.mixed.x.x", **kw),
        "reliability": (stats_table(scores["reliability_ci"], ["Cohort", "Domain", "Wave"],
                                    "Internal consistency of each domain (Cronbach's alpha) by wave, with "
                                    + _method(scores, "reliability", "ci", "its interval"),
                                    "tbl-reliability", wanted=cols["reliability"], prefix="scores.reliability_ci.x.x.x",
                                    orders={"Wave": wave_columns(scores) or []}, **kw)
                        if scores.get("reliability_ci") else
                        stats_table(scores.get("reliability"), ["Cohort", "Domain"],
                                    "Internal consistency of each domain (Cronbach's alpha) by wave",
                                    "tbl-reliability", wanted=wave_columns(scores), prefix="scores.reliability.x.x",
                                    **kw)),
        "tests": stats_table(tests_tree(scores), ["Cohort", "Domain"],
                             "Tests of the change from baseline to the end, by domain (complete pairs): the "
                             + _method(scores, "change", "test", "paired t-test") + " with its p-value adjusted by "
                             + _method(scores, "change", "adjustment", "Holm's method") + " and, as a sensitivity "
                             "analysis, by " + _method(scores, "change", "adjustment_sensitivity",
                                                       "Benjamini and Hochberg's method")
                             + " (across " + _method(scores, "change", "family", "the domains") + "); the "
                             + _method(scores, "change", "nonparametric", "Wilcoxon signed-rank test") + " with the "
                             + _method(scores, "change", "nonparametric_effect", "rank-biserial correlation")
                             + "; and d~z~ with its interval", "tbl-tests", wanted=cols["tests"],
                             prefix="scores.change.x.x", **kw),
        "ordinal": stats_table(scores.get("ordinal"), ["Cohort", "Domain", "Wave"],
                               "Ordinal sensitivity analysis: a "
                               + _method(scores, "ordinal", "model", "proportional-odds model")
                               + "; the odds ratio of answering higher at the wave than at baseline",
                               "tbl-ordinal", wanted=cols["ordinal"], prefix="scores.ordinal.x.x.x",
                               orders={"Wave": wave_columns(scores) or []}, **kw),
        "meta_estimators": stats_table(estimators_tree(scores), ["Unit", "Domain", "Estimator"],
                                       "Random-effects meta-analysis of the change in each domain by the "
                                       "estimator of between-unit variance: the "
                                       + _method(scores, "meta", "estimator", "REML estimator") + " of the headline "
                                       "analysis beside the " + _method(scores, "meta", "estimator_sensitivity",
                                                                        "DerSimonian and Laird estimator"),
                                       "tbl-meta-estimators", wanted=cols["meta_estimators"],
                                       prefix="scores.meta.x.x", orders={"Unit": list(META_UNITS),
                                                                          "Estimator": list(ESTIMATOR_LABELS)}, **kw),
        "then_test": stats_table(scores.get("then_test"), ["Cohort", "Domain", "Comparison"],
                                 "Response shift: the retrospective then-test beside the pre-test, against the "
                                 "end of the programme; for a cohort surveyed once (retrospective), its "
                                 "retrospective pre-post change: the one wave minus the then-test on the same "
                                 "respondents", "tbl-then-test", wanted=cols["then_test"],
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
        "meta_programmes": stats_table(scores.get("meta_programmes"), ["Domain"],
                                       "Random-effects meta-analysis with the programme as the unit (cohorts of "
                                       "one programme combined first): Wald, Hartung-Knapp and prediction "
                                       "intervals", "tbl-meta-programmes", wanted=cols["meta_programmes"],
                                       prefix="scores.meta_programmes.x", **kw),
        "effects": stats_table(scores.get("effects"), ["Cohort", "Domain"],
                               "Change from baseline to the end in scale points, as percent of the maximum "
                               "possible change and as percent change of the mean, with standardised effect "
                               "sizes", "tbl-effects", wanted=cols["effects"], prefix="scores.effects.x.x", **kw),
        "bias": stats_table(scores.get("bias"), ["Cohort", "Domain"],
                            "Bias checks of the change to the end: regression to the mean, the drop-out "
                            "tipping point (scale points) and clustering by PCN", "tbl-bias",
                            wanted=cols["bias"], prefix="scores.bias.x.x", **kw),
        "themes": stats_table(themes.get("themes"), ["Theme"],
                              "Prevalence of the codebook's themes in the free text, with Wilson intervals "
                              "treating each response as independent and, beside them, allowing for several "
                              "responses by one person (the Wilson interval on the sample size divided by the "
                              "design effect)",
                              "tbl-themes", wanted=cols["themes"], prefix="themes.themes.x", **kw),
        "themes_by_cohort": stats_table(themes.get("by_cohort"), ["Cohort", "Theme"],
                                        "Prevalence of each theme by cohort", "tbl-themes-by-cohort",
                                        wanted=cols["themes_by_cohort"], prefix="themes.by_cohort.x.x", **kw),
        "quotes": quotes_table(quotes, names["Theme"], programmes=programme_names(cohorts)),
        # shown only when a cohort is unpaired (the paper's flag study_has_unpaired)
        "unpaired_change": visible_when(UNPAIRED_FLAG, stats_table(
            scores.get("unpaired_change"), ["Cohort", "Domain"],
            "Unpaired comparison of start and end respondents, by domain, where the waves could not be linked: "
            "difference and percentage change of the means with Welch intervals, Mann-Whitney test",
            "tbl-unpaired-change", wanted=cols["unpaired_change"], prefix="scores.unpaired_change.x.x", **kw)),
    }
    if cohorts is not None:
        tables["cohorts"] = cohorts_table(cohorts)
    settings = scores.get("settings") or {}
    return {name: with_disclosure_note(text, str(settings.get("disclosure_marker", "<5")))
            for name, text in tables.items()}
