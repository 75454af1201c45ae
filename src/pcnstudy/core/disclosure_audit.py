"""Disclosure audit over linked tables: can any hidden count be recovered by differencing?

Published tables share margins: the totals table is the sum of the by-cohort table,
a feedback count and its "no" remainder add up to the respondents, the pairs of the
change table are the attrition table's completers. A reader who knows these relations
can solve for hidden cells, so cell-by-cell suppression is not enough. ``Linked``
holds the counts of several tables as one system: each count is a variable, published
(a number), hidden by primary suppression (the rule's marker, e.g. ``<5``: the count is
1 .. threshold - 1), hidden by complementary suppression (its own marker, e.g.
``[c]``: any count) or never published (e.g. the "no" answers beside a "yes" count);
relations are linear equalities (a margin is the sum of its cells) and inequalities
(pairs cannot exceed completers), optionally a published band on a hidden count.

``audit(linked, threshold, round_to)`` is the standard interval (linear programming)
audit of statistical disclosure control: for every hidden or unpublished count it
solves min and max of that count subject to every relation and every published value
(``scipy.optimize.linprog``, HiGHS), per connected component of the hidden counts. A
hidden count leaks when its feasible interval is narrower than the protection width
(``protection_width``: half the width of the primary marker's own range
1 .. threshold - 1, rounded up, at least 1: for "<5" the count keeps at least three
possible values, e.g. 1-3 or 2-4, and is never pinned; the full range cannot be kept
in general, since small cells that add up to a small margin bound each other); an
unpublished count leaks when it is pinned to less than that width inside
1 .. threshold - 1; a published count from 1 to threshold - 1 leaks; relations that
no values can satisfy mean a marker is false (a "<5" cell that holds 5 or more).
The linear relaxation gives intervals at least as wide as the integer ones, so the
audit is the usual LP bound (Hundepool et al., Statistical Disclosure Control, 2012,
ch. 4 and 5).

``protect(linked, threshold, round_to)`` is complementary suppression across the
linked tables: while the audit finds a leak, it hides the cheapest published count
(smallest value; margins cost ten times their value) among those that share a
relation with the leaking count or with a hidden count related to it, then audits
again. ``intervals`` gives the feasible interval of every hidden count, from which
published bands (e.g. "80-95%") are taken: a band that is the audit's own interval
tells a reader nothing the tables do not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.optimize import linprog

SHOWN, PRIMARY, SECONDARY, UNPUBLISHED = "shown", "primary", "secondary", "unpublished"
KINDS = (SHOWN, PRIMARY, SECONDARY, UNPUBLISHED)
TOL = 1e-6
#: Margins (totals) cost this many times their value to hide (they are hidden last).
TOTAL_COST = 10.0


def protection_width(threshold: int) -> float:
    """Width a hidden count's feasible interval must keep: half that of the marker's own range
    1 .. threshold - 1, rounded up, and at least 1 (for "<5": at least three possible values)."""
    return float(max(math.ceil((int(threshold) - 2) / 2), 1))


@dataclass
class Linked:
    """Counts of several published tables as one system of linear relations.

    ``value`` is the true count where known (protection), None when only the published
    tables are known (an audit of outputs). ``shown`` is the published number of a
    ``shown`` count. ``total`` marks margins (hidden last by ``protect``).
    """

    names: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    shown: list[float | None] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    total: list[bool] = field(default_factory=list)
    eq: list[dict[int, float]] = field(default_factory=list)
    le: list[dict[int, float]] = field(default_factory=list)
    bands: dict[int, tuple[float, float]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)
    #: unpublished counts truly 1 .. threshold - 1 (known to the protecting stage only; a reader
    #: does not know it, so the audit does not use it: it proposes bands, see ``published``)
    small: set[int] = field(default_factory=set)

    def add(self, name: str, kind: str, shown: float | None = None, value: float | None = None,
            total: bool = False) -> int:
        """Add a count (name unique); return its index. An existing name is returned as is."""
        if name in self.index:
            return self.index[name]
        if kind not in KINDS:
            raise ValueError(f"disclosure audit: unknown kind {kind!r} for {name}")
        if kind == SHOWN and shown is None:
            raise ValueError(f"disclosure audit: shown count {name} has no value")
        self.index[name] = len(self.names)
        self.names.append(name)
        self.kind.append(kind)
        self.shown.append(None if shown is None else float(shown))
        self.value.append(None if value is None else float(value))
        self.total.append(bool(total))
        return self.index[name]

    def equal(self, lhs: list[int], rhs: list[int]) -> None:
        """Relation: sum of ``lhs`` counts == sum of ``rhs`` counts."""
        coefs: dict[int, float] = {}
        for i in lhs:
            coefs[i] = coefs.get(i, 0.0) + 1.0
        for i in rhs:
            coefs[i] = coefs.get(i, 0.0) - 1.0
        coefs = {i: c for i, c in coefs.items() if c != 0}
        if coefs:
            self.eq.append(coefs)

    def at_most(self, small: int, large: int) -> None:
        """Relation: count ``small`` <= count ``large``."""
        if small != large:
            self.le.append({small: 1.0, large: -1.0})

    def band(self, i: int, low: float, high: float) -> None:
        """A published band on hidden count ``i``: low <= count <= high."""
        self.bands[i] = (float(low), float(high))


@dataclass(frozen=True)
class Leak:
    """A count a reader can learn more about than the publication allows."""

    name: str
    kind: str
    low: float
    high: float
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}): {self.reason} [{_fmt(self.low)}, {_fmt(self.high)}]"


class CannotProtect(ValueError):
    """Complementary suppression found no cell left to hide for these leaks (``leaks``);
    the message names the first three."""

    def __init__(self, leaks: Sequence[Leak]):
        self.leaks = list(leaks)
        super().__init__("disclosure: cannot protect " + "; ".join(map(str, self.leaks[:3])))


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.6g}"


def _bounds(linked: Linked, i: int, threshold: int, round_to: int | None) -> tuple[float, float]:
    kind = linked.kind[i]
    if kind == SHOWN:
        v = float(linked.shown[i])
        if round_to:
            half = round_to / 2.0
            return max(0.0, v - half), v + half
        return v, v
    if kind == PRIMARY:
        low, high = 1.0, float(threshold - 1)
    else:
        low, high = 0.0, math.inf
    if i in linked.bands:
        b_low, b_high = linked.bands[i]
        low, high = max(low, b_low), min(high, b_high)
    return low, high


def _components(linked: Linked) -> list[list[int]]:
    """Connected components of the unknown counts, linked by shared relations."""
    unknown = [i for i, k in enumerate(linked.kind) if k != SHOWN]
    parent = {i: i for i in unknown}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for rel in linked.eq + linked.le:
        members = [i for i in rel if i in parent]
        for a, b in zip(members, members[1:]):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    groups: dict[int, list[int]] = {}
    for i in unknown:
        groups.setdefault(find(i), []).append(i)
    return [sorted(g) for g in groups.values()]


def components(linked: Linked) -> list[list[int]]:
    """Connected components of the counts not shown (each audited as one system)."""
    return _components(linked)


def _component_system(linked: Linked, comp: list[int], threshold: int, round_to: int | None):
    """(A_eq, b_eq, A_ub, b_ub, bounds) over the component's counts, published counts as constants."""
    pos = {i: j for j, i in enumerate(comp)}
    members = set(comp)
    rows_eq, b_eq, rows_ub, b_ub = [], [], [], []
    bounds = [_bounds(linked, i, threshold, round_to) for i in comp]
    for rels, rows, rhs in ((linked.eq, rows_eq, b_eq), (linked.le, rows_ub, b_ub)):
        for rel in rels:
            if not members.intersection(rel):
                continue
            row = np.zeros(len(comp))
            const_low, const_high = 0.0, 0.0
            for i, c in rel.items():
                if i in pos:
                    row[pos[i]] += c
                else:
                    lo, hi = _bounds(linked, i, threshold, round_to)
                    # c * x over x in [lo, hi]
                    a, b = c * lo, c * hi
                    const_low += min(a, b)
                    const_high += max(a, b)
            if rels is linked.eq and const_low != const_high:
                # a rounded published count: the equality holds within its rounding range
                rows_ub.append(row)
                b_ub.append(-const_low)
                rows_ub.append(-row)
                b_ub.append(const_high)
                continue
            rows.append(row)
            rhs.append(-const_low if rels is linked.le else -const_low)
    return (np.array(rows_eq) if rows_eq else None, np.array(b_eq) if b_eq else None,
            np.array(rows_ub) if rows_ub else None, np.array(b_ub) if b_ub else None,
            [(lo, None if math.isinf(hi) else hi) for lo, hi in bounds])


