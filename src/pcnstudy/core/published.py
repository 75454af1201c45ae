"""The study's published count tables as linked systems, for the audit and for suppression.

Each ``*_model`` function adds the counts of a group of tables that share margins to a
``Linked`` system (``pcnstudy.core.disclosure_audit``) and returns where each count
sits, {(table, row position, column): count index}. The same function reads either
the true tables (numbers: the stage protecting them) or the published ones (strings
with markers: an audit of what a reader has); ``Counts`` says which.

- ``feedback_model(counts, feedback, kirkpatrick, labels)``: yes counts k of n per
  item with the unpublished "no" n - k; the Kirkpatrick/impact table's feedback rows
  are sums of those items (``labels``: item -> {dimension: level}, from the instrument);
- ``attrition_model(counts, attrition, by_profession, change)``: n_baseline =
  n_completers + n_lost per cohort and per profession, the professions adding up to
  the cohort; the change table's pairs from the first to the last wave cannot exceed
  the completers and, where they equal them in truth (or, for a reader, wherever
  nothing published contradicts it), are read as the completers; the pooled rows
  are the sums of the cohorts;
- ``prevalence_model(counts, prevalence, sentiment)``: a theme's count and the
  responses without it add up to each level's responses, the levels of every
  dimension (cohort, wave, profession, question) add up to the "all" row, and the
  sentiment table's count per theme is the "all" count with its positive / neutral /
  negative shares as counts.

``publish(frame, cells, linked, columns, markers, derived, bands)`` turns a table's
true values into its published strings after ``protect``: primary cells as the rule's
marker, complementary cells as the complementary marker, statistics derived from a
hidden count hidden with its marker or shown as the audit's band.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pandas as pd

from pcnstudy.core.disclosure import flag_column
from pcnstudy.core.disclosure_audit import (PRIMARY, SECONDARY, SHOWN, UNPUBLISHED, CannotProtect, Leak, Linked, audit,
                                            components, intervals, protect)

Cells = dict[tuple[str, int, str], int]
POOLED = "pooled"


@dataclass(frozen=True)
class Counts:
    """How table cells become counts: true numbers (``truth``) or published strings."""

    threshold: int
    truth: bool
    primary_marker: str
    secondary_marker: str

    def add(self, linked: Linked, name: str, raw, total: bool = False) -> int:
        """Add one table cell as a count."""
        if self.truth:
            v = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
            if pd.isna(v):
                return linked.add(name, UNPUBLISHED, total=total)
            v = float(v)
            kind = PRIMARY if 1 <= v < self.threshold else SHOWN
            return linked.add(name, kind, shown=v, value=v, total=total)
        text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()
        if text == self.primary_marker:
            return linked.add(name, PRIMARY, total=total)
        if text == self.secondary_marker:
            return linked.add(name, SECONDARY, total=total)
        number = pd.to_numeric(pd.Series([text]), errors="coerce").iloc[0]
        if text == "" or pd.isna(number):
            return linked.add(name, UNPUBLISHED, total=total)
        return linked.add(name, SHOWN, shown=float(number), total=total)

    def remainder(self, linked: Linked, name: str, value: float | None = None) -> int:
        """An unpublished count (e.g. the "no" answers); its true value, when known, marks it small."""
        i = linked.add(name, UNPUBLISHED, value=value)
        if self.truth and value is not None and 1 <= value < self.threshold:
            linked.small.add(i)
        return i

    def number(self, raw) -> float | None:
        """A cell as a number (None when hidden or empty)."""
        v = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
        return None if pd.isna(v) else float(v)


def _key(*parts) -> str:
    return "|".join(str(p) for p in parts)


def _value(linked: Linked, i: int) -> float | None:
    return linked.value[i] if linked.value[i] is not None else linked.shown[i]


# --------------------------------------------------------------------------- models


def feedback_model(counts: Counts, linked: Linked, feedback: pd.DataFrame, kirkpatrick: pd.DataFrame | None,
                   labels: Mapping[str, Mapping[str, str]], protect_remainder: bool = True) -> Cells:
    """Feedback yes counts, their "no" remainders and the Kirkpatrick sums (see module docstring).

    ``protect_remainder=False``: the "no" answers are left out (they may be inferred)."""
    cells: Cells = {}
    rows_by: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for pos, rec in enumerate(feedback.to_dict("records")):
        name = _key("feedback_proportions", rec["cohort"], rec["wave"], rec["item"])
        n, k = _yes_count_cells(counts, linked, cells, "feedback_proportions", pos, name, rec, protect_remainder)
        for dimension, level in (labels.get(str(rec["item"])) or {}).items():
            rows_by.setdefault((dimension, str(rec["cohort"]), str(level)), []).append((n, k))
    if kirkpatrick is None or kirkpatrick.empty:
        return cells
    for pos, rec in enumerate(kirkpatrick.to_dict("records")):
        if rec.get("source") != "feedback":
            continue
        key = (str(rec["dimension"]), str(rec["cohort"]), str(rec["level"]))
        name = _key("kirkpatrick", *key)
        n, k = _yes_count_cells(counts, linked, cells, "kirkpatrick", pos, name, rec, protect_remainder)
        parts = rows_by.get(key, [])
        if parts:
            linked.equal([n], [p[0] for p in parts])
            linked.equal([k], [p[1] for p in parts])
    return cells


def _yes_count_cells(counts: Counts, linked: Linked, cells: Cells, table: str, pos: int, name: str,
                     rec: Mapping[str, Any], protect_remainder: bool) -> tuple[int, int]:
    """A yes/no row's counts: n (a total), k (yes) and, when protected, the unpublished "no"
    remainder with n = k + no; each recorded in ``cells`` under (table, pos, column)."""
    n = counts.add(linked, name + "|n", rec["n"], total=True)
    k = counts.add(linked, name + "|k", rec["k"])
    nv, kv = _value(linked, n), _value(linked, k)
    if protect_remainder:
        rem = counts.remainder(linked, name + "|no", None if nv is None or kv is None else nv - kv)
        linked.equal([n], [k, rem])
        cells[(table, pos, "no")] = rem
    cells[(table, pos, "n")] = n
    cells[(table, pos, "k")] = k
    return n, k


def attrition_model(counts: Counts, linked: Linked, attrition: pd.DataFrame, by_profession: pd.DataFrame | None,
                    change: pd.DataFrame | None) -> Cells:
    """Attrition by cohort and profession, and the change table's pairs (see module docstring)."""
    cells: Cells = {}
    cohort_cells: dict[str, tuple[int, int, int]] = {}
    waves: dict[str, tuple[str, str]] = {}
    for pos, rec in enumerate(attrition.to_dict("records")):
        name = _key("attrition", rec["cohort"])
        trio = tuple(counts.add(linked, f"{name}|{col}", rec[col], total=(col == "n_baseline"))
                     for col in ("n_baseline", "n_completers", "n_lost"))
        linked.equal([trio[0]], [trio[1], trio[2]])
        cohort_cells[str(rec["cohort"])] = trio
        waves[str(rec["cohort"])] = (str(rec.get("wave_from")), str(rec.get("wave_to")))
        for col, i in zip(("n_baseline", "n_completers", "n_lost"), trio):
            cells[("attrition", pos, col)] = i
    if by_profession is not None and not by_profession.empty:
        parts: dict[str, list[tuple[int, int, int]]] = {}
        for pos, rec in enumerate(by_profession.to_dict("records")):
            name = _key("attrition_by_profession", rec["cohort"], rec["profession"])
            trio = tuple(counts.add(linked, f"{name}|{col}", rec[col], total=(col == "n_baseline"))
                         for col in ("n_baseline", "n_completers", "n_lost"))
            linked.equal([trio[0]], [trio[1], trio[2]])
            parts.setdefault(str(rec["cohort"]), []).append(trio)
            for col, i in zip(("n_baseline", "n_completers", "n_lost"), trio):
                cells[("attrition_by_profession", pos, col)] = i
        for cohort, trios in parts.items():
            if cohort in cohort_cells:
                for j in range(3):
                    linked.equal([cohort_cells[cohort][j]], [t[j] for t in trios])
    if change is None or change.empty:
        return cells
    pairs: dict[tuple[str, str, str, str], list[int]] = {}
    pooled: dict[tuple[str, str, str, str], int] = {}
    for pos, rec in enumerate(change.to_dict("records")):
        key = (str(rec.get("level", "")), str(rec["item"]), str(rec["wave_from"]), str(rec["wave_to"]))
        i = counts.add(linked, _key("change_scores", rec["cohort"], *key, "n_pairs"), rec["n_pairs"],
                       total=str(rec["cohort"]) == POOLED)
        cells[("change_scores", pos, "n_pairs")] = i
        cohort = str(rec["cohort"])
        if cohort == POOLED:
            pooled[key] = i
            continue
        pairs.setdefault(key, []).append(i)
        if cohort in cohort_cells and waves.get(cohort) == (key[2], key[3]):
            completers = cohort_cells[cohort][1]
            a, b = _value(linked, i), _value(linked, completers)
            if a is not None and b is not None and a != b:
                linked.at_most(i, completers)
            else:
                linked.equal([i], [completers])
    for key, i in pooled.items():
        if key in pairs:
            linked.equal([i], pairs[key])
    return cells


