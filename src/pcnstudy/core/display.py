"""Result tables and figures formatted for people, as the executed notebooks show them.

``table(frame, alpha=0.05)`` turns a result table into one of strings a reviewer reads:
p-values as ``<0.001`` or ``0.034``, estimates to a precision that fits the quantity
(counts as integers, proportions and percentage changes as percentages, test
statistics and estimates to two decimals), each ``*_ci_low``/``*_ci_high`` pair as one
column ``0.54 to 0.79``, booleans as yes/no, missing values blank, and columns and index
levels under human labels (``LABELS``). A cell that disclosure control suppressed holds
the marker string (``<5``) and is shown as it is. ``use_display_options()`` sets pandas
so that no table is cut at the right edge; ``show_figure(label, folder)`` shows a figure
under its paper label. Nothing here changes a number: it only formats.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

#: Human labels of the result tables' columns and index levels (others: underscores to spaces).
LABELS = {
    "cohort": "Cohort", "level": "Level", "item": "Item", "domain": "Domain", "term": "Term", "wave": "Wave",
    "wave_from": "From wave", "wave_to": "To wave", "comparison": "Comparison", "profession": "Profession",
    "dimension": "Dimension", "source": "Source", "method": "Method", "theme": "Theme", "topic": "Topic",
    "rank": "Rank", "text": "Quote", "name": "Name", "nhs_number": "NHS number", "file": "Raw file",
    "n": "N", "n_pairs": "Pairs", "n_obs": "Observations", "n_respondents": "Respondents", "n_items": "Items",
    "n_baseline": "At baseline", "n_completers": "Completers", "n_lost": "Lost", "n_total": "Responses",
    "n_pcn": "PCNs", "n_nonzero": "Non-zero differences", "n_keyword": "Coded by seed terms",
    "n_model": "Coded by model", "k": "k", "k_improved": "Items improved",
    "mean_from": "Mean before", "mean_to": "Mean after", "mean_diff": "Mean change", "sd_diff": "SD of change",
    "diff_ci": "CI of the change", "pct_change": "Change (%)", "pct_ci": "CI (%)",
    "pct_boot_ci": "Bootstrap CI (%)", "pct": "Yes (%)", "pct_yes": "Yes (%)", "pct_lost": "Lost (%)",
    "prop": "Prevalence (%)", "prop_ci": "CI (%)", "ci": "CI",
    "t": "t", "df": "df", "p_t": "p (t-test)", "p_holm": "p (Holm)", "p_bh": "p (BH)",
    "wilcoxon_v": "Wilcoxon V", "p_wilcoxon": "p (Wilcoxon)", "dz": "Cohen's dz", "rank_biserial": "Rank-biserial r",
    "estimate": "Estimate", "se": "SE", "p": "p", "odds_ratio": "Odds ratio", "sd_respondent": "SD respondent",
    "sd_residual": "SD residual", "sd_pcn": "SD PCN", "converged": "Converged", "cov_type": "Covariance",
    "alpha": "Cronbach's alpha", "tau2": "tau²", "i2": "I² (%)", "q": "Q", "p_q": "p (Q)", "cohorts": "Cohorts",
    "welch_t": "Welch t", "welch_df": "Welch df", "p_welch": "p (Welch)", "mannwhitney_u": "Mann-Whitney U",
    "p_mannwhitney": "p (Mann-Whitney)", "p_profession": "p (profession)", "profession_test": "Profession test",
    "mean_baseline_completers": "Baseline mean, completers", "mean_baseline_lost": "Baseline mean, lost",
    "diff_lost_minus_completers": "Lost minus completers", "flag": "Note", "note": "Note",
    "jaccard": "Jaccard", "theme_a": "Theme", "theme_b": "With theme", "mean_compound": "Mean sentiment",
    "sd_compound": "SD sentiment", "prop_positive": "Positive (%)", "prop_neutral": "Neutral (%)",
    "prop_negative": "Negative (%)", "npmi": "NPMI coherence", "stability": "Stability", "criterion": "Criterion",
    "kappa_model_vs_keyword": "Kappa, model vs seed terms", "threshold": "Threshold", "threshold_rule": "Rule",
    "rows_read": "Rows read", "rows_kept": "Rows kept", "rows_quarantined": "Rows quarantined",
    "values_coerced": "Values coerced", "values_quarantined": "Values quarantined", "values_flagged": "Values flagged",
    "npmi_mean": "Mean NPMI coherence", "n_free_topics": "Free topics", "n_stability_seeds": "Seeds for stability",
    "n_assigned_model": "Codes assigned by the model", "n_assigned_keyword": "Codes assigned by seed terms",
    "n_documents": "Responses coded", "n_unexplained_documents": "Responses no theme explains",
    "score_scale": "Score scale", "value": "Value", "reason": "Reason", "row": "Row", "column": "Column",
}
#: Columns holding p-values, besides ``p`` and ``p_*``.
P_COLUMNS = frozenset({"p"})
#: Columns of fractions shown as percentages (one decimal), besides ``pct*`` and ``prop*``.
PERCENT_COLUMNS = frozenset({"i2"})
#: Columns of counts shown as integers, besides ``n``, ``n_*`` and ``k``, ``k_*``.
COUNT_COLUMNS = frozenset({"rank", "wilcoxon_v", "mannwhitney_u"})
#: Columns shown to one decimal (degrees of freedom).
ONE_DECIMAL_COLUMNS = frozenset({"df", "welch_df"})
#: Columns shown to three decimals (small variance components, agreement, coherence).
THREE_DECIMAL_COLUMNS = frozenset({"tau2", "npmi", "jaccard", "kappa_model_vs_keyword", "threshold", "criterion",
                                   "stability"})
CI_SUFFIXES = ("ci_low", "ci_high")


def label(name: Any) -> Any:
    """The human label of a column or index level (``mean_diff`` -> ``Mean change``)."""
    if not isinstance(name, str):
        return name
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _number(value: Any) -> float | None:
    """``value`` as a float, None when it is not a number (a marker such as ``<5``, text)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def format_p(value: Any) -> str:
    """A p-value as ``<0.001``, ``0.034`` or ``1.000``; missing as blank; a marker unchanged."""
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    if math.isnan(number):
        return ""
    return "<0.001" if number < 0.001 else f"{number:.3f}"