def _solve_point(c: np.ndarray, system) -> tuple[float | None, np.ndarray | None]:
    """Optimum of ``c @ x`` over the system and the point reaching it: (None, None) when the
    system has no solution, (-inf, None) when the objective is unbounded below."""
    a_eq, b_eq, a_ub, b_ub, bounds = system
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 2:
        return None, None
    if res.status == 3:
        return -math.inf, None
    if res.status != 0:
        raise RuntimeError(f"disclosure audit: linear program failed ({res.message})")
    return float(res.fun), res.x


def _solve(c: np.ndarray, system) -> float | None:
    return _solve_point(c, system)[0]


def _single(system) -> tuple[float, float]:
    """Interval of a component of one count: its bounds cut by each relation (no linear program)."""
    a_eq, b_eq, a_ub, b_ub, bounds = system
    lo, hi = bounds[0][0], math.inf if bounds[0][1] is None else bounds[0][1]
    for a, b in zip(a_eq if a_eq is not None else [], b_eq if b_eq is not None else []):
        x = b / a[0]
        if x < lo - TOL or x > hi + TOL:
            return math.nan, math.nan
        lo = hi = x
    for a, b in zip(a_ub if a_ub is not None else [], b_ub if b_ub is not None else []):
        if a[0] > 0:
            hi = min(hi, b / a[0])
        elif a[0] < 0:
            lo = max(lo, b / a[0])
        elif b < -TOL:
            return math.nan, math.nan
    if lo > hi + TOL:
        return math.nan, math.nan
    return lo, hi