def prevalence_model(counts: Counts, linked: Linked, prevalence: pd.DataFrame,
                     sentiment: pd.DataFrame | None) -> Cells:
    """Theme prevalence over every dimension and level, and the sentiment counts (module docstring)."""
    cells: Cells = {}
    totals: dict[tuple[str, str], int] = {}
    theme_n: dict[tuple[str, str, str], int] = {}
    for pos, rec in enumerate(prevalence.to_dict("records")):
        dim, level, theme = str(rec["dimension"]), str(rec["level"]), str(rec["theme"])
        tkey = (dim, level)
        if tkey not in totals:
            totals[tkey] = counts.add(linked, _key("prevalence", dim, level, "n_total"), rec["n_total"], total=True)
        else:
            # every theme row repeats the level's total: a second reading of the same count
            again = counts.add(linked, _key("prevalence", dim, level, theme, "n_total"), rec["n_total"], total=True)
            linked.equal([again], [totals[tkey]])
            cells[("prevalence", pos, "n_total")] = again
        cells.setdefault(("prevalence", pos, "n_total"), totals[tkey])
        # a theme's overall count is costly to hide, as a total is: it is the one count every
        # dimension shares, so hiding it links all the dimensions into one system (on a study
        # of many cohorts, a system of hundreds of counts that suppression could not settle)
        n = counts.add(linked, _key("prevalence", dim, level, theme, "n"), rec["n"], total=(dim == "all"))
        tv, nv = _value(linked, totals[tkey]), _value(linked, n)
        rem = counts.remainder(linked, _key("prevalence", dim, level, theme, "without"),
                               None if tv is None or nv is None else tv - nv)
        linked.equal([totals[tkey]], [n, rem])
        cells[("prevalence", pos, "no")] = rem
        theme_n[(dim, level, theme)] = n
        cells[("prevalence", pos, "n")] = n
    grand = totals.get(("all", "all"))
    dims = sorted({d for d, _ in totals if d != "all"})
    themes = sorted({t for _, _, t in theme_n})
    for dim in dims:
        levels = [lvl for d, lvl in totals if d == dim]
        if grand is not None:
            linked.equal([grand], [totals[(dim, lvl)] for lvl in levels])
        for theme in themes:
            if ("all", "all", theme) in theme_n:
                parts = [theme_n[(dim, lvl, theme)] for lvl in levels if (dim, lvl, theme) in theme_n]
                linked.equal([theme_n[("all", "all", theme)]], parts)
    if sentiment is None or sentiment.empty:
        return cells
    for pos, rec in enumerate(sentiment.to_dict("records")):
        theme = str(rec["theme"])
        n = counts.add(linked, _key("sentiment", theme, "n"), rec["n"], total=True)
        cells[("sentiment", pos, "n")] = n
        if ("all", "all", theme) in theme_n:
            linked.equal([n], [theme_n[("all", "all", theme)]])
        nv = counts.number(rec["n"])
        parts = []
        for col in ("prop_positive", "prop_neutral", "prop_negative"):
            if col not in rec:
                continue
            share = counts.number(rec[col])
            raw = rec[col] if share is None or nv is None else round(share * nv)
            i = counts.add(linked, _key("sentiment", theme, col.replace("prop_", "n_")), raw)
            cells[("sentiment", pos, col)] = i
            parts.append(i)
        if len(parts) == 3:
            linked.equal([n], parts)
    return cells


