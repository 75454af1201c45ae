"""Statistical disclosure control for published tables.

``suppress(table, count_cols, ...)`` takes a table of counts (and, optionally, a
total column and statistics derived from the counts) and returns the same table as
strings that are safe to publish:

* primary suppression: a count from 1 to ``threshold - 1`` is shown as
  ``f"<{threshold}"`` (zeros are shown, but flagged, see below): "<5" is only ever
  printed for a count that truly is below the threshold;
* derived statistics (percentages, means, shares) that reveal a hidden count are
  blanked with the marker of that count (``derived_cols`` maps each derived column to
  the count column, or the total column, it is computed from);
* complementary (secondary) suppression: a cell hidden to protect another one is shown
  as ``SECONDARY_MARKER`` (``[c]``), whatever it holds. When a row has a published total, a single
  hidden cell could be recovered as total minus the other cells, so a second cell is
  hidden (the smallest positive one); likewise within each ``by`` group, where the
  rows of one count column add up to a group total known elsewhere. When the count
  columns do not exhaust the total, the unpublished remainder (e.g. the "no" answers
  beside a "yes" count) is a cell too: a small remainder is protected by hiding the
  count it could be derived from;
* a ``flag`` column marks rows where everyone in a small group gave the same answer
  (a count of 0 or equal to the total, shown as ``0%`` / ``100%``): colleagues can
  recognise each other, so such results deserve a second look before publication.

Rules (``rule``):

* ``"threshold"``: counts 1 .. min_cell-1 suppressed, nothing rounded;
* ``"nhs_digital"``: NHS Digital's rule: counts 1-7 suppressed, every other count
  rounded to the nearest 5, statistics on suppressed counts suppressed;
* ``"ons_10_5"``: ONS's 10-5 rule: counts below 10 suppressed, others rounded to the
  nearest 5.

Under the rounding presets derived statistics are shown as given (computed on the
unrounded counts); where that matters, derive them from the rounded counts instead.
``suppression_mask`` gives the boolean mask behind ``suppress`` for callers that
need numbers and markers separately (e.g. results JSON), ``suppression_kinds`` the
same cells as "primary" / "secondary" / ""; ``is_hidden`` says whether a published
cell is either marker. Suppression of tables that share margins with other tables
(a totals table and its breakdown) is done over all of them together: see
``pcnstudy.core.disclosure_audit`` and ``pcnstudy.core.published``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RULES = ("threshold", "nhs_digital", "ons_10_5")
FLAG_ZERO = "0%"
FLAG_ALL = "100%"
#: Shown in place of a count hidden by complementary suppression (to protect another cell).
SECONDARY_MARKER = "[c]"


@dataclass(frozen=True)
class Rule:
    """A disclosure rule: the smallest count that may be shown, and rounding."""

    name: str
    threshold: int
    round_to: int | None

    @property
    def marker(self) -> str:
        """The string shown in place of a suppressed value."""
        return f"<{self.threshold}"

    @property
    def secondary_marker(self) -> str:
        """The string shown in place of a cell hidden to protect another (complementary suppression)."""
        return SECONDARY_MARKER


def is_hidden(text) -> bool:
    """True for a published cell holding a disclosure marker ('<5', '<10', '[c]')."""
    text = str(text).strip() if text is not None else ""
    return text == SECONDARY_MARKER or (text.startswith("<") and text[1:].isdigit())


def get_rule(rule: str = "threshold", min_cell: int = 5) -> Rule:
    """Return the named rule; ``min_cell`` applies to the plain threshold rule only."""
    if rule == "threshold":
        if int(min_cell) < 1:
            raise ValueError(f"min_cell must be at least 1, got {min_cell}")
        return Rule("threshold", int(min_cell), None)
    if rule == "nhs_digital":
        return Rule("nhs_digital", 8, 5)
    if rule == "ons_10_5":
        return Rule("ons_10_5", 10, 5)
    raise ValueError(f"unknown disclosure rule {rule!r}; choose one of {', '.join(RULES)}")


def round_to_base(values: np.ndarray, base: int) -> np.ndarray:
    """Round counts to the nearest multiple of ``base`` (halves up: 12.5 -> 15)."""
    return np.floor(np.asarray(values, dtype=float) / base + 0.5) * base


def _numeric(table: pd.DataFrame, col: str) -> np.ndarray:
    if col not in table.columns:
        raise KeyError(f"disclosure: no column {col!r} in table (columns: {', '.join(map(str, table.columns))})")
    values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
    return values


def _pick_smallest(values: np.ndarray, candidates: np.ndarray) -> int | None:
    """Index of the smallest positive candidate value (else smallest zero), or None."""
    idx = np.flatnonzero(candidates & ~np.isnan(values))
    if idx.size == 0:
        return None
    positive = idx[values[idx] > 0]
    pool = positive if positive.size else idx
    order = np.lexsort((pool, values[pool]))
    return int(pool[order[0]])


def suppression_mask(table: pd.DataFrame, count_cols: list[str], total_col: str | None = None, min_cell: int = 5,
                     rule: str = "threshold", by: list[str] | None = None, protect_remainder: bool = True) -> pd.DataFrame:
    """Boolean frame of the cells ``suppression_kinds`` hides (primary or complementary)."""
    kinds = suppression_kinds(table, count_cols, total_col, min_cell=min_cell, rule=rule, by=by,
                              protect_remainder=protect_remainder)
    return kinds != ""


def suppression_kinds(
    table: pd.DataFrame,
    count_cols: list[str],
    total_col: str | None = None,
    min_cell: int = 5,
    rule: str = "threshold",
    by: list[str] | None = None,
    protect_remainder: bool = True,
) -> pd.DataFrame:
    """Return a boolean frame (count columns, plus the total column) marking hidden cells.

    (``suppression_kinds`` tells the primary cells from the complementary ones.)

    Primary cells are counts from 1 to threshold - 1; secondary cells are hidden so
    that no hidden cell can be recovered from a row total or a ``by``-group total.
    With ``protect_remainder=False`` the unpublished remainder (total minus the count
    columns, e.g. the "no" answers) is not protected: only for remainders that are
    published nowhere and that the user accepts may be inferred.
    """
    spec = get_rule(rule, min_cell)
    thr = spec.threshold
    if table.empty:
        columns = list(count_cols) + ([total_col] if total_col else [])
        return pd.DataFrame("", index=table.index, columns=columns)
    counts = np.column_stack([_numeric(table, c) for c in count_cols]) if count_cols else np.zeros((len(table), 0))
    n_rows, n_cols = counts.shape
    hidden = (counts >= 1) & (counts < thr)
    total = _numeric(table, total_col) if total_col else None
    total_hidden = np.zeros(n_rows, dtype=bool)
    remainder = None
    if total is not None:
        total_hidden = (total >= 1) & (total < thr)
    primary, primary_total = hidden.copy(), total_hidden.copy()
    if total is not None:
        remainder = total - np.nansum(counts, axis=1)
        if not protect_remainder or np.all(np.isnan(remainder) | (np.abs(remainder) < 1e-9)):
            remainder = None  # the count columns exhaust the total: no hidden remainder
    groups = [np.arange(n_rows)]
    if by:
        keys = table[by].astype(str).agg("\x1f".join, axis=1).to_numpy()
        groups = [np.flatnonzero(keys == key) for key in pd.unique(keys)]

    for _ in range(4 * (n_rows + n_cols) + 4):
        changed = False
        # a small total reveals every cell of its row
        for i in np.flatnonzero(total_hidden):
            row = ~hidden[i] & (counts[i] >= 0)
            if row.any():
                hidden[i, row] = True
                changed = True
        # row-wise: a published total minus the shown cells must not give a hidden cell back
        if total is not None:
            for i in range(n_rows):
                if total_hidden[i] or np.isnan(total[i]):
                    continue
                rem = None if remainder is None else remainder[i]
                rem_unknown = rem is not None
                rem_sensitive = rem is not None and 1 <= rem < thr
                n_hidden = int(hidden[i].sum())
                unknowns = n_hidden + (1 if rem_unknown else 0)
                need = n_hidden >= 1 or rem_sensitive
                if need and unknowns < 2 or (rem_sensitive and n_hidden == 0):
                    j = _pick_smallest(counts[i], ~hidden[i])
                    if j is None:
                        total_hidden[i] = True
                    else:
                        hidden[i, j] = True
                    changed = True
        # column-wise within each by-group: the group total must not give a hidden cell back
        if by:
            for rows in groups:
                if rows.size < 2:
                    continue
                for j in range(n_cols):
                    col_hidden = hidden[rows, j]
                    if int(col_hidden.sum()) == 1:
                        k = _pick_smallest(counts[rows, j], ~col_hidden)
                        if k is not None:
                            hidden[rows[k], j] = True
                            changed = True
        if not changed:
            break
    def kinds(hid: np.ndarray, prim: np.ndarray) -> np.ndarray:
        return np.where(prim, "primary", np.where(hid, "secondary", ""))

    out = pd.DataFrame(kinds(hidden, primary), columns=list(count_cols), index=table.index)
    if total_col:
        out[total_col] = kinds(total_hidden, primary_total)
    return out


def _flags(counts: np.ndarray, total: np.ndarray | None, small_group: int) -> list[str]:
    if total is None:
        total = np.nansum(counts, axis=1) if counts.shape[1] > 1 else np.full(len(counts), np.nan)
    out = []
    for i in range(len(counts)):
        t = total[i]
        tags: list[str] = []
        if not np.isnan(t) and 0 < t < small_group:
            row = counts[i][~np.isnan(counts[i])]
            if (row == 0).any():
                tags.append(FLAG_ZERO)
            if (row == t).any():
                tags.append(FLAG_ALL)
        out.append(";".join(tags))
    return out


def flag_column(table: pd.DataFrame, count_cols: list[str], total_col: str | None,
                small_group: int = 20) -> list[str]:
    """The ``flag`` column of ``suppress`` (``0%`` / ``100%`` answers in groups under ``small_group``)."""
    counts = np.column_stack([_numeric(table, c) for c in count_cols]) if count_cols else np.zeros((len(table), 0))
    total = _numeric(table, total_col) if total_col else None
    return _flags(counts, total, small_group)


def _fmt_count(value: float) -> str:
    if np.isnan(value):
        return ""
    return str(int(round(value)))


def _fmt_stat(value, decimals: int) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(number):
        return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return f"{round(float(number), decimals):g}" if decimals is not None else repr(float(number))


def suppress(
    table: pd.DataFrame,
    count_cols: list[str],
    total_col: str | None = None,
    derived_cols: dict[str, str] | None = None,
    min_cell: int = 5,
    rule: str = "threshold",
    by: list[str] | None = None,
    *,
    small_group: int = 20,
    decimals: int = 4,
    protect_remainder: bool = True,
) -> pd.DataFrame:
    """Return ``table`` as strings safe to publish, with a ``flag`` column added.

    Counts (``count_cols`` and ``total_col``) below the rule's threshold are shown as
    ``"<5"`` (``f"<{threshold}"``), with complementary suppression by row and within
    ``by`` groups shown as ``[c]``; ``derived_cols`` (derived column -> the count column
    it reveals) are blanked with their count's marker when it is hidden; under the rounding
    presets shown counts are rounded to the nearest 5. Derived values are rounded to
    ``decimals`` places. ``flag`` holds ``0%`` / ``100%`` (``;``-joined) for rows of
    groups smaller than ``small_group`` where a count is 0 or equals the total.
    Other columns are passed through as strings. Row order and index are kept.
    """
    spec = get_rule(rule, min_cell)
    derived_cols = dict(derived_cols or {})
    for derived, source in derived_cols.items():
        if derived not in table.columns:
            raise KeyError(f"disclosure: no derived column {derived!r} in table")
        if source not in list(count_cols) + ([total_col] if total_col else []):
            raise KeyError(f"disclosure: derived column {derived!r} refers to {source!r}, not a count column")
    kinds = suppression_kinds(table, count_cols, total_col, min_cell=min_cell, rule=rule, by=by,
                              protect_remainder=protect_remainder)
    markers = {"primary": spec.marker, "secondary": spec.secondary_marker}
    out = table.copy().astype(object)
    for col in out.columns:
        if col in count_cols or col == total_col or col in derived_cols:
            continue
        out[col] = [("" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)) for v in table[col]]
    count_like = list(count_cols) + ([total_col] if total_col else [])
    for col in count_like:
        values = _numeric(table, col)
        shown = round_to_base(values, spec.round_to) if spec.round_to else values
        texts = [_fmt_count(v) for v in shown]
        out[col] = [markers.get(kind, text) for kind, text in zip(kinds[col].to_numpy(), texts)]
    for derived, source in derived_cols.items():
        kind = kinds[source].to_numpy()
        if total_col and source != total_col:
            kind = np.where(kind == "", kinds[total_col].to_numpy(), kind)
        out[derived] = [markers.get(k, None) or _fmt_stat(v, decimals) for k, v in zip(kind, table[derived])]
    counts = np.column_stack([_numeric(table, c) for c in count_cols]) if count_cols else np.zeros((len(table), 0))
    total = _numeric(table, total_col) if total_col else None
    out["flag"] = _flags(counts, total, small_group)
    return out