def _component_intervals(linked: Linked, comp: list[int], threshold: int,
                         round_to: int | None, wide: float | None = None) -> dict[int, tuple[float, float]]:
    """Feasible interval of each count of the component (two linear programs per count).

    With ``wide``, a count is not solved for once the points already found (every optimum
    is a feasible point of the whole component) spread it by ``wide`` or more: its entry is
    then that spread, an inner bound of its interval, which is all an audit asks of a count
    that cannot be narrow. Narrow counts always get their exact interval."""
    system = _component_system(linked, comp, threshold, round_to)
    if len(comp) == 1:
        return {comp[0]: _single(system)}
    if system[0] is None and system[2] is None:
        return {i: (lo, math.inf if hi is None else hi) for i, (lo, hi) in zip(comp, system[4])}
    seen_low = np.full(len(comp), math.inf)
    seen_high = np.full(len(comp), -math.inf)
    out: dict[int, tuple[float, float]] = {}
    for j, i in enumerate(comp):
        if wide is not None and seen_high[j] - seen_low[j] >= wide - TOL:
            out[i] = (float(seen_low[j]), float(seen_high[j]))
            continue
        c = np.zeros(len(comp))
        c[j] = 1.0
        low, x = _solve_point(c, system)
        if low is None:
            return {k: (math.nan, math.nan) for k in comp}
        if x is not None:
            seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
        high, x = _solve_point(-c, system)
        if x is not None:
            seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
        out[i] = (low, math.inf if high is None or math.isinf(high) else -high)
    return out