# --------------------------------------------------------------------------- publishing


def _band_text(low: float, high: float, total: float, step: float = 0.01) -> str:
    """A share band "a-b" (fractions rounded outward to ``step``) for a count in [low, high] of total."""
    lo = math.floor(low / total / step + 1e-9) * step
    hi = math.ceil(high / total / step - 1e-9) * step
    return f"{max(lo, 0.0):.2f}-{min(hi, 1.0):.2f}"


def share_bands(linked: Linked, threshold: int, shares: Mapping[int, int]) -> dict[int, str]:
    """Bands for hidden counts ({count: its total's count}) whose total is shown and whose interval
    is narrower than the total (the audit's interval, rounded outward to whole percentage points)."""
    spans = intervals(linked, threshold)
    out = {}
    for i, total in shares.items():
        if linked.kind[i] == SHOWN or linked.kind[total] != SHOWN:
            continue
        lo, hi = spans.get(i, (math.nan, math.nan))
        t = float(linked.shown[total])
        if t <= 0 or math.isnan(lo) or math.isinf(hi) or (lo <= 0 and hi >= t):
            continue
        out[i] = _band_text(lo, min(hi, t), t)
    return out


def publish(frame: pd.DataFrame, table: str, cells: Cells, linked: Linked, *, primary_marker: str,
            secondary_marker: str, derived: Mapping[str, str] | None = None,
            bands: Mapping[str, tuple[str, Mapping[int, str]]] | None = None, decimals: int = 4,
            round_to: int | None = None) -> pd.DataFrame:
    """``frame`` (true values) as published strings after ``protect`` (see the module docstring).

    ``derived`` maps a statistic column to the count column it reveals; ``bands`` maps a
    band column to (its count column, {count index: band text}).
    """
    out = frame.copy().astype(object)
    derived = dict(derived or {})
    mine = {(pos, col): i for (t, pos, col), i in cells.items() if t == table}

    def marker(i: int) -> str | None:
        kind = linked.kind[i]
        if kind == PRIMARY:
            return primary_marker
        if kind == SECONDARY:
            return secondary_marker
        return None

    for (pos, col), i in mine.items():
        if col not in out.columns or col in derived:
            continue
        m = marker(i)
        if m is not None:
            out.iat[pos, out.columns.get_loc(col)] = m
        else:
            v = frame.iat[pos, frame.columns.get_loc(col)]
            number = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
            if not pd.isna(number) and round_to:
                number = math.floor(float(number) / round_to + 0.5) * round_to
            out.iat[pos, out.columns.get_loc(col)] = "" if pd.isna(number) else str(int(round(float(number))))
    for col, source in derived.items():
        if col not in out.columns:
            continue
        j = out.columns.get_loc(col)
        for pos in range(len(out)):
            i = mine.get((pos, source))
            m = marker(i) if i is not None else None
            if m is not None:
                out.iat[pos, j] = m
            else:
                v = frame.iat[pos, j]
                number = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
                out.iat[pos, j] = "" if pd.isna(number) else f"{round(float(number), decimals):g}"
    for col, (source, texts) in (bands or {}).items():
        out[col] = [texts.get(mine.get((pos, source), -1), "") for pos in range(len(out))]
    return out