def format_number(value: Any, digits: int = 2, percent: bool = False) -> str:
    """A number to ``digits`` decimals (times 100 and one decimal when ``percent``); a
    suppressed marker or text unchanged, missing blank, booleans yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    if math.isnan(number):
        return ""
    if percent:
        return f"{100 * number:.1f}"
    text = f"{number:.{digits}f}"
    return "0" if digits == 0 and text == "-0" else text


def format_ci(low: Any, high: Any, digits: int = 2, percent: bool = False) -> str:
    """An interval as ``0.54 to 0.79``; blank when either end is missing; a marker (``<5``) once."""
    lo, hi = format_number(low, digits, percent), format_number(high, digits, percent)
    if not lo or not hi:
        return ""
    if _number(low) is None or _number(high) is None:  # suppressed: show the marker, not "<5 to <5"
        return lo if _number(low) is None else hi
    return f"{lo} to {hi}"


def _is_count(name: str) -> bool:
    return name in COUNT_COLUMNS or name in ("n", "k") or name.startswith(("n_", "k_"))


def _is_percent(name: str) -> bool:
    return name in PERCENT_COLUMNS or name.startswith(("pct", "prop"))


def _is_p(name: str) -> bool:
    return name in P_COLUMNS or name.startswith("p_")


def column_format(name: str) -> tuple[int, bool]:
    """Decimals and percent flag for a numeric column, from its name."""
    if _is_count(name):
        return 0, False
    if _is_percent(name):
        return 1, True
    if name in ONE_DECIMAL_COLUMNS:
        return 1, False
    if name in THREE_DECIMAL_COLUMNS:
        return 3, False
    return 2, False


def format_column(name: str, values: pd.Series) -> pd.Series:
    """One column formatted by what its name says it holds; text columns unchanged."""
    if _is_p(name):
        return values.map(format_p)
    numeric = values.map(_number).notna()
    if not numeric.any() and not pd.api.types.is_bool_dtype(values):
        return values.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
    digits, percent = (0, False) if pd.api.types.is_integer_dtype(values) else column_format(name)
    return values.map(lambda v: format_number(v, digits, percent))


def _ci_label(prefix: str, alpha: float | None) -> str:
    base = LABELS.get(f"{prefix}ci", f"{label(prefix.rstrip('_'))} CI")
    if alpha is None:
        return base
    level = f"{100 * (1 - alpha):g}%"
    return base.replace("CI", f"{level} CI", 1)


def table(frame: pd.DataFrame | pd.Series | Mapping[str, Any], alpha: float | None = 0.05,
          columns: Iterable[str] | None = None) -> pd.DataFrame:
    """``frame`` as a table of formatted strings under human labels (see the module docstring).

    ``frame`` may also be a dict of rows (``{cohort: {column: value}}``).
    ``columns`` keeps only those, in that order (a CI pair is named ``<prefix>ci``, e.g.
    ``diff_ci``, or by its ends); ``alpha`` names the intervals' level (``95% CI``); None leaves it out.
    """
    if isinstance(frame, Mapping):  # {row: {column: value}}, as the stages' report dicts hold tables
        frame = pd.DataFrame.from_dict(dict(frame), orient="index")
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if columns is not None:
        wanted = list(columns)
        order = {name: i for i, w in enumerate(wanted) for name in (w, f"{w}_low", f"{w}_high")}
        frame = frame[sorted((c for c in frame.columns if c in order), key=lambda c: (order[c], c.endswith("high")))]
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        key = str(name)
        if key.endswith(CI_SUFFIXES[1]) and key[:-len(CI_SUFFIXES[1])] + CI_SUFFIXES[0] in frame.columns:
            continue
        if key.endswith(CI_SUFFIXES[0]) and key[:-len(CI_SUFFIXES[0])] + CI_SUFFIXES[1] in frame.columns:
            prefix = key[:-len(CI_SUFFIXES[0])]
            digits, percent = column_format(prefix + "ci")
            high = frame[prefix + CI_SUFFIXES[1]]
            out[_ci_label(prefix, alpha)] = pd.Series(
                [format_ci(lo, hi, digits, percent) for lo, hi in zip(frame[name], high)], index=frame.index)
            continue
        out[label(key)] = format_column(key, frame[name])
    shown = pd.DataFrame(out, index=frame.index)
    shown.index = shown.index.set_names([label(n) for n in shown.index.names])
    return shown


def format_value(value: Any) -> str:
    """A lone value: an integer as one, another number to three significant digits, text as it is."""
    number = _number(value)
    if number is None or isinstance(value, str):
        return "" if value is None else str(value)
    if math.isnan(number):
        return ""
    return f"{int(number)}" if number.is_integer() else f"{number:.3g}"


def counts(values: Mapping[str, Any], name: str = "Count") -> pd.DataFrame:
    """A dict of counts or single values (``{"email": 3, ...}``) as a one-column table under human labels."""
    frame = pd.Series(dict(values), name=name, dtype=object).to_frame()
    frame.index = [label(str(k)) for k in frame.index]
    return frame.map(format_value)


def use_display_options(max_rows: int = 120) -> None:
    """Show every column of a table (no truncation at the right edge) and whole cell texts."""
    pd.set_option("display.max_columns", None)
    pd.set_option("display.width", None)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_rows", max_rows)
    pd.set_option("display.min_rows", max_rows)
    pd.set_option("display.expand_frame_repr", False)


def show_figure(label_: str, folder: str | Path) -> Any:
    """Show ``folder/<label>.png`` inline under its paper label (``fig-slopes``)."""
    # IPython is there only inside a kernel; importing it lazily keeps the core light elsewhere.
    from IPython.display import Image, Markdown, display

    path = Path(folder) / f"{label_}.png"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: figure {label_} not written (run the stage's write step first)")
    display(Markdown(f"**{label_}**"))
    return Image(filename=str(path))