def intervals(linked: Linked, threshold: int, round_to: int | None = None,
              cache: dict | None = None, wide: float | None = None) -> dict[int, tuple[float, float]]:
    """Feasible interval of every count not shown; a component with no solution maps to (nan, nan).

    ``cache`` (a dict kept between calls on one system) reuses the intervals of components
    whose counts have not changed: hiding a published count only changes its own component.
    ``wide``: see ``_component_intervals`` (intervals of at least that width may be inner bounds)."""
    out: dict[int, tuple[float, float]] = {}
    for comp in _components(linked):
        key = (tuple(comp), wide)
        if cache is not None and key in cache:
            out.update(cache[key])
            continue
        spans = _component_intervals(linked, comp, threshold, round_to, wide)
        if cache is not None:
            cache[key] = spans
        out.update(spans)
    return out


def _inconsistent_relations(linked: Linked, threshold: int, round_to: int | None, comp: list[int]) -> list[str]:
    """Relations of a component that cannot hold by themselves: interval arithmetic per relation."""
    members = set(comp)
    bad = []
    for rel in linked.eq:
        if not members.intersection(rel):
            continue
        low = high = 0.0
        for i, c in rel.items():
            lo, hi = _bounds(linked, i, threshold, round_to)
            a, b = c * lo, c * hi
            low += min(a, b)
            high += max(a, b)
        if low > TOL or high < -TOL:
            bad.append(" = ".join([" + ".join(linked.names[i] for i, c in rel.items() if c > 0),
                                   " + ".join(linked.names[i] for i, c in rel.items() if c < 0)]))
    return bad


def audit(linked: Linked, threshold: int, round_to: int | None = None, cache: dict | None = None) -> list[Leak]:
    """Every leak of the linked tables (see the module docstring); empty when protected.
    (``cache``: see ``intervals``.)"""
    width = protection_width(threshold)
    leaks: list[Leak] = []
    for i, kind in enumerate(linked.kind):
        if kind == SHOWN and not round_to and 1 <= linked.shown[i] < threshold:
            leaks.append(Leak(linked.names[i], kind, linked.shown[i], linked.shown[i],
                              f"published count below {threshold}"))
    spans = intervals(linked, threshold, round_to, cache, wide=width)
    infeasible: set[int] = set()
    for i, (lo, hi) in spans.items():
        kind = linked.kind[i]
        if math.isnan(lo):
            infeasible.add(i)
            continue
        narrow = hi - lo < width - TOL
        if kind in (PRIMARY, SECONDARY) and narrow:
            leaks.append(Leak(linked.names[i], kind, lo, hi, "recoverable from the linked tables"))
        elif kind == UNPUBLISHED and narrow and hi >= 1 - TOL and lo <= threshold - 1 + TOL:
            if not (lo == hi and round(lo) == 0):
                leaks.append(Leak(linked.names[i], kind, lo, hi, f"an unpublished count pinned below {threshold}"))
    for comp in _components(linked):
        if infeasible.intersection(comp):
            rels = _inconsistent_relations(linked, threshold, round_to, comp) or ["(several relations together)"]
            leaks.append(Leak(linked.names[comp[0]], linked.kind[comp[0]], math.nan, math.nan,
                              "markers contradict the published margins: " + "; ".join(rels[:3])))
    return leaks


def _cost(linked: Linked, i: int) -> tuple[float, int]:
    value = linked.value[i] if linked.value[i] is not None else linked.shown[i]
    value = float(value or 0.0)
    base = value if value > 0 else 0.5  # zeros last among small cells: hiding a zero protects little
    return (base * (TOTAL_COST if linked.total[i] else 1.0), i)


def _related(linked: Linked, i: int) -> list[dict[int, float]]:
    """The relations holding count ``i`` (indexed once per set of relations)."""
    size = (len(linked.eq), len(linked.le))
    index = getattr(linked, "_by_count", None)
    if index is None or index[0] != size:
        by: dict[int, list[dict[int, float]]] = {}
        for rel in linked.eq + linked.le:
            for k in rel:
                by.setdefault(k, []).append(rel)
        index = (size, by)
        linked._by_count = index
    return index[1].get(i, [])


def _candidates(linked: Linked, i: int, depth: int = 6) -> list[int]:
    """Published counts reachable from ``i`` through relations and unknown counts (``depth`` steps)."""
    seen, frontier, found = {i}, [i], set()
    for _ in range(depth):
        nxt = []
        for k in frontier:
            for rel in _related(linked, k):
                for m in rel:
                    if linked.kind[m] == SHOWN:
                        found.add(m)
                    elif m not in seen:
                        seen.add(m)
                        nxt.append(m)
        frontier = nxt
        if not frontier:
            break
    return sorted(found)