def kinds_frame(frame: pd.DataFrame, table: str, cells: Cells, linked: Linked, columns: list[str]) -> pd.DataFrame:
    """{column: kind} per row of ``frame`` for the count ``columns`` ('' where not modelled)."""
    data = {col: [""] * len(frame) for col in columns}
    for (t, pos, col), i in cells.items():
        if t == table and col in data:
            data[col][pos] = linked.kind[i]
    return pd.DataFrame(data, index=frame.index)


def hidden_mask(kinds: pd.DataFrame) -> pd.DataFrame:
    """Boolean mask of hidden cells (primary or complementary) from ``kinds_frame``."""
    return kinds.isin([PRIMARY, SECONDARY])


def assert_relations_hold(linked: Linked) -> None:
    """The true values satisfy every relation (a model of the tables that does not fit them is a bug)."""
    for rel in linked.eq:
        values = [_value(linked, i) for i in rel]
        if any(v is None for v in values):
            continue
        total = sum(c * v for (i, c), v in zip(rel.items(), values))
        if abs(total) > 1e-6:
            names = ", ".join(linked.names[i] for i in rel)
            raise ValueError(f"disclosure model: relation over {names} does not hold in the data ({total:+g})")


# --------------------------------------------------------------------------- protection


@dataclass(frozen=True)
class Protected:
    """Published tables of one linked group, with the system they were protected on."""

    tables: dict[str, pd.DataFrame]
    kinds: dict[str, pd.DataFrame]
    linked: Linked
    cells: Cells
    #: cohorts whose breakdown was withheld because no suppression could protect it
    withheld: list[str] = field(default_factory=list)


def _propose_bands(linked: Linked, cells: Cells, name: str, frame: pd.DataFrame, source: str, total: str,
                   threshold: int) -> list[int]:
    """Bands the rule allows on hidden shares: a count hidden to protect its small remainder
    (total - count, 1 .. threshold - 1) is published as total - (threshold - 1) .. total - 1,
    which says no more than "<threshold" would of the remainder."""
    added = []
    for pos in range(len(frame)):
        k, n = cells.get((name, pos, source)), cells.get((name, pos, total))
        rem = cells.get((name, pos, "no"))
        if k is None or n is None or linked.kind[k] != SECONDARY or linked.kind[n] != SHOWN:
            continue
        if rem is not None and rem in linked.small:
            t = float(linked.shown[n])
            linked.band(k, t - (threshold - 1), t - 1)
            added.append(k)
    return added


def _protected(counts: Counts, build, frames: Mapping[str, pd.DataFrame], specs: Mapping[str, dict],
               round_to: int | None) -> Protected:
    """Build the true system, protect it, add the bands the audit allows, and publish each frame."""
    linked = Linked()
    cells = build(linked)
    assert_relations_hold(linked)
    protect(linked, counts.threshold, round_to)
    proposed = []
    for name, frame in (frames.items() if not round_to else ()):  # rounded counts: no bands
        for source, total in (specs.get(name, {}).get("bands") or {}).values():
            proposed += _propose_bands(linked, cells, name, frame, source, total, counts.threshold)
    for _ in range(len(proposed) + 1):  # drop the bands of any component they would open
        leaks = audit(linked, counts.threshold, round_to)
        if not leaks:
            break
        leaking = {linked.index[lk.name] for lk in leaks}
        touched = [c for c in components(linked) if leaking.intersection(c)]
        dropped = [i for c in touched for i in c if i in linked.bands]
        if not dropped:
            raise ValueError("disclosure: " + "; ".join(map(str, leaks[:3])))
        for i in dropped:
            del linked.bands[i]
    tables, kinds = {}, {}
    for name, frame in frames.items():
        spec = specs.get(name, {})
        bands = {}
        for band_col, (source, total) in (spec.get("bands") or {}).items():
            pairs = {cells[(name, pos, source)]: cells[(name, pos, total)] for pos in range(len(frame))
                     if (name, pos, source) in cells and (name, pos, total) in cells}
            # under a rounding rule the published totals are rounded: a band would undo the rounding
            bands[band_col] = (source, share_bands(linked, counts.threshold, pairs) if not round_to else {})
        tables[name] = publish(frame, name, cells, linked, primary_marker=counts.primary_marker,
                               secondary_marker=counts.secondary_marker, derived=spec.get("derived"),
                               bands=bands, round_to=round_to)
        if spec.get("flag"):
            cols, total = spec["flag"]
            tables[name]["flag"] = flag_column(frame, cols, total)
        kinds[name] = kinds_frame(frame, name, cells, linked, spec.get("counts", []))
    return Protected(tables, kinds, linked, cells)


def protect_feedback(feedback: pd.DataFrame, kirkpatrick: pd.DataFrame, labels: Mapping[str, Mapping[str, str]],
                     counts: Counts, round_to: int | None = None, protect_remainder: bool = True) -> Protected:
    """Feedback proportions and the Kirkpatrick table, protected together; hidden shares as bands."""
    frames = {"feedback_proportions": feedback, "kirkpatrick": kirkpatrick}
    specs = {"feedback_proportions": {"counts": ["n", "k"],
                                      "derived": {"pct": "k", "pct_ci_low": "k", "pct_ci_high": "k"},
                                      "bands": {"pct_band": ("k", "n")}, "flag": (["k"], "n")},
             "kirkpatrick": {"counts": ["n", "k"], "derived": {"pct_yes": "k"},
                             "bands": {"pct_yes_band": ("k", "n")}}}
    return _protected(counts, lambda linked: feedback_model(counts, linked, feedback, kirkpatrick, labels,
                                                                   protect_remainder),
                      frames, specs, round_to)