def _component_of(linked: Linked, i: int) -> list[int]:
    """The unknown counts linked to ``i`` (its component), found from ``i`` alone."""
    seen, frontier = {i}, [i]
    while frontier:
        nxt = []
        for k in frontier:
            for rel in _related(linked, k):
                for m in rel:
                    if linked.kind[m] != SHOWN and m not in seen:
                        seen.add(m)
                        nxt.append(m)
        frontier = nxt
    return sorted(seen)


def _interval_of(linked: Linked, i: int, threshold: int, round_to: int | None) -> tuple[float, float]:
    """Feasible interval of count ``i`` alone (its component's linear programs)."""
    comp = _component_of(linked, i)
    system = _component_system(linked, comp, threshold, round_to)
    if len(comp) == 1:
        return _single(system)
    j = comp.index(i)
    if system[0] is None and system[2] is None:
        lo, hi = system[4][j]
        return lo, math.inf if hi is None else hi
    c = np.zeros(len(comp))
    c[j] = 1.0
    low = _solve(c, system)
    if low is None:
        return math.nan, math.nan
    high = _solve(-c, system)
    return low, math.inf if high is None or math.isinf(high) else -high


def _best_complement(linked: Linked, i: int, pool: list[int], threshold: int, round_to: int | None,
                     tries: int = 12) -> int:
    """The cheapest of the ``tries`` cheapest candidates that closes the leak of ``i``, else the one
    that widens its interval most, else the cheapest."""
    width = protection_width(threshold)
    ranked = sorted(pool, key=lambda k: _cost(linked, k))
    lo0, hi0 = _interval_of(linked, i, threshold, round_to)
    best, best_gain = ranked[0], 0.0
    for j in ranked[:tries]:
        linked.kind[j] = SECONDARY
        lo, hi = _interval_of(linked, i, threshold, round_to)
        linked.kind[j] = SHOWN
        gain = (hi - lo) - (hi0 - lo0)
        if hi - lo >= width - TOL:
            return j
        if gain > best_gain + TOL:
            best, best_gain = j, gain
    return best


def protect(linked: Linked, threshold: int, round_to: int | None = None, max_rounds: int = 200) -> list[int]:
    """Hide published counts (complementary suppression) until ``audit`` finds no leak; return them.

    Needs the true values (``Linked.value``) of the counts; raises when a leak cannot be
    closed (no published count left to hide near it) or is not a differencing leak.
    """
    added: list[int] = []
    cache: dict = {}
    for _ in range(max_rounds):
        leaks = audit(linked, threshold, round_to, cache)
        if not leaks:
            return added
        wrong = [lk for lk in leaks if "contradict" in lk.reason or "published count below" in lk.reason]
        if wrong:
            raise ValueError("disclosure: " + "; ".join(map(str, wrong[:3])))
        # every leak of the round gets its complement, unless one chosen for an earlier leak
        # of its component already closed it (its interval is checked again first): a round
        # per leak, rather than per component, grew suppression across a study of many
        # cohorts into hundreds of audits of one ever larger component
        done: set[int] = set()
        progress = False
        component = {k: n for n, comp in enumerate(_components(linked)) for k in comp}
        width = protection_width(threshold)
        for leak in leaks:
            i = linked.index[leak.name]
            if component.get(i) in done and leak.kind in (PRIMARY, SECONDARY):
                lo, hi = _interval_of(linked, i, threshold, round_to)
                if hi - lo >= width - TOL:
                    progress = True
                    continue
            pool = _candidates(linked, i)
            if not pool:
                continue
            j = _best_complement(linked, i, pool, threshold, round_to)
            linked.kind[j] = SECONDARY
            added.append(j)
            done.add(component.get(i))
            progress = True
        if not progress:
            raise CannotProtect(leaks)
    raise ValueError(f"disclosure: complementary suppression did not converge in {max_rounds} rounds")