def protect_attrition(attrition: pd.DataFrame, by_profession: pd.DataFrame, change: pd.DataFrame,
                      counts: Counts, derived: Mapping[str, str], round_to: int | None = None) -> Protected:
    """Attrition, attrition by profession and the change table's pairs, protected together.

    A cohort whose profession breakdown cannot be protected by hiding cells (its professions'
    small-count markers alone bound the cohort's total: six professions each "<10" lost make
    at least 6 of a total "<10") has that breakdown withheld: its rows leave the by-profession
    table, and ``Protected.withheld`` names the cohort."""
    withheld: list[str] = []
    while True:
        try:
            protected = _protect_attrition_once(attrition, by_profession, change, counts, derived, round_to)
        except CannotProtect as err:
            named = _withholdable_cohorts(err.leaks[:3], by_profession)
            if not named:
                raise
            withheld += named
            by_profession = by_profession[~by_profession["cohort"].astype(str).isin(named)].reset_index(drop=True)
            continue
        return dataclasses.replace(protected, withheld=withheld)


def _withholdable_cohorts(leaks: Sequence[Leak], by_profession: pd.DataFrame) -> list[str]:
    """The cohorts of attrition ``leaks`` (names ``table|cohort|...``) whose profession
    breakdown is still published."""
    if by_profession.empty:
        return []
    named = {leak.name.split("|")[1] for leak in leaks
             if leak.name.split("|")[0] in ("attrition", "attrition_by_profession") and leak.name.count("|") >= 2}
    present = set(by_profession["cohort"].astype(str))
    return sorted(named & present)


def _protect_attrition_once(attrition: pd.DataFrame, by_profession: pd.DataFrame, change: pd.DataFrame,
                            counts: Counts, derived: Mapping[str, str], round_to: int | None) -> Protected:
    frames = {"attrition": attrition, "attrition_by_profession": by_profession, "change_scores": change}
    specs = {"attrition": {"counts": ["n_baseline", "n_completers", "n_lost"], "derived": dict(derived),
                           "bands": {"pct_lost_band": ("n_lost", "n_baseline")},
                           "flag": (["n_completers", "n_lost"], "n_baseline")},
             "attrition_by_profession": {"counts": ["n_baseline", "n_completers", "n_lost"],
                                         "flag": (["n_completers", "n_lost"], "n_baseline")},
             "change_scores": {"counts": ["n_pairs"]}}
    return _protected(counts, lambda linked: attrition_model(counts, linked, attrition, by_profession, change),
                      frames, specs, round_to)


SENTIMENT_SHARES = ("prop_positive", "prop_neutral", "prop_negative")


def protect_prevalence(prevalence: pd.DataFrame, sentiment: pd.DataFrame | None, counts: Counts,
                       round_to: int | None = None) -> Protected:
    """Theme prevalence (every dimension) and sentiment by theme, protected together."""
    frames = {"prevalence": prevalence}
    specs = {"prevalence": {"counts": ["n_total", "n"],
                            "derived": {"prop": "n", "prop_ci_low": "n", "prop_ci_high": "n"},
                            "bands": {"prop_band": ("n", "n_total")}, "flag": (["n"], "n_total")}}
    if sentiment is not None:
        frames["sentiment"] = sentiment
        stats = [c for c in sentiment.columns if c not in ("theme", "n", *SENTIMENT_SHARES)]
        specs["sentiment"] = {"counts": ["n", *SENTIMENT_SHARES],
                              "derived": {**{c: "n" for c in stats}, **{c: c for c in SENTIMENT_SHARES}}}
    return _protected(counts, lambda linked: prevalence_model(counts, linked, prevalence, sentiment),
                      frames, specs, round_to)


__all__ = ["Counts", "feedback_model", "attrition_model", "prevalence_model", "publish", "share_bands",
           "kinds_frame", "hidden_mask", "assert_relations_hold", "protect_feedback", "protect_attrition",
           "protect_prevalence", "Protected"]
